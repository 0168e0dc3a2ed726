-- The whole schema at the newest migration, applied in one step to an empty database.
-- A test checks that it equals the result of applying every migration in order.
CREATE TABLE roost.projects (
    name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

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
    finished_at timestamptz,
    request_key text
) WITH (fillfactor = 80);
CREATE INDEX tasks_ready ON roost.tasks (project, priority DESC, id)
    WHERE status IN ('pending', 'failed') AND blocked_by = 0;
CREATE INDEX tasks_leases ON roost.tasks (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX tasks_token ON roost.tasks (token);
CREATE INDEX tasks_request ON roost.tasks (request_key) WHERE request_key IS NOT NULL;
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

-- The hottest queue statements as functions whose plans are cached (see migration 0004).
CREATE FUNCTION roost.task_claim(p_project text, p_queues text[], p_agent text, p_capabilities text[], p_n integer,
                                 p_lease double precision, p_host text, p_pid integer)
RETURNS TABLE (id bigint, token bigint, queue text, kind text, payload text, priority integer, attempts integer,
               max_attempts integer, lease_expires_at double precision)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH doomed AS (
    SELECT id FROM roost.tasks
    WHERE status = 'running' AND lease_expires_at <= clock_timestamp() AND attempts >= max_attempts
      AND project = p_project
    FOR UPDATE SKIP LOCKED
), died AS (
    UPDATE roost.tasks t SET status = 'dead', error = 'lease expired', lease_expires_at = NULL,
        finished_at = clock_timestamp(), updated_at = clock_timestamp()
    WHERE t.id = ANY (ARRAY(SELECT id FROM doomed))
    RETURNING t.token
), died_runs AS (
    UPDATE roost.task_runs r SET outcome = 'expired', ended_at = clock_timestamp(), error = 'lease expired'
    WHERE r.token = ANY (ARRAY(SELECT token FROM died))
), fresh AS (
    SELECT id, priority, token FROM roost.tasks
    WHERE project = p_project AND status IN ('pending', 'failed') AND blocked_by = 0
      AND run_after <= clock_timestamp() AND queue = ANY(p_queues)
      AND (target IS NULL OR target = p_agent)
      AND (capability IS NULL OR capability = ANY(p_capabilities))
    ORDER BY priority DESC, id
    LIMIT p_n
    FOR UPDATE SKIP LOCKED
), stale AS (
    SELECT id, priority, token FROM roost.tasks
    WHERE status = 'running' AND lease_expires_at <= clock_timestamp() AND attempts < max_attempts
      AND project = p_project AND queue = ANY(p_queues)
      AND (target IS NULL OR target = p_agent)
      AND (capability IS NULL OR capability = ANY(p_capabilities))
    ORDER BY priority DESC, id
    LIMIT p_n
    FOR UPDATE SKIP LOCKED
), ready AS (
    SELECT id, token AS old_token FROM (SELECT * FROM fresh UNION ALL SELECT * FROM stale) AS both_kinds
    ORDER BY priority DESC, id
    LIMIT p_n
), claimed AS (
    UPDATE roost.tasks t SET
        status = 'running', token = nextval('roost.task_tokens'), attempts = t.attempts + 1,
        claimed_by = p_agent, claimed_host = p_host, claimed_pid = p_pid, claimed_at = clock_timestamp(),
        lease = p_lease,
        lease_expires_at = clock_timestamp() + least(p_lease, coalesce(t.timeout, p_lease)) * interval '1 second',
        updated_at = clock_timestamp()
    WHERE t.id = ANY (ARRAY(SELECT id FROM ready))
    RETURNING t.*
), old_runs AS (
    UPDATE roost.task_runs r SET outcome = 'expired', ended_at = clock_timestamp(), error = 'lease expired'
    WHERE r.token = ANY (ARRAY(SELECT old_token FROM ready)) AND r.outcome IS NULL
), runs AS (
    INSERT INTO roost.task_runs (token, task_id, agent, host, pid, claimed_at)
    SELECT token, id, claimed_by, claimed_host, claimed_pid, claimed_at FROM claimed
)
SELECT id, token, queue, kind, payload, priority, attempts, max_attempts,
       extract(epoch FROM lease_expires_at)::float8
FROM claimed ORDER BY priority DESC, id;
END
$$;

CREATE FUNCTION roost.task_complete(p_token bigint, p_result text)
RETURNS TABLE (id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH done AS (
    UPDATE roost.tasks SET status = 'done', result = p_result, error = NULL, lease_expires_at = NULL,
        finished_at = clock_timestamp(), updated_at = clock_timestamp()
    WHERE token = p_token AND status = 'running'
    RETURNING id, token
), unblocked AS (
    UPDATE roost.tasks t SET blocked_by = t.blocked_by - 1, updated_at = clock_timestamp()
    WHERE t.id = ANY (ARRAY(SELECT d.task_id FROM roost.task_deps d
                            WHERE d.depends_on = ANY (ARRAY(SELECT id FROM done))))
), run AS (
    UPDATE roost.task_runs r SET outcome = 'done', ended_at = clock_timestamp()
    WHERE r.token = ANY (ARRAY(SELECT token FROM done))
)
SELECT id FROM done;
END
$$;

-- Batched completion (see migration 0007).
CREATE FUNCTION roost.task_complete_many(p_items jsonb)
RETURNS TABLE (token bigint, id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH given AS (
    SELECT (e ->> 0)::bigint AS token, e ->> 1 AS result FROM jsonb_array_elements(p_items) AS e
), done AS (
    UPDATE roost.tasks t SET status = 'done', result = g.result, error = NULL, lease_expires_at = NULL,
        finished_at = clock_timestamp(), updated_at = clock_timestamp()
    FROM given g
    WHERE t.token = ANY (ARRAY(SELECT token FROM given)) AND t.token = g.token AND t.status = 'running'
    RETURNING t.id, t.token
), deps AS (
    SELECT d.task_id, count(*)::integer AS n FROM roost.task_deps d
    WHERE d.depends_on = ANY (ARRAY(SELECT id FROM done))
    GROUP BY d.task_id
), locked AS (
    SELECT t.id FROM roost.tasks t WHERE t.id = ANY (ARRAY(SELECT task_id FROM deps)) ORDER BY t.id FOR UPDATE
), unblocked AS (
    UPDATE roost.tasks t SET blocked_by = t.blocked_by - deps.n, updated_at = clock_timestamp()
    FROM deps
    WHERE t.id = ANY (ARRAY(SELECT id FROM locked)) AND t.id = deps.task_id
), run AS (
    UPDATE roost.task_runs r SET outcome = 'done', ended_at = clock_timestamp()
    WHERE r.token = ANY (ARRAY(SELECT token FROM done))
)
SELECT token, id FROM done;
END
$$;

-- The event log, durable consumers and the built-in events (see migration 0005).
CREATE TABLE roost.events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    project text NOT NULL,
    topic text NOT NULL,
    payload text NOT NULL,
    refs jsonb NOT NULL DEFAULT '{}',
    dedupe_key text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    request_key text
);
CREATE INDEX events_order ON roost.events (project, txid, position);
CREATE INDEX events_created ON roost.events (created_at);
CREATE UNIQUE INDEX events_dedupe ON roost.events (project, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX events_request ON roost.events (request_key) WHERE request_key IS NOT NULL;

CREATE TABLE roost.event_consumers (
    project text NOT NULL,
    name text NOT NULL,
    txid xid8 NOT NULL,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (project, name)
);

-- Listeners, and a NOTIFY only while one was seen recently (see migration 0008).
CREATE TABLE roost.listeners (
    id text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
-- (The check runs inside the queue's functions, which plan with enable_seqscan = off: without an
-- index on seen_at, its plan cost seemed so high that each run was JIT-compiled, 20 ms per event.)
CREATE INDEX listeners_seen ON roost.listeners (seen_at);

CREATE FUNCTION roost.events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM roost.listeners WHERE seen_at > clock_timestamp() - interval '1 minute') THEN
        PERFORM pg_notify('roost_events', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON roost.events FOR EACH STATEMENT EXECUTE FUNCTION roost.events_notify();

CREATE FUNCTION roost.task_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event_topic text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'task.enqueued',
            (json_build_object('id', NEW.id, 'kind', NEW.kind, 'queue', NEW.queue, 'priority', NEW.priority))::text,
            jsonb_strip_nulls(jsonb_build_object('task', NEW.id, 'queue', NEW.queue)));
        RETURN NULL;
    END IF;
    IF OLD.status = 'running' AND NEW.status = 'running' AND OLD.token IS DISTINCT FROM NEW.token THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'task.expired',
            (json_build_object('id', NEW.id, 'kind', NEW.kind, 'token', OLD.token, 'agent', OLD.claimed_by))::text,
            jsonb_strip_nulls(jsonb_build_object('task', NEW.id, 'agent', OLD.claimed_by, 'queue', NEW.queue)));
    END IF;
    IF NEW.status = 'running' AND (OLD.status <> 'running' OR OLD.token IS DISTINCT FROM NEW.token) THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'task.claimed',
            (json_build_object('id', NEW.id, 'kind', NEW.kind, 'token', NEW.token, 'attempt', NEW.attempts,
                               'agent', NEW.claimed_by))::text,
            jsonb_strip_nulls(jsonb_build_object('task', NEW.id, 'agent', NEW.claimed_by, 'queue', NEW.queue)));
        RETURN NULL;
    END IF;
    IF NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    event_topic := CASE NEW.status
        WHEN 'done' THEN 'task.completed'
        WHEN 'failed' THEN 'task.failed'
        WHEN 'dead' THEN 'task.dead'
        WHEN 'cancelled' THEN 'task.cancelled'
        WHEN 'pending' THEN CASE WHEN NEW.error = 'lease expired' THEN 'task.expired' ELSE 'task.released' END
    END;
    INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, event_topic,
        (json_strip_nulls(json_build_object('id', NEW.id, 'kind', NEW.kind, 'token', OLD.token, 'attempt',
                                           NEW.attempts, 'agent', OLD.claimed_by, 'error', NEW.error)))::text,
        jsonb_strip_nulls(jsonb_build_object('task', NEW.id, 'agent', OLD.claimed_by, 'queue', NEW.queue)));
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_inserted AFTER INSERT ON roost.tasks FOR EACH ROW EXECUTE FUNCTION roost.task_events();
CREATE TRIGGER tasks_changed AFTER UPDATE OF status, token ON roost.tasks FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.token IS DISTINCT FROM NEW.token)
    EXECUTE FUNCTION roost.task_events();

