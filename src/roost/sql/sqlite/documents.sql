-- Documents for SQLite. A document comes back as: id, collection, key, parent key, body, version,
-- agent, change, created_at, updated_at. Every write runs inside the operation's write transaction
-- (BEGIN IMMEDIATE), so what it read is what it replaces.

-- name: doc_collection_get
SELECT id, name, version, spec, created_at, updated_at FROM doc_collections
WHERE project = :project AND name = :name

-- name: doc_collection_list
SELECT id, name, version, spec, created_at, updated_at FROM doc_collections
WHERE project = :project ORDER BY name

-- name: doc_collection_insert
INSERT INTO doc_collections (project, name, version, spec, on_parent_delete, created_at, updated_at)
VALUES (:project, :name, 1, :spec, :on_parent_delete, (julianday('now') - 2440587.5) * 86400.0,
        (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (project, name) DO NOTHING
RETURNING id, name, version, spec, created_at, updated_at

-- name: doc_collection_update
UPDATE doc_collections SET version = version + 1, spec = :spec, on_parent_delete = :on_parent_delete,
    updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE id = :id
RETURNING id, name, version, spec, created_at, updated_at

-- name: doc_for_write
-- The collection and the document to change (if there is one) with its parent's key, read inside
-- the write transaction (nothing else writes until COMMIT).
SELECT c.id, c.name, c.version, c.spec, c.created_at, c.updated_at, d.id, d.body, d.version, d.parent_id, p.key
FROM doc_collections c LEFT JOIN documents d ON d.collection_id = c.id AND d.key = :key
LEFT JOIN documents p ON p.id = d.parent_id
WHERE c.project = :project AND c.name = :collection

-- name: doc_parent_id
SELECT d.id FROM documents d JOIN doc_collections c ON c.id = d.collection_id
WHERE c.project = :project AND c.name = :collection AND d.key = :key

-- name: doc_create
-- The document, its index keys (:keys, a JSON array of [path, key]) and its event.
INSERT INTO documents (collection_id, key, parent_id, body, version, agent, change, created_at, updated_at)
VALUES (:collection, :key, :parent, :body, 1, :agent, NULL, (julianday('now') - 2440587.5) * 86400.0,
        (julianday('now') - 2440587.5) * 86400.0);
INSERT INTO document_keys (document_id, collection_id, path, key, doc_key)
SELECT (SELECT id FROM documents WHERE collection_id = :collection AND key = :key), :collection,
       k.value ->> 0, k.value ->> 1, :key
FROM json_each(coalesce(:keys, '[]')) k WHERE true ON CONFLICT DO NOTHING;
INSERT INTO events (project, topic, payload, refs) VALUES (:project, :topic, :payload, :refs);
SELECT id, created_at, updated_at FROM documents WHERE collection_id = :collection AND key = :key

-- name: doc_update
-- Keep the version being replaced (unless the collection keeps no history), trim the history to
-- :keep versions, bring the index keys to :keys (NULL: they did not change), write the event,
-- then the new body.
INSERT INTO document_history (document_id, version, body, agent, change, at)
SELECT id, version, body, agent, change, updated_at FROM documents WHERE id = :id AND :keep > 0;
DELETE FROM document_history WHERE document_id = :id AND version <= :version - :keep;
DELETE FROM document_keys WHERE :keys IS NOT NULL AND document_id = :id AND NOT EXISTS (
    SELECT 1 FROM json_each(:keys) k WHERE k.value ->> 0 = document_keys.path AND k.value ->> 1 = document_keys.key);
INSERT INTO document_keys (document_id, collection_id, path, key, doc_key)
SELECT :id, :collection, k.value ->> 0, k.value ->> 1, :key FROM json_each(coalesce(:keys, '[]')) k WHERE true
ON CONFLICT DO NOTHING;
INSERT INTO events (project, topic, payload, refs) VALUES (:project, :topic, :payload, :refs);
UPDATE documents SET body = :body, version = version + 1, agent = :agent, change = :change,
    parent_id = :parent, updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE id = :id AND version = :version
RETURNING id, created_at, updated_at

-- name: doc_keys_clear
DELETE FROM document_keys WHERE collection_id = :collection

-- name: doc_keys_add
INSERT INTO document_keys (document_id, collection_id, path, key, doc_key) VALUES (?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING

-- name: doc_bodies_after
SELECT id, key, body FROM documents WHERE collection_id = :collection AND id > :after ORDER BY id LIMIT :limit

-- name: doc_event
INSERT INTO events (project, topic, payload, refs) VALUES (:project, :topic, :payload, :refs)

-- name: doc_get
-- One query by the collection's name (the hot read): nothing back for a missing collection too.
SELECT d.id, c.name, d.key, p.key, d.body, d.version, d.agent, d.change, d.created_at, d.updated_at
FROM doc_collections c JOIN documents d ON d.collection_id = c.id LEFT JOIN documents p ON p.id = d.parent_id
WHERE c.project = :project AND c.name = :collection_name AND d.key = :key

-- name: doc_version
SELECT h.body, h.version, h.agent, h.change, h.at FROM document_history h JOIN documents d ON d.id = h.document_id
WHERE d.collection_id = :collection AND d.key = :key AND h.version = :version

-- name: doc_history
SELECT h.version, h.agent, h.change, h.at FROM document_history h JOIN documents d ON d.id = h.document_id
WHERE d.collection_id = :collection AND d.key = :key ORDER BY h.version DESC

-- name: doc_descendants
-- Every document below :id (children, their children, ...), and how many sit in collections
-- declared on_parent_delete = 'restrict', with one of them.
WITH RECURSIVE tree (id) AS (
    SELECT id FROM documents WHERE parent_id = :id
    UNION ALL SELECT d.id FROM documents d JOIN tree t ON d.parent_id = t.id
)
SELECT count(*), coalesce(sum(c.on_parent_delete = 'restrict'), 0),
       max(CASE WHEN c.on_parent_delete = 'restrict' THEN c.name || '/' || d.key END)
FROM tree JOIN documents d ON d.id = tree.id JOIN doc_collections c ON c.id = d.collection_id

-- name: doc_delete
DELETE FROM documents WHERE id = :id

-- name: doc_list
-- Each row also carries the collection's version, so a caller that planned the query with a
-- remembered declaration learns whether it still holds.
-- No condition: the collection (or one parent's children) in key order, after :after.
SELECT d.id, :collection_name, d.key, p.key, d.body, d.version, d.agent, d.change, d.created_at, d.updated_at,
       (SELECT version FROM doc_collections WHERE id = :collection)
FROM documents d LEFT JOIN documents p ON p.id = d.parent_id
WHERE d.collection_id = :collection AND d.key > :after AND (:parent IS NULL OR d.parent_id = :parent)
  AND (:rest = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:rest) r WHERE NOT EXISTS (
      SELECT 1 FROM document_keys k WHERE k.document_id = d.id AND k.path = r.value ->> 'path' AND (
          CASE WHEN r.value ->> 'keys' IS NULL
               THEN k.key >= r.value ->> 'lo' AND k.key <= r.value ->> 'hi'
                    AND k.key <> r.value ->> 'lo_x' AND k.key <> r.value ->> 'hi_x'
               ELSE k.key IN (SELECT value FROM json_each(r.value -> 'keys')) END))))
  AND (:nots = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:nots) n JOIN document_keys k
                                   ON k.document_id = d.id AND k.path = n.value ->> 0 AND k.key = n.value ->> 1))
