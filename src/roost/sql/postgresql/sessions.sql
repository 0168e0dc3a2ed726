-- Sessions for PostgreSQL. Columns come back in one order for every query (memory/sessions.py
-- reads them): id, title, status, participants, metadata, created_at, updated_at, last_activity,
-- entry_count, memory_count, artifact_count, observation_count, seq.

-- name: session_insert
-- Nothing comes back when the id is taken.
INSERT INTO roost.sessions (project, id, title, status, participants, metadata, created_at, updated_at,
                            last_activity, search)
VALUES (%(project)s, %(id)s, %(title)s, 'active', %(participants)s::jsonb, %(metadata)s, clock_timestamp(),
        clock_timestamp(), clock_timestamp(), %(search)s::tsvector)
ON CONFLICT (project, id) DO NOTHING
RETURNING id, title, status, participants::text, metadata, extract(epoch FROM created_at)::float8,
          extract(epoch FROM updated_at)::float8, extract(epoch FROM last_activity)::float8,
          entry_count, memory_count, artifact_count, observation_count, seq

-- name: session_get
SELECT id, title, status, participants::text, metadata, extract(epoch FROM created_at)::float8,
       extract(epoch FROM updated_at)::float8, extract(epoch FROM last_activity)::float8,
       entry_count, memory_count, artifact_count, observation_count, seq
FROM roost.sessions WHERE project = %(project)s AND id = %(id)s

-- name: session_list
-- Newest first; %(cursor)s is the seq of the last session of the previous page.
SELECT id, title, status, participants::text, metadata, extract(epoch FROM created_at)::float8,
       extract(epoch FROM updated_at)::float8, extract(epoch FROM last_activity)::float8,
       entry_count, memory_count, artifact_count, observation_count, seq
FROM roost.sessions
WHERE project = %(project)s AND seq < %(cursor)s
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(since)s::float8 IS NULL OR last_activity >= to_timestamp(%(since)s::float8))
  AND (%(participant)s::text IS NULL OR participants ? %(participant)s::text)
ORDER BY seq DESC
LIMIT %(limit)s

-- name: session_join
-- Nothing comes back for a session that has no such participant and already max of them.
UPDATE roost.sessions SET
    participants = CASE WHEN participants ? %(participant)s::text THEN participants
                        ELSE participants || jsonb_build_array(%(participant)s::text) END,
    updated_at = clock_timestamp(), last_activity = clock_timestamp()
WHERE project = %(project)s AND id = %(id)s
  AND (jsonb_array_length(participants) < %(max)s OR participants ? %(participant)s::text)
RETURNING id, title, status, participants::text, metadata, extract(epoch FROM created_at)::float8,
          extract(epoch FROM updated_at)::float8, extract(epoch FROM last_activity)::float8,
          entry_count, memory_count, artifact_count, observation_count, seq

-- name: session_leave
UPDATE roost.sessions SET participants = participants - %(participant)s::text,
    updated_at = clock_timestamp(), last_activity = clock_timestamp()
WHERE project = %(project)s AND id = %(id)s
RETURNING id, title, status, participants::text, metadata, extract(epoch FROM created_at)::float8,
          extract(epoch FROM updated_at)::float8, extract(epoch FROM last_activity)::float8,
          entry_count, memory_count, artifact_count, observation_count, seq

-- name: session_set_status
UPDATE roost.sessions SET status = %(status)s, updated_at = clock_timestamp(), last_activity = clock_timestamp()
WHERE project = %(project)s AND id = %(id)s
RETURNING id, title, status, participants::text, metadata, extract(epoch FROM created_at)::float8,
          extract(epoch FROM updated_at)::float8, extract(epoch FROM last_activity)::float8,
          entry_count, memory_count, artifact_count, observation_count, seq

-- name: session_delete
-- Its entries, memories, observations and artifact versions go with it (ON DELETE CASCADE).
DELETE FROM roost.sessions WHERE project = %(project)s AND id = %(id)s RETURNING id
