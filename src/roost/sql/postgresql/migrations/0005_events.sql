-- The event log, durable consumers, and the built-in events (an outbox).
--
-- Positions come from an identity column, but PostgreSQL hands out such values in the order that
-- inserts run, not in commit order. So every event also records its transaction id (txid). Readers
-- take events in (txid, position) order, and only from transactions older than the oldest one
-- still running (pg_snapshot_xmin of the current snapshot). Any event that becomes visible later
-- belongs to a transaction at or above that horizon, so it sorts after everything already read.
--
-- Built-in events are written by triggers, so they commit or roll back with the change they
-- report. A statement trigger wakes subscribers with one NOTIFY per statement; the notification is
-- only a wake-up, and readers always read the table.

CREATE TABLE roost.events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    project text NOT NULL,
    topic text NOT NULL,
    payload text NOT NULL,
    refs jsonb NOT NULL DEFAULT '{}',
    dedupe_key text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_order ON roost.events (project, txid, position);
CREATE INDEX events_created ON roost.events (created_at);
CREATE UNIQUE INDEX events_dedupe ON roost.events (project, dedupe_key) WHERE dedupe_key IS NOT NULL;

CREATE TABLE roost.event_consumers (
    project text NOT NULL,
    name text NOT NULL,
    txid xid8 NOT NULL,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (project, name)
);

CREATE FUNCTION roost.events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('roost_events', '');
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
