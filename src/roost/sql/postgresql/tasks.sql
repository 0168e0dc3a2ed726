-- The task queue for PostgreSQL. A task is claimable when it is pending or failed (waiting to be
-- retried), its run_after has passed and all its dependencies are done (blocked_by = 0). Every
-- change made with a lease token checks that the token is still the task's current one and the
-- task still running: the guarded write that refuses a worker whose lease was reclaimed.
-- The claim history is updated with `token = ANY (ARRAY(…))`, never by a join, so no plan made
-- from stale statistics can read the whole history (see migration 0004).

-- name: task_insert
INSERT INTO roost.tasks (project, queue, kind, payload, target, capability, priority, status, run_after,
                         max_attempts, timeout, idempotency_key, blocked_by, created_at, updated_at, request_key)
SELECT %(project)s, %(queue)s, %(kind)s, %(payload)s, %(target)s, %(capability)s, %(priority)s, 'pending',
       coalesce(to_timestamp(%(run_at)s::float8), clock_timestamp()), %(max_attempts)s, %(timeout)s::float8,
       %(idempotency_key)s, %(blocked_by)s, clock_timestamp(), clock_timestamp(), %(request_key)s
ON CONFLICT (project, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id

-- name: task_insert_many
-- Many tasks with no dependencies and no idempotency keys in one statement. %(rows)s is a JSON
-- array of [queue, kind, payload, target, capability, priority, run_at, max_attempts, timeout],
-- inserted in that order, so their ids (drawn from the sequence row by row) increase in that order.
INSERT INTO roost.tasks (project, queue, kind, payload, target, capability, priority, status, run_after,
                         max_attempts, timeout, blocked_by, created_at, updated_at, request_key)
SELECT %(project)s, e.r ->> 0, e.r ->> 1, e.r ->> 2, e.r ->> 3, e.r ->> 4, (e.r ->> 5)::integer, 'pending',
       coalesce(to_timestamp((e.r ->> 6)::float8), clock_timestamp()), (e.r ->> 7)::integer,
       (e.r ->> 8)::float8, 0, clock_timestamp(), clock_timestamp(), %(request_key)s
FROM jsonb_array_elements(%(rows)s::jsonb) WITH ORDINALITY AS e(r, ord)
ORDER BY e.ord
RETURNING id

-- name: task_by_idempotency
SELECT id FROM roost.tasks WHERE project = %(project)s AND idempotency_key = %(idempotency_key)s

-- name: task_by_request_key
-- The tasks an earlier run of this enqueue call wrote, in the order it wrote them (migration 0006).
SELECT id, idempotency_key FROM roost.tasks WHERE request_key = %(request_key)s AND project = %(project)s ORDER BY id

-- name: task_states
-- The status of each listed task of this project (ids as a JSON array).
SELECT id, status FROM roost.tasks
WHERE project = %(project)s AND id IN (SELECT value::bigint FROM jsonb_array_elements_text(%(ids)s::jsonb))

-- name: task_deps_insert
INSERT INTO roost.task_deps (task_id, depends_on)
SELECT %(task_id)s, value::bigint FROM jsonb_array_elements_text(%(ids)s::jsonb)

-- name: task_claim
-- One statement, in the function roost.task_claim (migration 0004, where it is explained). Tasks
-- whose lease expired on their last attempt become dead. Then up to n tasks are taken, highest
-- priority first, then oldest: ready ones (pending or failed, run_after passed, dependencies done)
-- and running ones whose lease expired, which are reclaimed with attempts + 1 and their old claim
-- recorded as expired. Each kind is found by its own index scan with FOR UPDATE SKIP LOCKED, so
-- concurrent claimers pass over each other's rows instead of waiting, and each condition is
-- re-checked on the newest row version: no task is taken twice.
SELECT * FROM roost.task_claim(%(project)s, %(queues)s::text[], %(agent)s, %(capabilities)s::text[], %(n)s::integer,
                               %(lease)s::float8, %(host)s, %(pid)s::integer)

-- name: task_heartbeat
-- Extend the lease by the claim's lease length, never past the task's timeout.
UPDATE roost.tasks SET
    lease_expires_at = least(clock_timestamp() + coalesce(%(lease)s::float8, lease) * interval '1 second',
                             claimed_at + coalesce(timeout, 1e9) * interval '1 second'),
    updated_at = clock_timestamp()
WHERE token = %(token)s AND status = 'running'
  AND claimed_at + coalesce(timeout, 1e9) * interval '1 second' > clock_timestamp()
RETURNING id, extract(epoch FROM lease_expires_at)::float8

-- name: task_complete
-- Done, its dependents unblocked and its claim closed: the function roost.task_complete (0004).
SELECT id FROM roost.task_complete(%(token)s::bigint, %(result)s)

-- name: task_complete_many
-- Several completions in one statement: the function roost.task_complete_many (0007).
SELECT token, id FROM roost.task_complete_many(%(items)s::jsonb)

-- name: task_fail
-- Retry after exponential backoff while attempts remain (and retry is wanted), else dead.
WITH failed AS (
    UPDATE roost.tasks SET
        status = CASE WHEN %(retry)s AND attempts < max_attempts THEN 'failed' ELSE 'dead' END,
        error = %(error)s, lease_expires_at = NULL, updated_at = clock_timestamp(),
        run_after = clock_timestamp() + least(%(backoff)s::float8 * (1::bigint << least(attempts - 1, 20)), 3600) * interval '1 second',
        finished_at = CASE WHEN %(retry)s AND attempts < max_attempts THEN NULL ELSE clock_timestamp() END
    WHERE token = %(token)s AND status = 'running'
    RETURNING id, token, status
), run AS (
    UPDATE roost.task_runs r SET outcome = 'failed', ended_at = clock_timestamp(), error = %(error)s
    WHERE r.token = ANY (ARRAY(SELECT token FROM failed))
)
SELECT id, status FROM failed

-- name: task_release
-- Back to pending; a release does not count as an attempt.
WITH released AS (
    UPDATE roost.tasks SET status = 'pending', attempts = attempts - 1, lease_expires_at = NULL,
        updated_at = clock_timestamp()
    WHERE token = %(token)s AND status = 'running'
    RETURNING id, token
), run AS (
    UPDATE roost.task_runs r SET outcome = 'released', ended_at = clock_timestamp()
    WHERE r.token = ANY (ARRAY(SELECT token FROM released))
)
SELECT id FROM released

-- name: task_cancel
WITH cancelled AS (
    UPDATE roost.tasks SET status = 'cancelled', error = %(reason)s, lease_expires_at = NULL,
        finished_at = clock_timestamp(), updated_at = clock_timestamp()
    WHERE project = %(project)s AND id = %(id)s AND status IN ('pending', 'failed', 'running')
    RETURNING id, token
), run AS (
    UPDATE roost.task_runs r SET outcome = 'cancelled', ended_at = clock_timestamp(), error = %(reason)s
    WHERE r.token = ANY (ARRAY(SELECT token FROM cancelled)) AND r.outcome IS NULL
)
SELECT id FROM cancelled

-- name: task_cascade
-- Cancel every waiting task that depends, directly or not, on a dead or cancelled task.
WITH RECURSIVE doomed(id) AS (
    SELECT d.task_id FROM roost.task_deps d
    JOIN roost.tasks dep ON dep.id = d.depends_on
    JOIN roost.tasks t ON t.id = d.task_id
    WHERE dep.project = %(project)s AND dep.status IN ('dead', 'cancelled') AND t.status IN ('pending', 'failed')
    UNION
    SELECT d.task_id FROM roost.task_deps d JOIN doomed ON d.depends_on = doomed.id
)
UPDATE roost.tasks SET status = 'cancelled', error = 'a task it depends on is dead or cancelled',
    finished_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE id IN (SELECT id FROM doomed) AND status IN ('pending', 'failed')

-- name: task_lease_state
-- What became of a claim: to tell a repeated settle from a lost lease, and for the message
-- when a token is refused.
SELECT r.task_id, r.outcome, t.status, t.token, r.error, t.result FROM roost.task_runs r
JOIN roost.tasks t ON t.id = r.task_id WHERE r.token = %(token)s

-- name: task_get
SELECT id, queue, kind, payload, target, capability, priority, status, extract(epoch FROM run_after)::float8,
       max_attempts, attempts, timeout, idempotency_key, blocked_by, token, claimed_by, claimed_host, claimed_pid,
       extract(epoch FROM claimed_at)::float8, extract(epoch FROM lease_expires_at)::float8, result, error,
       extract(epoch FROM created_at)::float8, extract(epoch FROM finished_at)::float8,
       (SELECT coalesce(json_agg(depends_on ORDER BY depends_on), '[]')::text FROM roost.task_deps WHERE task_id = tasks.id)
FROM roost.tasks WHERE project = %(project)s AND id = %(id)s

-- name: task_list
SELECT id, queue, kind, payload, target, capability, priority, status, extract(epoch FROM run_after)::float8,
       max_attempts, attempts, timeout, idempotency_key, blocked_by, token, claimed_by, claimed_host, claimed_pid,
       extract(epoch FROM claimed_at)::float8, extract(epoch FROM lease_expires_at)::float8, result, error,
       extract(epoch FROM created_at)::float8, extract(epoch FROM finished_at)::float8,
       (SELECT coalesce(json_agg(depends_on ORDER BY depends_on), '[]')::text FROM roost.task_deps WHERE task_id = tasks.id)
FROM roost.tasks
WHERE project = %(project)s AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
  AND (%(agent)s::text IS NULL OR claimed_by = %(agent)s::text) AND id > %(after)s
ORDER BY id LIMIT %(limit)s

-- name: task_runs
SELECT token, agent, host, pid, extract(epoch FROM claimed_at)::float8, extract(epoch FROM ended_at)::float8,
       outcome, error
FROM roost.task_runs WHERE task_id = %(id)s ORDER BY token

-- name: task_stats
-- Per queue: ready counts pending or failed tasks that could be claimed now.
SELECT queue,
       count(*) FILTER (WHERE status = 'pending'),
       count(*) FILTER (WHERE status IN ('pending', 'failed') AND blocked_by = 0 AND run_after <= clock_timestamp()),
       count(*) FILTER (WHERE status = 'running'),
       count(*) FILTER (WHERE status = 'done'),
       count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'dead'),
       count(*) FILTER (WHERE status = 'cancelled')
FROM roost.tasks WHERE project = %(project)s GROUP BY queue ORDER BY queue

-- name: task_retry
-- A dead or failed task back to pending, ready now, with its attempts counted afresh.
UPDATE roost.tasks SET status = 'pending', attempts = 0, error = NULL, result = NULL, finished_at = NULL,
    lease_expires_at = NULL, run_after = clock_timestamp(), updated_at = clock_timestamp()
WHERE project = %(project)s AND id = %(id)s AND status IN ('dead', 'failed')
RETURNING id
