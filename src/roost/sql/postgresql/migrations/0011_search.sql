-- Search (docs/search.md): a stored, GIN-indexed tsvector per kind of record, and the names fuzzy
-- lookup reads.
--
-- The vectors are written by roost with the record, in the same statement: roost splits the text
-- into terms itself (roost/search/tokens.py, the terms SQLite's unicode61 tokenizer makes) and
-- hands PostgreSQL a tsvector literal, so both backends index the very same terms whatever the
-- database's locale. Nothing is computed per query. Only the first 32,000 characters are indexed.
--
-- Records written before this migration have no vector yet; roost fills them in afterwards, a
-- batch per transaction (search_backfill holds how far each kind has got), so upgrading a large
-- store never holds its locks for long. Adding the columns rewrites nothing, and the GIN indexes
-- are built over empty columns.

ALTER TABLE roost.transcript_entries ADD COLUMN search tsvector;
ALTER TABLE roost.memories ADD COLUMN search tsvector;
ALTER TABLE roost.observations ADD COLUMN search tsvector;
ALTER TABLE roost.sessions ADD COLUMN search tsvector;
ALTER TABLE roost.artifact_blobs ADD COLUMN search tsvector;
-- The text of a text artifact's content (its first 32,000 characters), what search reads.
ALTER TABLE roost.artifact_blobs ADD COLUMN search_text text;

CREATE INDEX transcript_search ON roost.transcript_entries USING gin (search);
CREATE INDEX memory_search ON roost.memories USING gin (search);
CREATE INDEX observation_search ON roost.observations USING gin (search);
CREATE INDEX session_search ON roost.sessions USING gin (search);
CREATE INDEX artifact_search ON roost.artifact_blobs USING gin (search);

CREATE TABLE roost.search_backfill (
    kind text PRIMARY KEY,
    done bigint NOT NULL,
    upto bigint NOT NULL
);
INSERT INTO roost.search_backfill (kind, done, upto)
SELECT 'transcript', 0, max(id) FROM roost.transcript_entries HAVING max(id) IS NOT NULL
UNION ALL SELECT 'memory', 0, max(id) FROM roost.memories HAVING max(id) IS NOT NULL
UNION ALL SELECT 'observation', 0, max(id) FROM roost.observations HAVING max(id) IS NOT NULL
UNION ALL SELECT 'session', 0, max(seq) FROM roost.sessions HAVING max(seq) IS NOT NULL
UNION ALL SELECT 'artifact', 0, max(id) FROM roost.artifact_blobs HAVING max(id) IS NOT NULL;

-- A memory's events fire on its writes, not on the backfill filling in its vector.
DROP TRIGGER memories_written ON roost.memories;
CREATE TRIGGER memories_written AFTER INSERT OR DELETE OR UPDATE OF version ON roost.memories FOR EACH ROW
    EXECUTE FUNCTION roost.memory_events();

-- The single append and the observation add take the vector too.
DROP FUNCTION roost.transcript_append(text, text, text, text, text, text, integer, text, text);
CREATE FUNCTION roost.transcript_append(p_project text, p_session text, p_role text, p_content text,
                                        p_agent text, p_phase text, p_iteration integer, p_message_id text,
                                        p_metadata text, p_search tsvector)
RETURNS TABLE (id bigint, session_id text, entry_position bigint, role text, content text, agent text, phase text,
               iteration integer, message_id text, metadata text, created_at float8)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    pos bigint;
    stamp timestamptz := clock_timestamp();
BEGIN
    PERFORM 1 FROM roost.sessions s WHERE s.project = p_project AND s.id = p_session FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_message_id IS NOT NULL THEN
        RETURN QUERY SELECT t.id, t.session_id, t.position, t.role, t.content, t.agent, t.phase, t.iteration,
                            t.message_id, t.metadata, extract(epoch FROM t.created_at)::float8
                     FROM roost.transcript_entries t
                     WHERE t.project = p_project AND t.session_id = p_session AND t.message_id = p_message_id;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    UPDATE roost.sessions s SET last_position = s.last_position + 1, entry_count = s.entry_count + 1,
        last_activity = stamp
    WHERE s.project = p_project AND s.id = p_session
    RETURNING s.last_position INTO pos;
    INSERT INTO roost.events (project, topic, payload, refs) VALUES (p_project, 'transcript.appended',
        (json_build_object('session', p_session, 'count', 1, 'first', pos, 'last', pos))::text,
        jsonb_build_object('session', p_session));
    RETURN QUERY INSERT INTO roost.transcript_entries AS t (project, session_id, position, role, content, agent,
                                                            phase, iteration, message_id, metadata, created_at,
                                                            search)
        VALUES (p_project, p_session, pos, p_role, p_content, p_agent, p_phase, p_iteration, p_message_id,
                p_metadata, stamp, p_search)
        RETURNING t.id, t.session_id, t.position, t.role, t.content, t.agent, t.phase, t.iteration, t.message_id,
                  t.metadata, extract(epoch FROM t.created_at)::float8;
END
$$;

DROP FUNCTION roost.observation_add(text, text, text, text, text, bigint);
CREATE FUNCTION roost.observation_add(p_project text, p_agent text, p_session text, p_kind text,
                                      p_content text, p_cap bigint, p_search tsvector)
RETURNS TABLE (id bigint, created_at float8)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    new_id bigint;
    new_at timestamptz := clock_timestamp();
    n bigint;
BEGIN
    INSERT INTO roost.observations (project, agent, session_id, kind, content, created_at, search)
    VALUES (p_project, p_agent, p_session, p_kind, p_content, new_at, p_search)
    RETURNING roost.observations.id INTO new_id;
    SELECT a.count INTO n FROM roost.observation_agents a WHERE a.project = p_project AND a.agent = p_agent;
    IF n > p_cap THEN
        DELETE FROM roost.observations o WHERE o.id IN (
            SELECT x.id FROM roost.observations x WHERE x.project = p_project AND x.agent = p_agent
            ORDER BY x.id LIMIT n - p_cap);
    END IF;
    RETURN QUERY SELECT new_id, extract(epoch FROM new_at)::float8;
END
$$;

-- Names for fuzzy lookup (store.find): every agent, session, artifact, memory key, tag, signal and
-- lock name of a project, once per kind, with how many records carry it (the row goes when the
-- last one does). Kept by triggers; tags are counted in sorted order, so two writers never take
-- their rows in opposite orders.
CREATE TABLE roost.search_names (
    project text NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    uses bigint NOT NULL,
    PRIMARY KEY (project, kind, name)
);

INSERT INTO roost.search_names (project, kind, name, uses)
SELECT project, 'agent', name, 1 FROM roost.agents
UNION ALL SELECT project, 'session', id, 1 FROM roost.sessions
UNION ALL SELECT project, 'artifact', name, count(*) FROM roost.artifacts GROUP BY project, name
UNION ALL SELECT project, 'memory', key, count(*) FROM roost.memories GROUP BY project, key
UNION ALL SELECT project, 'tag', t, count(*) FROM roost.memories, unnest(tags) t GROUP BY project, t
UNION ALL SELECT project, 'signal', key, 1 FROM roost.signals
UNION ALL SELECT project, 'lock', name, 1 FROM roost.locks;

CREATE FUNCTION roost.search_name_count(p_project text, p_kind text, p_names text[], p_delta bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_delta > 0 THEN
        INSERT INTO roost.search_names AS n (project, kind, name, uses)
        SELECT p_project, p_kind, x, p_delta FROM (SELECT DISTINCT x FROM unnest(p_names) x) u ORDER BY x
        ON CONFLICT (project, kind, name) DO UPDATE SET uses = n.uses + excluded.uses;
    ELSE
        UPDATE roost.search_names n SET uses = n.uses + p_delta
        FROM (SELECT DISTINCT x FROM unnest(p_names) x ORDER BY x) u
        WHERE n.project = p_project AND n.kind = p_kind AND n.name = u.x;
        DELETE FROM roost.search_names n
        WHERE n.project = p_project AND n.kind = p_kind AND n.name = ANY (p_names) AND n.uses <= 0;
    END IF;
END
$$;

CREATE FUNCTION roost.search_named() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := TG_ARGV[0];
    column_name text := TG_ARGV[1];
    row_new jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    row_old jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM roost.search_name_count(NEW.project, kind, ARRAY[row_new ->> column_name], 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM roost.search_name_count(OLD.project, kind, ARRAY[row_old ->> column_name], -1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER agents_named AFTER INSERT OR DELETE ON roost.agents FOR EACH ROW
    EXECUTE FUNCTION roost.search_named('agent', 'name');
CREATE TRIGGER sessions_named AFTER INSERT OR DELETE ON roost.sessions FOR EACH ROW
    EXECUTE FUNCTION roost.search_named('session', 'id');
CREATE TRIGGER artifacts_named AFTER INSERT OR DELETE ON roost.artifacts FOR EACH ROW
    EXECUTE FUNCTION roost.search_named('artifact', 'name');
CREATE TRIGGER signals_named AFTER INSERT OR DELETE ON roost.signals FOR EACH ROW
    EXECUTE FUNCTION roost.search_named('signal', 'key');
CREATE TRIGGER locks_named AFTER INSERT OR DELETE ON roost.locks FOR EACH ROW
    EXECUTE FUNCTION roost.search_named('lock', 'name');

CREATE FUNCTION roost.memory_named() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM roost.search_name_count(NEW.project, 'memory', ARRAY[NEW.key], 1);
        PERFORM roost.search_name_count(NEW.project, 'tag', NEW.tags, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM roost.search_name_count(OLD.project, 'memory', ARRAY[OLD.key], -1);
        PERFORM roost.search_name_count(OLD.project, 'tag', OLD.tags, -1);
    ELSIF OLD.tags IS DISTINCT FROM NEW.tags THEN
        -- One statement, in tag order: gained tags up, lost ones down, so two retags never take
        -- their rows in opposite orders.
        INSERT INTO roost.search_names AS n (project, kind, name, uses)
        SELECT NEW.project, 'tag', x.tag, sum(x.delta)
        FROM (SELECT DISTINCT unnest(NEW.tags) AS tag, 1 AS delta
              UNION ALL SELECT DISTINCT unnest(OLD.tags), -1) x
        GROUP BY x.tag HAVING sum(x.delta) <> 0 ORDER BY x.tag
        ON CONFLICT (project, kind, name) DO UPDATE SET uses = n.uses + excluded.uses;
        DELETE FROM roost.search_names n
        WHERE n.project = NEW.project AND n.kind = 'tag' AND n.name = ANY (OLD.tags) AND n.uses <= 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memories_named AFTER INSERT OR DELETE OR UPDATE OF tags ON roost.memories FOR EACH ROW
    EXECUTE FUNCTION roost.memory_named();

-- Fuzzy lookup with pg_trgm, where the database has it (a trusted extension: the database's owner
-- may create it). Without it roost ranks the names itself, slower, with the same results, and
-- `roost doctor` says so. The function is written for the schema pg_trgm is installed in.
DO $$
DECLARE
    trgm text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'roost: pg_trgm is not available (%); fuzzy lookups take the slower path', SQLERRM;
    END;
    SELECT extnamespace::regnamespace::text INTO trgm FROM pg_extension WHERE extname = 'pg_trgm';
    IF trgm IS NOT NULL THEN
        EXECUTE format('CREATE INDEX search_names_trigram ON roost.search_names USING gin (name %s.gin_trgm_ops)', trgm);
        EXECUTE format($f$
            CREATE FUNCTION roost.find_names(p_project text, p_kinds text[], p_name text, p_limit integer)
            RETURNS TABLE (kind text, name text, score float8)
            LANGUAGE sql STABLE SET pg_trgm.similarity_threshold = 0.3 AS $body$
                SELECT n.kind, n.name, %1$s.similarity(n.name, p_name)::float8
                FROM roost.search_names n
                WHERE n.project = p_project AND n.kind = ANY (p_kinds) AND n.name OPERATOR(%1$s.%%) p_name
                ORDER BY 3 DESC, n.kind, n.name
                LIMIT p_limit
            $body$ $f$, trgm);
    END IF;
END
$$;
