-- Documents for PostgreSQL. A document comes back as: id, collection, key, parent key, body,
-- version, agent, change, created_at, updated_at (epoch seconds). A write reads its document
-- FOR UPDATE inside the operation's transaction, so concurrent writers of one document queue up
-- and none overwrites another's change.

-- name: doc_collection_get
SELECT id, name, version, spec, extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8
FROM roost.doc_collections WHERE project = %(project)s AND name = %(name)s

-- name: doc_collection_list
SELECT id, name, version, spec, extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8
FROM roost.doc_collections WHERE project = %(project)s ORDER BY name

-- name: doc_collection_insert
-- Nothing comes back when another process declared the collection first.
INSERT INTO roost.doc_collections (project, name, version, spec, on_parent_delete, created_at, updated_at)
VALUES (%(project)s, %(name)s, 1, %(spec)s, %(on_parent_delete)s, now(), now())
ON CONFLICT (project, name) DO NOTHING
RETURNING id, name, version, spec, extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8

-- name: doc_collection_update
UPDATE roost.doc_collections SET version = version + 1, spec = %(spec)s, on_parent_delete = %(on_parent_delete)s,
    updated_at = now()
WHERE id = %(id)s
RETURNING id, name, version, spec, extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8

-- name: doc_for_write
-- The collection and the document to change (if there is one, locked) with its parent's key.
WITH c AS (
    SELECT id, name, version, spec, created_at, updated_at FROM roost.doc_collections
    WHERE project = %(project)s AND name = %(collection)s
), d AS (
    SELECT id, body, version, parent_id FROM roost.documents
    WHERE collection_id = (SELECT id FROM c) AND key = %(key)s FOR UPDATE
)
SELECT c.id, c.name, c.version, c.spec, extract(epoch FROM c.created_at)::float8,
       extract(epoch FROM c.updated_at)::float8, d.id, d.body, d.version, d.parent_id,
       (SELECT key FROM roost.documents WHERE id = d.parent_id)
FROM c LEFT JOIN d ON true

-- name: doc_parent_id
SELECT d.id FROM roost.documents d JOIN roost.doc_collections c ON c.id = d.collection_id
WHERE c.project = %(project)s AND c.name = %(collection)s AND d.key = %(key)s

-- name: doc_create
-- One statement: the document, its index keys (%(keys)s, a JSON array of [path, key]) and its event.
-- A concurrent writer may create the same key first (there was no row to lock): then nothing is
-- written and nothing comes back, and the operation reads again and replaces that document.
WITH made AS (
    INSERT INTO roost.documents (collection_id, key, parent_id, body, version, agent, change, created_at, updated_at)
    VALUES (%(collection)s, %(key)s, %(parent)s, %(body)s, 1, %(agent)s, NULL, now(), now())
    ON CONFLICT (collection_id, key) DO NOTHING
    RETURNING id, created_at, updated_at
), keyed AS (
    INSERT INTO roost.document_keys (document_id, collection_id, path, key, doc_key)
    SELECT made.id, %(collection)s, e ->> 0, e ->> 1, %(key)s
    FROM made, jsonb_array_elements(coalesce(%(keys)s::jsonb, '[]')) e
), told AS (
    INSERT INTO roost.events (project, topic, payload, refs)
    SELECT %(project)s, %(topic)s, %(payload)s, %(refs)s::jsonb FROM made
)
SELECT id, extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8 FROM made

-- name: doc_update
-- One statement: keep the version being replaced (every part sees the row as it was), trim the
-- history to %(keep)s versions, bring the index keys to %(keys)s (NULL: they did not change),
-- write the event and the new body.
WITH kept AS (
    INSERT INTO roost.document_history (document_id, version, body, agent, change, at)
    SELECT id, version, body, agent, change, updated_at FROM roost.documents
    WHERE id = %(id)s AND %(keep)s::bigint > 0
), trimmed AS (
    DELETE FROM roost.document_history WHERE document_id = %(id)s AND version <= %(version)s::bigint - %(keep)s
), wanted AS (
    SELECT e ->> 0 AS path, e ->> 1 AS key FROM jsonb_array_elements(coalesce(%(keys)s::jsonb, '[]')) e
), gone AS (
    DELETE FROM roost.document_keys dk WHERE %(keys)s::jsonb IS NOT NULL AND dk.document_id = %(id)s
      AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.path = dk.path AND w.key = dk.key)
), added AS (
    INSERT INTO roost.document_keys (document_id, collection_id, path, key, doc_key)
    SELECT %(id)s, %(collection)s, path, key, %(key)s FROM wanted
    ON CONFLICT DO NOTHING
), told AS (
    INSERT INTO roost.events (project, topic, payload, refs)
    VALUES (%(project)s, %(topic)s, %(payload)s, %(refs)s::jsonb)
)
UPDATE roost.documents SET body = %(body)s, version = version + 1, agent = %(agent)s, change = %(change)s,
    parent_id = %(parent)s, updated_at = now()
