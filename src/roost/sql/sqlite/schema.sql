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
