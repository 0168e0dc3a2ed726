-- Search (docs/search.md): one FTS5 index per kind of record, and the names fuzzy lookup reads.
--
-- The indexes are contentless (content=''): the text stays in its own table and is never copied;
-- roost reads it from there for snippets. FTS5 needs the indexed values again to remove a row, so
-- every delete trigger hands back exactly what its insert trigger indexed (the first 32,000
-- characters). Triggers keep each index in the same transaction as the write it reflects.
-- unicode61 with remove_diacritics 2 and no stemming; PostgreSQL is fed the very same terms
-- (roost/search/tokens.py), so both backends match alike.
--
-- Records written before this migration are indexed afterwards, a batch per transaction
-- (search_backfill holds how far each kind has got), so upgrading a large store never holds the
-- write lock for long.

CREATE VIRTUAL TABLE search_transcripts USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE search_memories USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE search_observations USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE search_sessions USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE search_artifacts USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');

-- The text of a text artifact's content (its first 32,000 characters), what search reads.
ALTER TABLE artifact_blobs ADD COLUMN search_text TEXT;

CREATE TABLE search_backfill (
    kind TEXT PRIMARY KEY,
    done INTEGER NOT NULL,
    upto INTEGER NOT NULL
);
INSERT INTO search_backfill (kind, done, upto)
SELECT 'transcript', 0, max(id) FROM transcript_entries HAVING max(id) IS NOT NULL
UNION ALL SELECT 'memory', 0, max(id) FROM memories HAVING max(id) IS NOT NULL
UNION ALL SELECT 'observation', 0, max(id) FROM observations HAVING max(id) IS NOT NULL
UNION ALL SELECT 'session', 0, max(seq) FROM sessions HAVING max(seq) IS NOT NULL
UNION ALL SELECT 'artifact', 0, max(id) FROM artifact_blobs HAVING max(id) IS NOT NULL;

CREATE TRIGGER transcript_indexed AFTER INSERT ON transcript_entries BEGIN
    INSERT INTO search_transcripts (rowid, body) VALUES (NEW.id, substr(NEW.content, 1, 32000));
END;
CREATE TRIGGER transcript_unindexed AFTER DELETE ON transcript_entries BEGIN
    INSERT INTO search_transcripts (search_transcripts, rowid, body)
    VALUES ('delete', OLD.id, substr(OLD.content, 1, 32000));
END;

-- A memory's text: its key, then the keys and strings of its content in document order.
CREATE TRIGGER memory_indexed AFTER INSERT ON memories BEGIN
    INSERT INTO search_memories (rowid, body) VALUES (NEW.id, substr(NEW.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(NEW.content)), ''), 1, 32000));
END;
CREATE TRIGGER memory_reindexed AFTER UPDATE OF content ON memories BEGIN
    INSERT INTO search_memories (search_memories, rowid, body) VALUES ('delete', OLD.id, substr(OLD.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(OLD.content)), ''), 1, 32000));
    INSERT INTO search_memories (rowid, body) VALUES (NEW.id, substr(NEW.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(NEW.content)), ''), 1, 32000));
END;
CREATE TRIGGER memory_unindexed AFTER DELETE ON memories BEGIN
    INSERT INTO search_memories (search_memories, rowid, body) VALUES ('delete', OLD.id, substr(OLD.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(OLD.content)), ''), 1, 32000));
END;

CREATE TRIGGER observation_indexed AFTER INSERT ON observations BEGIN
    INSERT INTO search_observations (rowid, body) VALUES (NEW.id, substr(NEW.content, 1, 32000));
END;
CREATE TRIGGER observation_unindexed AFTER DELETE ON observations BEGIN
    INSERT INTO search_observations (search_observations, rowid, body)
    VALUES ('delete', OLD.id, substr(OLD.content, 1, 32000));
END;

CREATE TRIGGER session_indexed AFTER INSERT ON sessions BEGIN
    INSERT INTO search_sessions (rowid, body) VALUES (NEW.seq, substr(NEW.title, 1, 32000));
