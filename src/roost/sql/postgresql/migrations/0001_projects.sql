-- Projects: the scope that namespaces every record, so several projects can share one database.
CREATE TABLE roost.projects (
    name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
