-- The event log, durable consumers, and the built-in events (an outbox).
--
-- SQLite has one writer at a time, so positions (the rowid) are assigned in commit order and
-- readers can take them in position order. A new rowid is the largest plus one, and cleanup never
-- deletes the newest event, so a position is never reused (AUTOINCREMENT would guarantee the same
-- at the price of a write to sqlite_sequence with every event). Every event is a write inside
-- someone's transaction, so the table has no index but the rowid: readers scan forward from their
-- cursor, which is a rowid range, and skip other projects' rows on the way. Built-in events are
-- written by triggers, so they commit or roll back with the change they report.

CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    refs TEXT NOT NULL DEFAULT '{}',
    dedupe_key TEXT,
    created_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);
CREATE UNIQUE INDEX events_dedupe ON events (project, dedupe_key) WHERE dedupe_key IS NOT NULL;

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
