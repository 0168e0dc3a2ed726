-- Coordination: signals, leased locks with fencing tokens, the agent registry, and an audit trail.

-- Tokens of a lock name whose row was removed by cleanup never come back: a re-created lock starts
-- above this floor.
ALTER TABLE projects ADD COLUMN lock_token_floor INTEGER NOT NULL DEFAULT 0;

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
