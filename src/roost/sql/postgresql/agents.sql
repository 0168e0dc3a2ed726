-- The agent registry and the audit log for PostgreSQL. Agent reads return the database's clock
-- last, so "offline" is judged against it.

-- name: agent_register
INSERT INTO roost.agents AS a (project, name, kind, command, capabilities, max_concurrent, metadata, status,
                               registered_at, heartbeat_at)
VALUES (%(project)s, %(name)s, %(kind)s, %(command)s, %(capabilities)s, %(max_concurrent)s, %(metadata)s,
        %(status)s, clock_timestamp(), clock_timestamp())
ON CONFLICT (project, name) DO UPDATE SET
    kind = excluded.kind, command = excluded.command, capabilities = excluded.capabilities,
    max_concurrent = excluded.max_concurrent, metadata = excluded.metadata, status = excluded.status,
    heartbeat_at = excluded.heartbeat_at
RETURNING name, kind, command, capabilities, max_concurrent, metadata, status,
          extract(epoch FROM registered_at)::float8, extract(epoch FROM heartbeat_at)::float8,
          extract(epoch FROM clock_timestamp())::float8

-- name: agent_heartbeat
-- An agent marked offline by a sweep comes back as idle with its next heartbeat.
UPDATE roost.agents SET heartbeat_at = clock_timestamp(),
    status = coalesce(%(status)s::text, CASE WHEN status = 'offline' THEN 'idle' ELSE status END)
WHERE project = %(project)s AND name = %(name)s
RETURNING name, kind, command, capabilities, max_concurrent, metadata, status,
          extract(epoch FROM registered_at)::float8, extract(epoch FROM heartbeat_at)::float8,
          extract(epoch FROM clock_timestamp())::float8

-- name: agent_get
SELECT name, kind, command, capabilities, max_concurrent, metadata, status,
       extract(epoch FROM registered_at)::float8, extract(epoch FROM heartbeat_at)::float8,
       extract(epoch FROM clock_timestamp())::float8
FROM roost.agents WHERE project = %(project)s AND name = %(name)s

-- name: agent_list
SELECT name, kind, command, capabilities, max_concurrent, metadata, status,
       extract(epoch FROM registered_at)::float8, extract(epoch FROM heartbeat_at)::float8,
       extract(epoch FROM clock_timestamp())::float8
FROM roost.agents WHERE project = %(project)s ORDER BY name

-- name: agent_deregister
DELETE FROM roost.agents WHERE project = %(project)s AND name = %(name)s RETURNING name

-- name: audit_insert
INSERT INTO roost.audit_log (project, actor, action, subject, detail)
VALUES (%(project)s, %(actor)s, %(action)s, %(subject)s, %(detail)s)

-- name: audit_list
SELECT id, extract(epoch FROM at)::float8, actor, action, subject, detail FROM roost.audit_log
WHERE project = %(project)s ORDER BY id DESC LIMIT %(limit)s

-- name: agent_sweep
-- Mark agents silent for longer than :after seconds offline (their agent.offline event is a trigger's).
UPDATE roost.agents SET status = 'offline'
WHERE project = %(project)s AND status <> 'offline'
  AND heartbeat_at <= clock_timestamp() - %(after)s::float8 * interval '1 second'
RETURNING name
