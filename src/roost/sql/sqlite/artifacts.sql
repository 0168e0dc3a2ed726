-- Artifacts for SQLite. Content is stored once per project and SHA-256 (artifact_blobs), in
-- chunks (artifact_chunks); an artifact version points at its blob. Version columns come back as:
-- id, name, version, size, sha256, type, format, is_text, session_id, task_id, metadata,
-- created_at, blob_id, chunks.

-- name: blob_touch
-- The project's stored blob with this content, marked as just used (so cleanup leaves it alone).
UPDATE artifact_blobs SET touched_at = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND sha256 = :sha256
RETURNING id

-- name: blob_insert
-- A whole blob whose content is known (small puts): its one chunk follows in the same transaction.
INSERT INTO artifact_blobs (project, sha256, size, chunks, touched_at, search_text)
VALUES (:project, :sha256, :size, :chunks, (julianday('now') - 2440587.5) * 86400.0, :search_text)
RETURNING id

-- name: blob_begin
-- An upload: no sha256 until it is finished, so nothing can point at it yet.
INSERT INTO artifact_blobs (project, touched_at) VALUES (:project, (julianday('now') - 2440587.5) * 86400.0)
RETURNING id

-- name: chunk_put
INSERT INTO artifact_chunks (blob_id, seq, data) VALUES (:blob, :seq, :data);
UPDATE artifact_blobs SET touched_at = (julianday('now') - 2440587.5) * 86400.0 WHERE id = :blob AND sha256 IS NULL

-- name: blob_finish
-- Nothing comes back if cleanup removed the upload in the meantime.
UPDATE artifact_blobs SET sha256 = :sha256, size = :size, chunks = :chunks,
    touched_at = (julianday('now') - 2440587.5) * 86400.0, search_text = :search_text
WHERE id = :blob AND sha256 IS NULL
RETURNING id

-- name: blob_drop
DELETE FROM artifact_blobs WHERE id = :blob AND sha256 IS NULL

-- name: artifact_usage
-- Bytes the project stores (each blob once). The write transaction already excludes other puts.
SELECT coalesce(sum(size), 0) FROM artifact_blobs WHERE project = :project AND sha256 IS NOT NULL

-- name: artifact_next_version
INSERT INTO artifact_names (project, name, latest) VALUES (:project, :name, 1)
ON CONFLICT (project, name) DO UPDATE SET latest = latest + 1
RETURNING latest

-- name: artifact_insert
INSERT INTO artifacts (project, name, version, blob_id, size, sha256, type, format, is_text, session_id, task_id,
                       metadata, created_at)
VALUES (:project, :name, :version, :blob, :size, :sha256, :type, :format, :is_text, :session, :task, :metadata,
        (julianday('now') - 2440587.5) * 86400.0)
RETURNING id, name, version, size, sha256, type, format, is_text, session_id, task_id, metadata, created_at,
          blob_id, :chunks

-- name: artifact_get
-- The given version, or the newest one.
SELECT a.id, a.name, a.version, a.size, a.sha256, a.type, a.format, a.is_text, a.session_id, a.task_id,
       a.metadata, a.created_at, a.blob_id, b.chunks
FROM artifacts a JOIN artifact_blobs b ON b.id = a.blob_id
WHERE a.project = :project AND a.name = :name AND (:version IS NULL OR a.version = :version)
ORDER BY a.version DESC
LIMIT 1

-- name: chunk_get
SELECT data FROM artifact_chunks WHERE blob_id = :blob AND seq = :seq

-- name: artifact_list
-- The newest version of each name (every version with :all), by name; :after is the last name
-- of the previous page. Filters apply to the version listed.
SELECT a.id, a.name, a.version, a.size, a.sha256, a.type, a.format, a.is_text, a.session_id, a.task_id,
       a.metadata, a.created_at, a.blob_id, b.chunks
FROM artifacts a JOIN artifact_blobs b ON b.id = a.blob_id
WHERE a.project = :project AND substr(a.name, 1, length(:prefix)) = :prefix
  AND (a.name > :after OR (a.name = :after AND a.version < :after_version))
  AND (:all OR a.version = (SELECT max(version) FROM artifacts x WHERE x.project = a.project AND x.name = a.name))
  AND (:session IS NULL OR a.session_id = :session)
  AND (:type IS NULL OR a.type = :type)
ORDER BY a.name, a.version DESC
LIMIT :limit

-- name: artifact_delete
DELETE FROM artifacts WHERE project = :project AND name = :name AND (:version IS NULL OR version = :version)
RETURNING version
