-- Retention (roost.maintenance): per step, a count of what the policy would remove and a delete of
-- at most %(batch)s such rows. Each delete is one short statement whose rows are locked with SKIP
-- LOCKED, so it never waits for a writer and a writer waits at most one batch. %(age)s and %(keep)s
-- come from the settings; 0 turns a step off before it reaches SQL.

-- name: retention_signals_count
SELECT count(*) FROM roost.signals
WHERE project = %(project)s
  AND (expires_at <= now() OR (NOT critical AND updated_at < now() - %(age)s::float8 * interval '1 second'))

-- name: retention_signals
-- Expired signals, and non-critical ones (tombstones included) not written for age seconds.
DELETE FROM roost.signals WHERE project = %(project)s AND key IN (
    SELECT key FROM roost.signals
    WHERE project = %(project)s
      AND (expires_at <= now() OR (NOT critical AND updated_at < now() - %(age)s::float8 * interval '1 second'))
    LIMIT %(batch)s FOR UPDATE SKIP LOCKED)

-- name: retention_lock_holders_count
SELECT count(*) FROM roost.lock_holders h
WHERE h.project = %(project)s
  AND (h.expires_at <= now()
       OR NOT EXISTS (SELECT 1 FROM roost.locks l WHERE l.project = h.project AND l.name = h.name AND l.epoch <= h.token))

-- name: retention_lock_holders
-- Holder rows that are expired or belong to a holding that ended.
DELETE FROM roost.lock_holders WHERE (project, name, token) IN (
    SELECT h.project, h.name, h.token FROM roost.lock_holders h
    WHERE h.project = %(project)s
      AND (h.expires_at <= now()
           OR NOT EXISTS (SELECT 1 FROM roost.locks l
                          WHERE l.project = h.project AND l.name = h.name AND l.epoch <= h.token))
    LIMIT %(batch)s FOR UPDATE OF h SKIP LOCKED)

-- name: retention_locks_count
SELECT count(*) FROM roost.locks
WHERE project = %(project)s
  AND expires_at <= now() - %(age)s::float8 * interval '1 second'
  AND changed_at <= now() - %(age)s::float8 * interval '1 second'

-- name: retention_locks
-- Locks free and untouched for age seconds (at least an hour, far beyond any statement, so no
-- acquire that saw the old row can still be running). Tokens come from a sequence, so a lock of
-- the same name created later still issues larger ones.
DELETE FROM roost.locks WHERE project = %(project)s AND name IN (
    SELECT name FROM roost.locks
    WHERE project = %(project)s
      AND expires_at <= now() - %(age)s::float8 * interval '1 second'
      AND changed_at <= now() - %(age)s::float8 * interval '1 second'
    LIMIT %(batch)s FOR UPDATE SKIP LOCKED)

-- name: retention_agents_count
SELECT count(*) FROM roost.agents
WHERE project = %(project)s AND heartbeat_at < now() - %(age)s::float8 * interval '1 second'

-- name: retention_agents
-- Agents not heard from for age seconds (a returning agent registers again).
DELETE FROM roost.agents WHERE project = %(project)s AND name IN (
    SELECT name FROM roost.agents
    WHERE project = %(project)s AND heartbeat_at < now() - %(age)s::float8 * interval '1 second'
    LIMIT %(batch)s FOR UPDATE SKIP LOCKED)

-- name: retention_audit_count
SELECT count(*) FROM roost.audit_log
WHERE project = %(project)s AND at < now() - %(age)s::float8 * interval '1 second'

