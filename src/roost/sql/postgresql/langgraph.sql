-- LangGraph checkpoints and store items for PostgreSQL (roost.integrations.langgraph,
-- docs/langgraph.md). Several keys travel as one JSON parameter, an array of arrays. A checkpoint is
-- stored, and loaded, in one statement.

-- name: lg_put
-- The checkpoint and its new channel values in one statement: one round trip, atomic by itself.
WITH blobs AS (
    INSERT INTO roost.lg_blobs (project, thread_id, checkpoint_ns, channel, version, type, blob)
    SELECT %(project)s, %(thread)s, %(ns)s, b.channel, b.version, b.type, b.blob
    FROM unnest(%(channels)s::text[], %(bversions)s::text[], %(types)s::text[], %(blobs)s::bytea[])
         AS b (channel, version, type, blob)
    ON CONFLICT DO NOTHING
)
INSERT INTO roost.lg_checkpoints AS c (project, thread_id, checkpoint_ns, checkpoint_id, parent_id, type,
                                       checkpoint, versions, metadata, run_id, created_at)
VALUES (%(project)s, %(thread)s, %(ns)s, %(id)s, %(parent)s, %(type)s, %(checkpoint)s, %(versions)s::jsonb,
        %(metadata)s::jsonb, %(run_id)s, clock_timestamp())
