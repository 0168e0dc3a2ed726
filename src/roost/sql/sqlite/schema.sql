-- The whole schema at the newest migration, applied in one step to an empty database.
-- A test checks that it equals the result of applying every migration in order.
CREATE TABLE projects (
    name TEXT PRIMARY KEY NOT NULL,
    created_at REAL NOT NULL
);
