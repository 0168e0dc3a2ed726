-- Artifacts for PostgreSQL. Content is stored once per project and SHA-256 (artifact_blobs), in
-- chunks (artifact_chunks); an artifact version points at its blob. Version columns come back as:
-- id, name, version, size, sha256, type, format, is_text, session_id, task_id, metadata,
-- created_at, blob_id, chunks.

-- name: blob_touch
-- The project's stored blob with this content, marked as just used and locked: a cleanup that
-- runs now waits for this transaction, then sees the new touched_at and leaves the blob alone.
UPDATE roost.artifact_blobs SET touched_at = clock_timestamp()
WHERE project = %(project)s AND sha256 = %(sha256)s
RETURNING id

-- name: blob_insert
-- A whole blob whose content is known (small puts): its one chunk follows in the same transaction.
INSERT INTO roost.artifact_blobs (project, sha256, size, chunks, touched_at, search_text, search)
VALUES (%(project)s, %(sha256)s, %(size)s, %(chunks)s, clock_timestamp(), %(search_text)s, %(search)s::tsvector)
RETURNING id

-- name: blob_begin
-- An upload: no sha256 until it is finished, so nothing can point at it yet.
INSERT INTO roost.artifact_blobs (project, touched_at) VALUES (%(project)s, clock_timestamp()) RETURNING id

-- name: chunk_put
WITH c AS (
    INSERT INTO roost.artifact_chunks (blob_id, seq, data) VALUES (%(blob)s, %(seq)s, %(data)s) RETURNING blob_id
)
UPDATE roost.artifact_blobs SET touched_at = clock_timestamp()
WHERE id = (SELECT blob_id FROM c) AND sha256 IS NULL

-- name: blob_finish
-- Nothing comes back if cleanup removed the upload in the meantime.
UPDATE roost.artifact_blobs SET sha256 = %(sha256)s, size = %(size)s, chunks = %(chunks)s,
    touched_at = clock_timestamp(), search_text = %(search_text)s, search = %(search)s::tsvector
WHERE id = %(blob)s AND sha256 IS NULL
RETURNING id

-- name: blob_drop
DELETE FROM roost.artifact_blobs WHERE id = %(blob)s AND sha256 IS NULL

-- name: artifact_usage
-- Bytes the project stores (each blob once), with the project's row locked so that puts checking
-- the quota take turns.
SELECT (SELECT coalesce(sum(size), 0) FROM roost.artifact_blobs
        WHERE project = %(project)s AND sha256 IS NOT NULL)::bigint
FROM roost.projects WHERE name = %(project)s
FOR UPDATE

-- name: artifact_next_version
INSERT INTO roost.artifact_names AS n (project, name, latest) VALUES (%(project)s, %(name)s, 1)
ON CONFLICT (project, name) DO UPDATE SET latest = n.latest + 1
RETURNING latest

-- name: artifact_insert
INSERT INTO roost.artifacts (project, name, version, blob_id, size, sha256, type, format, is_text, session_id,
                             task_id, metadata, created_at)
VALUES (%(project)s, %(name)s, %(version)s, %(blob)s, %(size)s, %(sha256)s, %(type)s, %(format)s, %(is_text)s,
        %(session)s, %(task)s, %(metadata)s, clock_timestamp())
RETURNING id, name, version, size, sha256, type, format, is_text, session_id, task_id, metadata,
          extract(epoch FROM created_at)::float8, blob_id, %(chunks)s::integer

-- name: artifact_get
-- The given version, or the newest one.
SELECT a.id, a.name, a.version, a.size, a.sha256, a.type, a.format, a.is_text, a.session_id, a.task_id,
       a.metadata, extract(epoch FROM a.created_at)::float8, a.blob_id, b.chunks
FROM roost.artifacts a JOIN roost.artifact_blobs b ON b.id = a.blob_id
WHERE a.project = %(project)s AND a.name = %(name)s AND (%(version)s::bigint IS NULL OR a.version = %(version)s::bigint)
ORDER BY a.version DESC
LIMIT 1

-- name: chunk_get
SELECT data FROM roost.artifact_chunks WHERE blob_id = %(blob)s AND seq = %(seq)s

-- name: artifact_list
-- The newest version of each name (every version with all), by name; after is the last name of
-- the previous page. Filters apply to the version listed.
SELECT a.id, a.name, a.version, a.size, a.sha256, a.type, a.format, a.is_text, a.session_id, a.task_id,
       a.metadata, extract(epoch FROM a.created_at)::float8, a.blob_id, b.chunks
FROM roost.artifacts a JOIN roost.artifact_blobs b ON b.id = a.blob_id
WHERE a.project = %(project)s AND left(a.name, char_length(%(prefix)s)) = %(prefix)s
  AND (a.name > %(after)s OR (a.name = %(after)s AND a.version < %(after_version)s))
  AND (%(all)s OR a.version = (SELECT max(version) FROM roost.artifacts x WHERE x.project = a.project AND x.name = a.name))
  AND (%(session)s::text IS NULL OR a.session_id = %(session)s::text)
  AND (%(type)s::text IS NULL OR a.type = %(type)s::text)
ORDER BY a.name, a.version DESC
LIMIT %(limit)s

-- name: artifact_delete
DELETE FROM roost.artifacts
WHERE project = %(project)s AND name = %(name)s AND (%(version)s::bigint IS NULL OR version = %(version)s::bigint)
RETURNING version
