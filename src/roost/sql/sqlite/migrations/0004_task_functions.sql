-- Nothing to do on SQLite: 0004 moves PostgreSQL's claim and complete statements into functions so
-- their plans are cached. SQLite's statement cache in the backend already reuses prepared statements.
SELECT 1;
