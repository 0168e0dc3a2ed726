-- Observations for PostgreSQL. Columns come back as: id, agent, session_id, kind, content,
-- created_at. %(max_age)s is the retention in seconds: an older observation is never returned,
-- even before cleanup deletes it.

-- name: observation_add
-- roost.observation_add (migrations 0009 and 0011): the insert with its search vector, and the
-- agent's oldest beyond the cap removed in the same transaction.
SELECT id, created_at FROM roost.observation_add(%(project)s, %(agent)s, %(session)s, %(kind)s, %(content)s,
                                                 %(cap)s, %(search)s::tsvector)

-- name: observation_list
SELECT id, agent, session_id, kind, content, extract(epoch FROM created_at)::float8 FROM roost.observations
WHERE project = %(project)s AND id < %(cursor)s
  AND created_at > clock_timestamp() - %(max_age)s::float8 * interval '1 second'
  AND (%(session)s::text IS NULL OR session_id = %(session)s::text)
  AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
ORDER BY id DESC
LIMIT %(limit)s

-- name: observation_list_agent
SELECT id, agent, session_id, kind, content, extract(epoch FROM created_at)::float8 FROM roost.observations
WHERE project = %(project)s AND agent = %(agent)s AND id < %(cursor)s
  AND created_at > clock_timestamp() - %(max_age)s::float8 * interval '1 second'
  AND (%(session)s::text IS NULL OR session_id = %(session)s::text)
  AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
ORDER BY id DESC
LIMIT %(limit)s

-- name: observation_count
SELECT count FROM roost.observation_agents WHERE project = %(project)s AND agent = %(agent)s
