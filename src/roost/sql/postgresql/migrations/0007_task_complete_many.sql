-- Batched completion: several claims completed in one statement (one round trip, one commit, one
-- NOTIFY), each as roost.task_complete (0004) completes one: the task done with its result, its
-- claim closed, its dependents unblocked, here by the number of their dependencies done in the
-- batch. Dependents are locked in id order, so two batches that share dependents cannot deadlock.
-- :items is a JSON array of [token, result] pairs; tokens whose claim is no longer running are
-- left alone (the caller tells a repeated completion from a lost lease, as for one task).
CREATE FUNCTION roost.task_complete_many(p_items jsonb)
RETURNS TABLE (token bigint, id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH given AS (
    SELECT (e ->> 0)::bigint AS token, e ->> 1 AS result FROM jsonb_array_elements(p_items) AS e
), done AS (
    UPDATE roost.tasks t SET status = 'done', result = g.result, error = NULL, lease_expires_at = NULL,
        finished_at = clock_timestamp(), updated_at = clock_timestamp()
    FROM given g
    WHERE t.token = ANY (ARRAY(SELECT token FROM given)) AND t.token = g.token AND t.status = 'running'
    RETURNING t.id, t.token
), deps AS (
    SELECT d.task_id, count(*)::integer AS n FROM roost.task_deps d
    WHERE d.depends_on = ANY (ARRAY(SELECT id FROM done))
    GROUP BY d.task_id
), locked AS (
    SELECT t.id FROM roost.tasks t WHERE t.id = ANY (ARRAY(SELECT task_id FROM deps)) ORDER BY t.id FOR UPDATE
), unblocked AS (
    UPDATE roost.tasks t SET blocked_by = t.blocked_by - deps.n, updated_at = clock_timestamp()
    FROM deps
    WHERE t.id = ANY (ARRAY(SELECT id FROM locked)) AND t.id = deps.task_id
), run AS (
    UPDATE roost.task_runs r SET outcome = 'done', ended_at = clock_timestamp()
    WHERE r.token = ANY (ARRAY(SELECT token FROM done))
)
SELECT token, id FROM done;
END
$$;
