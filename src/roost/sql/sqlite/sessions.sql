-- Sessions for SQLite. Columns come back in one order for every query (memory/sessions.py reads
-- them): id, title, status, participants, metadata, created_at, updated_at, last_activity,
-- entry_count, memory_count, artifact_count, observation_count, seq.

-- name: session_insert
-- Nothing comes back when the id is taken.
INSERT INTO sessions (project, id, title, status, participants, metadata, created_at, updated_at, last_activity)
VALUES (:project, :id, :title, 'active', :participants, :metadata, (julianday('now') - 2440587.5) * 86400.0,
        (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (project, id) DO NOTHING
RETURNING id, title, status, participants, metadata, created_at, updated_at, last_activity,
          entry_count, memory_count, artifact_count, observation_count, seq

-- name: session_get
SELECT id, title, status, participants, metadata, created_at, updated_at, last_activity,
       entry_count, memory_count, artifact_count, observation_count, seq
FROM sessions WHERE project = :project AND id = :id

-- name: session_list
-- Newest first; :cursor is the seq of the last session of the previous page.
SELECT id, title, status, participants, metadata, created_at, updated_at, last_activity,
       entry_count, memory_count, artifact_count, observation_count, seq
FROM sessions
WHERE project = :project AND seq < :cursor
  AND (:status IS NULL OR status = :status)
  AND (:since IS NULL OR last_activity >= :since)
  AND (:participant IS NULL OR EXISTS (SELECT 1 FROM json_each(participants) WHERE value = :participant))
ORDER BY seq DESC
LIMIT :limit

-- name: session_join
-- Nothing comes back for a session that has no such participant and already :max of them.
UPDATE sessions SET
    participants = CASE WHEN EXISTS (SELECT 1 FROM json_each(participants) WHERE value = :participant)
                        THEN participants ELSE json_insert(participants, '$[#]', :participant) END,
    updated_at = (julianday('now') - 2440587.5) * 86400.0, last_activity = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND id = :id
  AND (json_array_length(participants) < :max
       OR EXISTS (SELECT 1 FROM json_each(participants) WHERE value = :participant))
RETURNING id, title, status, participants, metadata, created_at, updated_at, last_activity,
          entry_count, memory_count, artifact_count, observation_count, seq

-- name: session_leave
UPDATE sessions SET
    participants = (SELECT json_group_array(value) FROM (SELECT value FROM json_each(participants)
                                                          WHERE value <> :participant ORDER BY key)),
    updated_at = (julianday('now') - 2440587.5) * 86400.0, last_activity = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND id = :id
RETURNING id, title, status, participants, metadata, created_at, updated_at, last_activity,
          entry_count, memory_count, artifact_count, observation_count, seq

-- name: session_set_status
UPDATE sessions SET status = :status,
    updated_at = (julianday('now') - 2440587.5) * 86400.0, last_activity = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND id = :id
RETURNING id, title, status, participants, metadata, created_at, updated_at, last_activity,
          entry_count, memory_count, artifact_count, observation_count, seq

-- name: session_delete
-- Its entries, memories, observations and artifact versions go with it (ON DELETE CASCADE).
DELETE FROM sessions WHERE project = :project AND id = :id RETURNING id
