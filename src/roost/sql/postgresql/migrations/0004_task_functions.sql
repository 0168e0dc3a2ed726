-- The two hottest queue statements as PL/pgSQL functions, so that their plans are cached.
-- Sent as plain statements, the claim (nine CTEs) was planned afresh on every call: PostgreSQL kept
-- choosing custom plans for it even when prepared, and planning cost more than running it. A
-- PL/pgSQL function keeps one plan per session, and `plan_cache_mode = force_generic_plan` makes
-- that plan the generic one from the first call. The generic plan reads the same indexes (a test
-- checks it with auto_explain). The statements are 0003's task_claim and task_complete, with the
-- joins rewritten as below; `#variable_conflict use_column` lets them name the columns returned.
-- A generic plan is made once, with whatever statistics the tables have then. Made while
-- task_runs looked empty (a new or freshly vacuumed table), the joins that close claims read the
-- whole claim history on every call, until the next ANALYZE. So every row here is found by key:
-- the keys are collected with ARRAY(…) and matched with `= ANY`, an index condition the planner
-- cannot turn into a scan of the table, and `enable_seqscan = off` rules out the rest.

CREATE FUNCTION roost.task_claim(p_project text, p_queues text[], p_agent text, p_capabilities text[], p_n integer,
                                 p_lease double precision, p_host text, p_pid integer)
RETURNS TABLE (id bigint, token bigint, queue text, kind text, payload text, priority integer, attempts integer,
               max_attempts integer, lease_expires_at double precision)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH doomed AS (
    SELECT id FROM roost.tasks
    WHERE status = 'running' AND lease_expires_at <= clock_timestamp() AND attempts >= max_attempts
      AND project = p_project
    FOR UPDATE SKIP LOCKED
), died AS (
    UPDATE roost.tasks t SET status = 'dead', error = 'lease expired', lease_expires_at = NULL,
        finished_at = clock_timestamp(), updated_at = clock_timestamp()
    WHERE t.id = ANY (ARRAY(SELECT id FROM doomed))
    RETURNING t.token
), died_runs AS (
    UPDATE roost.task_runs r SET outcome = 'expired', ended_at = clock_timestamp(), error = 'lease expired'
    WHERE r.token = ANY (ARRAY(SELECT token FROM died))
), fresh AS (
    SELECT id, priority, token FROM roost.tasks
    WHERE project = p_project AND status IN ('pending', 'failed') AND blocked_by = 0
      AND run_after <= clock_timestamp() AND queue = ANY(p_queues)
      AND (target IS NULL OR target = p_agent)
      AND (capability IS NULL OR capability = ANY(p_capabilities))
    ORDER BY priority DESC, id
    LIMIT p_n
    FOR UPDATE SKIP LOCKED
), stale AS (
    SELECT id, priority, token FROM roost.tasks
    WHERE status = 'running' AND lease_expires_at <= clock_timestamp() AND attempts < max_attempts
      AND project = p_project AND queue = ANY(p_queues)
      AND (target IS NULL OR target = p_agent)
      AND (capability IS NULL OR capability = ANY(p_capabilities))
    ORDER BY priority DESC, id
    LIMIT p_n
    FOR UPDATE SKIP LOCKED
), ready AS (
    SELECT id, token AS old_token FROM (SELECT * FROM fresh UNION ALL SELECT * FROM stale) AS both_kinds
    ORDER BY priority DESC, id
    LIMIT p_n
), claimed AS (
    UPDATE roost.tasks t SET
        status = 'running', token = nextval('roost.task_tokens'), attempts = t.attempts + 1,
        claimed_by = p_agent, claimed_host = p_host, claimed_pid = p_pid, claimed_at = clock_timestamp(),
        lease = p_lease,
        lease_expires_at = clock_timestamp() + least(p_lease, coalesce(t.timeout, p_lease)) * interval '1 second',
        updated_at = clock_timestamp()
    WHERE t.id = ANY (ARRAY(SELECT id FROM ready))
    RETURNING t.*
), old_runs AS (
    UPDATE roost.task_runs r SET outcome = 'expired', ended_at = clock_timestamp(), error = 'lease expired'
    WHERE r.token = ANY (ARRAY(SELECT old_token FROM ready)) AND r.outcome IS NULL
), runs AS (
    INSERT INTO roost.task_runs (token, task_id, agent, host, pid, claimed_at)
    SELECT token, id, claimed_by, claimed_host, claimed_pid, claimed_at FROM claimed
)
SELECT id, token, queue, kind, payload, priority, attempts, max_attempts,
       extract(epoch FROM lease_expires_at)::float8
FROM claimed ORDER BY priority DESC, id;
END
$$;

CREATE FUNCTION roost.task_complete(p_token bigint, p_result text)
RETURNS TABLE (id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH done AS (
    UPDATE roost.tasks SET status = 'done', result = p_result, error = NULL, lease_expires_at = NULL,
        finished_at = clock_timestamp(), updated_at = clock_timestamp()
    WHERE token = p_token AND status = 'running'
    RETURNING id, token
), unblocked AS (
    UPDATE roost.tasks t SET blocked_by = t.blocked_by - 1, updated_at = clock_timestamp()
    WHERE t.id = ANY (ARRAY(SELECT d.task_id FROM roost.task_deps d
                            WHERE d.depends_on = ANY (ARRAY(SELECT id FROM done))))
), run AS (
    UPDATE roost.task_runs r SET outcome = 'done', ended_at = clock_timestamp()
    WHERE r.token = ANY (ARRAY(SELECT token FROM done))
)
SELECT id FROM done;
END
$$;
