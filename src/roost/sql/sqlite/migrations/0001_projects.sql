-- Projects: the scope that namespaces every record, so several projects can share one database.
CREATE TABLE projects (
    name TEXT PRIMARY KEY NOT NULL,
    created_at REAL NOT NULL
);
