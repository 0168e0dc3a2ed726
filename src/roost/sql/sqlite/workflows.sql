-- Workflow definitions, runs, phases, gate decisions, evaluations and outputs (docs/workflows.md).
-- The built-in events are written by the triggers of migration 0013. "Live claim": a task claim
-- whose token is the task's current one, still running, its lease not expired.

-- name: workflow_insert
-- Nothing comes back when another process stored this version first.
INSERT INTO workflows (project, name, version, spec, created_at)
VALUES (:project, :name, :version, :spec, (julianday('now') - 2440587.5) * 86400.0)
ON CONFLICT (project, name, version) DO NOTHING
RETURNING id, name, version, spec, created_at

-- name: workflow_get
SELECT id, name, version, spec, created_at FROM workflows
WHERE project = :project AND name = :name AND (:version IS NULL OR version = :version)
ORDER BY version DESC LIMIT 1

-- name: workflow_list
SELECT id, name, version, spec, created_at FROM workflows w
WHERE project = :project AND version = (SELECT max(version) FROM workflows x WHERE x.project = w.project AND x.name = w.name)
ORDER BY name

-- name: workflow_by_ids
SELECT id, name, version, spec, created_at FROM workflows WHERE id IN (SELECT value FROM json_each(:ids))

-- name: run_insert
-- The run, then a pending row per phase (:phases, a JSON array of [phase, position]); inside this
-- block's write transaction the newest run id is this run's.
INSERT INTO runs (project, workflow_id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase,
                  version, agent, created_at, updated_at)
VALUES (:project, :workflow_id, :workflow, :workflow_version, :subject_kind, :subject_ref, :variables, :status, :phase,
        1, :agent, (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0);
INSERT INTO run_phases (run_id, phase, position, status)
SELECT (SELECT max(id) FROM runs), value ->> 0, value ->> 1, 'pending' FROM json_each(:phases);
SELECT id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
       created_at, updated_at, finished_at, workflow_id
FROM runs WHERE id = (SELECT max(id) FROM runs)

-- name: run_get
SELECT id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
       created_at, updated_at, finished_at, workflow_id
FROM runs WHERE project = :project AND id = :id

-- name: run_list
-- Newest first, every filter optional; :ids (a JSON array) picks runs by id.
SELECT id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
       created_at, updated_at, finished_at, workflow_id
FROM runs
WHERE project = :project AND id < :before
  AND (:workflow IS NULL OR workflow = :workflow)
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:subject_kind IS NULL OR (subject_kind = :subject_kind AND subject_ref = :subject_ref))
  AND (:since IS NULL OR created_at >= :since)
  AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)))
ORDER BY id DESC LIMIT :limit

-- name: run_transition
-- Only from the states in :from (a JSON array): the legal ones, narrowed to what the caller expected.
UPDATE runs SET status = :to, reason = :reason, version = version + 1, updated_at = (julianday('now') - 2440587.5) * 86400.0,
    finished_at = CASE WHEN :to IN ('completed', 'failed', 'cancelled') THEN (julianday('now') - 2440587.5) * 86400.0 END
WHERE project = :project AND id = :id AND status IN (SELECT value FROM json_each(:from))
RETURNING id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
          created_at, updated_at, finished_at, workflow_id

-- name: run_advance
-- A compare-and-set on the run's version: nothing is written if anything changed the run since it was read.
UPDATE runs SET status = :status, phase = :phase, reason = :reason, version = version + 1, updated_at = (julianday('now') - 2440587.5) * 86400.0,
    finished_at = CASE WHEN :status = 'completed' THEN (julianday('now') - 2440587.5) * 86400.0 END
WHERE id = :id AND version = :version
RETURNING id, workflow, workflow_version, subject_kind, subject_ref, variables, status, phase, reason, version, agent,
          created_at, updated_at, finished_at, workflow_id

-- name: run_phase_gate
-- The phase's state and the latest gate decision on its current iteration (NULL: none).
SELECT status, iteration,
       (SELECT approved FROM gate_decisions d WHERE d.run_id = p.run_id AND d.phase = p.phase
          AND d.iteration = p.iteration ORDER BY id DESC LIMIT 1)
FROM run_phases p WHERE run_id = :id AND phase = :phase

-- name: run_phase_start
-- The next iteration, if the run is running, the claim (if any) is live, and the phase is not
-- running and has iterations left, or is running under an executor that is stale (claim lost, or
-- no heartbeat for :stale_after seconds): a takeover. Then the run's current phase.
UPDATE run_phases SET status = 'running', iteration = iteration + 1, executor = :executor, session = :session,
    claim_token = :claim, error = NULL, skip_reason = NULL, started_at = (julianday('now') - 2440587.5) * 86400.0, finished_at = NULL, heartbeat_at = (julianday('now') - 2440587.5) * 86400.0
