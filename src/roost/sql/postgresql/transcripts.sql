-- Transcripts for PostgreSQL. An append runs in one transaction: lock the session's row (appends
-- to one session take turns, so positions and message-id checks are exact), look up message ids
-- already stored, load the new entries with COPY, then move the session's counters and write one
-- transcript.appended event for the batch. Entry columns come back as: id, session_id, position,
-- role, content, agent, phase, iteration, message_id, metadata, created_at.

-- name: transcript_reserve
-- The session's last position, and the time stamped on the whole batch (as epoch seconds for the
-- records, as timestamptz for COPY). FOR NO KEY UPDATE, not FOR UPDATE: the stronger lock conflicts
-- with the foreign-key checks of inserts that point at the session, and deadlocked with them (see
-- migration 0014).
SELECT s.last_position, extract(epoch FROM t.now)::float8, t.now
FROM roost.sessions s, (SELECT clock_timestamp() AS now) t
WHERE s.project = %(project)s AND s.id = %(session)s
FOR NO KEY UPDATE OF s

-- name: transcript_known
SELECT id, session_id, position, role, content, agent, phase, iteration, message_id, metadata,
       extract(epoch FROM created_at)::float8
FROM roost.transcript_entries
WHERE project = %(project)s AND session_id = %(session)s
  AND message_id IN (SELECT jsonb_array_elements_text(%(message_ids)s::jsonb))

-- name: transcript_insert
-- Rows are loaded with COPY (the fastest path into PostgreSQL), each with its search vector.
COPY roost.transcript_entries (project, session_id, position, role, content, agent, phase, iteration,
                               message_id, metadata, created_at, search) FROM STDIN

-- name: transcript_ids
SELECT id FROM roost.transcript_entries
WHERE project = %(project)s AND session_id = %(session)s AND position > %(after)s ORDER BY position

-- name: transcript_commit
WITH s AS (
    UPDATE roost.sessions SET last_position = %(last)s, entry_count = entry_count + %(count)s,
        last_activity = %(stamp)s
    WHERE project = %(project)s AND id = %(session)s
    RETURNING project, id
)
INSERT INTO roost.events (project, topic, payload, refs)
SELECT project, 'transcript.appended',
       (json_build_object('session', id, 'count', %(count)s::bigint, 'first', %(first)s::bigint,
                          'last', %(last)s::bigint))::text,
       jsonb_build_object('session', id)
FROM s

-- name: transcript_get
SELECT id, session_id, position, role, content, agent, phase, iteration, message_id, metadata,
       extract(epoch FROM created_at)::float8
FROM roost.transcript_entries WHERE project = %(project)s AND id = %(id)s

-- name: transcript_after
SELECT id, session_id, position, role, content, agent, phase, iteration, message_id, metadata,
       extract(epoch FROM created_at)::float8
FROM roost.transcript_entries
WHERE project = %(project)s AND session_id = %(session)s AND position > %(after)s AND position < %(before)s
  AND (%(phase)s::text IS NULL OR phase = %(phase)s::text)
ORDER BY position
LIMIT %(limit)s

-- name: transcript_before
SELECT id, session_id, position, role, content, agent, phase, iteration, message_id, metadata,
       extract(epoch FROM created_at)::float8
FROM roost.transcript_entries
WHERE project = %(project)s AND session_id = %(session)s AND position > %(after)s AND position < %(before)s
  AND (%(phase)s::text IS NULL OR phase = %(phase)s::text)
ORDER BY position DESC
LIMIT %(limit)s

-- name: transcript_append
-- One entry in one round trip (the single append's fast path): roost.transcript_append, migrations
-- 0010 and 0011 (which added the search vector). No rows: no such session (a message id the session holds returns the stored entry).
SELECT id, session_id, entry_position, role, content, agent, phase, iteration, message_id, metadata, created_at
FROM roost.transcript_append(%(project)s, %(session)s, %(role)s, %(content)s, %(agent)s, %(phase)s,
                             %(iteration)s, %(message_id)s, %(metadata)s, %(search)s::tsvector)
