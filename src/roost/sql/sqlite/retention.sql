-- Retention (roost.maintenance): per step, a count of what the policy would remove and a delete of
-- at most :batch such rows. Each delete is one short statement (the step's lock-floor update
-- aside), so a writer waits at most one batch. :age and :keep come from the settings; 0 turns a
-- step off before it reaches SQL. Each batch deletes by primary key the rows its sub-select chose.

-- name: retention_signals_count
SELECT count(*) FROM signals
WHERE project = :project
  AND (expires_at <= (julianday('now') - 2440587.5) * 86400.0
       OR (NOT critical AND updated_at < (julianday('now') - 2440587.5) * 86400.0 - :age))

-- name: retention_signals
-- Expired signals, and non-critical ones (tombstones included) not written for :age seconds.
DELETE FROM signals WHERE project = :project AND key IN (
    SELECT key FROM signals
    WHERE project = :project
      AND (expires_at <= (julianday('now') - 2440587.5) * 86400.0
           OR (NOT critical AND updated_at < (julianday('now') - 2440587.5) * 86400.0 - :age))
    LIMIT :batch)

-- name: retention_lock_holders_count
SELECT count(*) FROM lock_holders h
WHERE h.project = :project
  AND (h.expires_at <= (julianday('now') - 2440587.5) * 86400.0
       OR NOT EXISTS (SELECT 1 FROM locks l WHERE l.project = h.project AND l.name = h.name AND l.epoch <= h.token))

-- name: retention_lock_holders
-- Holder rows that are expired or belong to a holding that ended.
DELETE FROM lock_holders WHERE (project, name, token) IN (
    SELECT h.project, h.name, h.token FROM lock_holders h
    WHERE h.project = :project
      AND (h.expires_at <= (julianday('now') - 2440587.5) * 86400.0
           OR NOT EXISTS (SELECT 1 FROM locks l
                          WHERE l.project = h.project AND l.name = h.name AND l.epoch <= h.token))
    LIMIT :batch)

