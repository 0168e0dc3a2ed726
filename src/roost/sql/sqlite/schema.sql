-- The whole schema at the newest migration, applied in one step to an empty database.
-- A test checks that it equals the result of applying every migration in order.
CREATE TABLE projects (
    name TEXT PRIMARY KEY NOT NULL,
    created_at REAL NOT NULL,
    lock_token_floor INTEGER NOT NULL DEFAULT 0
);

-- value is JSON text; NULL marks a cleared signal, kept until cleanup so its version never repeats.
CREATE TABLE signals (
    project TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    version INTEGER NOT NULL,
    critical INTEGER NOT NULL DEFAULT 0,
    expires_at REAL,
    updated_at REAL NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (project, key)
) WITHOUT ROWID;

-- One row per lock name, the only arbiter of who may hold it. token is the last fencing token
-- issued; epoch is the first token of the current holding, so any token below it is lost.
CREATE TABLE locks (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    token INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('exclusive', 'shared')),
    holders INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    changed_at REAL NOT NULL,
    PRIMARY KEY (project, name)
) WITHOUT ROWID;

-- Who holds what: bookkeeping for listing, renewal and release_all, guarded by the lock row.
CREATE TABLE lock_holders (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    token INTEGER NOT NULL,
    owner TEXT NOT NULL,
    mode TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (project, name, token)
) WITHOUT ROWID;
CREATE INDEX lock_holders_owner ON lock_holders (project, owner);

CREATE TABLE agents (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    command TEXT,
    capabilities TEXT NOT NULL,
    max_concurrent INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    registered_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    PRIMARY KEY (project, name)
) WITHOUT ROWID;

-- Privileged actions (force release, writes to protected signals): who did what, when.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_project ON audit_log (project, id);

-- Lease tokens for claimed tasks: one counter, so a token names one claim of one task for good.
CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('task_token', 0);

-- status: pending, running, failed (waiting to be retried), done, dead, cancelled.
-- blocked_by counts dependencies not yet done; a task is claimable only at 0.
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    target TEXT,
    capability TEXT,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'failed', 'done', 'dead', 'cancelled')),
    run_after REAL NOT NULL,
    max_attempts INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    timeout REAL,
    idempotency_key TEXT,
    blocked_by INTEGER NOT NULL DEFAULT 0,
    token INTEGER,
    claimed_by TEXT,
    claimed_host TEXT,
    claimed_pid INTEGER,
    claimed_at REAL,
    lease REAL,
    lease_expires_at REAL,
    result TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    request_key TEXT
);
CREATE INDEX tasks_request ON tasks (request_key) WHERE request_key IS NOT NULL;
CREATE INDEX tasks_ready ON tasks (project, priority DESC, id)
    WHERE status IN ('pending', 'failed') AND blocked_by = 0;
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX tasks_token ON tasks (token) WHERE token IS NOT NULL;
CREATE UNIQUE INDEX tasks_idempotency ON tasks (project, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_status ON tasks (project, status, queue);

CREATE TABLE task_deps (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, depends_on)
) WITHOUT ROWID;
CREATE INDEX task_deps_depends_on ON task_deps (depends_on);

-- One row per claim: who, when, and how it ended (done, failed, released, expired, cancelled).
CREATE TABLE task_runs (
    token INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    agent TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    claimed_at REAL NOT NULL,
    ended_at REAL,
    outcome TEXT,
    error TEXT
);
CREATE INDEX task_runs_task ON task_runs (task_id);

-- The event log, durable consumers and the built-in events (see migration 0005).
CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    refs TEXT NOT NULL DEFAULT '{}',
    dedupe_key TEXT,
    created_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    request_key TEXT
);
CREATE UNIQUE INDEX events_dedupe ON events (project, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX events_request ON events (request_key) WHERE request_key IS NOT NULL;

CREATE TABLE event_consumers (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (project, name)
);

CREATE TRIGGER tasks_inserted AFTER INSERT ON tasks BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'task.enqueued',
        json_object('id', NEW.id, 'kind', NEW.kind, 'queue', NEW.queue, 'priority', NEW.priority),
        json_object('task', NEW.id, 'queue', NEW.queue));
END;

CREATE TRIGGER tasks_claimed AFTER UPDATE OF status, token ON tasks
WHEN NEW.status = 'running' AND (OLD.status <> 'running' OR OLD.token IS NOT NEW.token) BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'task.claimed',
        json_object('id', NEW.id, 'kind', NEW.kind, 'token', NEW.token, 'attempt', NEW.attempts,
                    'agent', NEW.claimed_by),
        json_patch('{}', json_object('task', NEW.id, 'agent', NEW.claimed_by, 'queue', NEW.queue)));
