-- Signals for SQLite. NOW is spelled (julianday('now') - 2440587.5) * 86400.0: epoch seconds, fixed
-- for the length of one statement. A signal is live when its value is not NULL and it has not expired.

-- name: signal_set
-- Set unconditionally or, with if_absent, only when no live value exists. Returns the new version.
INSERT INTO signals (project, key, value, version, critical, expires_at, updated_at, updated_by)
VALUES (:project, :key, :value, 1, :critical, (julianday('now') - 2440587.5) * 86400.0 + :ttl,
        (julianday('now') - 2440587.5) * 86400.0, :owner)
ON CONFLICT (project, key) DO UPDATE SET
    value = excluded.value, version = version + 1, critical = excluded.critical,
    expires_at = excluded.expires_at, updated_at = excluded.updated_at, updated_by = excluded.updated_by
WHERE NOT :if_absent OR value IS NULL OR expires_at <= excluded.updated_at
RETURNING version

-- name: signal_replace
-- Compare-and-set: only a live signal at exactly the expected version.
UPDATE signals SET
    value = :value, version = version + 1, critical = :critical,
    expires_at = (julianday('now') - 2440587.5) * 86400.0 + :ttl,
    updated_at = (julianday('now') - 2440587.5) * 86400.0, updated_by = :owner
WHERE project = :project AND key = :key AND version = :expected AND value IS NOT NULL
  AND (expires_at IS NULL OR expires_at > (julianday('now') - 2440587.5) * 86400.0)
RETURNING version

-- name: signal_clear
-- Leaves a tombstone (value NULL) whose version keeps counting, so a later CAS cannot be fooled.
UPDATE signals SET
    value = NULL, version = version + 1, critical = 0, expires_at = NULL,
    updated_at = (julianday('now') - 2440587.5) * 86400.0, updated_by = :owner
WHERE project = :project AND key = :key AND value IS NOT NULL
  AND (expires_at IS NULL OR expires_at > (julianday('now') - 2440587.5) * 86400.0)
  AND (:expected IS NULL OR version = :expected)
RETURNING version

-- name: signal_get
SELECT key, value, version, critical, expires_at, updated_at, updated_by
FROM signals
WHERE project = :project AND key = :key AND value IS NOT NULL
  AND (expires_at IS NULL OR expires_at > (julianday('now') - 2440587.5) * 86400.0)

-- name: signal_list
SELECT key, value, version, critical, expires_at, updated_at, updated_by
FROM signals
WHERE project = :project AND substr(key, 1, length(:prefix)) = :prefix AND value IS NOT NULL
  AND (expires_at IS NULL OR expires_at > (julianday('now') - 2440587.5) * 86400.0)
ORDER BY key
LIMIT :limit