CREATE FUNCTION roost.signal_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.value IS NULL THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'signal.cleared',
            (json_build_object('key', NEW.key, 'version', NEW.version, 'by', NEW.updated_by))::text,
            jsonb_strip_nulls(jsonb_build_object('key', NEW.key)));
    ELSE
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'signal.set',
            (json_build_object('key', NEW.key, 'version', NEW.version, 'value', NEW.value::json,
                               'by', NEW.updated_by))::text,
            jsonb_strip_nulls(jsonb_build_object('key', NEW.key)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER signals_written AFTER INSERT OR UPDATE OF value, version ON roost.signals FOR EACH ROW
    EXECUTE FUNCTION roost.signal_events();

CREATE FUNCTION roost.lock_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'lock_holders' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'lock.acquired',
            (json_build_object('name', NEW.name, 'owner', NEW.owner, 'token', NEW.token, 'mode', NEW.mode))::text,
            jsonb_strip_nulls(jsonb_build_object('lock', NEW.name, 'agent', NEW.owner)));
    ELSIF NEW.holders = 0 THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'lock.force_released',
            (json_build_object('name', NEW.name, 'epoch', NEW.epoch))::text,
            jsonb_strip_nulls(jsonb_build_object('lock', NEW.name)));
    ELSIF OLD.holders > 0 THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'lock.taken_over',
            (json_build_object('name', NEW.name, 'token', NEW.token, 'previous_epoch', OLD.epoch))::text,
            jsonb_strip_nulls(jsonb_build_object('lock', NEW.name)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER lock_holders_inserted AFTER INSERT ON roost.lock_holders FOR EACH ROW
    EXECUTE FUNCTION roost.lock_events();
CREATE TRIGGER locks_epoch_changed AFTER UPDATE OF epoch ON roost.locks FOR EACH ROW
    WHEN (OLD.epoch <> NEW.epoch AND (NEW.holders = 0 OR OLD.holders > 0))
    EXECUTE FUNCTION roost.lock_events();

CREATE FUNCTION roost.agent_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'agent.online',
            (json_build_object('name', NEW.name, 'kind', NEW.kind, 'status', NEW.status))::text,
            jsonb_strip_nulls(jsonb_build_object('agent', NEW.name)));
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (OLD.project, 'agent.offline',
            (json_build_object('name', OLD.name, 'reason', 'deregistered'))::text,
            jsonb_strip_nulls(jsonb_build_object('agent', OLD.name)));
    ELSIF NEW.status = 'offline' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'agent.offline',
            (json_build_object('name', NEW.name, 'reason', 'silent', 'previous', OLD.status))::text,
            jsonb_strip_nulls(jsonb_build_object('agent', NEW.name)));
    ELSIF OLD.status = 'offline' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'agent.online',
            (json_build_object('name', NEW.name, 'kind', NEW.kind, 'status', NEW.status))::text,
            jsonb_strip_nulls(jsonb_build_object('agent', NEW.name)));
    ELSE
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'agent.status',
            (json_build_object('name', NEW.name, 'status', NEW.status, 'previous', OLD.status))::text,
            jsonb_strip_nulls(jsonb_build_object('agent', NEW.name)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER agents_inserted AFTER INSERT OR DELETE ON roost.agents FOR EACH ROW
    EXECUTE FUNCTION roost.agent_events();
CREATE TRIGGER agents_status AFTER UPDATE OF status ON roost.agents FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION roost.agent_events();
-- Memory: sessions, transcripts, memories, observations and artifacts (docs/memory.md).
--
-- Everything is scoped by project. What belongs to a session references it, and goes with it when
-- it is deleted (ON DELETE CASCADE: one statement, one transaction). A session's counters and its
-- last_activity are kept by triggers on the rows they count (memories, observations, artifacts), so
-- they move in the same transaction as the write, whichever statement made it; transcripts, which
-- arrive in batches, update their session once per batch instead (see transcripts.sql). Text lives
-- in one column per kind (content, title), where a full-text index can read it.

CREATE TABLE roost.sessions (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    project text NOT NULL,
    id text NOT NULL,
    title text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'paused', 'completed', 'archived')),
    participants jsonb NOT NULL,
    metadata text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_activity timestamptz NOT NULL,
    last_position bigint NOT NULL DEFAULT 0,
    entry_count bigint NOT NULL DEFAULT 0,
    memory_count bigint NOT NULL DEFAULT 0,
    artifact_count bigint NOT NULL DEFAULT 0,
    observation_count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (project, id)
);
CREATE INDEX sessions_recent ON roost.sessions (project, seq);

