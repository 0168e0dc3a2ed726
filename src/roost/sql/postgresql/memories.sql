-- Memories for PostgreSQL. A key is unique per project and scope (coalesce(session_id, ''): the
-- session, or the whole project). Every write draws the next seq, the order that lists go in
-- (newest first). Columns come back as: id, session_id, key, type, content, tags, agent, version,
-- created_at, updated_at, seq.

-- name: memory_upsert
-- Insert, or overwrite (a new version) unless if_absent. Nothing comes back when it was refused.
INSERT INTO roost.memories AS m (project, session_id, key, type, content, tags, agent, version, created_at,
                                 updated_at, search)
VALUES (%(project)s, %(session)s, %(key)s, %(type)s, %(content)s, ARRAY(SELECT jsonb_array_elements_text(%(tags)s::jsonb)), %(agent)s, 1,
        clock_timestamp(), clock_timestamp(), %(search)s::tsvector)
ON CONFLICT (project, (coalesce(session_id, '')), key) DO UPDATE SET
    type = excluded.type, content = excluded.content, tags = excluded.tags, agent = excluded.agent,
    search = excluded.search,
    version = m.version + 1, seq = nextval('roost.memory_writes'), updated_at = excluded.updated_at
WHERE NOT %(if_absent)s
RETURNING id, session_id, key, type, content, tags, agent, version, extract(epoch FROM created_at)::float8,
          extract(epoch FROM updated_at)::float8, seq

-- name: memory_replace
-- Compare-and-set: only the memory at exactly %(expected)s (rechecked on the newest row).
UPDATE roost.memories SET type = %(type)s, content = %(content)s, tags = ARRAY(SELECT jsonb_array_elements_text(%(tags)s::jsonb)), agent = %(agent)s,
    search = %(search)s::tsvector,
    version = version + 1, seq = nextval('roost.memory_writes'), updated_at = clock_timestamp()
WHERE project = %(project)s AND coalesce(session_id, '') = coalesce(%(session)s::text, '') AND key = %(key)s
  AND version = %(expected)s
RETURNING id, session_id, key, type, content, tags, agent, version, extract(epoch FROM created_at)::float8,
          extract(epoch FROM updated_at)::float8, seq

-- name: memory_get
SELECT id, session_id, key, type, content, tags, agent, version, extract(epoch FROM created_at)::float8,
       extract(epoch FROM updated_at)::float8, seq
FROM roost.memories
WHERE project = %(project)s AND coalesce(session_id, '') = coalesce(%(session)s::text, '') AND key = %(key)s

-- name: memory_delete
DELETE FROM roost.memories
WHERE project = %(project)s AND coalesce(session_id, '') = coalesce(%(session)s::text, '') AND key = %(key)s
  AND (%(expected)s::bigint IS NULL OR version = %(expected)s::bigint)
RETURNING version

-- name: memory_list
-- Newest write first; %(cursor)s is the seq of the last memory of the previous page.
SELECT id, session_id, key, type, content, tags, agent, version, extract(epoch FROM created_at)::float8,
       extract(epoch FROM updated_at)::float8, seq
FROM roost.memories
WHERE project = %(project)s AND seq < %(cursor)s
  AND (%(type)s::text IS NULL OR type = %(type)s::text)
  AND (%(session)s::text IS NULL OR session_id = %(session)s::text)
  AND (%(agent)s::text IS NULL OR agent = %(agent)s::text)
  AND (%(since)s::float8 IS NULL OR updated_at >= to_timestamp(%(since)s::float8))
  AND (%(tags_any)s::jsonb IS NULL OR tags && ARRAY(SELECT jsonb_array_elements_text(%(tags_any)s::jsonb)))
  AND (%(tags_all)s::jsonb IS NULL OR tags @> ARRAY(SELECT jsonb_array_elements_text(%(tags_all)s::jsonb)))
ORDER BY seq DESC
LIMIT %(limit)s
