-- Import and transfer (roost.maintenance.importing, roost.backends.imports).

-- name: import_quiet_triggers
-- The triggers whose work an imported row already carries (events written, session and
-- observation counters moved), on the batch's table (every table when :table is NULL): dropped and
-- created again around the batch. The search index's triggers are not among them: they index the
-- imported rows.
SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (
    'tasks_inserted', 'signals_inserted', 'lock_holders_inserted', 'agents_inserted', 'agents_deleted',
    'sessions_inserted', 'sessions_deleted', 'memories_inserted', 'memories_deleted', 'observations_inserted',
    'observations_deleted', 'artifacts_inserted', 'artifacts_deleted', 'runs_started', 'gate_decided',
    'evaluation_recorded', 'run_output_written')
  AND (:table IS NULL OR tbl_name = :table)
ORDER BY name

-- name: import_raise_tokens
-- Task tokens come from one counter, a new lock name's first token from the project's floor.
UPDATE counters SET value = max(value, :task_token) WHERE name = 'task_token';
UPDATE projects SET lock_token_floor = max(lock_token_floor, :lock_token) WHERE name = :project

-- name: import_marker_get
SELECT digest, source, started_at, finished_at FROM imports WHERE project = :project

-- name: import_marker_started
INSERT INTO imports (project, digest, source, started_at) VALUES (:project, :digest, :source,
    (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (project) DO UPDATE SET digest = excluded.digest, source = excluded.source,
    started_at = excluded.started_at, finished_at = NULL

-- name: import_marker_finished
UPDATE imports SET finished_at = (julianday('now') - 2440587.5) * 86400.0 WHERE project = :project

-- name: import_marker_forget
DELETE FROM imports WHERE project = :project