CREATE TABLE roost.transcript_entries (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    session_id text NOT NULL,
    position bigint NOT NULL,
    role text NOT NULL,
    content text NOT NULL,
    agent text,
    phase text,
    iteration integer,
    message_id text,
    metadata text,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES roost.sessions (project, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX transcript_positions ON roost.transcript_entries (project, session_id, position);
CREATE UNIQUE INDEX transcript_messages ON roost.transcript_entries (project, session_id, message_id)
    WHERE message_id IS NOT NULL;

-- A memory's key is unique per project and scope: its session, or the whole project ('').
-- seq orders writes (newest first) and is what list cursors point at.
CREATE SEQUENCE roost.memory_writes;
CREATE TABLE roost.memories (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    session_id text,
    key text NOT NULL,
    type text NOT NULL,
    content text NOT NULL,
    tags text[] NOT NULL,
    agent text,
    version bigint NOT NULL,
    seq bigint NOT NULL DEFAULT nextval('roost.memory_writes'),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES roost.sessions (project, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX memories_key ON roost.memories (project, (coalesce(session_id, '')), key);
CREATE INDEX memories_recent ON roost.memories (project, seq);
CREATE INDEX memories_session ON roost.memories (project, session_id) WHERE session_id IS NOT NULL;
CREATE INDEX memories_tags ON roost.memories USING gin (tags);

CREATE TABLE roost.observations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    agent text NOT NULL,
    session_id text,
    kind text,
    content text NOT NULL,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES roost.sessions (project, id) ON DELETE CASCADE
);
CREATE INDEX observations_agent ON roost.observations (project, agent, id);
CREATE INDEX observations_recent ON roost.observations (project, id);
CREATE INDEX observations_session ON roost.observations (project, session_id) WHERE session_id IS NOT NULL;

-- How many observations each agent has: the per-agent cap is enforced against this row, which
-- every insert for the agent writes first (so inserts for one agent take turns on its lock).
CREATE TABLE roost.observation_agents (
    project text NOT NULL,
    agent text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (project, agent)
);

-- Artifact content, stored once per project and SHA-256, in chunks. A blob without sha256 is an
-- upload in progress (or one whose writer died): no artifact points at it, and cleanup removes it.
CREATE TABLE roost.artifact_blobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    sha256 text,
    size bigint NOT NULL DEFAULT 0,
    chunks integer NOT NULL DEFAULT 0,
    touched_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX artifact_blobs_sha ON roost.artifact_blobs (project, sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX artifact_blobs_uploads ON roost.artifact_blobs (project, touched_at) WHERE sha256 IS NULL;

-- Chunks are stored uncompressed: artifacts are mostly compressed or binary already, and trying
-- to compress every megabyte only costs time.
CREATE TABLE roost.artifact_chunks (
    blob_id bigint NOT NULL REFERENCES roost.artifact_blobs (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (blob_id, seq)
);
ALTER TABLE roost.artifact_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- The newest version number each name was given, kept after its versions are deleted, so a
-- version number is never handed out twice; its row lock makes puts of one name take turns.
CREATE TABLE roost.artifact_names (
    project text NOT NULL,
    name text NOT NULL,
    latest bigint NOT NULL,
    PRIMARY KEY (project, name)
);

CREATE TABLE roost.artifacts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    name text NOT NULL,
    version bigint NOT NULL,
    blob_id bigint NOT NULL REFERENCES roost.artifact_blobs (id),
    size bigint NOT NULL,
    sha256 text NOT NULL,
    type text,
    format text,
    is_text boolean NOT NULL,
    session_id text,
    task_id bigint,
    metadata text,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES roost.sessions (project, id) ON DELETE CASCADE,
    UNIQUE (project, name, version)
);
CREATE INDEX artifacts_blob ON roost.artifacts (blob_id);
CREATE INDEX artifacts_session ON roost.artifacts (project, session_id) WHERE session_id IS NOT NULL;

-- Built-in events and the session's counters. (transcript.appended is written once per batch by
-- the append statements themselves.)
CREATE FUNCTION roost.session_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'session.created',
            (json_build_object('id', NEW.id, 'title', NEW.title, 'participants', NEW.participants))::text,
            jsonb_build_object('session', NEW.id));
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (OLD.project, 'session.deleted',
            (json_build_object('id', OLD.id))::text, jsonb_build_object('session', OLD.id));
    ELSIF OLD.status <> NEW.status THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'session.status_changed',
            (json_build_object('id', NEW.id, 'status', NEW.status, 'previous', OLD.status))::text,
            jsonb_build_object('session', NEW.id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_written AFTER INSERT OR DELETE OR UPDATE OF status ON roost.sessions FOR EACH ROW
    EXECUTE FUNCTION roost.session_events();

CREATE FUNCTION roost.memory_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (OLD.project, 'memory.deleted',
            (json_strip_nulls(json_build_object('key', OLD.key, 'session', OLD.session_id, 'version', OLD.version)))::text,
            jsonb_strip_nulls(jsonb_build_object('memory', OLD.key, 'session', OLD.session_id)));
        IF OLD.session_id IS NOT NULL THEN
            UPDATE roost.sessions SET memory_count = memory_count - 1, last_activity = clock_timestamp()
            WHERE project = OLD.project AND id = OLD.session_id;
        END IF;
        RETURN NULL;
    END IF;
    INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'memory.put',
        (json_strip_nulls(json_build_object('key', NEW.key, 'session', NEW.session_id, 'type', NEW.type,
                                            'version', NEW.version, 'agent', NEW.agent)))::text,
        jsonb_strip_nulls(jsonb_build_object('memory', NEW.key, 'session', NEW.session_id, 'agent', NEW.agent)));
    IF NEW.session_id IS NOT NULL THEN
        UPDATE roost.sessions
        SET memory_count = memory_count + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE 0 END,
            last_activity = NEW.updated_at
        WHERE project = NEW.project AND id = NEW.session_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memories_written AFTER INSERT OR UPDATE OR DELETE ON roost.memories FOR EACH ROW
    EXECUTE FUNCTION roost.memory_events();

CREATE FUNCTION roost.observation_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO roost.observation_agents AS a (project, agent, count) VALUES (NEW.project, NEW.agent, 1)
        ON CONFLICT (project, agent) DO UPDATE SET count = a.count + 1;
        IF NEW.session_id IS NOT NULL THEN
            UPDATE roost.sessions SET observation_count = observation_count + 1, last_activity = NEW.created_at
            WHERE project = NEW.project AND id = NEW.session_id;
        END IF;
    ELSE
        UPDATE roost.observation_agents SET count = count - 1 WHERE project = OLD.project AND agent = OLD.agent;
        IF OLD.session_id IS NOT NULL THEN
            UPDATE roost.sessions SET observation_count = observation_count - 1
            WHERE project = OLD.project AND id = OLD.session_id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER observations_written AFTER INSERT OR DELETE ON roost.observations FOR EACH ROW
    EXECUTE FUNCTION roost.observation_counts();

-- One observation, and the agent's oldest ones beyond p_cap removed in the same transaction. The
-- insert's trigger writes (so locks) the agent's count row first: inserts for one agent take turns,
-- and each one's DELETE, a new statement, sees every insert committed before it.
CREATE FUNCTION roost.observation_add(p_project text, p_agent text, p_session text, p_kind text,
                                      p_content text, p_cap bigint)
RETURNS TABLE (id bigint, created_at float8)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    new_id bigint;
    new_at timestamptz := clock_timestamp();
    n bigint;
BEGIN
    INSERT INTO roost.observations (project, agent, session_id, kind, content, created_at)
    VALUES (p_project, p_agent, p_session, p_kind, p_content, new_at) RETURNING roost.observations.id INTO new_id;
    SELECT a.count INTO n FROM roost.observation_agents a WHERE a.project = p_project AND a.agent = p_agent;
    IF n > p_cap THEN
        DELETE FROM roost.observations o WHERE o.id IN (
            SELECT x.id FROM roost.observations x WHERE x.project = p_project AND x.agent = p_agent
            ORDER BY x.id LIMIT n - p_cap);
    END IF;
    RETURN QUERY SELECT new_id, extract(epoch FROM new_at)::float8;
END
$$;

CREATE FUNCTION roost.artifact_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'artifact.put',
            (json_strip_nulls(json_build_object('name', NEW.name, 'version', NEW.version, 'size', NEW.size,
                                                'sha256', NEW.sha256, 'session', NEW.session_id)))::text,
            jsonb_strip_nulls(jsonb_build_object('artifact', NEW.name, 'session', NEW.session_id)));
        IF NEW.session_id IS NOT NULL THEN
            UPDATE roost.sessions SET artifact_count = artifact_count + 1, last_activity = NEW.created_at
            WHERE project = NEW.project AND id = NEW.session_id;
        END IF;
    ELSE
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (OLD.project, 'artifact.deleted',
            (json_strip_nulls(json_build_object('name', OLD.name, 'version', OLD.version, 'session', OLD.session_id)))::text,
            jsonb_strip_nulls(jsonb_build_object('artifact', OLD.name, 'session', OLD.session_id)));
        IF OLD.session_id IS NOT NULL THEN
            UPDATE roost.sessions SET artifact_count = artifact_count - 1, last_activity = clock_timestamp()
            WHERE project = OLD.project AND id = OLD.session_id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER artifacts_written AFTER INSERT OR DELETE ON roost.artifacts FOR EACH ROW
    EXECUTE FUNCTION roost.artifact_events();
-- One transcript entry in one statement: the single append's fast path (a batch goes through COPY).
-- The session's row is locked first, so appends to one session take turns and the message-id check
-- is exact; a repeated message id returns the stored entry and changes nothing. No rows: no such
-- session.
CREATE FUNCTION roost.transcript_append(p_project text, p_session text, p_role text, p_content text,
                                        p_agent text, p_phase text, p_iteration integer, p_message_id text,
                                        p_metadata text)
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
                                                            phase, iteration, message_id, metadata, created_at)
        VALUES (p_project, p_session, pos, p_role, p_content, p_agent, p_phase, p_iteration, p_message_id,
                p_metadata, stamp)
        RETURNING t.id, t.session_id, t.position, t.role, t.content, t.agent, t.phase, t.iteration, t.message_id,
                  t.metadata, extract(epoch FROM t.created_at)::float8;