END;
CREATE TRIGGER session_reindexed AFTER UPDATE OF title ON sessions BEGIN
    INSERT INTO search_sessions (search_sessions, rowid, body) VALUES ('delete', OLD.seq, substr(OLD.title, 1, 32000));
    INSERT INTO search_sessions (rowid, body) VALUES (NEW.seq, substr(NEW.title, 1, 32000));
END;
CREATE TRIGGER session_unindexed AFTER DELETE ON sessions BEGIN
    INSERT INTO search_sessions (search_sessions, rowid, body) VALUES ('delete', OLD.seq, substr(OLD.title, 1, 32000));
END;

CREATE TRIGGER artifact_text_indexed AFTER INSERT ON artifact_blobs WHEN NEW.search_text IS NOT NULL BEGIN
    INSERT INTO search_artifacts (rowid, body) VALUES (NEW.id, NEW.search_text);
END;
CREATE TRIGGER artifact_text_set AFTER UPDATE OF search_text ON artifact_blobs
WHEN OLD.search_text IS NOT NEW.search_text BEGIN
    INSERT INTO search_artifacts (search_artifacts, rowid, body)
    SELECT 'delete', OLD.id, OLD.search_text WHERE OLD.search_text IS NOT NULL;
    INSERT INTO search_artifacts (rowid, body) SELECT NEW.id, NEW.search_text WHERE NEW.search_text IS NOT NULL;
END;
CREATE TRIGGER artifact_text_unindexed AFTER DELETE ON artifact_blobs WHEN OLD.search_text IS NOT NULL BEGIN
    INSERT INTO search_artifacts (search_artifacts, rowid, body) VALUES ('delete', OLD.id, OLD.search_text);
END;

-- Names for fuzzy lookup (store.find): every agent, session, artifact, memory key, tag, signal and
-- lock name of a project, once per kind, with how many records carry it (the row goes when the
-- last one does). search_names_trigram is FTS5's trigram index over them: the candidates that
-- roost then ranks by trigram similarity.
CREATE TABLE search_names (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    uses INTEGER NOT NULL,
    UNIQUE (project, kind, name)
);
CREATE VIRTUAL TABLE search_names_trigram USING fts5(name, content='search_names', content_rowid='id',
                                                     tokenize='trigram');

CREATE TRIGGER search_name_added AFTER INSERT ON search_names BEGIN
    INSERT INTO search_names_trigram (rowid, name) VALUES (NEW.id, NEW.name);
END;
CREATE TRIGGER search_name_removed AFTER DELETE ON search_names BEGIN
    INSERT INTO search_names_trigram (search_names_trigram, rowid, name) VALUES ('delete', OLD.id, OLD.name);
END;

INSERT INTO search_names (project, kind, name, uses)
SELECT project, 'agent', name, 1 FROM agents
UNION ALL SELECT project, 'session', id, 1 FROM sessions
UNION ALL SELECT project, 'artifact', name, count(*) FROM artifacts GROUP BY project, name
UNION ALL SELECT project, 'memory', key, count(*) FROM memories GROUP BY project, key
UNION ALL SELECT m.project, 'tag', t.value, count(*) FROM memories m, json_each(m.tags) t GROUP BY m.project, t.value
UNION ALL SELECT project, 'signal', key, 1 FROM signals
UNION ALL SELECT project, 'lock', name, 1 FROM locks;

CREATE TRIGGER agent_named AFTER INSERT ON agents BEGIN
    INSERT INTO search_names (project, kind, name, uses) VALUES (NEW.project, 'agent', NEW.name, 1)
    ON CONFLICT (project, kind, name) DO UPDATE SET uses = uses + 1;
END;
CREATE TRIGGER agent_unnamed AFTER DELETE ON agents BEGIN
    UPDATE search_names SET uses = uses - 1 WHERE project = OLD.project AND kind = 'agent' AND name = OLD.name;
    DELETE FROM search_names WHERE project = OLD.project AND kind = 'agent' AND name = OLD.name AND uses <= 0;
END;
CREATE TRIGGER session_named AFTER INSERT ON sessions BEGIN
    INSERT INTO search_names (project, kind, name, uses) VALUES (NEW.project, 'session', NEW.id, 1)
    ON CONFLICT (project, kind, name) DO UPDATE SET uses = uses + 1;
