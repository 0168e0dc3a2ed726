-- Workflow definitions, runs, phases, gate decisions, evaluations and outputs (docs/workflows.md).
-- The built-in events are written by the triggers of migration 0013. "Live claim": a task claim
-- whose token is the task's current one, still running, its lease not expired. Lease times are
-- compared with clock_timestamp(), as the queue does.

-- name: workflow_insert
-- Nothing comes back when another process stored this version first.
INSERT INTO roost.workflows (project, name, version, spec, created_at)
VALUES (%(project)s, %(name)s, %(version)s, %(spec)s, now())
ON CONFLICT (project, name, version) DO NOTHING
RETURNING id, name, version, spec, extract(epoch FROM created_at)::float8

-- name: workflow_get
SELECT id, name, version, spec, extract(epoch FROM created_at)::float8 FROM roost.workflows
WHERE project = %(project)s AND name = %(name)s AND (%(version)s::bigint IS NULL OR version = %(version)s::bigint)
ORDER BY version DESC LIMIT 1

-- name: workflow_list
SELECT DISTINCT ON (name) id, name, version, spec, extract(epoch FROM created_at)::float8 FROM roost.workflows
WHERE project = %(project)s ORDER BY name, version DESC

-- name: workflow_by_ids
SELECT id, name, version, spec, extract(epoch FROM created_at)::float8 FROM roost.workflows
WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text(%(ids)s::jsonb))

-- name: run_insert
-- The run and a pending row per phase (%(phases)s, a JSON array of [phase, position]).
WITH made AS (
    INSERT INTO roost.runs (project, workflow_id, workflow, workflow_version, subject_kind, subject_ref, variables,
                            status, phase, version, agent, created_at, updated_at)
    VALUES (%(project)s, %(workflow_id)s, %(workflow)s, %(workflow_version)s, %(subject_kind)s, %(subject_ref)s,
            %(variables)s, %(status)s, %(phase)s, 1, %(agent)s, now(), now())
    RETURNING *
), phases AS (
    INSERT INTO roost.run_phases (run_id, phase, position, status)
    SELECT made.id, e ->> 0, (e ->> 1)::integer, 'pending' FROM made, jsonb_array_elements(%(phases)s::jsonb) e
)
SELECT id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
       extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8,
       extract(epoch FROM finished_at)::float8, workflow_id
FROM made

-- name: run_get
SELECT id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
       extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8,
       extract(epoch FROM finished_at)::float8, workflow_id
FROM roost.runs WHERE project = %(project)s AND id = %(id)s

-- name: run_list
-- Newest first, every filter optional; %(ids)s (a JSON array) picks runs by id.
SELECT id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
       extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8,
       extract(epoch FROM finished_at)::float8, workflow_id
FROM roost.runs
WHERE project = %(project)s AND id < %(before)s
  AND (%(workflow)s::text IS NULL OR workflow = %(workflow)s::text)
  AND (%(statuses)s::jsonb IS NULL OR status IN (SELECT jsonb_array_elements_text(%(statuses)s::jsonb)))
  AND (%(subject_kind)s::text IS NULL OR (subject_kind = %(subject_kind)s::text AND subject_ref = %(subject_ref)s::text))
  AND (%(since)s::float8 IS NULL OR created_at >= to_timestamp(%(since)s::float8))
  AND (%(ids)s::jsonb IS NULL OR id IN (SELECT value::bigint FROM jsonb_array_elements_text(%(ids)s::jsonb)))
ORDER BY id DESC LIMIT %(limit)s

-- name: run_transition
-- Only from the states in %(from)s (a JSON array): the legal ones, narrowed to what the caller expected.
UPDATE roost.runs SET status = %(to)s, reason = %(reason)s, version = version + 1, updated_at = now(),
    finished_at = CASE WHEN %(to)s IN ('completed', 'failed', 'cancelled') THEN now() END
WHERE project = %(project)s AND id = %(id)s AND status IN (SELECT jsonb_array_elements_text(%(from)s::jsonb))
RETURNING id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
          extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8,
          extract(epoch FROM finished_at)::float8, workflow_id

-- name: run_advance
-- A compare-and-set on the run's version: nothing is written if anything changed the run since it was read.
UPDATE roost.runs SET status = %(status)s, phase = %(phase)s, reason = %(reason)s, version = version + 1,
    updated_at = now(), finished_at = CASE WHEN %(status)s = 'completed' THEN now() END
