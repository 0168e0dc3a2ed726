-- The task queue: tasks with priorities, dependencies and leases, and the history of every claim.

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
    finished_at REAL
);
CREATE INDEX tasks_ready ON tasks (project, priority DESC, id)
    WHERE status IN ('pending', 'failed') AND blocked_by = 0;
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX tasks_token ON tasks (token);
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
