-- The agent registry and the audit log for SQLite. Agent reads return the database's clock last,
-- so "offline" is judged against it.

-- name: agent_register
INSERT INTO agents (project, name, kind, command, capabilities, max_concurrent, metadata, status,
                    registered_at, heartbeat_at)
VALUES (:project, :name, :kind, :command, :capabilities, :max_concurrent, :metadata, :status,
        (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (project, name) DO UPDATE SET
    kind = excluded.kind, command = excluded.command, capabilities = excluded.capabilities,
    max_concurrent = excluded.max_concurrent, metadata = excluded.metadata, status = excluded.status,
    heartbeat_at = excluded.heartbeat_at
RETURNING name, kind, command, capabilities, max_concurrent, metadata, status, registered_at, heartbeat_at,
          (julianday('now') - 2440587.5) * 86400.0

-- name: agent_heartbeat
-- An agent marked offline by a sweep comes back as idle with its next heartbeat.
UPDATE agents SET heartbeat_at = (julianday('now') - 2440587.5) * 86400.0,
    status = coalesce(:status, CASE WHEN status = 'offline' THEN 'idle' ELSE status END)
WHERE project = :project AND name = :name
RETURNING name, kind, command, capabilities, max_concurrent, metadata, status, registered_at, heartbeat_at,
          (julianday('now') - 2440587.5) * 86400.0

-- name: agent_get
SELECT name, kind, command, capabilities, max_concurrent, metadata, status, registered_at, heartbeat_at,
       (julianday('now') - 2440587.5) * 86400.0
FROM agents WHERE project = :project AND name = :name

-- name: agent_list
SELECT name, kind, command, capabilities, max_concurrent, metadata, status, registered_at, heartbeat_at,
       (julianday('now') - 2440587.5) * 86400.0
FROM agents WHERE project = :project ORDER BY name

-- name: agent_deregister
DELETE FROM agents WHERE project = :project AND name = :name RETURNING name

-- name: audit_insert
INSERT INTO audit_log (project, at, actor, action, subject, detail)
VALUES (:project, (julianday('now') - 2440587.5) * 86400.0, :actor, :action, :subject, :detail)

-- name: audit_list
SELECT id, at, actor, action, subject, detail FROM audit_log
WHERE project = :project ORDER BY id DESC LIMIT :limit

-- name: agent_sweep
-- Mark agents silent for longer than :after seconds offline (their agent.offline event is a trigger's).
UPDATE agents SET status = 'offline'
WHERE project = :project AND status <> 'offline'
  AND heartbeat_at <= (julianday('now') - 2440587.5) * 86400.0 - :after
RETURNING name