WHERE id = %(id)s AND version = %(version)s
RETURNING id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
          extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8,
          extract(epoch FROM finished_at)::float8, workflow_id

-- name: run_phase_gate
-- The phase's state and the latest gate decision on its current iteration (NULL: none).
SELECT status, iteration,
       (SELECT approved FROM roost.gate_decisions d WHERE d.run_id = p.run_id AND d.phase = p.phase
          AND d.iteration = p.iteration ORDER BY id DESC LIMIT 1)
FROM roost.run_phases p WHERE run_id = %(id)s AND phase = %(phase)s

-- name: run_phase_start
-- The next iteration, if the run is running (its row locked, so no transition slips in), the
-- claim (if any) is live, and the phase is not running and has iterations left, or is running
-- under an executor that is stale (claim lost, or no heartbeat for %(stale_after)s seconds): a
-- takeover. Then the run's current phase. FOR UPDATE, not FOR NO KEY UPDATE: the weaker lock lets
-- inserts of decisions and evaluations share the row (their foreign-key check), and updating a row
-- locked by several transactions at once can deadlock with a waiting phase start.
WITH r AS (
    SELECT id FROM roost.runs WHERE id = %(run)s AND project = %(project)s AND status = 'running' FOR UPDATE
), started AS (
    UPDATE roost.run_phases p SET status = 'running', iteration = p.iteration + 1, executor = %(executor)s,
        session = %(session)s, claim_token = %(claim)s, error = NULL, skip_reason = NULL, started_at = now(),
        finished_at = NULL, heartbeat_at = clock_timestamp()
    FROM r
    WHERE p.run_id = r.id AND p.phase = %(phase)s
      AND (%(claim)s::bigint IS NULL OR EXISTS (
            SELECT 1 FROM roost.tasks t WHERE t.token = %(claim)s::bigint AND t.project = %(project)s
              AND t.status = 'running' AND t.lease_expires_at > clock_timestamp()))
      AND ((p.status <> 'running' AND p.iteration < %(max_iterations)s::integer)
           OR (p.status = 'running' AND p.claim_token IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM roost.tasks t WHERE t.token = p.claim_token AND t.status = 'running'
                                 AND t.lease_expires_at > clock_timestamp()))
           OR (p.status = 'running' AND p.claim_token IS NULL
               AND p.heartbeat_at < clock_timestamp() - %(stale_after)s::float8 * interval '1 second'))
    RETURNING p.*
), moved AS (
    UPDATE roost.runs SET phase = %(phase)s, version = version + 1, updated_at = now()
    WHERE id IN (SELECT run_id FROM started)
)
SELECT run_id, phase, position, status, iteration, executor, session, claim_token, tokens, cost, error, skip_reason,
       extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8,
       extract(epoch FROM heartbeat_at)::float8
FROM started

-- name: run_phase_heartbeat
UPDATE roost.run_phases SET heartbeat_at = clock_timestamp()
WHERE run_id = %(run)s AND phase = %(phase)s AND status = 'running'
  AND claim_token IS NOT DISTINCT FROM %(claim)s::bigint
  AND (%(iteration)s::integer IS NULL OR iteration = %(iteration)s::integer)
  AND EXISTS (SELECT 1 FROM roost.runs r WHERE r.id = %(run)s AND r.project = %(project)s
                AND r.status IN ('running', 'paused', 'blocked'))
  AND (%(claim)s::bigint IS NULL OR EXISTS (
        SELECT 1 FROM roost.tasks t WHERE t.token = %(claim)s::bigint AND t.project = %(project)s
          AND t.status = 'running' AND t.lease_expires_at > clock_timestamp()))
RETURNING run_id, phase, position, status, iteration, executor, session, claim_token, tokens, cost, error,
          skip_reason, extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8,
          extract(epoch FROM heartbeat_at)::float8

-- name: run_phase_finish
-- Only the running iteration (or a pending phase, to skip it), by the same claim while it is live
-- and at %(iteration)s when given; tokens and cost add to the phase's totals.
UPDATE roost.run_phases SET status = %(status)s, tokens = tokens + %(tokens)s, cost = cost + %(cost)s::float8,
    error = %(error)s, skip_reason = %(skip_reason)s, finished_at = now(), heartbeat_at = clock_timestamp()
