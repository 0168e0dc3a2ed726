-- The task queue: tasks with priorities, dependencies and leases, and the history of every claim.

-- Lease tokens for claimed tasks, drawn while the task row is locked.
CREATE SEQUENCE roost.task_tokens;

-- status: pending, running, failed (waiting to be retried), done, dead, cancelled.
-- blocked_by counts dependencies not yet done; a task is claimable only at 0.
CREATE TABLE roost.tasks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    queue text NOT NULL,
    kind text NOT NULL,
    payload text NOT NULL,
    target text,
    capability text,
    priority integer NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'running', 'failed', 'done', 'dead', 'cancelled')),
    run_after timestamptz NOT NULL,
    max_attempts integer NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    timeout double precision,
    idempotency_key text,
    blocked_by integer NOT NULL DEFAULT 0,
    token bigint,
    claimed_by text,
    claimed_host text,
    claimed_pid integer,
    claimed_at timestamptz,
    lease double precision,
    lease_expires_at timestamptz,
    result text,
    error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz
) WITH (fillfactor = 80);
CREATE INDEX tasks_ready ON roost.tasks (project, priority DESC, id)
    WHERE status IN ('pending', 'failed') AND blocked_by = 0;
CREATE INDEX tasks_leases ON roost.tasks (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX tasks_token ON roost.tasks (token);
CREATE UNIQUE INDEX tasks_idempotency ON roost.tasks (project, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_status ON roost.tasks (project, status, queue);

CREATE TABLE roost.task_deps (
    task_id bigint NOT NULL REFERENCES roost.tasks (id) ON DELETE CASCADE,
    depends_on bigint NOT NULL REFERENCES roost.tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, depends_on)
);
CREATE INDEX task_deps_depends_on ON roost.task_deps (depends_on);

-- One row per claim: who, when, and how it ended (done, failed, released, expired, cancelled).
CREATE TABLE roost.task_runs (
    token bigint PRIMARY KEY,
    task_id bigint NOT NULL REFERENCES roost.tasks (id) ON DELETE CASCADE,
    agent text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    claimed_at timestamptz NOT NULL,
    ended_at timestamptz,
    outcome text,
    error text
);
CREATE INDEX task_runs_task ON roost.task_runs (task_id);