END
$$;

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

-- 0012 documents
CREATE TABLE roost.doc_collections (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    name text NOT NULL,
    version bigint NOT NULL,
    spec text NOT NULL,
    on_parent_delete text NOT NULL CHECK (on_parent_delete IN ('cascade', 'restrict')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE roost.documents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id bigint NOT NULL REFERENCES roost.doc_collections (id) ON DELETE CASCADE,
    key text COLLATE "C" NOT NULL,
    parent_id bigint REFERENCES roost.documents (id) ON DELETE CASCADE,
    body text NOT NULL,
    version bigint NOT NULL,
    agent text,
    change text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (collection_id, key)
);
CREATE INDEX documents_children ON roost.documents (parent_id, collection_id, key);

CREATE TABLE roost.document_history (
    document_id bigint NOT NULL REFERENCES roost.documents (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    body text NOT NULL,
    agent text,
    change text,
    at timestamptz NOT NULL,
    PRIMARY KEY (document_id, version)
);

CREATE TABLE roost.document_keys (
    document_id bigint NOT NULL REFERENCES roost.documents (id) ON DELETE CASCADE,
    collection_id bigint NOT NULL,
    path text NOT NULL,
    key text COLLATE "C" NOT NULL,
    doc_key text COLLATE "C" NOT NULL,
    PRIMARY KEY (document_id, path, key)
);
CREATE INDEX document_keys_lookup ON roost.document_keys (collection_id, path, key, doc_key, document_id);

CREATE TABLE roost.document_links (
    src_id bigint NOT NULL REFERENCES roost.documents (id) ON DELETE CASCADE,
    rel text NOT NULL,
    dst_id bigint NOT NULL REFERENCES roost.documents (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (src_id, rel, dst_id)
);
CREATE INDEX document_links_in ON roost.document_links (dst_id, rel, src_id);

-- 0013 workflows
CREATE TABLE roost.workflows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    name text NOT NULL,
    version bigint NOT NULL,
    spec text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (project, name, version)
);

CREATE TABLE roost.runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    workflow_id bigint NOT NULL REFERENCES roost.workflows (id),
    workflow text NOT NULL,
    workflow_version bigint NOT NULL,
    subject_kind text NOT NULL,
    subject_ref text NOT NULL,
    variables text NOT NULL,
    status text NOT NULL
        CHECK (status IN ('pending', 'running', 'paused', 'blocked', 'completed', 'failed', 'cancelled')),
    phase text,
    reason text,
    version bigint NOT NULL,
    agent text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX runs_status ON roost.runs (project, status, id);
CREATE INDEX runs_workflow ON roost.runs (project, workflow, id);
CREATE INDEX runs_subject ON roost.runs (project, subject_kind, subject_ref, id);

CREATE TABLE roost.run_phases (
    run_id bigint NOT NULL REFERENCES roost.runs (id) ON DELETE CASCADE,
    phase text NOT NULL,
    position integer NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    iteration integer NOT NULL DEFAULT 0,
    executor text,
    session text,
    claim_token bigint,
    tokens bigint NOT NULL DEFAULT 0,
    cost double precision NOT NULL DEFAULT 0,
    error text,
    skip_reason text,
    started_at timestamptz,
    finished_at timestamptz,
    heartbeat_at timestamptz,
    PRIMARY KEY (run_id, phase)
);
CREATE INDEX run_phases_running ON roost.run_phases (heartbeat_at) WHERE status = 'running';

CREATE TABLE roost.gate_decisions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES roost.runs (id) ON DELETE CASCADE,
    phase text NOT NULL,
    iteration integer NOT NULL,
    approved boolean NOT NULL,
    reason text,
    decided_by text NOT NULL,
    decided_at timestamptz NOT NULL
);
CREATE INDEX gate_decisions_run ON roost.gate_decisions (run_id, phase, id);

CREATE TABLE roost.evaluations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES roost.runs (id) ON DELETE CASCADE,
    phase text NOT NULL,
    iteration integer NOT NULL,
    reviewer text NOT NULL,
    score double precision NOT NULL,
    max_score double precision NOT NULL,
    blockers text NOT NULL,
    feedback text,
    findings text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (run_id, phase, iteration, reviewer)
);

