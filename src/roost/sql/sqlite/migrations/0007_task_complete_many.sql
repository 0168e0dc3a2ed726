-- PostgreSQL's 0007 adds a function for batched completion; on SQLite the named query
-- task_complete_many is a block of statements run in one transaction, and needs no schema.
-- The token index becomes partial: tasks never claimed (the whole backlog) have no token and no
-- longer have an entry, so adding a task writes one index page fewer, and the statistics ANALYZE
-- gathers on a fresh backlog no longer say that a token matches thousands of tasks (which made
-- SQLite walk the whole index instead of looking tokens up).
DROP INDEX tasks_token;
CREATE UNIQUE INDEX tasks_token ON tasks (token) WHERE token IS NOT NULL;
