-- Retention: when each project's cleanup pass last ran, and what it removed (docs/operations.md).
--
-- One row per project, written by the process that holds the project's cleanup lock when a pass
-- starts and when one completes. Until its first pass a project counts as clean when it was
-- created, so a new store is not cleaned at birth: its first pass is due one cleanup_interval later.

CREATE TABLE roost.cleanup_state (
    project text PRIMARY KEY,
    started_at timestamptz,
    finished_at timestamptz NOT NULL,
    passes bigint NOT NULL DEFAULT 0,
    last_by text,
    removed text NOT NULL DEFAULT '{}'
);