CREATE TABLE roost.run_outputs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES roost.runs (id) ON DELETE CASCADE,
    phase text NOT NULL,
    var text NOT NULL,
    iteration integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('text', 'json', 'artifact')),
    content text NOT NULL,
    sha256 text NOT NULL,
    size bigint NOT NULL,
    agent text,
    created_at timestamptz NOT NULL,
    UNIQUE (run_id, phase, var, iteration)
);
CREATE INDEX run_outputs_var ON roost.run_outputs (run_id, var, id);

CREATE FUNCTION roost.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER gate_decisions_kept BEFORE UPDATE ON roost.gate_decisions FOR EACH ROW
    EXECUTE FUNCTION roost.append_only();
CREATE TRIGGER evaluations_kept BEFORE UPDATE ON roost.evaluations FOR EACH ROW
    EXECUTE FUNCTION roost.append_only();
CREATE TRIGGER run_outputs_kept BEFORE UPDATE ON roost.run_outputs FOR EACH ROW
    EXECUTE FUNCTION roost.append_only();

CREATE FUNCTION roost.run_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'run.started',
            (json_build_object('id', NEW.id, 'workflow', NEW.workflow, 'status', NEW.status, 'phase', NEW.phase,
                               'subject', json_build_object(NEW.subject_kind, NEW.subject_ref)))::text,
            jsonb_strip_nulls(jsonb_build_object('run', NEW.id, 'workflow', NEW.workflow, 'agent', NEW.agent)));
    ELSE
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project,
            CASE WHEN NEW.status IN ('completed', 'failed', 'cancelled') THEN 'run.finished'
                 ELSE 'run.transitioned' END,
            (json_strip_nulls(json_build_object('id', NEW.id, 'workflow', NEW.workflow, 'from', OLD.status,
                                               'to', NEW.status, 'phase', NEW.phase, 'reason', NEW.reason)))::text,
            jsonb_build_object('run', NEW.id, 'workflow', NEW.workflow));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER runs_started AFTER INSERT ON roost.runs FOR EACH ROW EXECUTE FUNCTION roost.run_events();