WHERE run_id = :run AND phase = :phase
  AND EXISTS (SELECT 1 FROM runs r WHERE r.id = :run AND r.project = :project AND r.status = 'running')
  AND (:claim IS NULL OR EXISTS (SELECT 1 FROM tasks t WHERE t.token = :claim AND t.project = :project
                                   AND t.status = 'running' AND t.lease_expires_at > (julianday('now') - 2440587.5) * 86400.0))
  AND ((status <> 'running' AND iteration < :max_iterations)
       OR (status = 'running' AND claim_token IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.token = run_phases.claim_token AND t.status = 'running'
                             AND t.lease_expires_at > (julianday('now') - 2440587.5) * 86400.0))
       OR (status = 'running' AND claim_token IS NULL AND heartbeat_at < (julianday('now') - 2440587.5) * 86400.0 - :stale_after));
UPDATE runs SET phase = :phase, version = version + 1, updated_at = (julianday('now') - 2440587.5) * 86400.0 WHERE id = :run AND changes() > 0;
SELECT run_id, phase, position, status, iteration, executor, session, claim_token, tokens, cost, error, skip_reason,
       started_at, finished_at, heartbeat_at
FROM run_phases WHERE run_id = :run AND phase = :phase AND changes() > 0

-- name: run_phase_heartbeat
UPDATE run_phases SET heartbeat_at = (julianday('now') - 2440587.5) * 86400.0
WHERE run_id = :run AND phase = :phase AND status = 'running' AND claim_token IS :claim
  AND (:iteration IS NULL OR iteration = :iteration)
  AND EXISTS (SELECT 1 FROM runs r WHERE r.id = :run AND r.project = :project
                AND r.status IN ('running', 'paused', 'blocked'))
  AND (:claim IS NULL OR EXISTS (SELECT 1 FROM tasks t WHERE t.token = :claim AND t.project = :project
                                   AND t.status = 'running' AND t.lease_expires_at > (julianday('now') - 2440587.5) * 86400.0))
RETURNING run_id, phase, position, status, iteration, executor, session, claim_token, tokens, cost, error,
          skip_reason, started_at, finished_at, heartbeat_at

-- name: run_phase_finish
-- Only the running iteration (or a pending phase, to skip it), by the same claim while it is live
-- and at :iteration when given; tokens and cost add to the phase's totals.
UPDATE run_phases SET status = :status, tokens = tokens + :tokens, cost = cost + :cost, error = :error,
    skip_reason = :skip_reason, finished_at = (julianday('now') - 2440587.5) * 86400.0, heartbeat_at = (julianday('now') - 2440587.5) * 86400.0
WHERE run_id = :run AND phase = :phase
  AND (status = 'running' OR (status = 'pending' AND :status = 'skipped'))
  AND claim_token IS :claim
  AND (:iteration IS NULL OR iteration = :iteration)
  AND EXISTS (SELECT 1 FROM runs r WHERE r.id = :run AND r.project = :project
                AND r.status IN ('running', 'paused', 'blocked'))
  AND (:claim IS NULL OR EXISTS (SELECT 1 FROM tasks t WHERE t.token = :claim AND t.project = :project
                                   AND t.status = 'running' AND t.lease_expires_at > (julianday('now') - 2440587.5) * 86400.0))
RETURNING run_id, phase, position, status, iteration, executor, session, claim_token, tokens, cost, error,
          skip_reason, started_at, finished_at, heartbeat_at

-- name: run_phase_state
-- Why a phase write was refused: the run's state, the phase's, and whether :claim is live.
SELECT r.status, p.status, p.iteration, p.executor, p.claim_token,
       :claim IS NOT NULL AND EXISTS (SELECT 1 FROM tasks t WHERE t.token = :claim AND t.project = :project
                                        AND t.status = 'running' AND t.lease_expires_at > (julianday('now') - 2440587.5) * 86400.0)
FROM runs r LEFT JOIN run_phases p ON p.run_id = r.id AND p.phase = :phase
WHERE r.id = :run AND r.project = :project

-- name: run_phases_stale
SELECT p.run_id, r.workflow, p.phase, p.iteration, p.executor, p.claim_token,
       CASE WHEN p.claim_token IS NOT NULL THEN 'claim lost' ELSE 'silent' END, p.heartbeat_at, p.started_at
FROM run_phases p JOIN runs r ON r.id = p.run_id
WHERE p.status = 'running' AND r.project = :project AND r.status IN ('running', 'paused', 'blocked')
  AND ((p.claim_token IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.token = p.claim_token AND t.status = 'running'
                          AND t.lease_expires_at > (julianday('now') - 2440587.5) * 86400.0))
       OR (p.claim_token IS NULL AND p.heartbeat_at < (julianday('now') - 2440587.5) * 86400.0 - :stale_after))
ORDER BY p.heartbeat_at, p.run_id LIMIT :limit

-- name: gate_decide
INSERT INTO gate_decisions (run_id, phase, iteration, approved, reason, decided_by, decided_at)
SELECT run_id, phase, iteration, :approved, :reason, :decided_by, (julianday('now') - 2440587.5) * 86400.0 FROM run_phases
WHERE run_id = :run AND phase = :phase AND iteration > 0
RETURNING id, run_id, phase, iteration, approved, reason, decided_by, decided_at

