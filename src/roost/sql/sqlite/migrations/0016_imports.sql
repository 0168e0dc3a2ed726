-- Import and transfer (docs/operations.md): what each project was last imported from. (An
-- import's own transactions run without the record-keeping triggers, whose work the file already
-- holds: SQLite drops and re-creates them inside that write transaction, which no other
-- connection sees; see roost.backends.imports.)
CREATE TABLE imports (
    project TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    source TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL
);
