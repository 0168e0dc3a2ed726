-- The event log for PostgreSQL. Readers go in (txid, position) order and stop at the oldest
-- transaction still running (pg_snapshot_xmin): an event that becomes visible later always sorts
-- after what was read. See migration 0005.

-- name: event_insert
INSERT INTO roost.events (project, topic, payload, refs, dedupe_key, request_key)
VALUES (%(project)s, %(topic)s, %(payload)s, %(refs)s::jsonb, %(dedupe_key)s, %(request_key)s)
ON CONFLICT (project, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
RETURNING txid::text::bigint, position, topic, payload, refs::text, dedupe_key,
          extract(epoch FROM created_at)::float8

-- name: event_by_dedupe_key
SELECT txid::text::bigint, position, topic, payload, refs::text, dedupe_key, extract(epoch FROM created_at)::float8
FROM roost.events WHERE project = %(project)s AND dedupe_key = %(dedupe_key)s

-- name: event_by_request_key
-- The events an earlier run of this publish call wrote, in their order (migration 0006).
SELECT txid::text::bigint, position, topic, payload, refs::text, dedupe_key, extract(epoch FROM created_at)::float8
FROM roost.events WHERE request_key = %(request_key)s AND project = %(project)s ORDER BY position

-- name: event_page
-- The next events after the cursor that no still-running transaction can precede.
SELECT txid::text::bigint, position, topic, payload, refs::text, dedupe_key, extract(epoch FROM created_at)::float8
FROM roost.events
WHERE project = %(project)s
  AND (txid, position) > (%(txid)s::text::xid8, %(position)s::bigint)
  AND txid < pg_snapshot_xmin(pg_current_snapshot())
  AND (%(any_topic)s OR topic = ANY(%(topics)s::text[])
       OR EXISTS (SELECT 1 FROM unnest(%(prefixes)s::text[]) AS p WHERE left(topic, length(p)) = p))
  AND refs @> %(refs)s::jsonb
  AND (%(since)s::float8 IS NULL OR created_at >= to_timestamp(%(since)s::float8))
  AND (%(until)s::float8 IS NULL OR created_at < to_timestamp(%(until)s::float8))
ORDER BY txid, position
LIMIT %(limit)s

-- name: event_head
-- The cursor of the newest event that is safe to read: "now" for a new subscription.
SELECT txid::text::bigint, position FROM roost.events
WHERE project = %(project)s AND txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY txid DESC, position DESC
LIMIT 1

-- name: event_exists
SELECT 1 FROM roost.events WHERE project = %(project)s AND position = %(position)s AND txid = %(txid)s::text::xid8

-- name: consumer_get
SELECT txid::text::bigint, position FROM roost.event_consumers WHERE project = %(project)s AND name = %(name)s

-- name: consumer_set
INSERT INTO roost.event_consumers (project, name, txid, position, updated_at)
VALUES (%(project)s, %(name)s, %(txid)s::text::xid8, %(position)s, clock_timestamp())
ON CONFLICT (project, name) DO UPDATE SET txid = excluded.txid, position = excluded.position,
    updated_at = excluded.updated_at

-- name: consumer_delete
DELETE FROM roost.event_consumers WHERE project = %(project)s AND name = %(name)s RETURNING name

-- name: event_latest
-- The newest matching events that are safe to read, oldest first.
SELECT * FROM (
    SELECT txid::text::bigint AS t, position, topic, payload, refs::text, dedupe_key,
           extract(epoch FROM created_at)::float8
    FROM roost.events
    WHERE project = %(project)s AND txid < pg_snapshot_xmin(pg_current_snapshot())
      AND (%(any_topic)s OR topic = ANY(%(topics)s::text[])
           OR EXISTS (SELECT 1 FROM unnest(%(prefixes)s::text[]) AS p WHERE left(topic, length(p)) = p))
      AND refs @> %(refs)s::jsonb
    ORDER BY txid DESC, position DESC
    LIMIT %(limit)s
) AS newest
ORDER BY t, position

-- name: event_insert_many
-- A batch without dedupe keys in one statement; rows are inserted (and numbered) in the given order.
INSERT INTO roost.events (project, topic, payload, refs, request_key)
SELECT %(project)s, r.topic, r.payload, r.refs::jsonb, %(request_key)s
FROM json_to_recordset(%(rows)s::json) AS r(i integer, topic text, payload text, refs text)
ORDER BY r.i
RETURNING txid::text::bigint, position, topic, payload, refs::text, dedupe_key, extract(epoch FROM created_at)::float8

-- name: listener_seen
-- A listener says it is there (at start and every 15 s; migration 0008), and rows of listeners
-- gone for an hour are removed.
WITH gone AS (
    DELETE FROM roost.listeners WHERE seen_at < clock_timestamp() - interval '1 hour'
)
INSERT INTO roost.listeners (id, seen_at) VALUES (%(id)s, clock_timestamp())
ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at

-- name: listener_gone
DELETE FROM roost.listeners WHERE id = %(id)s