WHERE id = %(id)s AND version = %(version)s
RETURNING id, extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8

-- name: doc_keys_clear
DELETE FROM roost.document_keys WHERE collection_id = %(collection)s

-- name: doc_keys_add
COPY roost.document_keys (document_id, collection_id, path, key, doc_key) FROM STDIN

-- name: doc_bodies_after
SELECT id, key, body FROM roost.documents WHERE collection_id = %(collection)s AND id > %(after)s ORDER BY id
LIMIT %(limit)s

-- name: doc_event
INSERT INTO roost.events (project, topic, payload, refs) VALUES (%(project)s, %(topic)s, %(payload)s, %(refs)s::jsonb)

-- name: doc_get
-- One query by the collection's name (the hot read): nothing back for a missing collection too.
SELECT d.id, c.name, d.key, p.key, d.body, d.version, d.agent, d.change,
       extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.updated_at)::float8
FROM roost.doc_collections c JOIN roost.documents d ON d.collection_id = c.id
LEFT JOIN roost.documents p ON p.id = d.parent_id
WHERE c.project = %(project)s AND c.name = %(collection_name)s AND d.key = %(key)s

-- name: doc_version
SELECT h.body, h.version, h.agent, h.change, extract(epoch FROM h.at)::float8
FROM roost.document_history h JOIN roost.documents d ON d.id = h.document_id
WHERE d.collection_id = %(collection)s AND d.key = %(key)s AND h.version = %(version)s

-- name: doc_history
SELECT h.version, h.agent, h.change, extract(epoch FROM h.at)::float8
FROM roost.document_history h JOIN roost.documents d ON d.id = h.document_id
WHERE d.collection_id = %(collection)s AND d.key = %(key)s ORDER BY h.version DESC

-- name: doc_descendants
WITH RECURSIVE tree (id) AS (
    SELECT id FROM roost.documents WHERE parent_id = %(id)s
    UNION ALL SELECT d.id FROM roost.documents d JOIN tree t ON d.parent_id = t.id
)
SELECT count(*), count(*) FILTER (WHERE c.on_parent_delete = 'restrict'),
       max(CASE WHEN c.on_parent_delete = 'restrict' THEN c.name || '/' || d.key END)
FROM tree JOIN roost.documents d ON d.id = tree.id JOIN roost.doc_collections c ON c.id = d.collection_id

-- name: doc_delete
DELETE FROM roost.documents WHERE id = %(id)s

-- name: doc_list
-- Each row also carries the collection's version, so a caller that planned the query with a
-- remembered declaration learns whether it still holds.
SELECT d.id, %(collection_name)s::text, d.key, p.key, d.body, d.version, d.agent, d.change,
       extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.updated_at)::float8,
       (SELECT version FROM roost.doc_collections WHERE id = %(collection)s)
FROM roost.documents d LEFT JOIN roost.documents p ON p.id = d.parent_id
WHERE d.collection_id = %(collection)s AND d.key > %(after)s
  AND (%(parent)s::bigint IS NULL OR d.parent_id = %(parent)s::bigint)
  AND (%(rest)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(rest)s::jsonb) r WHERE NOT EXISTS (
      SELECT 1 FROM roost.document_keys k WHERE k.document_id = d.id AND k.path = r ->> 'path' AND (
          CASE WHEN jsonb_typeof(r -> 'keys') = 'array'
               THEN k.key = ANY (ARRAY(SELECT jsonb_array_elements_text(r -> 'keys')))
               ELSE k.key >= (r ->> 'lo') COLLATE "C" AND k.key <= (r ->> 'hi') COLLATE "C"
                    AND k.key <> r ->> 'lo_x' AND k.key <> r ->> 'hi_x' END))))
  AND (%(nots)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(nots)s::jsonb) n JOIN roost.document_keys k
                                      ON k.document_id = d.id AND k.path = n ->> 0 AND k.key = n ->> 1))
ORDER BY d.key COLLATE "C" LIMIT %(limit)s

-- name: doc_query_eq
-- Driven by one condition's single key: the key index hands the documents over in key order, so
-- a page reads only its own rows.
SELECT d.id, %(collection_name)s::text, d.key, p.key, d.body, d.version, d.agent, d.change,
       extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.updated_at)::float8,
       (SELECT version FROM roost.doc_collections WHERE id = %(collection)s)