ORDER BY d.key LIMIT :limit

-- name: doc_query_eq
-- Driven by one condition's single key: the key index hands the documents over in key order, so
-- a page reads only its own rows.
SELECT d.id, :collection_name, d.key, p.key, d.body, d.version, d.agent, d.change, d.created_at, d.updated_at,
       (SELECT version FROM doc_collections WHERE id = :collection)
FROM document_keys dk JOIN documents d ON d.id = dk.document_id LEFT JOIN documents p ON p.id = d.parent_id
WHERE dk.collection_id = :collection AND dk.path = :path AND dk.key = :lo AND dk.doc_key > :after
  AND (:parent IS NULL OR d.parent_id = :parent)
  AND (:rest = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:rest) r WHERE NOT EXISTS (
      SELECT 1 FROM document_keys k WHERE k.document_id = d.id AND k.path = r.value ->> 'path' AND (
          CASE WHEN r.value ->> 'keys' IS NULL
               THEN k.key >= r.value ->> 'lo' AND k.key <= r.value ->> 'hi'
                    AND k.key <> r.value ->> 'lo_x' AND k.key <> r.value ->> 'hi_x'
               ELSE k.key IN (SELECT value FROM json_each(r.value -> 'keys')) END))))
  AND (:nots = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:nots) n JOIN document_keys k
                                   ON k.document_id = d.id AND k.path = n.value ->> 0 AND k.key = n.value ->> 1))
