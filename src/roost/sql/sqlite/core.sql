-- Store-level queries for SQLite. Times are REAL seconds since the Unix epoch (UTC), the form every
-- backend returns across the backend contract.

-- name: db_now
SELECT (julianday('now') - 2440587.5) * 86400.0

-- name: project_get
SELECT name, created_at FROM projects WHERE name = :project

-- name: project_ensure
INSERT INTO projects (name, created_at)
VALUES (:project, (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (name) DO NOTHING

-- name: notify
-- A commit already wakes SQLite listeners (they watch PRAGMA data_version); nothing to send.
SELECT 1 WHERE :channel IS NOT NULL AND :payload IS NOT NULL

-- name: size_facts
SELECT 'database bytes', page_count * page_size FROM pragma_page_count(), pragma_page_size()
UNION ALL
SELECT 'free bytes', freelist_count * page_size FROM pragma_freelist_count(), pragma_page_size()

-- name: doctor_facts
-- (check, value, level, hint) rows; level is ok, warn or fail.
SELECT 'sqlite version', sqlite_version(), 'ok', ''
UNION ALL
SELECT 'journal_mode', journal_mode,
       CASE WHEN journal_mode IN ('wal', 'memory') THEN 'ok' ELSE 'fail' END,
       'WAL lets readers and a writer in other processes work at once'
FROM pragma_journal_mode()
UNION ALL
SELECT 'busy_timeout', timeout || ' ms', CASE WHEN timeout > 0 THEN 'ok' ELSE 'fail' END,
       'without it a second writer fails at once with "database is locked"'
FROM pragma_busy_timeout()
UNION ALL
SELECT 'foreign_keys', CASE foreign_keys WHEN 1 THEN 'on' ELSE 'off' END,
       CASE foreign_keys WHEN 1 THEN 'ok' ELSE 'fail' END, 'references between records are not enforced'
FROM pragma_foreign_keys()
UNION ALL
SELECT 'synchronous', CASE synchronous WHEN 0 THEN 'OFF' WHEN 1 THEN 'NORMAL' WHEN 2 THEN 'FULL' ELSE 'EXTRA' END,
       CASE synchronous WHEN 0 THEN 'warn' ELSE 'ok' END, 'OFF can lose commits on power loss'
FROM pragma_synchronous()
UNION ALL
SELECT 'fts5', CASE WHEN count(*) > 0 THEN 'compiled in' ELSE 'missing' END,
       CASE WHEN count(*) > 0 THEN 'ok' ELSE 'warn' END, 'full-text search needs FTS5'
FROM pragma_compile_options() WHERE compile_options = 'ENABLE_FTS5'
UNION ALL
SELECT 'integrity', quick_check, CASE quick_check WHEN 'ok' THEN 'ok' ELSE 'fail' END,
       'the file is damaged; restore it from a backup'
FROM pragma_quick_check() LIMIT 9

-- name: schema_snapshot
-- Every column, index, foreign key and trigger, in a form that ignores how the DDL was spelled.
SELECT 'column' AS kind, m.name AS tbl, p.name AS item,
       p.type || CASE WHEN p."notnull" THEN ' not null' ELSE '' END
              || coalesce(' default ' || p.dflt_value, '') || CASE WHEN p.pk > 0 THEN ' pk' || p.pk ELSE '' END AS detail
FROM sqlite_master m JOIN pragma_table_info(m.name) p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
UNION ALL
SELECT 'index', m.name, il.name,
       CASE WHEN il."unique" THEN 'unique ' ELSE '' END || il.origin || ' ' ||
       (SELECT group_concat(coalesce(ii.name, '<expr>') || CASE WHEN ii.desc THEN ' desc' ELSE '' END, ', ')
        FROM pragma_index_xinfo(il.name) ii WHERE ii.key) ||
       coalesce(' where ' || lower((SELECT substr(sql, instr(upper(sql), ' WHERE ') + 7) FROM sqlite_master s
                                     WHERE s.name = il.name AND il.partial)), '')
FROM sqlite_master m JOIN pragma_index_list(m.name) il
WHERE m.type = 'table'
UNION ALL
SELECT 'foreign key', m.name, fk."from",
       fk."table" || '(' || coalesce(fk."to", '') || ') on delete ' || fk.on_delete
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) fk
WHERE m.type = 'table'
UNION ALL
SELECT 'trigger', tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger'
ORDER BY 1, 2, 3
