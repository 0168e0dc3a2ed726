-- Observations for SQLite. Columns come back as: id, agent, session_id, kind, content, created_at.
-- :max_age is the retention in seconds: an older observation is never returned, even before
-- cleanup deletes it.

-- name: observation_add
-- The insert's trigger counts the agent's observations (observation_agents); the agent's oldest
-- beyond :cap go in the same transaction, so no reader ever sees more than the cap.
INSERT INTO observations (project, agent, session_id, kind, content, created_at)
VALUES (:project, :agent, :session, :kind, :content, (julianday('now') - 2440587.5) * 86400.0);
-- (Through the agent's index: once ANALYZE has seen a small table, SQLite would rather walk all of it.)
DELETE FROM observations INDEXED BY observations_agent
WHERE project = :project AND agent = :agent AND id IN (
    SELECT id FROM observations WHERE project = :project AND agent = :agent ORDER BY id
    LIMIT max(0, (SELECT count FROM observation_agents WHERE project = :project AND agent = :agent) - :cap));
SELECT id, created_at FROM observations WHERE id = last_insert_rowid()

-- name: observation_list
SELECT id, agent, session_id, kind, content, created_at FROM observations
WHERE project = :project AND id < :cursor
  AND created_at > (julianday('now') - 2440587.5) * 86400.0 - :max_age
  AND (:session IS NULL OR session_id = :session) AND (:kind IS NULL OR kind = :kind)
ORDER BY id DESC
LIMIT :limit

-- name: observation_list_agent
SELECT id, agent, session_id, kind, content, created_at FROM observations
WHERE project = :project AND agent = :agent AND id < :cursor
  AND created_at > (julianday('now') - 2440587.5) * 86400.0 - :max_age
  AND (:session IS NULL OR session_id = :session) AND (:kind IS NULL OR kind = :kind)
ORDER BY id DESC
LIMIT :limit

-- name: observation_count
SELECT count FROM observation_agents WHERE project = :project AND agent = :agent
