-- Migration bookkeeping for SQLite. Exclusivity comes from BEGIN IMMEDIATE, so the lock is a no-op.

-- name: migration_lock
SELECT 1

-- name: migrations_bootstrap
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at REAL NOT NULL
)

-- name: migrations_table_exists
SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'

-- name: database_tables
-- How many tables the database holds that are not roost's: a database without roost's schema is
-- new (none) or another application's (see Store._prepare). One statement, so that a schema
-- another process commits meanwhile counts as roost's (0), not as someone else's tables.
SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations') THEN 0
            ELSE (SELECT count(*) FROM sqlite_master WHERE type = 'table') END

-- name: migrations_applied
SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version

-- name: migration_record
INSERT INTO schema_migrations (version, name, checksum, applied_at)
VALUES (:version, :name, :checksum, (julianday('now') - 2440587.5) * 86400.0)