-- name: evaluation_insert
-- Only for an iteration the phase has reached; nothing comes back if this reviewer evaluated it already.
INSERT INTO evaluations (run_id, phase, iteration, reviewer, score, max_score, blockers, feedback, findings, created_at)
SELECT run_id, phase, :iteration, :reviewer, :score, :max_score, :blockers, :feedback, :findings, (julianday('now') - 2440587.5) * 86400.0
FROM run_phases WHERE run_id = :run AND phase = :phase AND iteration >= :iteration
ON CONFLICT (run_id, phase, iteration, reviewer) DO NOTHING
RETURNING id, run_id, phase, iteration, reviewer, score, max_score, blockers, feedback, findings, created_at

-- name: evaluation_get
SELECT id, run_id, phase, iteration, reviewer, score, max_score, blockers, feedback, findings, created_at
FROM evaluations WHERE run_id = :run AND phase = :phase AND iteration = :iteration AND reviewer = :reviewer

-- name: evaluation_history
SELECT e.id, e.run_id, e.phase, e.iteration, e.reviewer, e.score, e.max_score, e.blockers, e.feedback, e.findings,
       e.created_at
FROM evaluations e JOIN runs r ON r.id = e.run_id
WHERE r.project = :project AND e.run_id = :run AND e.phase = :phase ORDER BY e.iteration, e.reviewer

-- name: run_artifact_version
SELECT version FROM artifacts WHERE project = :project AND name = :name AND (:version IS NULL OR version = :version)
ORDER BY version DESC LIMIT 1

-- name: run_output_insert
-- For :iteration, or the phase's current one; nothing comes back if that iteration has this variable already.
INSERT INTO run_outputs (run_id, phase, var, iteration, kind, content, sha256, size, agent, created_at)
SELECT run_id, phase, :var, coalesce(:iteration, iteration), :kind, :content, :sha256, :size, :agent, (julianday('now') - 2440587.5) * 86400.0
FROM run_phases WHERE run_id = :run AND phase = :phase AND iteration > 0 AND iteration >= coalesce(:iteration, 1)
ON CONFLICT (run_id, phase, var, iteration) DO NOTHING
RETURNING id, run_id, phase, var, iteration, kind, content, sha256, size, agent, created_at

-- name: run_output_get
SELECT id, run_id, phase, var, iteration, kind, content, sha256, size, agent, created_at FROM run_outputs
WHERE run_id = :run AND phase = :phase AND var = :var
  AND iteration = coalesce(:iteration, (SELECT iteration FROM run_phases WHERE run_id = :run AND phase = :phase))

-- name: run_outputs_latest
-- Each variable's newest output in the run (or in :phase, or in its :iteration).
SELECT var, kind, content FROM (
    SELECT o.var, o.kind, o.content, row_number() OVER (PARTITION BY o.var ORDER BY o.id DESC) AS n
    FROM run_outputs o JOIN runs r ON r.id = o.run_id
    WHERE r.project = :project AND o.run_id = :run AND (:phase IS NULL OR o.phase = :phase)
      AND (:iteration IS NULL OR o.iteration = :iteration)
) latest WHERE n = 1 ORDER BY var

-- name: run_output_history
SELECT o.id, o.run_id, o.phase, o.var, o.iteration, o.kind, o.content, o.sha256, o.size, o.agent, o.created_at
FROM run_outputs o JOIN runs r ON r.id = o.run_id
WHERE r.project = :project AND o.run_id = :run AND o.phase = :phase AND o.var = :var ORDER BY o.iteration

-- name: run_load_phases
SELECT run_id, phase, position, status, iteration, executor, session, claim_token, tokens, cost, error, skip_reason,
       started_at, finished_at, heartbeat_at
FROM run_phases WHERE run_id IN (SELECT value FROM json_each(:ids)) ORDER BY run_id, position

-- name: run_load_decisions
SELECT id, run_id, phase, iteration, approved, reason, decided_by, decided_at FROM gate_decisions
WHERE run_id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: run_load_evaluations
-- Each reviewer's evaluation of the latest iteration they reviewed, per run and phase.
SELECT id, run_id, phase, iteration, reviewer, score, max_score, blockers, feedback, findings, created_at FROM (
    SELECT e.*, row_number() OVER (PARTITION BY run_id, phase, reviewer ORDER BY iteration DESC) AS n
    FROM evaluations e WHERE run_id IN (SELECT value FROM json_each(:ids))
) latest WHERE n = 1 ORDER BY run_id, phase, reviewer

-- name: run_load_outputs
SELECT run_id, var, kind, content FROM (
    SELECT o.run_id, o.var, o.kind, o.content, row_number() OVER (PARTITION BY run_id, var ORDER BY id DESC) AS n
    FROM run_outputs o WHERE run_id IN (SELECT value FROM json_each(:ids))
) latest WHERE n = 1 ORDER BY run_id, var
