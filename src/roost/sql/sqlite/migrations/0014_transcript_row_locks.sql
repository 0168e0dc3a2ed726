-- PostgreSQL only (its single transcript append now takes the weaker row lock on its session, so
-- that it no longer deadlocks with inserts whose foreign-key check shares that row). SQLite takes
-- no row locks, so nothing changes here.
SELECT 1