END;

CREATE TRIGGER tasks_ended AFTER UPDATE OF status ON tasks
WHEN NEW.status <> OLD.status AND NEW.status <> 'running' BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project,
        CASE NEW.status
            WHEN 'done' THEN 'task.completed'
            WHEN 'failed' THEN 'task.failed'
            WHEN 'dead' THEN 'task.dead'
            WHEN 'cancelled' THEN 'task.cancelled'
            ELSE CASE WHEN NEW.error = 'lease expired' THEN 'task.expired' ELSE 'task.released' END
        END,
        json_patch('{}', json_object('id', NEW.id, 'kind', NEW.kind, 'token', OLD.token, 'attempt', NEW.attempts,
                                     'agent', OLD.claimed_by, 'error', NEW.error)),
        json_patch('{}', json_object('task', NEW.id, 'agent', OLD.claimed_by, 'queue', NEW.queue)));
END;

CREATE TRIGGER signals_inserted AFTER INSERT ON signals BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project,
        CASE WHEN NEW.value IS NULL THEN 'signal.cleared' ELSE 'signal.set' END,
        CASE WHEN NEW.value IS NULL THEN json_object('key', NEW.key, 'version', NEW.version, 'by', NEW.updated_by)
             ELSE json_object('key', NEW.key, 'version', NEW.version, 'value', json(NEW.value), 'by', NEW.updated_by)
        END,
        json_object('key', NEW.key));
END;

CREATE TRIGGER signals_updated AFTER UPDATE OF value, version ON signals BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project,
        CASE WHEN NEW.value IS NULL THEN 'signal.cleared' ELSE 'signal.set' END,
        CASE WHEN NEW.value IS NULL THEN json_object('key', NEW.key, 'version', NEW.version, 'by', NEW.updated_by)
             ELSE json_object('key', NEW.key, 'version', NEW.version, 'value', json(NEW.value), 'by', NEW.updated_by)
        END,
        json_object('key', NEW.key));
END;

CREATE TRIGGER lock_holders_inserted AFTER INSERT ON lock_holders BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'lock.acquired',
        json_object('name', NEW.name, 'owner', NEW.owner, 'token', NEW.token, 'mode', NEW.mode),
        json_object('lock', NEW.name, 'agent', NEW.owner));
END;

CREATE TRIGGER locks_epoch_changed AFTER UPDATE OF epoch ON locks
WHEN OLD.epoch <> NEW.epoch AND (NEW.holders = 0 OR OLD.holders > 0) BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project,
        CASE WHEN NEW.holders = 0 THEN 'lock.force_released' ELSE 'lock.taken_over' END,
        CASE WHEN NEW.holders = 0 THEN json_object('name', NEW.name, 'epoch', NEW.epoch)
             ELSE json_object('name', NEW.name, 'token', NEW.token, 'previous_epoch', OLD.epoch) END,
        json_object('lock', NEW.name));
END;

CREATE TRIGGER agents_inserted AFTER INSERT ON agents BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'agent.online',
        json_object('name', NEW.name, 'kind', NEW.kind, 'status', NEW.status), json_object('agent', NEW.name));
END;

CREATE TRIGGER agents_deleted AFTER DELETE ON agents BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (OLD.project, 'agent.offline',
        json_object('name', OLD.name, 'reason', 'deregistered'), json_object('agent', OLD.name));
END;

CREATE TRIGGER agents_status AFTER UPDATE OF status ON agents WHEN OLD.status IS NOT NEW.status BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project,
        CASE WHEN NEW.status = 'offline' THEN 'agent.offline'
             WHEN OLD.status = 'offline' THEN 'agent.online' ELSE 'agent.status' END,
        CASE WHEN NEW.status = 'offline' THEN json_object('name', NEW.name, 'reason', 'silent', 'previous', OLD.status)
             WHEN OLD.status = 'offline' THEN json_object('name', NEW.name, 'kind', NEW.kind, 'status', NEW.status)
             ELSE json_object('name', NEW.name, 'status', NEW.status, 'previous', OLD.status) END,
        json_object('agent', NEW.name));
