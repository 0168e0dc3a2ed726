-- Documents: typed, versioned JSON documents in declared collections (docs/documents.md).
--
-- A collection's declaration (schema, frozen paths, history length, parent, indexed paths) is one
-- JSON value with a version. A document keeps its current body; each change moves the previous
-- version into document_history, which is trimmed by version, never the documents. Children,
-- history, index keys and links reference their document and go with it (ON DELETE CASCADE, in
-- the delete's transaction); a child collection declared 'restrict' is checked before that.

CREATE TABLE doc_collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    on_parent_delete TEXT NOT NULL CHECK (on_parent_delete IN ('cascade', 'restrict')),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES doc_collections (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    parent_id INTEGER REFERENCES documents (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    agent TEXT,
    change TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (collection_id, key)
);
CREATE INDEX documents_children ON documents (parent_id, collection_id, key);

CREATE TABLE document_history (
    document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    agent TEXT,
    change TEXT,
    at REAL NOT NULL,
    PRIMARY KEY (document_id, version)
) WITHOUT ROWID;

CREATE TABLE document_keys (
    document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    PRIMARY KEY (document_id, path, key)
) WITHOUT ROWID;
CREATE INDEX document_keys_lookup ON document_keys (collection_id, path, key, doc_key, document_id);

CREATE TABLE document_links (
    src_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    rel TEXT NOT NULL,
    dst_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    PRIMARY KEY (src_id, rel, dst_id)
) WITHOUT ROWID;
CREATE INDEX document_links_in ON document_links (dst_id, rel, src_id);