ORDER BY dk.doc_key LIMIT :limit

-- name: doc_query_range
-- Driven by one condition's key range on the key index; the others (:rest, :nots) as in doc_list.
SELECT d.id, :collection_name, d.key, p.key, d.body, d.version, d.agent, d.change, d.created_at, d.updated_at,
       (SELECT version FROM doc_collections WHERE id = :collection)
FROM documents d LEFT JOIN documents p ON p.id = d.parent_id
WHERE d.id IN (SELECT document_id FROM document_keys
               WHERE collection_id = :collection AND path = :path AND key >= :lo AND key <= :hi
                 AND key <> :lo_x AND key <> :hi_x)
  AND d.key > :after AND (:parent IS NULL OR d.parent_id = :parent)
  AND (:rest = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:rest) r WHERE NOT EXISTS (
      SELECT 1 FROM document_keys k WHERE k.document_id = d.id AND k.path = r.value ->> 'path' AND (
          CASE WHEN r.value ->> 'keys' IS NULL
               THEN k.key >= r.value ->> 'lo' AND k.key <= r.value ->> 'hi'
                    AND k.key <> r.value ->> 'lo_x' AND k.key <> r.value ->> 'hi_x'
               ELSE k.key IN (SELECT value FROM json_each(r.value -> 'keys')) END))))
  AND (:nots = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:nots) n JOIN document_keys k
                                   ON k.document_id = d.id AND k.path = n.value ->> 0 AND k.key = n.value ->> 1))
ORDER BY d.key LIMIT :limit

-- name: doc_query_in
-- Driven by one condition's set of keys (a JSON array) on the key index.
SELECT d.id, :collection_name, d.key, p.key, d.body, d.version, d.agent, d.change, d.created_at, d.updated_at,
       (SELECT version FROM doc_collections WHERE id = :collection)
FROM documents d LEFT JOIN documents p ON p.id = d.parent_id
WHERE d.id IN (SELECT document_id FROM document_keys
               WHERE collection_id = :collection AND path = :path AND key IN (SELECT value FROM json_each(:keys)))
  AND d.key > :after AND (:parent IS NULL OR d.parent_id = :parent)
  AND (:rest = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:rest) r WHERE NOT EXISTS (
      SELECT 1 FROM document_keys k WHERE k.document_id = d.id AND k.path = r.value ->> 'path' AND (
          CASE WHEN r.value ->> 'keys' IS NULL
               THEN k.key >= r.value ->> 'lo' AND k.key <= r.value ->> 'hi'
                    AND k.key <> r.value ->> 'lo_x' AND k.key <> r.value ->> 'hi_x'
               ELSE k.key IN (SELECT value FROM json_each(r.value -> 'keys')) END))))
  AND (:nots = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:nots) n JOIN document_keys k
                                   ON k.document_id = d.id AND k.path = n.value ->> 0 AND k.key = n.value ->> 1))
ORDER BY d.key LIMIT :limit

-- name: doc_query_ordered
-- Ordered by an indexed path (documents without a value there are left out; an array by its
-- smallest element), then by document key, walking the key index in order; every condition is
-- checked as in doc_list. (:after_key, :after_doc) is the cursor.
SELECT d.id, :collection_name, d.key, p.key, d.body, d.version, d.agent, d.change, d.created_at, d.updated_at,
       (SELECT version FROM doc_collections WHERE id = :collection), o.key