END;
-- Memory: sessions, transcripts, memories, observations and artifacts (docs/memory.md).
--
-- Everything is scoped by project. What belongs to a session references it, and goes with it when
-- it is deleted (ON DELETE CASCADE: one statement, one transaction). A session's counters and its
-- last_activity are kept by triggers on the rows they count (memories, observations, artifacts), so
-- they move in the same transaction as the write, whichever statement made it; transcripts, which
-- arrive in batches, update their session once per batch instead (see transcripts.sql). Text lives
-- in one column per kind (content, title), where a full-text index can read it.

CREATE TABLE sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'completed', 'archived')),
    participants TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_activity REAL NOT NULL,
    last_position INTEGER NOT NULL DEFAULT 0,
    entry_count INTEGER NOT NULL DEFAULT 0,
    memory_count INTEGER NOT NULL DEFAULT 0,
    artifact_count INTEGER NOT NULL DEFAULT 0,
    observation_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project, id)
);
CREATE INDEX sessions_recent ON sessions (project, seq);

CREATE TABLE transcript_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    session_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    agent TEXT,
    phase TEXT,
    iteration INTEGER,
    message_id TEXT,
    metadata TEXT,
    created_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES sessions (project, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX transcript_positions ON transcript_entries (project, session_id, position);
CREATE UNIQUE INDEX transcript_messages ON transcript_entries (project, session_id, message_id)
    WHERE message_id IS NOT NULL;

-- A memory's key is unique per project and scope: its session, or the whole project ('').
-- seq orders writes (newest first) and is what list cursors point at.
CREATE TABLE memories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    session_id TEXT,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    tags TEXT NOT NULL,
    agent TEXT,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES sessions (project, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX memories_key ON memories (project, coalesce(session_id, ''), key);
CREATE INDEX memories_recent ON memories (project, seq);
CREATE INDEX memories_session ON memories (project, session_id) WHERE session_id IS NOT NULL;

CREATE TABLE observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    agent TEXT NOT NULL,
    session_id TEXT,
    kind TEXT,
    content TEXT NOT NULL,
    created_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES sessions (project, id) ON DELETE CASCADE
);
CREATE INDEX observations_agent ON observations (project, agent, id);
CREATE INDEX observations_recent ON observations (project, id);
CREATE INDEX observations_session ON observations (project, session_id) WHERE session_id IS NOT NULL;

-- How many observations each agent has: the per-agent cap is enforced against this row, which
-- every insert for the agent writes first (so inserts for one agent take turns on it).
CREATE TABLE observation_agents (
    project TEXT NOT NULL,
    agent TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (project, agent)
);

-- Artifact content, stored once per project and SHA-256, in chunks. A blob without sha256 is an
-- upload in progress (or one whose writer died): no artifact points at it, and cleanup removes it.
CREATE TABLE artifact_blobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    touched_at REAL NOT NULL
);
CREATE UNIQUE INDEX artifact_blobs_sha ON artifact_blobs (project, sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX artifact_blobs_uploads ON artifact_blobs (project, touched_at) WHERE sha256 IS NULL;

CREATE TABLE artifact_chunks (
    blob_id INTEGER NOT NULL REFERENCES artifact_blobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (blob_id, seq)
);

-- The newest version number each name was given, kept after its versions are deleted, so a
-- version number is never handed out twice.
CREATE TABLE artifact_names (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    latest INTEGER NOT NULL,
    PRIMARY KEY (project, name)
);

CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    blob_id INTEGER NOT NULL REFERENCES artifact_blobs (id),
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    type TEXT,
    format TEXT,
    is_text INTEGER NOT NULL,
    session_id TEXT,
    task_id INTEGER,
    metadata TEXT,
    created_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES sessions (project, id) ON DELETE CASCADE,
    UNIQUE (project, name, version)
);
CREATE INDEX artifacts_blob ON artifacts (blob_id);
CREATE INDEX artifacts_session ON artifacts (project, session_id) WHERE session_id IS NOT NULL;

-- Built-in events and the session's counters. (transcript.appended is written once per batch by
-- the append statements themselves.)
CREATE TRIGGER sessions_inserted AFTER INSERT ON sessions BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'session.created',
        json_object('id', NEW.id, 'title', NEW.title, 'participants', json(NEW.participants)),
        json_object('session', NEW.id));
END;

CREATE TRIGGER sessions_status AFTER UPDATE OF status ON sessions WHEN OLD.status <> NEW.status BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'session.status_changed',
        json_object('id', NEW.id, 'status', NEW.status, 'previous', OLD.status), json_object('session', NEW.id));
END;

CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (OLD.project, 'session.deleted',
        json_object('id', OLD.id), json_object('session', OLD.id));
