-- The task queue for SQLite. A task is claimable when it is pending or failed (waiting to be
-- retried), its run_after has passed and all its dependencies are done (blocked_by = 0). Every
-- change made with a lease token checks that the token is still the task's current one and the
-- task still running. Blocks of several statements run in one BEGIN IMMEDIATE transaction; the
-- last statement decides and the earlier ones repeat its condition.

-- name: task_insert
INSERT INTO tasks (project, queue, kind, payload, target, capability, priority, status, run_after,
                   max_attempts, timeout, idempotency_key, blocked_by, created_at, updated_at, request_key)
VALUES (:project, :queue, :kind, :payload, :target, :capability, :priority, 'pending',
        coalesce(:run_at, (julianday('now') - 2440587.5) * 86400.0), :max_attempts, :timeout, :idempotency_key, :blocked_by, (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0, :request_key)
ON CONFLICT (project, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id

-- name: task_insert_many
-- Many tasks with no dependencies and no idempotency keys in one statement. :rows is a JSON array
-- of [queue, kind, payload, target, capability, priority, run_at, max_attempts, timeout], inserted
-- in that order (so their ids increase in that order).
INSERT INTO tasks (project, queue, kind, payload, target, capability, priority, status, run_after,
                   max_attempts, timeout, blocked_by, created_at, updated_at, request_key)
SELECT :project, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), 'pending',
       coalesce(json_extract(value, '$[6]'), (julianday('now') - 2440587.5) * 86400.0), json_extract(value, '$[7]'), json_extract(value, '$[8]'),
       0, (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0, :request_key
FROM json_each(:rows) ORDER BY key
RETURNING id

-- name: task_by_idempotency
SELECT id FROM tasks WHERE project = :project AND idempotency_key = :idempotency_key

-- name: task_by_request_key
-- The tasks an earlier run of this enqueue call wrote, in the order it wrote them (migration 0006).
SELECT id, idempotency_key FROM tasks WHERE request_key = :request_key AND project = :project ORDER BY id

-- name: task_states
SELECT id, status FROM tasks WHERE project = :project AND id IN (SELECT value FROM json_each(:ids))

-- name: task_deps_insert
INSERT INTO task_deps (task_id, depends_on) SELECT :task_id, value FROM json_each(:ids)

-- name: task_claim
-- Expired leases are first marked (lease_expires_at = -1, seen only inside this transaction) so
-- the next statements act on exactly that set; then tokens are reserved and up to n ready tasks
-- claimed, highest priority first, then oldest. The expired leases are found through the index of
-- running leases by name: without table statistics SQLite would rather walk every running task of
-- the project (the status index), on every claim.
UPDATE tasks INDEXED BY tasks_leases SET lease_expires_at = -1
WHERE status = 'running' AND lease_expires_at <= (julianday('now') - 2440587.5) * 86400.0 AND project = :project;
UPDATE task_runs SET outcome = 'expired', ended_at = (julianday('now') - 2440587.5) * 86400.0, error = 'lease expired'
WHERE token IN (SELECT token FROM tasks WHERE status = 'running' AND lease_expires_at = -1);
UPDATE tasks SET
    status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
    error = 'lease expired', lease_expires_at = NULL, updated_at = (julianday('now') - 2440587.5) * 86400.0,
    finished_at = CASE WHEN attempts >= max_attempts THEN (julianday('now') - 2440587.5) * 86400.0 END
WHERE status = 'running' AND lease_expires_at = -1;
UPDATE counters SET value = value + :n WHERE name = 'task_token';
WITH picked AS (
    SELECT id, priority FROM tasks
    WHERE project = :project AND queue IN (SELECT value FROM json_each(:queues))
      AND status IN ('pending', 'failed') AND blocked_by = 0 AND run_after <= (julianday('now') - 2440587.5) * 86400.0
      AND (target IS NULL OR target = :agent)
      AND (capability IS NULL OR capability IN (SELECT value FROM json_each(:capabilities)))
    ORDER BY priority DESC, id
    LIMIT :n
), ready AS (
    SELECT id, row_number() OVER (ORDER BY priority DESC, id) AS rn FROM picked
)
UPDATE tasks SET
    status = 'running', token = (SELECT value FROM counters WHERE name = 'task_token') - :n + ready.rn,
    attempts = attempts + 1, claimed_by = :agent, claimed_host = :host, claimed_pid = :pid, claimed_at = (julianday('now') - 2440587.5) * 86400.0,
    lease = :lease, lease_expires_at = (julianday('now') - 2440587.5) * 86400.0 + min(:lease, coalesce(timeout, :lease)), updated_at = (julianday('now') - 2440587.5) * 86400.0
FROM ready WHERE tasks.id = ready.id;
INSERT INTO task_runs (token, task_id, agent, host, pid, claimed_at)
SELECT token, id, claimed_by, claimed_host, claimed_pid, claimed_at FROM tasks
WHERE token > (SELECT value FROM counters WHERE name = 'task_token') - :n;
SELECT id, token, queue, kind, payload, priority, attempts, max_attempts, lease_expires_at FROM tasks
WHERE token > (SELECT value FROM counters WHERE name = 'task_token') - :n
ORDER BY priority DESC, id

-- name: task_heartbeat
UPDATE tasks SET
    lease_expires_at = min((julianday('now') - 2440587.5) * 86400.0 + coalesce(:lease, lease), claimed_at + coalesce(timeout, 1e9)),
    updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE token = :token AND status = 'running' AND claimed_at + coalesce(timeout, 1e9) > (julianday('now') - 2440587.5) * 86400.0
RETURNING id, lease_expires_at

-- name: task_complete
UPDATE task_runs SET outcome = 'done', ended_at = (julianday('now') - 2440587.5) * 86400.0
WHERE token = :token AND EXISTS (SELECT 1 FROM tasks WHERE token = :token AND status = 'running');
-- (The task is found by a scalar subquery on its token, not a join: after ANALYZE, with few
-- dependencies in the table, SQLite planned that join as a scan of every task, on every completion.)
UPDATE tasks SET blocked_by = blocked_by - 1, updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE id IN (SELECT task_id FROM task_deps
             WHERE depends_on = (SELECT id FROM tasks WHERE token = :token AND status = 'running'));
UPDATE tasks SET status = 'done', result = :result, error = NULL, lease_expires_at = NULL,
    finished_at = (julianday('now') - 2440587.5) * 86400.0, updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE token = :token AND status = 'running'
RETURNING id

-- name: task_complete_many
-- Several completions in one transaction; :items is a JSON array of [token, result] pairs. As
-- task_complete, for each claim still running: its run closed, its dependents unblocked (by the
-- number of their dependencies done here), then the task done with its result. Tokens whose claim
-- is no longer running are left alone. Each task is found by its token (INDEXED BY: with few tasks
-- running, SQLite would rather walk them all and look each one up in the batch).
UPDATE task_runs SET outcome = 'done', ended_at = (julianday('now') - 2440587.5) * 86400.0
WHERE token IN (SELECT token FROM tasks INDEXED BY tasks_token WHERE status = 'running'
                AND token IN (SELECT json_extract(value, '$[0]') FROM json_each(:items)));
UPDATE tasks SET blocked_by = blocked_by - counted.n, updated_at = (julianday('now') - 2440587.5) * 86400.0
FROM (SELECT task_id, count(*) AS n FROM task_deps
      WHERE depends_on IN (SELECT id FROM tasks INDEXED BY tasks_token WHERE status = 'running'
                           AND token IN (SELECT json_extract(value, '$[0]') FROM json_each(:items)))
      GROUP BY task_id) AS counted
WHERE tasks.id = counted.task_id;
UPDATE tasks INDEXED BY tasks_token SET status = 'done', result = g.result, error = NULL, lease_expires_at = NULL,
    finished_at = (julianday('now') - 2440587.5) * 86400.0, updated_at = (julianday('now') - 2440587.5) * 86400.0
FROM (SELECT json_extract(value, '$[0]') AS token, json_extract(value, '$[1]') AS result
      FROM json_each(:items)) AS g
WHERE tasks.token = g.token AND tasks.status = 'running'
RETURNING tasks.token, tasks.id

-- name: task_fail
UPDATE task_runs SET outcome = 'failed', ended_at = (julianday('now') - 2440587.5) * 86400.0, error = :error
WHERE token = :token AND EXISTS (SELECT 1 FROM tasks WHERE token = :token AND status = 'running');
UPDATE tasks SET
    status = CASE WHEN :retry AND attempts < max_attempts THEN 'failed' ELSE 'dead' END,
    error = :error, lease_expires_at = NULL, updated_at = (julianday('now') - 2440587.5) * 86400.0,
    run_after = (julianday('now') - 2440587.5) * 86400.0 + min(:backoff * (1 << min(attempts - 1, 20)), 3600),
    finished_at = CASE WHEN :retry AND attempts < max_attempts THEN NULL ELSE (julianday('now') - 2440587.5) * 86400.0 END
WHERE token = :token AND status = 'running'
RETURNING id, status

-- name: task_release
UPDATE task_runs SET outcome = 'released', ended_at = (julianday('now') - 2440587.5) * 86400.0
WHERE token = :token AND EXISTS (SELECT 1 FROM tasks WHERE token = :token AND status = 'running');
UPDATE tasks SET status = 'pending', attempts = attempts - 1, lease_expires_at = NULL, updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE token = :token AND status = 'running'
RETURNING id

-- name: task_cancel
UPDATE task_runs SET outcome = 'cancelled', ended_at = (julianday('now') - 2440587.5) * 86400.0, error = :reason
WHERE outcome IS NULL AND token = (SELECT token FROM tasks WHERE project = :project AND id = :id AND status = 'running');
UPDATE tasks SET status = 'cancelled', error = :reason, lease_expires_at = NULL, finished_at = (julianday('now') - 2440587.5) * 86400.0, updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND id = :id AND status IN ('pending', 'failed', 'running')
RETURNING id

-- name: task_cascade
-- Cancel every waiting task that depends, directly or not, on a dead or cancelled task.
WITH RECURSIVE doomed(id) AS (
    SELECT d.task_id FROM task_deps d
    JOIN tasks dep ON dep.id = d.depends_on
    JOIN tasks t ON t.id = d.task_id
    WHERE dep.project = :project AND dep.status IN ('dead', 'cancelled') AND t.status IN ('pending', 'failed')
    UNION
    SELECT d.task_id FROM task_deps d JOIN doomed ON d.depends_on = doomed.id
)
UPDATE tasks SET status = 'cancelled', error = 'a task it depends on is dead or cancelled',
    finished_at = (julianday('now') - 2440587.5) * 86400.0, updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE id IN (SELECT id FROM doomed) AND status IN ('pending', 'failed')

-- name: task_lease_state
SELECT r.task_id, r.outcome, t.status, t.token, r.error, t.result FROM task_runs r
JOIN tasks t ON t.id = r.task_id WHERE r.token = :token

-- name: task_get
SELECT id, queue, kind, payload, target, capability, priority, status, run_after, max_attempts, attempts,
       timeout, idempotency_key, blocked_by, token, claimed_by, claimed_host, claimed_pid, claimed_at,
       lease_expires_at, result, error, created_at, finished_at,
       (SELECT json_group_array(depends_on) FROM (SELECT depends_on FROM task_deps
                                                  WHERE task_id = tasks.id ORDER BY depends_on))
FROM tasks WHERE project = :project AND id = :id

-- name: task_list
SELECT id, queue, kind, payload, target, capability, priority, status, run_after, max_attempts, attempts,
       timeout, idempotency_key, blocked_by, token, claimed_by, claimed_host, claimed_pid, claimed_at,
       lease_expires_at, result, error, created_at, finished_at,
       (SELECT json_group_array(depends_on) FROM (SELECT depends_on FROM task_deps
                                                  WHERE task_id = tasks.id ORDER BY depends_on))
FROM tasks
WHERE project = :project AND (:status IS NULL OR status = :status) AND (:queue IS NULL OR queue = :queue)
  AND (:agent IS NULL OR claimed_by = :agent) AND id > :after
ORDER BY id LIMIT :limit

-- name: task_runs
SELECT token, agent, host, pid, claimed_at, ended_at, outcome, error
FROM task_runs WHERE task_id = :id ORDER BY token

-- name: task_stats
SELECT queue,
       count(*) FILTER (WHERE status = 'pending'),
       count(*) FILTER (WHERE status IN ('pending', 'failed') AND blocked_by = 0 AND run_after <= (julianday('now') - 2440587.5) * 86400.0),
       count(*) FILTER (WHERE status = 'running'),
       count(*) FILTER (WHERE status = 'done'),
       count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'dead'),
       count(*) FILTER (WHERE status = 'cancelled')
FROM tasks WHERE project = :project GROUP BY queue ORDER BY queue

-- name: task_retry
-- A dead or failed task back to pending, ready now, with its attempts counted afresh.
UPDATE tasks SET status = 'pending', attempts = 0, error = NULL, result = NULL, finished_at = NULL,
    lease_expires_at = NULL, run_after = (julianday('now') - 2440587.5) * 86400.0,
    updated_at = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND id = :id AND status IN ('dead', 'failed')
RETURNING id