CREATE TRIGGER runs_transitioned AFTER UPDATE OF status ON roost.runs FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION roost.run_events();

CREATE FUNCTION roost.run_phase_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r roost.runs%ROWTYPE;
BEGIN
    SELECT * INTO r FROM roost.runs WHERE id = NEW.run_id;
    IF NEW.iteration > OLD.iteration THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'phase.started',
            (json_strip_nulls(json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                               'executor', NEW.executor, 'session', NEW.session,
                                               'claim', NEW.claim_token)))::text,
            jsonb_strip_nulls(jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.executor)));
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('completed', 'failed', 'skipped') THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'phase.finished',
            (json_strip_nulls(json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                               'status', NEW.status, 'executor', NEW.executor, 'tokens', NEW.tokens - OLD.tokens,
                                               'cost', NEW.cost - OLD.cost, 'error', NEW.error,
                                               'skip_reason', NEW.skip_reason)))::text,
            jsonb_strip_nulls(jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.executor)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER run_phases_changed AFTER UPDATE OF iteration, status ON roost.run_phases FOR EACH ROW
    WHEN (NEW.iteration > OLD.iteration OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION roost.run_phase_events();

CREATE FUNCTION roost.run_record_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r roost.runs%ROWTYPE;
BEGIN
    SELECT * INTO r FROM roost.runs WHERE id = NEW.run_id;
    IF TG_TABLE_NAME = 'gate_decisions' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'gate.decided',
            (json_strip_nulls(json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                               'approved', NEW.approved, 'reason', NEW.reason,
                                               'decided_by', NEW.decided_by)))::text,
            jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.decided_by));
    ELSIF TG_TABLE_NAME = 'evaluations' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'evaluation.recorded',
            (json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                               'reviewer', NEW.reviewer, 'score', NEW.score, 'max_score', NEW.max_score,
                               'blockers', jsonb_array_length(NEW.blockers::jsonb)))::text,
            jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.reviewer));
    ELSE
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'output.written',
            (json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'var', NEW.var, 'iteration', NEW.iteration,
                               'kind', NEW.kind, 'sha256', NEW.sha256, 'size', NEW.size))::text,
            jsonb_strip_nulls(jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.agent)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER gate_decided AFTER INSERT ON roost.gate_decisions FOR EACH ROW
    EXECUTE FUNCTION roost.run_record_events();