FROM roost.document_keys dk JOIN roost.documents d ON d.id = dk.document_id
LEFT JOIN roost.documents p ON p.id = d.parent_id
WHERE dk.collection_id = %(collection)s AND dk.path = %(path)s AND dk.key = %(lo)s AND dk.doc_key > %(after)s
  AND (%(parent)s::bigint IS NULL OR d.parent_id = %(parent)s::bigint)
  AND (%(rest)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(rest)s::jsonb) r WHERE NOT EXISTS (
      SELECT 1 FROM roost.document_keys k WHERE k.document_id = d.id AND k.path = r ->> 'path' AND (
          CASE WHEN jsonb_typeof(r -> 'keys') = 'array'
               THEN k.key = ANY (ARRAY(SELECT jsonb_array_elements_text(r -> 'keys')))
               ELSE k.key >= (r ->> 'lo') COLLATE "C" AND k.key <= (r ->> 'hi') COLLATE "C"
                    AND k.key <> r ->> 'lo_x' AND k.key <> r ->> 'hi_x' END))))
  AND (%(nots)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(nots)s::jsonb) n JOIN roost.document_keys k
                                      ON k.document_id = d.id AND k.path = n ->> 0 AND k.key = n ->> 1))
ORDER BY dk.doc_key LIMIT %(limit)s

-- name: doc_query_range
SELECT d.id, %(collection_name)s::text, d.key, p.key, d.body, d.version, d.agent, d.change,
       extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.updated_at)::float8,
       (SELECT version FROM roost.doc_collections WHERE id = %(collection)s)
FROM roost.documents d LEFT JOIN roost.documents p ON p.id = d.parent_id
WHERE d.id IN (SELECT document_id FROM roost.document_keys
               WHERE collection_id = %(collection)s AND path = %(path)s AND key >= %(lo)s AND key <= %(hi)s
                 AND key <> %(lo_x)s AND key <> %(hi_x)s)
  AND d.key > %(after)s AND (%(parent)s::bigint IS NULL OR d.parent_id = %(parent)s::bigint)
  AND (%(rest)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(rest)s::jsonb) r WHERE NOT EXISTS (
      SELECT 1 FROM roost.document_keys k WHERE k.document_id = d.id AND k.path = r ->> 'path' AND (
          CASE WHEN jsonb_typeof(r -> 'keys') = 'array'
               THEN k.key = ANY (ARRAY(SELECT jsonb_array_elements_text(r -> 'keys')))
               ELSE k.key >= (r ->> 'lo') COLLATE "C" AND k.key <= (r ->> 'hi') COLLATE "C"
                    AND k.key <> r ->> 'lo_x' AND k.key <> r ->> 'hi_x' END))))
  AND (%(nots)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(nots)s::jsonb) n JOIN roost.document_keys k
                                      ON k.document_id = d.id AND k.path = n ->> 0 AND k.key = n ->> 1))
ORDER BY d.key COLLATE "C" LIMIT %(limit)s

-- name: doc_query_in
-- The keys come as an array, not JSON, so the planner sees the values (and their frequencies).
SELECT d.id, %(collection_name)s::text, d.key, p.key, d.body, d.version, d.agent, d.change,
       extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.updated_at)::float8,
       (SELECT version FROM roost.doc_collections WHERE id = %(collection)s)
FROM roost.documents d LEFT JOIN roost.documents p ON p.id = d.parent_id
WHERE d.id IN (SELECT document_id FROM roost.document_keys
               WHERE collection_id = %(collection)s AND path = %(path)s
                 AND key = ANY (%(key_list)s::text[]))
  AND d.key > %(after)s AND (%(parent)s::bigint IS NULL OR d.parent_id = %(parent)s::bigint)
  AND (%(rest)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(rest)s::jsonb) r WHERE NOT EXISTS (
      SELECT 1 FROM roost.document_keys k WHERE k.document_id = d.id AND k.path = r ->> 'path' AND (
          CASE WHEN jsonb_typeof(r -> 'keys') = 'array'
               THEN k.key = ANY (ARRAY(SELECT jsonb_array_elements_text(r -> 'keys')))
               ELSE k.key >= (r ->> 'lo') COLLATE "C" AND k.key <= (r ->> 'hi') COLLATE "C"
                    AND k.key <> r ->> 'lo_x' AND k.key <> r ->> 'hi_x' END))))
  AND (%(nots)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(nots)s::jsonb) n JOIN roost.document_keys k
                                      ON k.document_id = d.id AND k.path = n ->> 0 AND k.key = n ->> 1))
ORDER BY d.key COLLATE "C" LIMIT %(limit)s

-- name: doc_query_ordered
-- Ordered by an indexed path (documents without a value there are left out; an array by its
-- smallest element), then by document key, walking the key index in order.
SELECT d.id, %(collection_name)s::text, d.key, p.key, d.body, d.version, d.agent, d.change,
       extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.updated_at)::float8,
       (SELECT version FROM roost.doc_collections WHERE id = %(collection)s), o.key
