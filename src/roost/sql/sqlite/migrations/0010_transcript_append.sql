-- Nothing to do on SQLite: 0010 adds PostgreSQL's single-append function (SQLite runs a block).
SELECT 1;
