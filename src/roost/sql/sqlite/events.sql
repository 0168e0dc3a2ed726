-- The event log for SQLite. One writer at a time means positions are assigned in commit order,
-- so readers simply go in position order. The first cursor field is always 0 here. Reads after a
-- cursor are rowid range scans (the table has no other index; see migration 0005).

-- name: event_insert
INSERT INTO events (project, topic, payload, refs, dedupe_key, request_key)
VALUES (:project, :topic, :payload, :refs, :dedupe_key, :request_key)
ON CONFLICT (project, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
RETURNING 0, position, topic, payload, refs, dedupe_key, created_at

-- name: event_by_dedupe_key
SELECT 0, position, topic, payload, refs, dedupe_key, created_at
FROM events WHERE project = :project AND dedupe_key = :dedupe_key

-- name: event_by_request_key
-- The events an earlier run of this publish call wrote, in their order (migration 0006).
SELECT 0, position, topic, payload, refs, dedupe_key, created_at
FROM events WHERE request_key = :request_key AND project = :project ORDER BY position

-- name: event_page
SELECT 0, position, topic, payload, refs, dedupe_key, created_at
FROM events
WHERE project = :project AND position > :position
  AND (:any_topic OR topic IN (SELECT value FROM json_each(:topics))
       OR EXISTS (SELECT 1 FROM json_each(:prefixes) AS p WHERE substr(topic, 1, length(p.value)) = p.value))
  AND NOT EXISTS (SELECT 1 FROM json_each(:refs) AS r WHERE json_extract(events.refs, '$.' || r.key) IS NOT r.value)
  AND (:since IS NULL OR created_at >= :since)
  AND (:until IS NULL OR created_at < :until)
ORDER BY position
LIMIT :limit

-- name: event_head
SELECT 0, position FROM events WHERE project = :project ORDER BY position DESC LIMIT 1

-- name: event_exists
SELECT 1 FROM events WHERE project = :project AND position = :position

-- name: consumer_get
SELECT 0, position FROM event_consumers WHERE project = :project AND name = :name

-- name: consumer_set
INSERT INTO event_consumers (project, name, position, updated_at)
VALUES (:project, :name, :position, (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (project, name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at

-- name: consumer_delete
DELETE FROM event_consumers WHERE project = :project AND name = :name RETURNING name

-- name: event_latest
SELECT * FROM (
    SELECT 0, position, topic, payload, refs, dedupe_key, created_at FROM events
    WHERE project = :project
      AND (:any_topic OR topic IN (SELECT value FROM json_each(:topics))
           OR EXISTS (SELECT 1 FROM json_each(:prefixes) AS p WHERE substr(topic, 1, length(p.value)) = p.value))
      AND NOT EXISTS (SELECT 1 FROM json_each(:refs) AS r WHERE json_extract(events.refs, '$.' || r.key) IS NOT r.value)
    ORDER BY position DESC
    LIMIT :limit
)
ORDER BY position

-- name: event_insert_many
-- A batch without dedupe keys in one statement; rows are inserted (and numbered) in the given order.
INSERT INTO events (project, topic, payload, refs, request_key)
SELECT :project, json_extract(value, '$.topic'), json_extract(value, '$.payload'), json_extract(value, '$.refs'),
       :request_key
FROM json_each(:rows)
ORDER BY key
RETURNING 0, position, topic, payload, refs, dedupe_key, created_at