END;

CREATE TRIGGER memories_inserted AFTER INSERT ON memories BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'memory.put',
        json_patch('{}', json_object('key', NEW.key, 'session', NEW.session_id, 'type', NEW.type,
                                     'version', NEW.version, 'agent', NEW.agent)),
        json_patch('{}', json_object('memory', NEW.key, 'session', NEW.session_id, 'agent', NEW.agent)));
    UPDATE sessions SET memory_count = memory_count + 1, last_activity = NEW.updated_at
    WHERE NEW.session_id IS NOT NULL AND project = NEW.project AND id = NEW.session_id;
END;

CREATE TRIGGER memories_updated AFTER UPDATE ON memories BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'memory.put',
        json_patch('{}', json_object('key', NEW.key, 'session', NEW.session_id, 'type', NEW.type,
                                     'version', NEW.version, 'agent', NEW.agent)),
        json_patch('{}', json_object('memory', NEW.key, 'session', NEW.session_id, 'agent', NEW.agent)));
    UPDATE sessions SET last_activity = NEW.updated_at
    WHERE NEW.session_id IS NOT NULL AND project = NEW.project AND id = NEW.session_id;
END;

CREATE TRIGGER memories_deleted AFTER DELETE ON memories BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (OLD.project, 'memory.deleted',
        json_patch('{}', json_object('key', OLD.key, 'session', OLD.session_id, 'version', OLD.version)),
        json_patch('{}', json_object('memory', OLD.key, 'session', OLD.session_id)));
    UPDATE sessions SET memory_count = memory_count - 1, last_activity = (julianday('now') - 2440587.5) * 86400.0
    WHERE OLD.session_id IS NOT NULL AND project = OLD.project AND id = OLD.session_id;
END;

CREATE TRIGGER observations_inserted AFTER INSERT ON observations BEGIN
    INSERT INTO observation_agents (project, agent, count) VALUES (NEW.project, NEW.agent, 1)
    ON CONFLICT (project, agent) DO UPDATE SET count = count + 1;
    UPDATE sessions SET observation_count = observation_count + 1, last_activity = NEW.created_at
    WHERE NEW.session_id IS NOT NULL AND project = NEW.project AND id = NEW.session_id;
END;

CREATE TRIGGER observations_deleted AFTER DELETE ON observations BEGIN
    UPDATE observation_agents SET count = count - 1 WHERE project = OLD.project AND agent = OLD.agent;
    UPDATE sessions SET observation_count = observation_count - 1
    WHERE OLD.session_id IS NOT NULL AND project = OLD.project AND id = OLD.session_id;
END;

CREATE TRIGGER artifacts_inserted AFTER INSERT ON artifacts BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'artifact.put',
        json_patch('{}', json_object('name', NEW.name, 'version', NEW.version, 'size', NEW.size,
                                     'sha256', NEW.sha256, 'session', NEW.session_id)),
        json_patch('{}', json_object('artifact', NEW.name, 'session', NEW.session_id)));
    UPDATE sessions SET artifact_count = artifact_count + 1, last_activity = NEW.created_at
    WHERE NEW.session_id IS NOT NULL AND project = NEW.project AND id = NEW.session_id;
END;

CREATE TRIGGER artifacts_deleted AFTER DELETE ON artifacts BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (OLD.project, 'artifact.deleted',
        json_patch('{}', json_object('name', OLD.name, 'version', OLD.version, 'session', OLD.session_id)),
        json_patch('{}', json_object('artifact', OLD.name, 'session', OLD.session_id)));
    UPDATE sessions SET artifact_count = artifact_count - 1, last_activity = (julianday('now') - 2440587.5) * 86400.0
    WHERE OLD.session_id IS NOT NULL AND project = OLD.project AND id = OLD.session_id;
END;

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

