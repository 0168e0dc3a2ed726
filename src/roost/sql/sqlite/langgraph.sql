-- LangGraph checkpoints and store items for SQLite (roost.integrations.langgraph, docs/langgraph.md).
-- Several keys travel as one JSON parameter: an array of arrays.

-- name: lg_blob_put
-- Run once per row (executemany). A channel value is stored once per version.
INSERT INTO lg_blobs (project, thread_id, checkpoint_ns, channel, version, type, blob)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING

-- name: lg_checkpoint_put
INSERT INTO lg_checkpoints (project, thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint,
                            versions, metadata, run_id, created_at)
VALUES (:project, :thread, :ns, :id, :parent, :type, :checkpoint, :versions, :metadata, :run_id,
        (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (project, thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
    parent_id = excluded.parent_id, type = excluded.type, checkpoint = excluded.checkpoint,
    versions = excluded.versions, metadata = excluded.metadata, run_id = excluded.run_id

-- name: lg_writes_insert
-- Run once per row. A repeated (task, index) keeps the first write (LangGraph's rule).
INSERT INTO lg_writes (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING

-- name: lg_writes_upsert
-- Run once per row. Special writes (errors, interrupts...) replace an earlier one.
INSERT INTO lg_writes (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE SET
    channel = excluded.channel, type = excluded.type, blob = excluded.blob, task_path = excluded.task_path

-- name: lg_get
SELECT thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions, metadata
FROM lg_checkpoints
WHERE project = :project AND thread_id = :thread AND checkpoint_ns = :ns AND checkpoint_id = :id

-- name: lg_latest
SELECT thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions, metadata
FROM lg_checkpoints
WHERE project = :project AND thread_id = :thread AND checkpoint_ns = :ns
ORDER BY checkpoint_id DESC LIMIT 1

-- name: lg_page_ns
SELECT thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions, metadata
FROM lg_checkpoints
WHERE project = :project AND thread_id = :thread AND checkpoint_ns = :ns AND checkpoint_id < :cursor
ORDER BY checkpoint_id DESC LIMIT :page

-- name: lg_page_thread
SELECT thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions, metadata
FROM lg_checkpoints
WHERE project = :project AND thread_id = :thread AND (checkpoint_id, checkpoint_ns) < (:cursor, :cursor_ns)
ORDER BY checkpoint_id DESC, checkpoint_ns DESC LIMIT :page

-- name: lg_page_all
SELECT thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions, metadata
FROM lg_checkpoints
WHERE project = :project
  AND (checkpoint_id, thread_id, checkpoint_ns) < (:cursor, :cursor_thread, :cursor_ns)
ORDER BY checkpoint_id DESC, thread_id DESC, checkpoint_ns DESC LIMIT :page

-- name: lg_values
-- Channel values by key: [[thread, namespace, channel, version], ...]. (The keys are unpacked once;
-- CROSS JOIN keeps the order, so each is looked up by primary key: SQLite cannot know how few keys
-- there are and would otherwise scan the table.)
WITH k AS MATERIALIZED (
    SELECT json_extract(value, '$[0]') AS thread, json_extract(value, '$[1]') AS ns,
           json_extract(value, '$[2]') AS channel, json_extract(value, '$[3]') AS version
    FROM json_each(:keys))
SELECT k.thread, k.ns, k.channel, k.version, b.type, b.blob
FROM k
CROSS JOIN lg_blobs b
WHERE b.project = :project AND b.thread_id = k.thread AND b.checkpoint_ns = k.ns AND b.channel = k.channel
  AND b.version = k.version

-- name: lg_pending
-- The pending writes of several checkpoints, in LangGraph's order (task path, task id, index).
WITH k AS MATERIALIZED (
    SELECT json_extract(value, '$[0]') AS thread, json_extract(value, '$[1]') AS ns,
           json_extract(value, '$[2]') AS id
    FROM json_each(:keys))
SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.channel, w.type, w.blob
FROM k
CROSS JOIN lg_writes w
WHERE w.project = :project AND w.thread_id = k.thread AND w.checkpoint_ns = k.ns AND w.checkpoint_id = k.id
ORDER BY w.task_path, w.task_id, w.idx

-- name: lg_threads_delete
-- Whole threads: their checkpoints (their writes go with them), any other writes, their values.
DELETE FROM lg_checkpoints WHERE project = :project AND thread_id IN (SELECT value FROM json_each(:threads))

-- name: lg_threads_delete_writes
DELETE FROM lg_writes WHERE project = :project AND thread_id IN (SELECT value FROM json_each(:threads))

-- name: lg_threads_delete_blobs
DELETE FROM lg_blobs WHERE project = :project AND thread_id IN (SELECT value FROM json_each(:threads))

-- name: lg_runs_delete
-- Checkpoints made by the given runs (their writes go with them); returns their threads.
DELETE FROM lg_checkpoints
WHERE project = :project AND run_id IN (SELECT value FROM json_each(:runs))
RETURNING thread_id

-- name: lg_delta_threads
-- Threads that use a DeltaChannel: their latest value is rebuilt from older checkpoints.
SELECT DISTINCT thread_id FROM lg_checkpoints
WHERE project = :project AND thread_id IN (SELECT value FROM json_each(:threads))
  AND (json_type(metadata, '$.counters_since_delta_snapshot') IS NOT NULL
       OR json_type(metadata, '$.delta_writes_versioned') IS NOT NULL)

-- name: lg_keep_latest
-- All but the newest checkpoint of each namespace of the threads.
DELETE FROM lg_checkpoints
WHERE project = :project AND thread_id IN (SELECT value FROM json_each(:threads))
  AND checkpoint_id < (SELECT max(c.checkpoint_id) FROM lg_checkpoints c
                       WHERE c.project = lg_checkpoints.project AND c.thread_id = lg_checkpoints.thread_id
                         AND c.checkpoint_ns = lg_checkpoints.checkpoint_ns)

-- name: lg_blobs_unused
-- Values of the threads that no checkpoint points at any more.
DELETE FROM lg_blobs
WHERE project = :project AND thread_id IN (SELECT value FROM json_each(:threads))
  AND NOT EXISTS (SELECT 1 FROM lg_checkpoints c, json_each(c.versions) v
                  WHERE c.project = lg_blobs.project AND c.thread_id = lg_blobs.thread_id
                    AND c.checkpoint_ns = lg_blobs.checkpoint_ns AND v.key = lg_blobs.channel
                    AND CAST(v.value AS TEXT) = lg_blobs.version)

-- name: lg_copy_checkpoints
-- (made now: the copy is a new thread, which the age policy counts from now)
INSERT INTO lg_checkpoints (project, thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint,
                            versions, metadata, run_id, created_at)
SELECT project, :target, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions, metadata, run_id,
       (julianday('now') - 2440587.5) * 86400.0
FROM lg_checkpoints WHERE project = :project AND thread_id = :source
ON CONFLICT DO NOTHING

-- name: lg_copy_blobs
INSERT INTO lg_blobs (project, thread_id, checkpoint_ns, channel, version, type, blob)
SELECT project, :target, checkpoint_ns, channel, version, type, blob
FROM lg_blobs WHERE project = :project AND thread_id = :source
ON CONFLICT DO NOTHING

-- name: lg_copy_writes
INSERT INTO lg_writes (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path)
SELECT project, :target, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path
FROM lg_writes WHERE project = :project AND thread_id = :source
ON CONFLICT DO NOTHING

-- name: lg_items_get
-- Store items. A namespace is its labels joined with '.', which no label holds, so the namespaces
-- under a prefix are the prefix itself and those from prefix || '.' up to prefix || '/' ('.' + 1).

SELECT i.namespace, i.key, i.value, i.created_at, i.updated_at, i.ttl
FROM json_each(:keys) k
CROSS JOIN lg_items i
WHERE i.project = :project AND i.namespace = json_extract(k.value, '$[0]') AND i.key = json_extract(k.value, '$[1]')
  AND (i.expires_at IS NULL OR i.expires_at > (julianday('now') - 2440587.5) * 86400.0)

-- name: lg_items_search
SELECT namespace, key, value, created_at, updated_at, ttl FROM lg_items
WHERE project = :project AND (namespace = :prefix OR (namespace >= :lo AND namespace < :hi))
  AND (expires_at IS NULL OR expires_at > (julianday('now') - 2440587.5) * 86400.0)
ORDER BY updated_at DESC, namespace, key LIMIT :limit OFFSET :offset

-- name: lg_namespaces
SELECT DISTINCT namespace FROM lg_items
WHERE project = :project AND (namespace = :prefix OR (namespace >= :lo AND namespace < :hi))
  AND (expires_at IS NULL OR expires_at > (julianday('now') - 2440587.5) * 86400.0)

-- name: lg_items_match
-- Items under a prefix that match a search (the MATCH expression is built by roost from the parsed
-- query, never the user's text), best first by bm25, then the most recently updated.
SELECT i.namespace, i.key, i.value, i.created_at, i.updated_at, i.ttl, -search_lg_items.rank
FROM search_lg_items JOIN lg_items i ON i.id = search_lg_items.rowid
WHERE search_lg_items MATCH :match AND i.project = :project
  AND (i.namespace = :prefix OR (i.namespace >= :lo AND i.namespace < :hi))
  AND (i.expires_at IS NULL OR i.expires_at > (julianday('now') - 2440587.5) * 86400.0)
ORDER BY search_lg_items.rank, i.updated_at DESC, i.id LIMIT :limit OFFSET :offset

-- name: lg_item_put
-- Run once per row: project, namespace, key, value, ttl seconds (twice). An item that had expired
-- is made anew.
INSERT INTO lg_items (project, namespace, key, value, created_at, updated_at, ttl, expires_at)
VALUES (?, ?, ?, ?, (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0, ?,
        (julianday('now') - 2440587.5) * 86400.0 + ?)
ON CONFLICT (project, namespace, key) DO UPDATE SET
    value = excluded.value, updated_at = excluded.updated_at, ttl = excluded.ttl, expires_at = excluded.expires_at,
    created_at = CASE WHEN lg_items.expires_at <= excluded.updated_at THEN excluded.created_at
                      ELSE lg_items.created_at END

-- name: lg_item_delete
-- Run once per row: project, namespace, key.
DELETE FROM lg_items WHERE project = ? AND namespace = ? AND key = ?

-- name: lg_item_refresh
-- Run once per row: project, namespace, key. A read restarts the item's time to live.
UPDATE lg_items SET expires_at = (julianday('now') - 2440587.5) * 86400.0 + ttl
WHERE project = ? AND namespace = ? AND key = ? AND ttl IS NOT NULL
