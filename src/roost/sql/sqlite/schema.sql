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