FROM roost.document_keys o JOIN roost.documents d ON d.id = o.document_id
LEFT JOIN roost.documents p ON p.id = d.parent_id
WHERE o.collection_id = %(collection)s AND o.path = %(order_path)s
  AND (%(parent)s::bigint IS NULL OR d.parent_id = %(parent)s::bigint)
  AND (o.key, o.doc_key) > (%(after_key)s::text, %(after_doc)s::text)
  AND NOT EXISTS (SELECT 1 FROM roost.document_keys m WHERE m.document_id = o.document_id AND m.path = o.path
                  AND m.key < o.key)
  AND (%(rest)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(rest)s::jsonb) r WHERE NOT EXISTS (
      SELECT 1 FROM roost.document_keys k WHERE k.document_id = d.id AND k.path = r ->> 'path' AND (
          CASE WHEN jsonb_typeof(r -> 'keys') = 'array'
               THEN k.key = ANY (ARRAY(SELECT jsonb_array_elements_text(r -> 'keys')))
               ELSE k.key >= (r ->> 'lo') COLLATE "C" AND k.key <= (r ->> 'hi') COLLATE "C"
                    AND k.key <> r ->> 'lo_x' AND k.key <> r ->> 'hi_x' END))))
  AND (%(nots)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(nots)s::jsonb) n JOIN roost.document_keys k
                                      ON k.document_id = d.id AND k.path = n ->> 0 AND k.key = n ->> 1))
ORDER BY o.key, o.doc_key LIMIT %(limit)s

-- name: doc_query_ordered_desc
SELECT d.id, %(collection_name)s::text, d.key, p.key, d.body, d.version, d.agent, d.change,
       extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.updated_at)::float8,
       (SELECT version FROM roost.doc_collections WHERE id = %(collection)s), o.key
FROM roost.document_keys o JOIN roost.documents d ON d.id = o.document_id
LEFT JOIN roost.documents p ON p.id = d.parent_id
WHERE o.collection_id = %(collection)s AND o.path = %(order_path)s
  AND (%(parent)s::bigint IS NULL OR d.parent_id = %(parent)s::bigint)
  AND (o.key, o.doc_key) < (%(after_key)s::text, %(after_doc)s::text)
  AND NOT EXISTS (SELECT 1 FROM roost.document_keys m WHERE m.document_id = o.document_id AND m.path = o.path
                  AND m.key > o.key)
  AND (%(rest)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(rest)s::jsonb) r WHERE NOT EXISTS (
      SELECT 1 FROM roost.document_keys k WHERE k.document_id = d.id AND k.path = r ->> 'path' AND (
          CASE WHEN jsonb_typeof(r -> 'keys') = 'array'
               THEN k.key = ANY (ARRAY(SELECT jsonb_array_elements_text(r -> 'keys')))
               ELSE k.key >= (r ->> 'lo') COLLATE "C" AND k.key <= (r ->> 'hi') COLLATE "C"
                    AND k.key <> r ->> 'lo_x' AND k.key <> r ->> 'hi_x' END))))
  AND (%(nots)s = '[]' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%(nots)s::jsonb) n JOIN roost.document_keys k
                                      ON k.document_id = d.id AND k.path = n ->> 0 AND k.key = n ->> 1))
ORDER BY o.key DESC, o.doc_key DESC LIMIT %(limit)s

-- name: doc_link
INSERT INTO roost.document_links (src_id, rel, dst_id, created_at) VALUES (%(src)s, %(rel)s, %(dst)s, now())
ON CONFLICT DO NOTHING
RETURNING src_id

-- name: doc_unlink
DELETE FROM roost.document_links WHERE src_id = %(src)s AND rel = %(rel)s AND dst_id = %(dst)s RETURNING src_id

-- name: doc_links_out
SELECT l.rel, 'out', c.name, d.key, extract(epoch FROM l.created_at)::float8 FROM roost.document_links l
JOIN roost.documents d ON d.id = l.dst_id JOIN roost.doc_collections c ON c.id = d.collection_id
WHERE l.src_id = %(id)s AND (%(rel)s::text IS NULL OR l.rel = %(rel)s) ORDER BY l.rel, c.name, d.key

-- name: doc_links_in
SELECT l.rel, 'in', c.name, d.key, extract(epoch FROM l.created_at)::float8 FROM roost.document_links l
JOIN roost.documents d ON d.id = l.src_id JOIN roost.doc_collections c ON c.id = d.collection_id
WHERE l.dst_id = %(id)s AND (%(rel)s::text IS NULL OR l.rel = %(rel)s) ORDER BY l.rel, c.name, d.key

-- name: doc_get_key
SELECT key FROM roost.documents WHERE id = %(id)s
