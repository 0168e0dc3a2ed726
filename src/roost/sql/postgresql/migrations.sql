-- Migration bookkeeping for PostgreSQL. The advisory lock is transaction-scoped (safe behind
-- PgBouncer) and serializes every process that migrates this database at once.

-- name: migration_lock
SELECT pg_advisory_xact_lock(7234018265374)

-- name: migrations_bootstrap
CREATE SCHEMA IF NOT EXISTS roost;
CREATE TABLE IF NOT EXISTS roost.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- name: migrations_table_exists
SELECT count(*) FROM pg_tables WHERE schemaname = 'roost' AND tablename = 'schema_migrations'

-- name: database_tables
-- How many tables the database holds outside the system schemas and roost's own: a database
-- without roost's schema is new (none) or another application's (see Store._prepare).
SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'roost')

-- name: migrations_applied
SELECT version, name, checksum, extract(epoch FROM applied_at)::float8
FROM roost.schema_migrations ORDER BY version

-- name: migration_record
INSERT INTO roost.schema_migrations (version, name, checksum)
VALUES (%(version)s, %(name)s, %(checksum)s)
