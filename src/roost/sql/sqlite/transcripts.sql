-- Transcripts for SQLite. An append runs in one BEGIN IMMEDIATE transaction (the single writer
-- serializes appends): read the session's last position and the database clock, look up message
-- ids already stored, insert the new entries with one executemany, then move the session's
-- counters and write one transcript.appended event for the batch. Entry columns come back as:
-- id, session_id, position, role, content, agent, phase, iteration, message_id, metadata, created_at.

-- name: transcript_reserve
-- The session's last position, and the time stamped on the whole batch (twice: as the records
-- read it, and as the insert writes it; the same on SQLite).
SELECT last_position, (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0
FROM sessions WHERE project = :project AND id = :session

-- name: transcript_known
SELECT id, session_id, position, role, content, agent, phase, iteration, message_id, metadata, created_at
FROM transcript_entries
WHERE project = :project AND session_id = :session AND message_id IN (SELECT value FROM json_each(:message_ids))

-- name: transcript_insert
-- Run once per row (executemany).
INSERT INTO transcript_entries (project, session_id, position, role, content, agent, phase, iteration,
                                message_id, metadata, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: transcript_ids
SELECT id FROM transcript_entries
WHERE project = :project AND session_id = :session AND position > :after ORDER BY position

-- name: transcript_commit
UPDATE sessions SET last_position = :last, entry_count = entry_count + :count, last_activity = :stamp
WHERE project = :project AND id = :session;
INSERT INTO events (project, topic, payload, refs) VALUES (:project, 'transcript.appended',
    json_object('session', :session, 'count', :count, 'first', :first, 'last', :last),
    json_object('session', :session))

-- name: transcript_get
SELECT id, session_id, position, role, content, agent, phase, iteration, message_id, metadata, created_at
FROM transcript_entries WHERE project = :project AND id = :id

-- name: transcript_after
SELECT id, session_id, position, role, content, agent, phase, iteration, message_id, metadata, created_at
FROM transcript_entries
WHERE project = :project AND session_id = :session AND position > :after AND position < :before
  AND (:phase IS NULL OR phase = :phase)
ORDER BY position
LIMIT :limit

-- name: transcript_before
SELECT id, session_id, position, role, content, agent, phase, iteration, message_id, metadata, created_at
FROM transcript_entries
WHERE project = :project AND session_id = :session AND position > :after AND position < :before
  AND (:phase IS NULL OR phase = :phase)
ORDER BY position DESC
LIMIT :limit

-- name: transcript_append
-- One entry in one block (the single append's fast path): the session's position moves only when
-- the message id is new; the batch's event and the entry follow only then (changes() = 1: the
-- statement before changed a row), and the entry comes back. No rows: no such session, or a
-- message id the session already holds (the operation then reads that entry).
UPDATE sessions SET last_position = last_position + 1, entry_count = entry_count + 1,
    last_activity = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND id = :session
  AND (:message_id IS NULL OR NOT EXISTS (SELECT 1 FROM transcript_entries
                                           WHERE project = :project AND session_id = :session
                                             AND message_id = :message_id));
INSERT INTO events (project, topic, payload, refs)
SELECT :project, 'transcript.appended',
       json_object('session', :session, 'count', 1, 'first', last_position, 'last', last_position),
       json_object('session', :session)
FROM sessions WHERE project = :project AND id = :session AND changes() = 1;
INSERT INTO transcript_entries (project, session_id, position, role, content, agent, phase, iteration, message_id,
                                metadata, created_at)
SELECT :project, :session, last_position, :role, :content, :agent, :phase, :iteration, :message_id, :metadata,
       last_activity
FROM sessions WHERE project = :project AND id = :session AND changes() = 1
RETURNING id, session_id, position, role, content, agent, phase, iteration, message_id, metadata, created_at
