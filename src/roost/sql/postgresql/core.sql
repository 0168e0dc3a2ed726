-- Store-level queries for PostgreSQL. roost's tables live in the schema "roost". Times cross the
-- backend contract as float8 seconds since the Unix epoch, read from the server's clock.

-- name: db_now
SELECT extract(epoch FROM clock_timestamp())::float8

-- name: project_get
SELECT name, extract(epoch FROM created_at)::float8 FROM roost.projects WHERE name = %(project)s

-- name: project_ensure
INSERT INTO roost.projects (name) VALUES (%(project)s) ON CONFLICT (name) DO NOTHING

-- name: notify
SELECT pg_notify(%(channel)s, %(payload)s)

-- name: size_facts
SELECT 'database bytes', pg_database_size(current_database())
UNION ALL
SELECT 'roost bytes', coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'roost' AND c.relkind = 'r'

-- name: doctor_facts
-- (check, value, level, hint) rows; level is ok, warn or fail.
SELECT 'server version', current_setting('server_version'),
       CASE WHEN current_setting('server_version_num')::int >= 130000 THEN 'ok' ELSE 'fail' END,
       'roost needs PostgreSQL 13 or newer'
UNION ALL
SELECT 'server encoding', current_setting('server_encoding'),
       CASE current_setting('server_encoding') WHEN 'UTF8' THEN 'ok' ELSE 'warn' END,
       'text outside the encoding will be refused'
UNION ALL
SELECT 'statement_timeout', current_setting('statement_timeout'),
       CASE current_setting('statement_timeout') WHEN '0' THEN 'warn' ELSE 'ok' END,
       'the startup parameter was not applied (a pooler may drop it)'
UNION ALL
SELECT 'connections', (SELECT count(*) FROM pg_stat_activity)::text || ' of ' || current_setting('max_connections'),
       'ok', ''
UNION ALL
SELECT 'extension ' || w.name,
       CASE WHEN e.installed_version IS NOT NULL THEN 'installed ' || e.installed_version
            WHEN e.name IS NOT NULL THEN 'available ' || e.default_version
            ELSE 'not available' END,
       CASE WHEN e.name IS NULL THEN 'warn' ELSE 'ok' END, w.hint
FROM (VALUES ('pg_trgm', 'fuzzy search needs it (postgresql-contrib)')) AS w(name, hint)
LEFT JOIN pg_available_extensions e ON e.name = w.name
UNION ALL
SELECT 'oldest open write transaction',
       CASE WHEN count(*) = 0 THEN 'none'
            ELSE round(extract(epoch FROM clock_timestamp() - min(xact_start)))::text || ' s' END,
       CASE WHEN extract(epoch FROM clock_timestamp() - min(xact_start)) > 60 THEN 'warn' ELSE 'ok' END,
       'events of newer transactions reach subscribers only after it ends (docs/events.md)'
FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()

-- name: schema_snapshot
-- Every column, index, constraint, function and trigger of the roost schema, spelled as the server prints them.
SELECT 'column' AS kind, table_name::text AS tbl, column_name::text AS item,
       data_type || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
                 || coalesce(' default ' || column_default, '') AS detail
FROM information_schema.columns WHERE table_schema = 'roost'
UNION ALL
SELECT 'index', tablename::text, indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'roost'
UNION ALL
SELECT 'constraint', c.relname::text, k.conname::text, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'roost'
UNION ALL
SELECT 'function', p.proname::text, pg_get_function_identity_arguments(p.oid), md5(pg_get_functiondef(p.oid))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'roost'
UNION ALL
SELECT 'trigger', c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'roost' AND NOT t.tgisinternal
ORDER BY 1, 2, 3
