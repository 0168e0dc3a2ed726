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

CREATE TABLE roost.lg_checkpoints (
    project text NOT NULL,
    thread_id text COLLATE "C" NOT NULL,
    checkpoint_ns text COLLATE "C" NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    parent_id text,
    type text NOT NULL,
    checkpoint bytea NOT NULL,
    versions jsonb NOT NULL,
    metadata jsonb NOT NULL,
    run_id text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (project, thread_id, checkpoint_ns, checkpoint_id)
);
CREATE INDEX lg_checkpoints_run ON roost.lg_checkpoints (project, run_id) WHERE run_id IS NOT NULL;
CREATE INDEX lg_checkpoints_age ON roost.lg_checkpoints (created_at);

CREATE TABLE roost.lg_blobs (
    project text NOT NULL,
    thread_id text COLLATE "C" NOT NULL,
    checkpoint_ns text COLLATE "C" NOT NULL,
    channel text COLLATE "C" NOT NULL,
    version text COLLATE "C" NOT NULL,
    type text NOT NULL,
    blob bytea,
    PRIMARY KEY (project, thread_id, checkpoint_ns, channel, version)
);

CREATE TABLE roost.lg_writes (
    project text NOT NULL,
    thread_id text COLLATE "C" NOT NULL,
    checkpoint_ns text COLLATE "C" NOT NULL,
    checkpoint_id text COLLATE "C" NOT NULL,
    task_id text COLLATE "C" NOT NULL,
    idx integer NOT NULL,
    channel text COLLATE "C" NOT NULL,
    type text NOT NULL,
    blob bytea NOT NULL,
    task_path text NOT NULL,
    PRIMARY KEY (project, thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);

-- A checkpoint's pending writes go with it (a trigger, not a foreign key: LangGraph may store a
-- task's writes before the checkpoint they belong to has been committed).
CREATE FUNCTION roost.lg_checkpoint_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM roost.lg_writes WHERE project = OLD.project AND thread_id = OLD.thread_id
        AND checkpoint_ns = OLD.checkpoint_ns AND checkpoint_id = OLD.checkpoint_id;
    RETURN NULL;
END $$;
CREATE TRIGGER lg_checkpoint_deleted AFTER DELETE ON roost.lg_checkpoints FOR EACH ROW
    EXECUTE FUNCTION roost.lg_checkpoint_deleted();

CREATE TABLE roost.lg_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    namespace text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    ttl double precision,
    expires_at timestamptz,
    search tsvector,
    UNIQUE (project, namespace, key)
);
CREATE INDEX lg_items_expiry ON roost.lg_items (expires_at) WHERE expires_at IS NOT NULL;
-- An item's text for search, as a memory's (its key, then the keys and strings of its value), as
-- a vector roost computes with the same terms as SQLite's index (docs/search.md).
CREATE INDEX lg_items_search ON roost.lg_items USING gin (search);