-- name: retention_audit
DELETE FROM roost.audit_log WHERE id IN (
    SELECT id FROM roost.audit_log
    WHERE project = %(project)s AND at < now() - %(age)s::float8 * interval '1 second'
      AND id > %(after)s
    ORDER BY project, id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: retention_tasks_count
SELECT count(*) FROM roost.tasks
WHERE project = %(project)s AND status IN ('done', 'dead', 'cancelled')
  AND finished_at <= now() - %(age)s::float8 * interval '1 second'

-- name: retention_tasks
-- Finished tasks (done, dead, cancelled; never pending, running or failed-awaiting-retry), with
-- their dependency rows and claim history (ON DELETE CASCADE).
DELETE FROM roost.tasks WHERE id IN (
    SELECT id FROM roost.tasks
    WHERE project = %(project)s AND status IN ('done', 'dead', 'cancelled')
      AND finished_at <= now() - %(age)s::float8 * interval '1 second'
      AND id > %(after)s
    ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: retention_claims_count
SELECT count(*) FROM roost.task_runs r JOIN roost.tasks t ON t.id = r.task_id
WHERE t.project = %(project)s AND r.ended_at < now() - %(age)s::float8 * interval '1 second'

-- name: retention_claims
-- Ended claims of tasks that are still kept (a retried task's earlier attempts); a live claim has
-- no ended_at and is never touched.
DELETE FROM roost.task_runs WHERE token IN (
    SELECT r.token FROM roost.task_runs r JOIN roost.tasks t ON t.id = r.task_id
    WHERE t.project = %(project)s AND r.ended_at < now() - %(age)s::float8 * interval '1 second'
      AND r.token > %(after)s
    ORDER BY r.token LIMIT %(batch)s FOR UPDATE OF r SKIP LOCKED)
RETURNING token

-- name: retention_events_count
SELECT count(*) FROM roost.events
WHERE project = %(project)s AND created_at <= now() - %(age)s::float8 * interval '1 second'
  AND position < (SELECT max(position) FROM roost.events)

-- name: retention_events
-- Never the newest event of the database (SQLite needs that to never reuse a position; the same
-- rule here keeps the two backends alike).
DELETE FROM roost.events WHERE position IN (
    SELECT position FROM roost.events
    WHERE project = %(project)s AND created_at <= now() - %(age)s::float8 * interval '1 second'
      AND position < (SELECT max(position) FROM roost.events)
      AND position > %(after)s
    ORDER BY position LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING position

-- name: retention_observations_count
SELECT count(*) FROM roost.observations
WHERE project = %(project)s AND created_at <= now() - %(age)s::float8 * interval '1 second'

-- name: retention_observations
DELETE FROM roost.observations WHERE id IN (
    SELECT id FROM roost.observations
    WHERE project = %(project)s AND created_at <= now() - %(age)s::float8 * interval '1 second'
      AND id > %(after)s
    ORDER BY project, id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: retention_observation_agents_count
SELECT count(*) FROM roost.observation_agents WHERE project = %(project)s AND count <= 0

-- name: retention_observation_agents
-- An agent's counter row once all its observations are gone.
DELETE FROM roost.observation_agents WHERE project = %(project)s AND agent IN (
    SELECT agent FROM roost.observation_agents WHERE project = %(project)s AND count <= 0
    LIMIT %(batch)s FOR UPDATE SKIP LOCKED)

-- name: retention_transcripts_count
SELECT count(*) FROM roost.transcript_entries e
JOIN roost.sessions s ON s.project = e.project AND s.id = e.session_id
WHERE s.project = %(project)s AND s.status IN ('completed', 'archived')
  AND s.last_activity < now() - %(age)s::float8 * interval '1 second'

-- name: retention_transcripts
-- The transcript of a session completed or archived and quiet for age seconds; the session, its
-- memories and its counters stay.
DELETE FROM roost.transcript_entries WHERE id IN (
    SELECT e.id FROM roost.sessions s
    JOIN roost.transcript_entries e ON e.project = s.project AND e.session_id = s.id
    WHERE s.project = %(project)s AND s.status IN ('completed', 'archived')
      AND s.last_activity < now() - %(age)s::float8 * interval '1 second'
      AND e.id > %(after)s
    ORDER BY e.id LIMIT %(batch)s FOR UPDATE OF e SKIP LOCKED)
RETURNING id

-- name: retention_artifact_versions_count
SELECT count(*) FROM roost.artifacts a JOIN roost.artifact_names n ON n.project = a.project AND n.name = a.name
WHERE a.project = %(project)s AND a.version <= n.latest - %(keep)s

-- name: retention_artifact_versions
-- Versions older than the newest keep of their name (the latest is never among them).
DELETE FROM roost.artifacts WHERE id IN (
    SELECT a.id FROM roost.artifacts a JOIN roost.artifact_names n ON n.project = a.project AND n.name = a.name
    WHERE a.project = %(project)s AND a.version <= n.latest - %(keep)s
      AND a.id > %(after)s
    ORDER BY a.id LIMIT %(batch)s FOR UPDATE OF a SKIP LOCKED)
RETURNING id

-- name: retention_artifact_blobs_count
SELECT count(*) FROM roost.artifact_blobs b
WHERE b.project = %(project)s AND b.sha256 IS NOT NULL AND b.touched_at < now()
  AND NOT EXISTS (SELECT 1 FROM roost.artifacts a WHERE a.blob_id = b.id)

-- name: retention_artifact_blobs
-- Stored content no version points at any more, with its chunks. A blob being reused now was
-- touched by that put (blob_touch) after this statement began, so the recheck after its lock
-- leaves it alone.
DELETE FROM roost.artifact_blobs b WHERE b.touched_at < now() AND b.id IN (
    SELECT c.id FROM roost.artifact_blobs c
    WHERE c.project = %(project)s AND c.sha256 IS NOT NULL AND c.touched_at < now()
      AND NOT EXISTS (SELECT 1 FROM roost.artifacts a WHERE a.blob_id = c.id)
      AND c.id > %(after)s
    ORDER BY c.id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: retention_artifact_uploads_count
SELECT count(*) FROM roost.artifact_blobs
WHERE project = %(project)s AND sha256 IS NULL AND touched_at <= now() - %(age)s::float8 * interval '1 second'

-- name: retention_artifact_uploads
-- Uploads not finished and not written to for age seconds: their writer died.
DELETE FROM roost.artifact_blobs WHERE id IN (
    SELECT id FROM roost.artifact_blobs
    WHERE project = %(project)s AND sha256 IS NULL
      AND touched_at <= now() - %(age)s::float8 * interval '1 second'
      AND id > %(after)s
    ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: retention_document_history_count
SELECT count(*) FROM roost.document_history h
JOIN roost.documents d ON d.id = h.document_id JOIN roost.doc_collections c ON c.id = d.collection_id
WHERE c.project = %(project)s AND h.at < now() - %(age)s::float8 * interval '1 second'

-- name: retention_document_history
-- Earlier versions older than age seconds (each collection's `history` count bounds them at every
-- write already); a document itself is never removed.
DELETE FROM roost.document_history WHERE (document_id, version) IN (
    SELECT h.document_id, h.version FROM roost.document_history h
    JOIN roost.documents d ON d.id = h.document_id JOIN roost.doc_collections c ON c.id = d.collection_id
    WHERE c.project = %(project)s AND h.at < now() - %(age)s::float8 * interval '1 second'
    LIMIT %(batch)s FOR UPDATE OF h SKIP LOCKED)

-- name: retention_runs_count
SELECT count(*) FROM roost.runs
WHERE project = %(project)s AND status IN ('completed', 'failed', 'cancelled')
  AND finished_at <= now() - %(age)s::float8 * interval '1 second'

-- name: retention_runs
-- Finished runs with their phases, gate decisions, evaluations and outputs (ON DELETE CASCADE).
DELETE FROM roost.runs WHERE id IN (
    SELECT id FROM roost.runs
    WHERE project = %(project)s AND status IN ('completed', 'failed', 'cancelled')
      AND finished_at <= now() - %(age)s::float8 * interval '1 second'
      AND id > %(after)s
    ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: cleanup_state_get
-- Before its first pass a project counts as clean when it was created.
SELECT extract(epoch FROM s.started_at)::float8, extract(epoch FROM coalesce(s.finished_at, p.created_at))::float8,
       coalesce(s.passes, 0), s.last_by, coalesce(s.removed, '{}'), extract(epoch FROM clock_timestamp())::float8
FROM roost.projects p LEFT JOIN roost.cleanup_state s ON s.project = p.name
WHERE p.name = %(project)s

-- name: cleanup_state_started
INSERT INTO roost.cleanup_state (project, started_at, finished_at, last_by)
SELECT name, clock_timestamp(), created_at, %(by)s FROM roost.projects WHERE name = %(project)s
ON CONFLICT (project) DO UPDATE SET started_at = excluded.started_at, last_by = excluded.last_by

-- name: cleanup_state_finished
UPDATE roost.cleanup_state
SET finished_at = clock_timestamp(), passes = passes + 1, last_by = %(by)s, removed = %(removed)s
WHERE project = %(project)s

-- name: retention_lg_checkpoints_count
SELECT count(*) FROM (
    SELECT row_number() OVER (PARTITION BY thread_id, checkpoint_ns ORDER BY checkpoint_id DESC) AS n
    FROM roost.lg_checkpoints
    WHERE project = %(project)s AND thread_id NOT IN (
        SELECT thread_id FROM roost.lg_checkpoints WHERE project = %(project)s
          AND (metadata ? 'counters_since_delta_snapshot' OR metadata ? 'delta_writes_versioned'))) r
WHERE n > %(keep)s

-- name: retention_lg_checkpoints
-- LangGraph checkpoints beyond the newest keep of each thread and namespace (their writes go by
-- trigger). Threads using a DeltaChannel are left alone: their latest value is rebuilt from older ones.
DELETE FROM roost.lg_checkpoints WHERE (project, thread_id, checkpoint_ns, checkpoint_id) IN (
    SELECT project, thread_id, checkpoint_ns, checkpoint_id FROM (
        SELECT project, thread_id, checkpoint_ns, checkpoint_id,
               row_number() OVER (PARTITION BY thread_id, checkpoint_ns ORDER BY checkpoint_id DESC) AS n
        FROM roost.lg_checkpoints
        WHERE project = %(project)s AND thread_id NOT IN (
            SELECT thread_id FROM roost.lg_checkpoints WHERE project = %(project)s
              AND (metadata ? 'counters_since_delta_snapshot' OR metadata ? 'delta_writes_versioned'))) r
    WHERE n > %(keep)s LIMIT %(batch)s)

-- name: retention_lg_threads_count
SELECT count(*) FROM roost.lg_checkpoints
WHERE project = %(project)s AND thread_id IN (
    SELECT thread_id FROM roost.lg_checkpoints WHERE project = %(project)s GROUP BY thread_id
    HAVING max(created_at) <= clock_timestamp() - %(age)s::float8 * interval '1 second')

-- name: retention_lg_threads
-- Whole LangGraph threads whose newest checkpoint is older than age.
DELETE FROM roost.lg_checkpoints WHERE (project, thread_id, checkpoint_ns, checkpoint_id) IN (
    SELECT project, thread_id, checkpoint_ns, checkpoint_id FROM roost.lg_checkpoints
    WHERE project = %(project)s AND thread_id IN (
        SELECT thread_id FROM roost.lg_checkpoints WHERE project = %(project)s GROUP BY thread_id
        HAVING max(created_at) <= clock_timestamp() - %(age)s::float8 * interval '1 second')
    LIMIT %(batch)s)

-- name: retention_lg_blobs_count
SELECT count(*) FROM roost.lg_blobs b
WHERE b.project = %(project)s
  AND NOT EXISTS (SELECT 1 FROM roost.lg_checkpoints c
                  WHERE c.project = b.project AND c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
                    AND c.versions ->> b.channel = b.version)

-- name: retention_lg_blobs
-- Channel values no checkpoint points at any more.
DELETE FROM roost.lg_blobs WHERE (project, thread_id, checkpoint_ns, channel, version) IN (
    SELECT b.project, b.thread_id, b.checkpoint_ns, b.channel, b.version FROM roost.lg_blobs b
    WHERE b.project = %(project)s
      AND NOT EXISTS (SELECT 1 FROM roost.lg_checkpoints c
                      WHERE c.project = b.project AND c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
                        AND c.versions ->> b.channel = b.version)
    LIMIT %(batch)s)

-- name: retention_lg_items_count
SELECT count(*) FROM roost.lg_items WHERE project = %(project)s AND expires_at <= clock_timestamp()

-- name: retention_lg_items
-- LangGraph store items whose time to live ran out (reads stopped returning them then).
DELETE FROM roost.lg_items WHERE (project, namespace, key) IN (
    SELECT project, namespace, key FROM roost.lg_items
    WHERE project = %(project)s AND expires_at <= clock_timestamp()
    LIMIT %(batch)s)
