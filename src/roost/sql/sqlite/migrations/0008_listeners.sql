-- Nothing to do on SQLite: 0008 makes PostgreSQL's NOTIFY depend on a registry of listeners.
-- SQLite listeners watch PRAGMA data_version, which costs writers nothing.
SELECT 1;
