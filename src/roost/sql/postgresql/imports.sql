-- Import and transfer (roost.maintenance.importing, roost.backends.imports).

-- name: import_quiet_triggers
-- For this transaction only: the record-keeping triggers skip themselves (migration 0016).
SELECT set_config('roost.importing', 'on', true)

-- name: import_raise_tokens
-- A sequence moved up to an imported value; left alone when it is there already.
SELECT setval(%(sequence)s::regclass, %(value)s)
WHERE %(value)s > coalesce(pg_sequence_last_value(%(sequence)s::regclass), 0)

-- name: import_marker_get
SELECT digest, source, extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8
FROM roost.imports WHERE project = %(project)s

-- name: import_marker_started
INSERT INTO roost.imports (project, digest, source, started_at) VALUES (%(project)s, %(digest)s, %(source)s,
    clock_timestamp())
ON CONFLICT (project) DO UPDATE SET digest = excluded.digest, source = excluded.source,
    started_at = excluded.started_at, finished_at = NULL

-- name: import_marker_finished
UPDATE roost.imports SET finished_at = clock_timestamp() WHERE project = %(project)s

-- name: import_marker_forget
DELETE FROM roost.imports WHERE project = %(project)s