WHERE run_id = %(run)s AND phase = %(phase)s
  AND (status = 'running' OR (status = 'pending' AND %(status)s = 'skipped'))
  AND claim_token IS NOT DISTINCT FROM %(claim)s::bigint
  AND (%(iteration)s::integer IS NULL OR iteration = %(iteration)s::integer)
  AND EXISTS (SELECT 1 FROM roost.runs r WHERE r.id = %(run)s AND r.project = %(project)s
                AND r.status IN ('running', 'paused', 'blocked'))
  AND (%(claim)s::bigint IS NULL OR EXISTS (
        SELECT 1 FROM roost.tasks t WHERE t.token = %(claim)s::bigint AND t.project = %(project)s
          AND t.status = 'running' AND t.lease_expires_at > clock_timestamp()))
RETURNING run_id, phase, position, status, iteration, executor, session, claim_token, tokens, cost, error,
          skip_reason, extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8,
          extract(epoch FROM heartbeat_at)::float8

-- name: run_phase_state
-- Why a phase write was refused: the run's state, the phase's, and whether %(claim)s is live.
SELECT r.status, p.status, p.iteration, p.executor, p.claim_token,
       %(claim)s::bigint IS NOT NULL AND EXISTS (
           SELECT 1 FROM roost.tasks t WHERE t.token = %(claim)s::bigint AND t.project = %(project)s
             AND t.status = 'running' AND t.lease_expires_at > clock_timestamp())
FROM roost.runs r LEFT JOIN roost.run_phases p ON p.run_id = r.id AND p.phase = %(phase)s
WHERE r.id = %(run)s AND r.project = %(project)s

-- name: run_phases_stale
SELECT p.run_id, r.workflow, p.phase, p.iteration, p.executor, p.claim_token,
       CASE WHEN p.claim_token IS NOT NULL THEN 'claim lost' ELSE 'silent' END,
       extract(epoch FROM p.heartbeat_at)::float8, extract(epoch FROM p.started_at)::float8
FROM roost.run_phases p JOIN roost.runs r ON r.id = p.run_id
WHERE p.status = 'running' AND r.project = %(project)s AND r.status IN ('running', 'paused', 'blocked')
  AND ((p.claim_token IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM roost.tasks t WHERE t.token = p.claim_token AND t.status = 'running'
                          AND t.lease_expires_at > clock_timestamp()))
       OR (p.claim_token IS NULL
           AND p.heartbeat_at < clock_timestamp() - %(stale_after)s::float8 * interval '1 second'))
ORDER BY p.heartbeat_at, p.run_id LIMIT %(limit)s

-- name: gate_decide
INSERT INTO roost.gate_decisions (run_id, phase, iteration, approved, reason, decided_by, decided_at)
SELECT run_id, phase, iteration, %(approved)s, %(reason)s, %(decided_by)s, now() FROM roost.run_phases
WHERE run_id = %(run)s AND phase = %(phase)s AND iteration > 0
RETURNING id, run_id, phase, iteration, approved, reason, decided_by, extract(epoch FROM decided_at)::float8

-- name: evaluation_insert
-- Only for an iteration the phase has reached; nothing comes back if this reviewer evaluated it already.
INSERT INTO roost.evaluations (run_id, phase, iteration, reviewer, score, max_score, blockers, feedback, findings,
                               created_at)
SELECT run_id, phase, %(iteration)s, %(reviewer)s, %(score)s, %(max_score)s, %(blockers)s, %(feedback)s,
       %(findings)s, now()
FROM roost.run_phases WHERE run_id = %(run)s AND phase = %(phase)s AND iteration >= %(iteration)s
ON CONFLICT (run_id, phase, iteration, reviewer) DO NOTHING
RETURNING id, run_id, phase, iteration, reviewer, score, max_score, blockers, feedback, findings,
          extract(epoch FROM created_at)::float8

-- name: evaluation_get
SELECT id, run_id, phase, iteration, reviewer, score, max_score, blockers, feedback, findings,
       extract(epoch FROM created_at)::float8
FROM roost.evaluations
WHERE run_id = %(run)s AND phase = %(phase)s AND iteration = %(iteration)s AND reviewer = %(reviewer)s

-- name: evaluation_history
SELECT e.id, e.run_id, e.phase, e.iteration, e.reviewer, e.score, e.max_score, e.blockers, e.feedback, e.findings,
       extract(epoch FROM e.created_at)::float8