FROM document_keys o JOIN documents d ON d.id = o.document_id LEFT JOIN documents p ON p.id = d.parent_id
WHERE o.collection_id = :collection AND o.path = :order_path AND (:parent IS NULL OR d.parent_id = :parent)
  AND (o.key, o.doc_key) > (:after_key, :after_doc)
  AND NOT EXISTS (SELECT 1 FROM document_keys m WHERE m.document_id = o.document_id AND m.path = o.path
                  AND m.key < o.key)
  AND (:rest = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:rest) r WHERE NOT EXISTS (
      SELECT 1 FROM document_keys k WHERE k.document_id = d.id AND k.path = r.value ->> 'path' AND (
          CASE WHEN r.value ->> 'keys' IS NULL
               THEN k.key >= r.value ->> 'lo' AND k.key <= r.value ->> 'hi'
                    AND k.key <> r.value ->> 'lo_x' AND k.key <> r.value ->> 'hi_x'
               ELSE k.key IN (SELECT value FROM json_each(r.value -> 'keys')) END))))
  AND (:nots = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:nots) n JOIN document_keys k
                                   ON k.document_id = d.id AND k.path = n.value ->> 0 AND k.key = n.value ->> 1))
ORDER BY o.key, o.doc_key LIMIT :limit

-- name: doc_query_ordered_desc
-- The same, highest first (an array by its largest element).
SELECT d.id, :collection_name, d.key, p.key, d.body, d.version, d.agent, d.change, d.created_at, d.updated_at,
       (SELECT version FROM doc_collections WHERE id = :collection), o.key
FROM document_keys o JOIN documents d ON d.id = o.document_id LEFT JOIN documents p ON p.id = d.parent_id
WHERE o.collection_id = :collection AND o.path = :order_path AND (:parent IS NULL OR d.parent_id = :parent)
  AND (o.key, o.doc_key) < (:after_key, :after_doc)
  AND NOT EXISTS (SELECT 1 FROM document_keys m WHERE m.document_id = o.document_id AND m.path = o.path
                  AND m.key > o.key)
  AND (:rest = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:rest) r WHERE NOT EXISTS (
      SELECT 1 FROM document_keys k WHERE k.document_id = d.id AND k.path = r.value ->> 'path' AND (
          CASE WHEN r.value ->> 'keys' IS NULL
               THEN k.key >= r.value ->> 'lo' AND k.key <= r.value ->> 'hi'
                    AND k.key <> r.value ->> 'lo_x' AND k.key <> r.value ->> 'hi_x'
               ELSE k.key IN (SELECT value FROM json_each(r.value -> 'keys')) END))))
  AND (:nots = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:nots) n JOIN document_keys k
                                   ON k.document_id = d.id AND k.path = n.value ->> 0 AND k.key = n.value ->> 1))
ORDER BY o.key DESC, o.doc_key DESC LIMIT :limit

-- name: doc_link
INSERT INTO document_links (src_id, rel, dst_id, created_at)
VALUES (:src, :rel, :dst, (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT DO NOTHING
RETURNING src_id

-- name: doc_unlink
DELETE FROM document_links WHERE src_id = :src AND rel = :rel AND dst_id = :dst RETURNING src_id

-- name: doc_links_out
SELECT l.rel, 'out', c.name, d.key, l.created_at FROM document_links l
JOIN documents d ON d.id = l.dst_id JOIN doc_collections c ON c.id = d.collection_id
WHERE l.src_id = :id AND (:rel IS NULL OR l.rel = :rel) ORDER BY l.rel, c.name, d.key

-- name: doc_links_in
SELECT l.rel, 'in', c.name, d.key, l.created_at FROM document_links l
JOIN documents d ON d.id = l.src_id JOIN doc_collections c ON c.id = d.collection_id
WHERE l.dst_id = :id AND (:rel IS NULL OR l.rel = :rel) ORDER BY l.rel, c.name, d.key

-- name: doc_get_key
SELECT key FROM documents WHERE id = :id