-- 0012 documents
CREATE TABLE doc_collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    on_parent_delete TEXT NOT NULL CHECK (on_parent_delete IN ('cascade', 'restrict')),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES doc_collections (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    parent_id INTEGER REFERENCES documents (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    agent TEXT,
    change TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (collection_id, key)
);
CREATE INDEX documents_children ON documents (parent_id, collection_id, key);

CREATE TABLE document_history (
    document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    agent TEXT,
    change TEXT,
    at REAL NOT NULL,
    PRIMARY KEY (document_id, version)
) WITHOUT ROWID;

CREATE TABLE document_keys (
    document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    PRIMARY KEY (document_id, path, key)
) WITHOUT ROWID;
CREATE INDEX document_keys_lookup ON document_keys (collection_id, path, key, doc_key, document_id);

CREATE TABLE document_links (
    src_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    rel TEXT NOT NULL,
    dst_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    PRIMARY KEY (src_id, rel, dst_id)
) WITHOUT ROWID;
CREATE INDEX document_links_in ON document_links (dst_id, rel, src_id);

-- 0013 workflows
CREATE TABLE workflows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (project, name, version)
);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    workflow_id INTEGER NOT NULL REFERENCES workflows (id),
    workflow TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    variables TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'running', 'paused', 'blocked', 'completed', 'failed', 'cancelled')),
    phase TEXT,
    reason TEXT,
    version INTEGER NOT NULL,
    agent TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX runs_status ON runs (project, status, id);
CREATE INDEX runs_workflow ON runs (project, workflow, id);
CREATE INDEX runs_subject ON runs (project, subject_kind, subject_ref, id);

CREATE TABLE run_phases (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    iteration INTEGER NOT NULL DEFAULT 0,
    executor TEXT,
    session TEXT,
    claim_token INTEGER,
    tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    error TEXT,
    skip_reason TEXT,
    started_at REAL,
    finished_at REAL,
    heartbeat_at REAL,
    PRIMARY KEY (run_id, phase)
);
CREATE INDEX run_phases_running ON run_phases (heartbeat_at) WHERE status = 'running';

CREATE TABLE gate_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    approved INTEGER NOT NULL,
    reason TEXT,
    decided_by TEXT NOT NULL,
    decided_at REAL NOT NULL
);
CREATE INDEX gate_decisions_run ON gate_decisions (run_id, phase, id);

CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    reviewer TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    blockers TEXT NOT NULL,
    feedback TEXT,
    findings TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (run_id, phase, iteration, reviewer)
);

CREATE TABLE run_outputs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    var TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('text', 'json', 'artifact')),
    content TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    agent TEXT,
    created_at REAL NOT NULL,
    UNIQUE (run_id, phase, var, iteration)
);
CREATE INDEX run_outputs_var ON run_outputs (run_id, var, id);

CREATE TRIGGER gate_decisions_kept BEFORE UPDATE ON gate_decisions BEGIN
    SELECT RAISE(ABORT, 'gate decisions are append-only');
END;
CREATE TRIGGER evaluations_kept BEFORE UPDATE ON evaluations BEGIN
    SELECT RAISE(ABORT, 'evaluations are append-only');
END;
CREATE TRIGGER run_outputs_kept BEFORE UPDATE ON run_outputs BEGIN
    SELECT RAISE(ABORT, 'phase outputs are append-only');
END;

CREATE TRIGGER runs_started AFTER INSERT ON runs BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'run.started',
        json_object('id', NEW.id, 'workflow', NEW.workflow, 'status', NEW.status, 'phase', NEW.phase,
                    'subject', json_object(NEW.subject_kind, NEW.subject_ref)),
        json_patch('{}', json_object('run', NEW.id, 'workflow', NEW.workflow, 'agent', NEW.agent)));
END;
CREATE TRIGGER runs_transitioned AFTER UPDATE OF status ON runs WHEN NEW.status <> OLD.status BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project,
        CASE WHEN NEW.status IN ('completed', 'failed', 'cancelled') THEN 'run.finished' ELSE 'run.transitioned' END,
        json_patch('{}', json_object('id', NEW.id, 'workflow', NEW.workflow, 'from', OLD.status, 'to', NEW.status,
                                     'phase', NEW.phase, 'reason', NEW.reason)),
        json_object('run', NEW.id, 'workflow', NEW.workflow));
