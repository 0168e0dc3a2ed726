-- The whole schema at the newest migration, applied in one step to an empty database.
-- A test checks that it equals the result of applying every migration in order.
CREATE TABLE roost.projects (
    name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