CREATE TRIGGER evaluation_recorded AFTER INSERT ON roost.evaluations FOR EACH ROW
    EXECUTE FUNCTION roost.run_record_events();
CREATE TRIGGER run_output_written AFTER INSERT ON roost.run_outputs FOR EACH ROW
    EXECUTE FUNCTION roost.run_record_events();

-- 0014 transcript_row_locks
CREATE OR REPLACE FUNCTION roost.transcript_append(p_project text, p_session text, p_role text, p_content text,
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
    PERFORM 1 FROM roost.sessions s WHERE s.project = p_project AND s.id = p_session FOR NO KEY UPDATE;
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

-- 0015 cleanup
CREATE TABLE roost.cleanup_state (
    project text PRIMARY KEY,
    started_at timestamptz,
    finished_at timestamptz NOT NULL,
    passes bigint NOT NULL DEFAULT 0,
    last_by text,
    removed text NOT NULL DEFAULT '{}'
);

-- 0016 imports
CREATE TABLE roost.imports (
    project text PRIMARY KEY,
    digest text NOT NULL,
    source text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE FUNCTION roost.recording() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT current_setting('roost.importing', true) IS DISTINCT FROM 'on'
$$;
DROP TRIGGER tasks_inserted ON roost.tasks;
CREATE TRIGGER tasks_inserted AFTER INSERT ON roost.tasks FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.task_events();
DROP TRIGGER signals_written ON roost.signals;
CREATE TRIGGER signals_written AFTER INSERT OR UPDATE OF value, version ON roost.signals FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.signal_events();
DROP TRIGGER lock_holders_inserted ON roost.lock_holders;
CREATE TRIGGER lock_holders_inserted AFTER INSERT ON roost.lock_holders FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.lock_events();
DROP TRIGGER agents_inserted ON roost.agents;
CREATE TRIGGER agents_inserted AFTER INSERT OR DELETE ON roost.agents FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.agent_events();
DROP TRIGGER sessions_written ON roost.sessions;
CREATE TRIGGER sessions_written AFTER INSERT OR DELETE OR UPDATE OF status ON roost.sessions FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.session_events();
DROP TRIGGER memories_written ON roost.memories;
CREATE TRIGGER memories_written AFTER INSERT OR DELETE OR UPDATE OF version ON roost.memories FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.memory_events();
DROP TRIGGER observations_written ON roost.observations;
CREATE TRIGGER observations_written AFTER INSERT OR DELETE ON roost.observations FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.observation_counts();
DROP TRIGGER artifacts_written ON roost.artifacts;
CREATE TRIGGER artifacts_written AFTER INSERT OR DELETE ON roost.artifacts FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.artifact_events();
DROP TRIGGER runs_started ON roost.runs;
CREATE TRIGGER runs_started AFTER INSERT ON roost.runs FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.run_events();
DROP TRIGGER gate_decided ON roost.gate_decisions;
CREATE TRIGGER gate_decided AFTER INSERT ON roost.gate_decisions FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.run_record_events();
DROP TRIGGER evaluation_recorded ON roost.evaluations;
CREATE TRIGGER evaluation_recorded AFTER INSERT ON roost.evaluations FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.run_record_events();
DROP TRIGGER run_output_written ON roost.run_outputs;
CREATE TRIGGER run_output_written AFTER INSERT ON roost.run_outputs FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.run_record_events();

-- 0017 langgraph
CREATE TABLE roost.lg_checkpoints (
    project text NOT NULL,
    thread_id text COLLATE "C" NOT NULL,
    checkpoint_ns text COLLATE "C" NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    parent_id text,
    type text NOT NULL,
    checkpoint bytea NOT NULL,
    versions jsonb NOT NULL,
    metadata jsonb NOT NULL,
    run_id text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (project, thread_id, checkpoint_ns, checkpoint_id)
);
CREATE INDEX lg_checkpoints_run ON roost.lg_checkpoints (project, run_id) WHERE run_id IS NOT NULL;
CREATE INDEX lg_checkpoints_age ON roost.lg_checkpoints (created_at);

CREATE TABLE roost.lg_blobs (
    project text NOT NULL,
    thread_id text COLLATE "C" NOT NULL,
    checkpoint_ns text COLLATE "C" NOT NULL,
    channel text COLLATE "C" NOT NULL,
    version text COLLATE "C" NOT NULL,
    type text NOT NULL,
    blob bytea,
    PRIMARY KEY (project, thread_id, checkpoint_ns, channel, version)
);

CREATE TABLE roost.lg_writes (
    project text NOT NULL,
    thread_id text COLLATE "C" NOT NULL,
    checkpoint_ns text COLLATE "C" NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    task_id text COLLATE "C" NOT NULL,
    idx integer NOT NULL,
    channel text COLLATE "C" NOT NULL,
    type text NOT NULL,
    blob bytea NOT NULL,
    task_path text NOT NULL,
    PRIMARY KEY (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);

-- A checkpoint's pending writes go with it (a trigger, not a foreign key: LangGraph may store a
-- task's writes before the checkpoint they belong to has been committed).
CREATE FUNCTION roost.lg_checkpoint_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM roost.lg_writes WHERE project = OLD.project AND thread_id = OLD.thread_id
        AND checkpoint_ns = OLD.checkpoint_ns AND checkpoint_id = OLD.checkpoint_id;
    RETURN NULL;
END $$;
CREATE TRIGGER lg_checkpoint_deleted AFTER DELETE ON roost.lg_checkpoints FOR EACH ROW
    EXECUTE FUNCTION roost.lg_checkpoint_deleted();

CREATE TABLE roost.lg_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    namespace text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    ttl double precision,
    expires_at timestamptz,
    search tsvector,
    UNIQUE (project, namespace, key)
);
CREATE INDEX lg_items_expiry ON roost.lg_items (expires_at) WHERE expires_at IS NOT NULL;
-- An item's text for search, as a memory's (its key, then the keys and strings of its value), as
-- a vector roost computes with the same terms as SQLite's index (docs/search.md).
CREATE INDEX lg_items_search ON roost.lg_items USING gin (search);