-- name: retention_locks_count
SELECT count(*) FROM locks
WHERE project = :project
  AND expires_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
  AND changed_at <= (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_locks
-- Locks free and untouched for :age seconds. Their tokens raise the project's floor first, in the
-- same transaction, so a lock of the same name created later still issues larger tokens.
UPDATE projects SET lock_token_floor = max(lock_token_floor, coalesce((
    SELECT max(token) FROM locks
    WHERE project = :project
      AND expires_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
      AND changed_at <= (julianday('now') - 2440587.5) * 86400.0 - :age), 0))
WHERE name = :project;
DELETE FROM locks WHERE project = :project AND name IN (
    SELECT name FROM locks
    WHERE project = :project
      AND expires_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
      AND changed_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
    LIMIT :batch)

-- name: retention_agents_count
SELECT count(*) FROM agents
WHERE project = :project AND heartbeat_at < (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_agents
-- Agents not heard from for :age seconds (a returning agent registers again).
DELETE FROM agents WHERE project = :project AND name IN (
    SELECT name FROM agents
    WHERE project = :project AND heartbeat_at < (julianday('now') - 2440587.5) * 86400.0 - :age
    LIMIT :batch)

-- name: retention_audit_count
SELECT count(*) FROM audit_log WHERE project = :project AND at < (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_audit
DELETE FROM audit_log WHERE id IN (
    SELECT id FROM audit_log
    WHERE project = :project AND at < (julianday('now') - 2440587.5) * 86400.0 - :age
      AND id > :after
    ORDER BY project, id LIMIT :batch)
RETURNING id

-- name: retention_tasks_count
SELECT count(*) FROM tasks
WHERE project = :project AND status IN ('done', 'dead', 'cancelled')
  AND finished_at <= (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_tasks
-- Finished tasks (done, dead, cancelled; never pending, running or failed-awaiting-retry), with
-- their dependency rows and claim history (ON DELETE CASCADE).
DELETE FROM tasks WHERE id IN (
    SELECT id FROM tasks
    WHERE project = :project AND status IN ('done', 'dead', 'cancelled')
      AND finished_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
      AND id > :after
    ORDER BY id LIMIT :batch)
RETURNING id

-- name: retention_claims_count
SELECT count(*) FROM task_runs r JOIN tasks t ON t.id = r.task_id
WHERE t.project = :project AND r.ended_at < (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_claims
-- Ended claims of tasks that are still kept (a retried task's earlier attempts); a live claim has
-- no ended_at and is never touched.
DELETE FROM task_runs WHERE token IN (
    SELECT r.token FROM task_runs r JOIN tasks t ON t.id = r.task_id
    WHERE t.project = :project AND r.ended_at < (julianday('now') - 2440587.5) * 86400.0 - :age
      AND r.token > :after
    ORDER BY r.token LIMIT :batch)
RETURNING token

-- name: retention_events_count
SELECT count(*) FROM events
WHERE project = :project AND created_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
  AND position < (SELECT max(position) FROM events)

-- name: retention_events
-- Never the newest event of the database: its rowid keeps new positions above every one handed out.
DELETE FROM events WHERE position IN (
    SELECT position FROM events
    WHERE project = :project AND created_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
      AND position < (SELECT max(position) FROM events)
      AND position > :after
    ORDER BY position LIMIT :batch)
RETURNING position

-- name: retention_observations_count
SELECT count(*) FROM observations
WHERE project = :project AND created_at <= (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_observations
DELETE FROM observations WHERE id IN (
    SELECT id FROM observations
    WHERE project = :project AND created_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
      AND id > :after
    ORDER BY project, id LIMIT :batch)
RETURNING id

-- name: retention_observation_agents_count
SELECT count(*) FROM observation_agents WHERE project = :project AND count <= 0

-- name: retention_observation_agents
-- An agent's counter row once all its observations are gone.
DELETE FROM observation_agents WHERE project = :project AND agent IN (
    SELECT agent FROM observation_agents WHERE project = :project AND count <= 0 LIMIT :batch)

-- name: retention_transcripts_count
SELECT count(*) FROM transcript_entries e JOIN sessions s ON s.project = e.project AND s.id = e.session_id
WHERE s.project = :project AND s.status IN ('completed', 'archived')
  AND s.last_activity < (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_transcripts
-- The transcript of a session completed or archived and quiet for :age seconds; the session, its
-- memories and its counters stay.
DELETE FROM transcript_entries WHERE id IN (
    SELECT e.id FROM sessions s JOIN transcript_entries e ON e.project = s.project AND e.session_id = s.id
    WHERE s.project = :project AND s.status IN ('completed', 'archived')
      AND s.last_activity < (julianday('now') - 2440587.5) * 86400.0 - :age
      AND e.id > :after
    ORDER BY e.id LIMIT :batch)
RETURNING id

-- name: retention_artifact_versions_count
SELECT count(*) FROM artifacts a JOIN artifact_names n ON n.project = a.project AND n.name = a.name
WHERE a.project = :project AND a.version <= n.latest - :keep

-- name: retention_artifact_versions
-- Versions older than the newest :keep of their name (the latest is never among them).
DELETE FROM artifacts WHERE id IN (
    SELECT a.id FROM artifacts a JOIN artifact_names n ON n.project = a.project AND n.name = a.name
    WHERE a.project = :project AND a.version <= n.latest - :keep
      AND a.id > :after
    ORDER BY a.id LIMIT :batch)
RETURNING id

-- name: retention_artifact_blobs_count
SELECT count(*) FROM artifact_blobs b
WHERE b.project = :project AND b.sha256 IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_id = b.id)

-- name: retention_artifact_blobs
-- Stored content no version points at any more, with its chunks (one writer at a time: no put can
-- be reusing it between this check and the delete).
DELETE FROM artifact_blobs WHERE id IN (
    SELECT b.id FROM artifact_blobs b
    WHERE b.project = :project AND b.sha256 IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_id = b.id)
      AND b.id > :after
    ORDER BY b.id LIMIT :batch)
RETURNING id

-- name: retention_artifact_uploads_count
SELECT count(*) FROM artifact_blobs
WHERE project = :project AND sha256 IS NULL AND touched_at <= (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_artifact_uploads
-- Uploads not finished and not written to for :age seconds: their writer died.
DELETE FROM artifact_blobs WHERE id IN (
    SELECT id FROM artifact_blobs
    WHERE project = :project AND sha256 IS NULL
      AND touched_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
      AND id > :after
    ORDER BY id LIMIT :batch)
RETURNING id

-- name: retention_document_history_count
SELECT count(*) FROM document_history h
JOIN documents d ON d.id = h.document_id JOIN doc_collections c ON c.id = d.collection_id
WHERE c.project = :project AND h.at < (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_document_history
-- Earlier versions older than :age seconds (each collection's `history` count bounds them at every
-- write already); a document itself is never removed.
DELETE FROM document_history WHERE (document_id, version) IN (
    SELECT h.document_id, h.version FROM document_history h
    JOIN documents d ON d.id = h.document_id JOIN doc_collections c ON c.id = d.collection_id
    WHERE c.project = :project AND h.at < (julianday('now') - 2440587.5) * 86400.0 - :age
    LIMIT :batch)

-- name: retention_runs_count
SELECT count(*) FROM runs
WHERE project = :project AND status IN ('completed', 'failed', 'cancelled')
  AND finished_at <= (julianday('now') - 2440587.5) * 86400.0 - :age

-- name: retention_runs
-- Finished runs with their phases, gate decisions, evaluations and outputs (ON DELETE CASCADE).
DELETE FROM runs WHERE id IN (
    SELECT id FROM runs
    WHERE project = :project AND status IN ('completed', 'failed', 'cancelled')
      AND finished_at <= (julianday('now') - 2440587.5) * 86400.0 - :age
      AND id > :after
    ORDER BY id LIMIT :batch)
RETURNING id

-- name: cleanup_state_get
-- Before its first pass a project counts as clean when it was created.
SELECT s.started_at, coalesce(s.finished_at, p.created_at), coalesce(s.passes, 0), s.last_by,
       coalesce(s.removed, '{}'), (julianday('now') - 2440587.5) * 86400.0
FROM projects p LEFT JOIN cleanup_state s ON s.project = p.name
WHERE p.name = :project

-- name: cleanup_state_started
INSERT INTO cleanup_state (project, started_at, finished_at, last_by)
SELECT name, (julianday('now') - 2440587.5) * 86400.0, created_at, :by FROM projects WHERE name = :project
ON CONFLICT (project) DO UPDATE SET started_at = excluded.started_at, last_by = excluded.last_by

-- name: cleanup_state_finished
UPDATE cleanup_state
SET finished_at = (julianday('now') - 2440587.5) * 86400.0, passes = passes + 1, last_by = :by, removed = :removed
WHERE project = :project

-- name: retention_lg_checkpoints_count
SELECT count(*) FROM (
    SELECT row_number() OVER (PARTITION BY thread_id, checkpoint_ns ORDER BY checkpoint_id DESC) AS n
    FROM lg_checkpoints
    WHERE project = :project AND thread_id NOT IN (
        SELECT thread_id FROM lg_checkpoints WHERE project = :project
          AND (json_type(metadata, '$.counters_since_delta_snapshot') IS NOT NULL
               OR json_type(metadata, '$.delta_writes_versioned') IS NOT NULL)))
WHERE n > :keep

-- name: retention_lg_checkpoints
-- LangGraph checkpoints beyond the newest :keep of each thread and namespace (their writes go by
-- trigger). Threads using a DeltaChannel are left alone: their latest value is rebuilt from older ones.
DELETE FROM lg_checkpoints WHERE (project, thread_id, checkpoint_ns, checkpoint_id) IN (
    SELECT project, thread_id, checkpoint_ns, checkpoint_id FROM (
        SELECT project, thread_id, checkpoint_ns, checkpoint_id,
               row_number() OVER (PARTITION BY thread_id, checkpoint_ns ORDER BY checkpoint_id DESC) AS n
        FROM lg_checkpoints
        WHERE project = :project AND thread_id NOT IN (
            SELECT thread_id FROM lg_checkpoints WHERE project = :project
              AND (json_type(metadata, '$.counters_since_delta_snapshot') IS NOT NULL
                   OR json_type(metadata, '$.delta_writes_versioned') IS NOT NULL)))
    WHERE n > :keep LIMIT :batch)

-- name: retention_lg_threads_count
SELECT count(*) FROM lg_checkpoints
WHERE project = :project AND thread_id IN (
    SELECT thread_id FROM lg_checkpoints WHERE project = :project GROUP BY thread_id
    HAVING max(created_at) <= (julianday('now') - 2440587.5) * 86400.0 - :age)

-- name: retention_lg_threads
-- Whole LangGraph threads whose newest checkpoint is older than :age.
DELETE FROM lg_checkpoints WHERE (project, thread_id, checkpoint_ns, checkpoint_id) IN (
    SELECT project, thread_id, checkpoint_ns, checkpoint_id FROM lg_checkpoints
    WHERE project = :project AND thread_id IN (
        SELECT thread_id FROM lg_checkpoints WHERE project = :project GROUP BY thread_id
        HAVING max(created_at) <= (julianday('now') - 2440587.5) * 86400.0 - :age)
    LIMIT :batch)

-- name: retention_lg_blobs_count
SELECT count(*) FROM lg_blobs b
WHERE b.project = :project
  AND NOT EXISTS (SELECT 1 FROM lg_checkpoints c, json_each(c.versions) v
                  WHERE c.project = b.project AND c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
                    AND v.key = b.channel AND CAST(v.value AS TEXT) = b.version)

-- name: retention_lg_blobs
-- Channel values no checkpoint points at any more.
DELETE FROM lg_blobs WHERE (project, thread_id, checkpoint_ns, channel, version) IN (
    SELECT b.project, b.thread_id, b.checkpoint_ns, b.channel, b.version FROM lg_blobs b
    WHERE b.project = :project
      AND NOT EXISTS (SELECT 1 FROM lg_checkpoints c, json_each(c.versions) v
                      WHERE c.project = b.project AND c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
                        AND v.key = b.channel AND CAST(v.value AS TEXT) = b.version)
    LIMIT :batch)

-- name: retention_lg_items_count
SELECT count(*) FROM lg_items
WHERE project = :project AND expires_at <= (julianday('now') - 2440587.5) * 86400.0

-- name: retention_lg_items
-- LangGraph store items whose time to live ran out (reads stopped returning them then).
DELETE FROM lg_items WHERE (project, namespace, key) IN (
    SELECT project, namespace, key FROM lg_items
    WHERE project = :project AND expires_at <= (julianday('now') - 2440587.5) * 86400.0
    LIMIT :batch)
