-- Memories for SQLite. A key is unique per project and scope (coalesce(session_id, ''): the
-- session, or the whole project). Every write takes the project's next seq, the order that lists
-- go in (newest first). Columns come back as: id, session_id, key, type, content, tags, agent,
-- version, created_at, updated_at, seq.

-- name: memory_upsert
-- Insert, or overwrite (a new version) unless :if_absent. Nothing comes back when it was refused.
INSERT INTO memories (project, session_id, key, type, content, tags, agent, version, seq, created_at, updated_at)
VALUES (:project, :session, :key, :type, :content, :tags, :agent, 1,
        (SELECT coalesce(max(seq), 0) + 1 FROM memories WHERE project = :project),
        (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (project, coalesce(session_id, ''), key) DO UPDATE SET
    type = excluded.type, content = excluded.content, tags = excluded.tags, agent = excluded.agent,
    version = version + 1, seq = excluded.seq, updated_at = excluded.updated_at
WHERE NOT :if_absent
RETURNING id, session_id, key, type, content, tags, agent, version, created_at, updated_at, seq

-- name: memory_replace
-- Compare-and-set: only the memory at exactly :expected.
UPDATE memories SET type = :type, content = :content, tags = :tags, agent = :agent, version = version + 1,
    seq = (SELECT coalesce(max(seq), 0) + 1 FROM memories WHERE project = :project),
    updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND coalesce(session_id, '') = coalesce(:session, '') AND key = :key
  AND version = :expected
RETURNING id, session_id, key, type, content, tags, agent, version, created_at, updated_at, seq

-- name: memory_get
SELECT id, session_id, key, type, content, tags, agent, version, created_at, updated_at, seq
FROM memories WHERE project = :project AND coalesce(session_id, '') = coalesce(:session, '') AND key = :key

-- name: memory_delete
DELETE FROM memories
WHERE project = :project AND coalesce(session_id, '') = coalesce(:session, '') AND key = :key
  AND (:expected IS NULL OR version = :expected)
RETURNING version

-- name: memory_list
-- Newest write first; :cursor is the seq of the last memory of the previous page. :tags_any and
-- :tags_all are JSON arrays (or NULL).
SELECT id, session_id, key, type, content, tags, agent, version, created_at, updated_at, seq
FROM memories
WHERE project = :project AND seq < :cursor
  AND (:type IS NULL OR type = :type)
  AND (:session IS NULL OR session_id = :session)
  AND (:agent IS NULL OR agent = :agent)
  AND (:since IS NULL OR updated_at >= :since)
  AND (:tags_any IS NULL OR EXISTS (SELECT 1 FROM json_each(memories.tags) AS t
                                     WHERE t.value IN (SELECT value FROM json_each(:tags_any))))
  AND (:tags_all IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(:tags_all) AS w
                                         WHERE w.value NOT IN (SELECT value FROM json_each(memories.tags))))
ORDER BY seq DESC
LIMIT :limit
