-- Documents: typed, versioned JSON documents in declared collections (docs/documents.md).
--
-- A collection's declaration (schema, frozen paths, history length, parent, indexed paths) is one
-- JSON value with a version. A document keeps its current body; each change moves the previous
-- version into document_history, which is trimmed by version, never the documents. Children,
-- history, index keys and links reference their document and go with it (ON DELETE CASCADE, in
-- the delete's transaction); a child collection declared 'restrict' is checked before that.
-- Bodies are text, not jsonb: jsonb would reorder keys, and a body comes back as it was written.
-- Keys and index keys compare in "C" order, byte by byte, as SQLite's BINARY does.

CREATE TABLE roost.doc_collections (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    name text NOT NULL,
    version bigint NOT NULL,
    spec text NOT NULL,
    on_parent_delete text NOT NULL CHECK (on_parent_delete IN ('cascade', 'restrict')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE roost.documents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id bigint NOT NULL REFERENCES roost.doc_collections (id) ON DELETE CASCADE,
    key text COLLATE "C" NOT NULL,
    parent_id bigint REFERENCES roost.documents (id) ON DELETE CASCADE,
    body text NOT NULL,
    version bigint NOT NULL,
    agent text,
    change text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (collection_id, key)
);
CREATE INDEX documents_children ON roost.documents (parent_id, collection_id, key);

CREATE TABLE roost.document_history (
    document_id bigint NOT NULL REFERENCES roost.documents (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    body text NOT NULL,
    agent text,
    change text,
    at timestamptz NOT NULL,
    PRIMARY KEY (document_id, version)
);

CREATE TABLE roost.document_keys (
    document_id bigint NOT NULL REFERENCES roost.documents (id) ON DELETE CASCADE,
    collection_id bigint NOT NULL,
    path text NOT NULL,
    key text COLLATE "C" NOT NULL,
    doc_key text COLLATE "C" NOT NULL,
    PRIMARY KEY (document_id, path, key)
);
CREATE INDEX document_keys_lookup ON roost.document_keys (collection_id, path, key, doc_key, document_id);

CREATE TABLE roost.document_links (
    src_id bigint NOT NULL REFERENCES roost.documents (id) ON DELETE CASCADE,
    rel text NOT NULL,
    dst_id bigint NOT NULL REFERENCES roost.documents (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (src_id, rel, dst_id)
);
CREATE INDEX document_links_in ON roost.document_links (dst_id, rel, src_id);
