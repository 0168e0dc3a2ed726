-- Coordination: signals, leased locks with fencing tokens, the agent registry, and an audit trail.

-- Fencing tokens come from one sequence: drawn while the lock row is locked, so each name's tokens
-- only grow, and a lock re-created after cleanup can never repeat one.
CREATE SEQUENCE roost.lock_tokens;

-- value is JSON text; NULL marks a cleared signal, kept until cleanup so its version never repeats.
CREATE TABLE roost.signals (
    project text NOT NULL,
    key text NOT NULL,
    value text,
    version bigint NOT NULL,
    critical boolean NOT NULL DEFAULT false,
    expires_at timestamptz,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL,
    PRIMARY KEY (project, key)
) WITH (fillfactor = 80);

-- One row per lock name, the only arbiter of who may hold it. token is the last fencing token
-- issued; epoch is the first token of the current holding, so any token below it is lost.
CREATE TABLE roost.locks (
    project text NOT NULL,
    name text NOT NULL,
    token bigint NOT NULL,
    epoch bigint NOT NULL,
    mode text NOT NULL CHECK (mode IN ('exclusive', 'shared')),
    holders integer NOT NULL,
    expires_at timestamptz NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (project, name)
) WITH (fillfactor = 70);

-- Who holds what: bookkeeping for listing, renewal and release_all, guarded by the lock row.
CREATE TABLE roost.lock_holders (
    project text NOT NULL,
    name text NOT NULL,
    token bigint NOT NULL,
    owner text NOT NULL,
    mode text NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (project, name, token)
) WITH (fillfactor = 80);
CREATE INDEX lock_holders_owner ON roost.lock_holders (project, owner);

CREATE TABLE roost.agents (
    project text NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    command text,
    capabilities text NOT NULL,
    max_concurrent integer NOT NULL,
    metadata text NOT NULL,
    status text NOT NULL,
    registered_at timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    PRIMARY KEY (project, name)
);

-- Privileged actions (force release, writes to protected signals): who did what, when.
CREATE TABLE roost.audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,
    detail text NOT NULL
);
CREATE INDEX audit_log_project ON roost.audit_log (project, id);