END;
CREATE TRIGGER session_unnamed AFTER DELETE ON sessions BEGIN
    UPDATE search_names SET uses = uses - 1 WHERE project = OLD.project AND kind = 'session' AND name = OLD.id;
    DELETE FROM search_names WHERE project = OLD.project AND kind = 'session' AND name = OLD.id AND uses <= 0;
END;
CREATE TRIGGER artifact_named AFTER INSERT ON artifacts BEGIN
    INSERT INTO search_names (project, kind, name, uses) VALUES (NEW.project, 'artifact', NEW.name, 1)
    ON CONFLICT (project, kind, name) DO UPDATE SET uses = uses + 1;
END;
CREATE TRIGGER artifact_unnamed AFTER DELETE ON artifacts BEGIN
    UPDATE search_names SET uses = uses - 1 WHERE project = OLD.project AND kind = 'artifact' AND name = OLD.name;
    DELETE FROM search_names WHERE project = OLD.project AND kind = 'artifact' AND name = OLD.name AND uses <= 0;
END;
CREATE TRIGGER memory_named AFTER INSERT ON memories BEGIN
    INSERT INTO search_names (project, kind, name, uses) VALUES (NEW.project, 'memory', NEW.key, 1)
    ON CONFLICT (project, kind, name) DO UPDATE SET uses = uses + 1;
    INSERT INTO search_names (project, kind, name, uses)
    SELECT NEW.project, 'tag', value, 1 FROM json_each(NEW.tags) WHERE true ORDER BY value
    ON CONFLICT (project, kind, name) DO UPDATE SET uses = uses + 1;
END;
CREATE TRIGGER memory_retagged AFTER UPDATE OF tags ON memories WHEN OLD.tags IS NOT NEW.tags BEGIN
    INSERT INTO search_names (project, kind, name, uses)
    SELECT NEW.project, 'tag', tag, sum(delta) FROM (
        SELECT value AS tag, 1 AS delta FROM json_each(NEW.tags)
        UNION ALL SELECT value, -1 FROM json_each(OLD.tags)) WHERE true GROUP BY tag ORDER BY tag
    ON CONFLICT (project, kind, name) DO UPDATE SET uses = uses + excluded.uses;
    DELETE FROM search_names WHERE project = NEW.project AND kind = 'tag' AND uses <= 0
        AND name IN (SELECT value FROM json_each(OLD.tags));
END;
CREATE TRIGGER memory_unnamed AFTER DELETE ON memories BEGIN
    UPDATE search_names SET uses = uses - 1
    WHERE project = OLD.project AND ((kind = 'memory' AND name = OLD.key)
                                     OR (kind = 'tag' AND name IN (SELECT value FROM json_each(OLD.tags))));
    DELETE FROM search_names
    WHERE project = OLD.project AND uses <= 0 AND ((kind = 'memory' AND name = OLD.key)
                                                   OR (kind = 'tag' AND name IN (SELECT value FROM json_each(OLD.tags))));
END;
CREATE TRIGGER signal_named AFTER INSERT ON signals BEGIN
    INSERT INTO search_names (project, kind, name, uses) VALUES (NEW.project, 'signal', NEW.key, 1)
    ON CONFLICT (project, kind, name) DO UPDATE SET uses = uses + 1;
END;
CREATE TRIGGER signal_unnamed AFTER DELETE ON signals BEGIN
    UPDATE search_names SET uses = uses - 1 WHERE project = OLD.project AND kind = 'signal' AND name = OLD.key;
    DELETE FROM search_names WHERE project = OLD.project AND kind = 'signal' AND name = OLD.key AND uses <= 0;
END;
CREATE TRIGGER lock_named AFTER INSERT ON locks BEGIN
    INSERT INTO search_names (project, kind, name, uses) VALUES (NEW.project, 'lock', NEW.name, 1)
    ON CONFLICT (project, kind, name) DO UPDATE SET uses = uses + 1;
END;
CREATE TRIGGER lock_unnamed AFTER DELETE ON locks BEGIN
    UPDATE search_names SET uses = uses - 1 WHERE project = OLD.project AND kind = 'lock' AND name = OLD.name;
    DELETE FROM search_names WHERE project = OLD.project AND kind = 'lock' AND name = OLD.name AND uses <= 0;
END;