ON CONFLICT (project, thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
    parent_id = excluded.parent_id, type = excluded.type, checkpoint = excluded.checkpoint,
    versions = excluded.versions, metadata = excluded.metadata, run_id = excluded.run_id

-- name: lg_writes_put
-- Writes of one task in one statement. A repeated (task, index) keeps the first write, except
-- with replace (special writes: errors, interrupts...), which replace an earlier one.
INSERT INTO roost.lg_writes AS w (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type,
                                  blob, task_path)
SELECT %(project)s, %(thread)s, %(ns)s, %(id)s, %(task)s, x.idx, x.channel, x.type, x.blob, %(path)s
FROM unnest(%(idxs)s::integer[], %(channels)s::text[], %(types)s::text[], %(blobs)s::bytea[])
     AS x (idx, channel, type, blob)
ON CONFLICT (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE SET
    channel = excluded.channel, type = excluded.type, blob = excluded.blob, task_path = excluded.task_path
WHERE %(replace)s

-- name: lg_get_one
-- A checkpoint with its channel values and its pending writes, as arrays.
-- Each value is looked up by primary key (a LATERAL ... LIMIT 1, which the planner cannot turn
-- into a join over the thread's values, whatever its statistics say).
SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_id, c.type, c.checkpoint, c.versions::text,
       c.metadata::text, x.channels, x.types, x.blobs, y.tasks, y.channels, y.types, y.blobs
FROM roost.lg_checkpoints c
CROSS JOIN LATERAL (
    SELECT array_agg(v.key) AS channels, array_agg(b.type) AS types, array_agg(b.blob) AS blobs
    FROM jsonb_each_text(c.versions) v
    CROSS JOIN LATERAL (SELECT b.type, b.blob FROM roost.lg_blobs b
                        WHERE b.project = c.project AND b.thread_id = c.thread_id
                          AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = v.key AND b.version = v.value
                        LIMIT 1) b) x
CROSS JOIN LATERAL (
    SELECT array_agg(w.task_id ORDER BY w.task_path, w.task_id, w.idx) AS tasks,
           array_agg(w.channel ORDER BY w.task_path, w.task_id, w.idx) AS channels,
           array_agg(w.type ORDER BY w.task_path, w.task_id, w.idx) AS types,
           array_agg(w.blob ORDER BY w.task_path, w.task_id, w.idx) AS blobs
    FROM roost.lg_writes w
    WHERE w.project = c.project AND w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
      AND w.checkpoint_id = c.checkpoint_id) y
WHERE c.project = %(project)s AND c.thread_id = %(thread)s AND c.checkpoint_ns = %(ns)s
  AND c.checkpoint_id = %(id)s

-- name: lg_latest_one
SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_id, c.type, c.checkpoint, c.versions::text,
       c.metadata::text, x.channels, x.types, x.blobs, y.tasks, y.channels, y.types, y.blobs
FROM roost.lg_checkpoints c
CROSS JOIN LATERAL (
    SELECT array_agg(v.key) AS channels, array_agg(b.type) AS types, array_agg(b.blob) AS blobs
    FROM jsonb_each_text(c.versions) v
    CROSS JOIN LATERAL (SELECT b.type, b.blob FROM roost.lg_blobs b
                        WHERE b.project = c.project AND b.thread_id = c.thread_id
                          AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = v.key AND b.version = v.value
                        LIMIT 1) b) x
CROSS JOIN LATERAL (
    SELECT array_agg(w.task_id ORDER BY w.task_path, w.task_id, w.idx) AS tasks,
           array_agg(w.channel ORDER BY w.task_path, w.task_id, w.idx) AS channels,
           array_agg(w.type ORDER BY w.task_path, w.task_id, w.idx) AS types,
           array_agg(w.blob ORDER BY w.task_path, w.task_id, w.idx) AS blobs
    FROM roost.lg_writes w
    WHERE w.project = c.project AND w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
      AND w.checkpoint_id = c.checkpoint_id) y
WHERE c.project = %(project)s AND c.thread_id = %(thread)s AND c.checkpoint_ns = %(ns)s
ORDER BY c.checkpoint_id DESC LIMIT 1

-- name: lg_page_ns
SELECT thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions::text, metadata::text
FROM roost.lg_checkpoints
WHERE project = %(project)s AND thread_id = %(thread)s AND checkpoint_ns = %(ns)s AND checkpoint_id < %(cursor)s
ORDER BY checkpoint_id DESC LIMIT %(page)s

-- name: lg_page_thread
SELECT thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions::text, metadata::text
FROM roost.lg_checkpoints
WHERE project = %(project)s AND thread_id = %(thread)s
  AND (checkpoint_id, checkpoint_ns) < (%(cursor)s::text COLLATE "C", %(cursor_ns)s::text COLLATE "C")
ORDER BY checkpoint_id DESC, checkpoint_ns DESC LIMIT %(page)s

-- name: lg_page_all
SELECT thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions::text, metadata::text
FROM roost.lg_checkpoints
WHERE project = %(project)s
  AND (checkpoint_id, thread_id, checkpoint_ns)
      < (%(cursor)s::text COLLATE "C", %(cursor_thread)s::text COLLATE "C", %(cursor_ns)s::text COLLATE "C")
ORDER BY checkpoint_id DESC, thread_id DESC, checkpoint_ns DESC LIMIT %(page)s

-- name: lg_values
-- Channel values by key: [[thread, namespace, channel, version], ...], each by primary key (see lg_get_one).
SELECT k ->> 0, k ->> 1, k ->> 2, k ->> 3, b.type, b.blob
FROM jsonb_array_elements(%(keys)s::jsonb) k
CROSS JOIN LATERAL (SELECT b.type, b.blob FROM roost.lg_blobs b
                    WHERE b.project = %(project)s AND b.thread_id = k ->> 0 AND b.checkpoint_ns = k ->> 1
                      AND b.channel = k ->> 2 AND b.version = k ->> 3
                    LIMIT 1) b

-- name: lg_pending
SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.channel, w.type, w.blob
FROM jsonb_array_elements(%(keys)s::jsonb) k
CROSS JOIN LATERAL (SELECT * FROM roost.lg_writes w
                    WHERE w.project = %(project)s AND w.thread_id = k ->> 0 AND w.checkpoint_ns = k ->> 1
                      AND w.checkpoint_id = k ->> 2
                    OFFSET 0) w
ORDER BY w.task_path, w.task_id, w.idx

-- name: lg_threads_delete
DELETE FROM roost.lg_checkpoints
WHERE project = %(project)s AND thread_id IN (SELECT jsonb_array_elements_text(%(threads)s::jsonb))

-- name: lg_threads_delete_writes
DELETE FROM roost.lg_writes
WHERE project = %(project)s AND thread_id IN (SELECT jsonb_array_elements_text(%(threads)s::jsonb))

-- name: lg_threads_delete_blobs
DELETE FROM roost.lg_blobs
WHERE project = %(project)s AND thread_id IN (SELECT jsonb_array_elements_text(%(threads)s::jsonb))

-- name: lg_runs_delete
DELETE FROM roost.lg_checkpoints
WHERE project = %(project)s AND run_id IN (SELECT jsonb_array_elements_text(%(runs)s::jsonb))
RETURNING thread_id

-- name: lg_delta_threads
SELECT DISTINCT thread_id FROM roost.lg_checkpoints
WHERE project = %(project)s AND thread_id IN (SELECT jsonb_array_elements_text(%(threads)s::jsonb))
  AND (metadata ? 'counters_since_delta_snapshot' OR metadata ? 'delta_writes_versioned')

-- name: lg_keep_latest
DELETE FROM roost.lg_checkpoints AS d
WHERE d.project = %(project)s AND d.thread_id IN (SELECT jsonb_array_elements_text(%(threads)s::jsonb))
  AND d.checkpoint_id < (SELECT max(c.checkpoint_id) FROM roost.lg_checkpoints c
                         WHERE c.project = d.project AND c.thread_id = d.thread_id
                           AND c.checkpoint_ns = d.checkpoint_ns)

-- name: lg_blobs_unused
DELETE FROM roost.lg_blobs AS b
WHERE b.project = %(project)s AND b.thread_id IN (SELECT jsonb_array_elements_text(%(threads)s::jsonb))
  AND NOT EXISTS (SELECT 1 FROM roost.lg_checkpoints c
                  WHERE c.project = b.project AND c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
                    AND c.versions ->> b.channel = b.version)

-- name: lg_copy_checkpoints
-- (made now: the copy is a new thread, which the age policy counts from now)
INSERT INTO roost.lg_checkpoints (project, thread_id, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint,
                                  versions, metadata, run_id, created_at)
SELECT project, %(target)s, checkpoint_ns, checkpoint_id, parent_id, type, checkpoint, versions, metadata, run_id,
       clock_timestamp()
FROM roost.lg_checkpoints WHERE project = %(project)s AND thread_id = %(source)s
ON CONFLICT DO NOTHING

-- name: lg_copy_blobs
INSERT INTO roost.lg_blobs (project, thread_id, checkpoint_ns, channel, version, type, blob)
SELECT project, %(target)s, checkpoint_ns, channel, version, type, blob
FROM roost.lg_blobs WHERE project = %(project)s AND thread_id = %(source)s
ON CONFLICT DO NOTHING

-- name: lg_copy_writes
INSERT INTO roost.lg_writes (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob,
                             task_path)
SELECT project, %(target)s, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path
FROM roost.lg_writes WHERE project = %(project)s AND thread_id = %(source)s
ON CONFLICT DO NOTHING

-- name: lg_items_get
-- Store items. A namespace is its labels joined with '.', which no label holds, so the namespaces
-- under a prefix are the prefix itself and those from prefix || '.' up to prefix || '/' ('.' + 1),
-- compared byte by byte (the column's collation is "C").

SELECT i.namespace, i.key, i.value, extract(epoch FROM i.created_at)::float8,
       extract(epoch FROM i.updated_at)::float8, i.ttl
FROM jsonb_array_elements(%(keys)s::jsonb) k
CROSS JOIN LATERAL (SELECT * FROM roost.lg_items i
                    WHERE i.project = %(project)s AND i.namespace = k ->> 0 AND i.key = k ->> 1 LIMIT 1) i
WHERE i.expires_at IS NULL OR i.expires_at > clock_timestamp()

-- name: lg_items_search
SELECT namespace, key, value, extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8, ttl
FROM roost.lg_items
WHERE project = %(project)s AND (namespace = %(prefix)s OR (namespace >= %(lo)s AND namespace < %(hi)s))
  AND (expires_at IS NULL OR expires_at > clock_timestamp())
ORDER BY updated_at DESC, namespace, key LIMIT %(limit)s OFFSET %(offset)s

-- name: lg_namespaces
SELECT DISTINCT namespace FROM roost.lg_items
WHERE project = %(project)s AND (namespace = %(prefix)s OR (namespace >= %(lo)s AND namespace < %(hi)s))
  AND (expires_at IS NULL OR expires_at > clock_timestamp())

-- name: lg_items_match
-- Items under a prefix that match a search (a tsquery roost builds from the parsed query, cast,
-- never parsed from the user's text), best first by ts_rank_cd, then the most recently updated.
SELECT i.namespace, i.key, i.value, extract(epoch FROM i.created_at)::float8,
       extract(epoch FROM i.updated_at)::float8, i.ttl, ts_rank_cd(i.search, q, 1)::float8 AS score
FROM roost.lg_items i, CAST(%(match)s AS tsquery) q
WHERE i.search @@ q AND i.project = %(project)s
  AND (i.namespace = %(prefix)s OR (i.namespace >= %(lo)s AND i.namespace < %(hi)s))
  AND (i.expires_at IS NULL OR i.expires_at > clock_timestamp())
ORDER BY score DESC, i.updated_at DESC, i.id LIMIT %(limit)s OFFSET %(offset)s

-- name: lg_item_put
-- Run once per row: project, namespace, key, value, ttl seconds (twice), search vector.
INSERT INTO roost.lg_items AS i (project, namespace, key, value, created_at, updated_at, ttl, expires_at, search)
VALUES (%s, %s, %s, %s, clock_timestamp(), clock_timestamp(), %s,
        clock_timestamp() + %s::float8 * interval '1 second', %s::tsvector)
ON CONFLICT (project, namespace, key) DO UPDATE SET
    value = excluded.value, updated_at = excluded.updated_at, ttl = excluded.ttl, expires_at = excluded.expires_at,
    search = excluded.search,
    created_at = CASE WHEN i.expires_at <= excluded.updated_at THEN excluded.created_at ELSE i.created_at END

-- name: lg_item_delete
DELETE FROM roost.lg_items WHERE project = %s AND namespace = %s AND key = %s

-- name: lg_item_refresh
UPDATE roost.lg_items SET expires_at = clock_timestamp() + ttl * interval '1 second'
WHERE project = %s AND namespace = %s AND key = %s AND ttl IS NOT NULL