FROM roost.evaluations e JOIN roost.runs r ON r.id = e.run_id
WHERE r.project = %(project)s AND e.run_id = %(run)s AND e.phase = %(phase)s ORDER BY e.iteration, e.reviewer

-- name: run_artifact_version
SELECT version FROM roost.artifacts
WHERE project = %(project)s AND name = %(name)s AND (%(version)s::bigint IS NULL OR version = %(version)s::bigint)
ORDER BY version DESC LIMIT 1

-- name: run_output_insert
-- For %(iteration)s, or the phase's current one; nothing comes back if that iteration has this variable already.
INSERT INTO roost.run_outputs (run_id, phase, var, iteration, kind, content, sha256, size, agent, created_at)
SELECT run_id, phase, %(var)s, coalesce(%(iteration)s::integer, iteration), %(kind)s, %(content)s, %(sha256)s,
       %(size)s, %(agent)s, now()
FROM roost.run_phases
WHERE run_id = %(run)s AND phase = %(phase)s AND iteration > 0 AND iteration >= coalesce(%(iteration)s::integer, 1)
ON CONFLICT (run_id, phase, var, iteration) DO NOTHING
RETURNING id, run_id, phase, var, iteration, kind, content, sha256, size, agent, extract(epoch FROM created_at)::float8

-- name: run_output_get
SELECT id, run_id, phase, var, iteration, kind, content, sha256, size, agent, extract(epoch FROM created_at)::float8
FROM roost.run_outputs
WHERE run_id = %(run)s AND phase = %(phase)s AND var = %(var)s
  AND iteration = coalesce(%(iteration)s::integer,
                           (SELECT iteration FROM roost.run_phases WHERE run_id = %(run)s AND phase = %(phase)s))

-- name: run_outputs_latest
-- Each variable's newest output in the run (or in %(phase)s, or in its %(iteration)s).
SELECT DISTINCT ON (o.var) o.var, o.kind, o.content
FROM roost.run_outputs o JOIN roost.runs r ON r.id = o.run_id
WHERE r.project = %(project)s AND o.run_id = %(run)s AND (%(phase)s::text IS NULL OR o.phase = %(phase)s::text)
  AND (%(iteration)s::integer IS NULL OR o.iteration = %(iteration)s::integer)
ORDER BY o.var, o.id DESC

-- name: run_output_history
SELECT o.id, o.run_id, o.phase, o.var, o.iteration, o.kind, o.content, o.sha256, o.size, o.agent,
       extract(epoch FROM o.created_at)::float8
FROM roost.run_outputs o JOIN roost.runs r ON r.id = o.run_id
WHERE r.project = %(project)s AND o.run_id = %(run)s AND o.phase = %(phase)s AND o.var = %(var)s
ORDER BY o.iteration

-- name: run_load_phases
SELECT run_id, phase, position, status, iteration, executor, session, claim_token, tokens, cost, error, skip_reason,
       extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8,
       extract(epoch FROM heartbeat_at)::float8
FROM roost.run_phases WHERE run_id = ANY (ARRAY(SELECT value::bigint FROM jsonb_array_elements_text(%(ids)s::jsonb)))
ORDER BY run_id, position

-- name: run_load_decisions
SELECT id, run_id, phase, iteration, approved, reason, decided_by, extract(epoch FROM decided_at)::float8
FROM roost.gate_decisions
WHERE run_id = ANY (ARRAY(SELECT value::bigint FROM jsonb_array_elements_text(%(ids)s::jsonb))) ORDER BY id

-- name: run_load_evaluations
-- Each reviewer's evaluation of the latest iteration they reviewed, per run and phase.
SELECT DISTINCT ON (run_id, phase, reviewer) id, run_id, phase, iteration, reviewer, score, max_score, blockers,
       feedback, findings, extract(epoch FROM created_at)::float8
FROM roost.evaluations
WHERE run_id = ANY (ARRAY(SELECT value::bigint FROM jsonb_array_elements_text(%(ids)s::jsonb)))
ORDER BY run_id, phase, reviewer, iteration DESC

-- name: run_load_outputs
SELECT DISTINCT ON (run_id, var) run_id, var, kind, content
FROM roost.run_outputs
WHERE run_id = ANY (ARRAY(SELECT value::bigint FROM jsonb_array_elements_text(%(ids)s::jsonb)))
ORDER BY run_id, var, id DESC
