-- Request keys (see the PostgreSQL migration of the same number). SQLite never loses the answer
-- to a commit, so roost writes no keys here and the indexes stay empty; the columns keep the two
-- schemas alike.
ALTER TABLE tasks ADD COLUMN request_key TEXT;
CREATE INDEX tasks_request ON tasks (request_key) WHERE request_key IS NOT NULL;
ALTER TABLE events ADD COLUMN request_key TEXT;
CREATE INDEX events_request ON events (request_key) WHERE request_key IS NOT NULL;
