-- LangGraph persistence (docs/langgraph.md): checkpoints, their channel values, pending writes, and
-- the long-term memory store's items.
--
-- A checkpoint row holds the checkpoint without its channel values (serialized by LangGraph's
-- serializer) and, as JSON, the channel versions it points at; each channel value is stored once
-- per (thread, namespace, channel, version) in lg_blobs, so a value unchanged since an earlier
-- checkpoint is not stored again. Metadata is JSON, as LangGraph's own savers keep it, with the run
-- id beside it for delete_for_runs. Item namespaces are their labels joined with '.', which
-- LangGraph forbids inside a label, so a prefix of whole labels is a prefix of the text ending at
-- a '.'.

CREATE TABLE lg_checkpoints (
    project TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    parent_id TEXT,
    type TEXT NOT NULL,
    checkpoint BLOB NOT NULL,
    versions TEXT NOT NULL,
    metadata TEXT NOT NULL,
    run_id TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (project, thread_id, checkpoint_ns, checkpoint_id)
) WITHOUT ROWID;
CREATE INDEX lg_checkpoints_run ON lg_checkpoints (project, run_id) WHERE run_id IS NOT NULL;
CREATE INDEX lg_checkpoints_age ON lg_checkpoints (created_at);

CREATE TABLE lg_blobs (
    project TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    type TEXT NOT NULL,
    blob BLOB,
    PRIMARY KEY (project, thread_id, checkpoint_ns, channel, version)
) WITHOUT ROWID;

CREATE TABLE lg_writes (
    project TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT NOT NULL,
    blob BLOB NOT NULL,
    task_path TEXT NOT NULL,
    PRIMARY KEY (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
) WITHOUT ROWID;

-- A checkpoint's pending writes go with it (a trigger, not a foreign key: LangGraph may store a
-- task's writes before the checkpoint they belong to has been committed).
CREATE TRIGGER lg_checkpoint_deleted AFTER DELETE ON lg_checkpoints BEGIN
    DELETE FROM lg_writes WHERE project = OLD.project AND thread_id = OLD.thread_id
        AND checkpoint_ns = OLD.checkpoint_ns AND checkpoint_id = OLD.checkpoint_id;
END;

CREATE TABLE lg_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    ttl REAL,
    expires_at REAL,
    UNIQUE (project, namespace, key)
);
CREATE INDEX lg_items_expiry ON lg_items (expires_at) WHERE expires_at IS NOT NULL;

-- An item's text for search, as a memory's: its key, then the keys and strings of its value in
-- document order, kept by triggers in the writing statement's transaction.
CREATE VIRTUAL TABLE search_lg_items USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER lg_item_indexed AFTER INSERT ON lg_items BEGIN
    INSERT INTO search_lg_items (rowid, body) VALUES (NEW.id, substr(NEW.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(NEW.value)), ''), 1, 32000));
END;
CREATE TRIGGER lg_item_reindexed AFTER UPDATE OF value ON lg_items BEGIN
    INSERT INTO search_lg_items (search_lg_items, rowid, body) VALUES ('delete', OLD.id, substr(OLD.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(OLD.value)), ''), 1, 32000));
    INSERT INTO search_lg_items (rowid, body) VALUES (NEW.id, substr(NEW.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(NEW.value)), ''), 1, 32000));
END;
CREATE TRIGGER lg_item_unindexed AFTER DELETE ON lg_items BEGIN
    INSERT INTO search_lg_items (search_lg_items, rowid, body) VALUES ('delete', OLD.id, substr(OLD.key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(OLD.value)), ''), 1, 32000));
END;