END;
CREATE TRIGGER run_phases_started AFTER UPDATE OF iteration ON run_phases WHEN NEW.iteration > OLD.iteration BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'phase.started',
        json_patch('{}', json_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                     'executor', NEW.executor, 'session', NEW.session, 'claim', NEW.claim_token)),
        json_patch('{}', json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.executor))
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER run_phases_finished AFTER UPDATE OF status ON run_phases
WHEN NEW.status <> OLD.status AND NEW.status IN ('completed', 'failed', 'skipped') BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'phase.finished',
        json_patch('{}', json_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                     'status', NEW.status, 'executor', NEW.executor, 'tokens', NEW.tokens - OLD.tokens,
                                     'cost', NEW.cost - OLD.cost, 'error', NEW.error, 'skip_reason', NEW.skip_reason)),
        json_patch('{}', json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.executor))
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER gate_decided AFTER INSERT ON gate_decisions BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'gate.decided',
        json_patch('{}', json_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                     'approved', json(CASE WHEN NEW.approved THEN 'true' ELSE 'false' END),
                                     'reason', NEW.reason, 'decided_by', NEW.decided_by)),
        json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.decided_by)
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER evaluation_recorded AFTER INSERT ON evaluations BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'evaluation.recorded',
        json_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration, 'reviewer', NEW.reviewer,
                    'score', NEW.score, 'max_score', NEW.max_score, 'blockers', json_array_length(NEW.blockers)),
        json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.reviewer)
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER run_output_written AFTER INSERT ON run_outputs BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'output.written',
        json_object('run', NEW.run_id, 'phase', NEW.phase, 'var', NEW.var, 'iteration', NEW.iteration,
                    'kind', NEW.kind, 'sha256', NEW.sha256, 'size', NEW.size),
        json_patch('{}', json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.agent))
    FROM runs r WHERE r.id = NEW.run_id;
END;

-- 0014 transcript_row_locks
-- (PostgreSQL only: nothing changes on SQLite)

-- 0015 cleanup
CREATE TABLE cleanup_state (
    project TEXT PRIMARY KEY,
    started_at REAL,
    finished_at REAL NOT NULL,
    passes INTEGER NOT NULL DEFAULT 0,
    last_by TEXT,
    removed TEXT NOT NULL DEFAULT '{}'
);

-- 0016 imports
CREATE TABLE imports (
    project TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    source TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL
);

-- 0017 langgraph
CREATE TABLE lg_checkpoints (
    project TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    parent_id TEXT,
    type TEXT NOT NULL,
    checkpoint BLOB NOT NULL,
    versions TEXT NOT NULL,
    metadata TEXT NOT NULL,
    run_id TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (project, thread_id, checkpoint_ns, checkpoint_id)
) WITHOUT ROWID;
CREATE INDEX lg_checkpoints_run ON lg_checkpoints (project, run_id) WHERE run_id IS NOT NULL;
CREATE INDEX lg_checkpoints_age ON lg_checkpoints (created_at);

CREATE TABLE lg_blobs (
    project TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    type TEXT NOT NULL,
    blob BLOB,
    PRIMARY KEY (project, thread_id, checkpoint_ns, channel, version)
) WITHOUT ROWID;

CREATE TABLE lg_writes (
    project TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT NOT NULL,
    blob BLOB NOT NULL,
    task_path TEXT NOT NULL,
    PRIMARY KEY (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
) WITHOUT ROWID;

-- A checkpoint's pending writes go with it (a trigger, not a foreign key: LangGraph may store a
-- task's writes before the checkpoint they belong to has been committed).
CREATE TRIGGER lg_checkpoint_deleted AFTER DELETE ON lg_checkpoints BEGIN
    DELETE FROM lg_writes WHERE project = OLD.project AND thread_id = OLD.thread_id
        AND checkpoint_ns = OLD.checkpoint_ns AND checkpoint_id = OLD.checkpoint_id;
END;

CREATE TABLE lg_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    ttl REAL,
    expires_at REAL,
    UNIQUE (project, namespace, key)
);
CREATE INDEX lg_items_expiry ON lg_items (expires_at) WHERE expires_at IS NOT NULL;

-- An item's text for search, as a memory's: its key, then the keys and strings of its value in
-- document order, kept by triggers in the writing statement's transaction.
CREATE VIRTUAL TABLE search_lg_items USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER lg_item_indexed AFTER INSERT ON lg_items BEGIN
    INSERT INTO search_lg_items (rowid, body) VALUES (NEW.id, substr(NEW.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(NEW.value)), ''), 1, 32000));
END;
CREATE TRIGGER lg_item_reindexed AFTER UPDATE OF value ON lg_items BEGIN
    INSERT INTO search_lg_items (search_lg_items, rowid, body) VALUES ('delete', OLD.id, substr(OLD.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(OLD.value)), ''), 1, 32000));
    INSERT INTO search_lg_items (rowid, body) VALUES (NEW.id, substr(NEW.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(NEW.value)), ''), 1, 32000));
END;
CREATE TRIGGER lg_item_unindexed AFTER DELETE ON lg_items BEGIN
    INSERT INTO search_lg_items (search_lg_items, rowid, body) VALUES ('delete', OLD.id, substr(OLD.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(OLD.value)), ''), 1, 32000));
END;
