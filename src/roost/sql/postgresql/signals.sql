-- Signals for PostgreSQL. A signal is live when its value is not NULL and it has not expired.
-- Writes are announced by the signal.set and signal.cleared events (triggers of migration 0005).

-- name: signal_set
-- Set unconditionally or, with if_absent, only when no live value exists. Returns the new version.
INSERT INTO roost.signals AS s (project, key, value, version, critical, expires_at, updated_at, updated_by)
VALUES (%(project)s, %(key)s, %(value)s, 1, %(critical)s,
        clock_timestamp() + %(ttl)s::float8 * interval '1 second', clock_timestamp(), %(owner)s)
ON CONFLICT (project, key) DO UPDATE SET
    value = excluded.value, version = s.version + 1, critical = excluded.critical,
    expires_at = excluded.expires_at, updated_at = excluded.updated_at, updated_by = excluded.updated_by
WHERE NOT %(if_absent)s OR s.value IS NULL OR s.expires_at <= clock_timestamp()
RETURNING s.version

-- name: signal_replace
-- Compare-and-set: only a live signal at exactly the expected version (rechecked on the newest row).
UPDATE roost.signals SET
    value = %(value)s, version = version + 1, critical = %(critical)s,
    expires_at = clock_timestamp() + %(ttl)s::float8 * interval '1 second',
    updated_at = clock_timestamp(), updated_by = %(owner)s
WHERE project = %(project)s AND key = %(key)s AND version = %(expected)s AND value IS NOT NULL
  AND (expires_at IS NULL OR expires_at > clock_timestamp())
RETURNING version

-- name: signal_clear
-- Leaves a tombstone (value NULL) whose version keeps counting, so a later CAS cannot be fooled.
UPDATE roost.signals SET
    value = NULL, version = version + 1, critical = false, expires_at = NULL,
    updated_at = clock_timestamp(), updated_by = %(owner)s
WHERE project = %(project)s AND key = %(key)s AND value IS NOT NULL
  AND (expires_at IS NULL OR expires_at > clock_timestamp())
  AND (%(expected)s::bigint IS NULL OR version = %(expected)s::bigint)
RETURNING version

-- name: signal_get
SELECT key, value, version, critical, extract(epoch FROM expires_at)::float8,
       extract(epoch FROM updated_at)::float8, updated_by
FROM roost.signals
WHERE project = %(project)s AND key = %(key)s AND value IS NOT NULL
  AND (expires_at IS NULL OR expires_at > clock_timestamp())

-- name: signal_list
SELECT key, value, version, critical, extract(epoch FROM expires_at)::float8,
       extract(epoch FROM updated_at)::float8, updated_by
FROM roost.signals
WHERE project = %(project)s AND left(key, char_length(%(prefix)s)) = %(prefix)s AND value IS NOT NULL
  AND (expires_at IS NULL OR expires_at > clock_timestamp())
ORDER BY key
LIMIT %(limit)s
