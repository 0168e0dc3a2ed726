-- Search for SQLite (docs/search.md). One query per kind of record: FTS5 finds the matches (the
-- MATCH expression is built by roost from the parsed query, never the user's text), bm25 ranks
-- them, and the record's own table supplies the filters and what a hit shows. Every hit comes
-- back as: id, score (higher is better), session, agent, type, name, version, position,
-- created_at, text, sort_key. Pages go in sort_key then id order: :recent sorts by time instead of rank;
-- :after_key/:after_id are the previous page's last hit; :bound leaves out records written
-- after the first page.

-- name: search_transcript
SELECT t.id, -search_transcripts.rank AS score,
       t.session_id, t.agent, t.role, NULL, NULL, t.position, t.created_at, t.content,
       CASE WHEN :recent THEN -t.created_at ELSE search_transcripts.rank END AS sort_key,
       CASE WHEN :recent THEN -t.id ELSE t.id END AS tie
FROM search_transcripts JOIN transcript_entries t ON t.id = search_transcripts.rowid
WHERE search_transcripts MATCH :match AND t.project = :project AND t.id <= :bound
  AND (:session IS NULL OR t.session_id = :session)
  AND (:agent IS NULL OR t.agent = :agent)
  AND (:type IS NULL OR t.role = :type)
  AND (:since IS NULL OR t.created_at >= :since)
  AND (:until IS NULL OR t.created_at < :until)
  AND (:only IS NULL OR t.id = :only)
  AND (:after_key IS NULL OR sort_key > :after_key OR (sort_key = :after_key AND tie > :after_tie))
ORDER BY sort_key, tie
LIMIT :limit

-- name: search_memory
SELECT m.id, -search_memories.rank AS score,
       m.session_id, m.agent, m.type, m.key, m.version, NULL, m.updated_at, m.content,
       CASE WHEN :recent THEN -m.updated_at ELSE search_memories.rank END AS sort_key,
       CASE WHEN :recent THEN -m.id ELSE m.id END AS tie
FROM search_memories JOIN memories m ON m.id = search_memories.rowid
WHERE search_memories MATCH :match AND m.project = :project AND m.id <= :bound
  AND (:session IS NULL OR m.session_id = :session)
  AND (:agent IS NULL OR m.agent = :agent)
  AND (:type IS NULL OR m.type = :type)
  AND (:tags IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(:tags) w
                                    WHERE w.value NOT IN (SELECT value FROM json_each(m.tags))))
  AND (:since IS NULL OR m.updated_at >= :since)
  AND (:until IS NULL OR m.updated_at < :until)
  AND (:only IS NULL OR m.id = :only)
  AND (:after_key IS NULL OR sort_key > :after_key OR (sort_key = :after_key AND tie > :after_tie))
ORDER BY sort_key, tie
LIMIT :limit

-- name: search_observation
-- Observations past retention (:max_age seconds) are never found, cleaned up or not.
SELECT o.id, -search_observations.rank AS score,
       o.session_id, o.agent, o.kind, NULL, NULL, NULL, o.created_at, o.content,
       CASE WHEN :recent THEN -o.created_at ELSE search_observations.rank END AS sort_key,
       CASE WHEN :recent THEN -o.id ELSE o.id END AS tie
FROM search_observations JOIN observations o ON o.id = search_observations.rowid
WHERE search_observations MATCH :match AND o.project = :project AND o.id <= :bound
  AND o.created_at >= (julianday('now') - 2440587.5) * 86400.0 - :max_age
  AND (:session IS NULL OR o.session_id = :session)
  AND (:agent IS NULL OR o.agent = :agent)
  AND (:type IS NULL OR o.kind = :type)
  AND (:since IS NULL OR o.created_at >= :since)
  AND (:until IS NULL OR o.created_at < :until)
  AND (:only IS NULL OR o.id = :only)
  AND (:after_key IS NULL OR sort_key > :after_key OR (sort_key = :after_key AND tie > :after_tie))
ORDER BY sort_key, tie
LIMIT :limit

-- name: search_session
SELECT s.seq, -search_sessions.rank AS score,
       s.id, NULL, s.status, s.id, NULL, NULL, s.created_at, s.title,
       CASE WHEN :recent THEN -s.created_at ELSE search_sessions.rank END AS sort_key,
       CASE WHEN :recent THEN -s.seq ELSE s.seq END AS tie
FROM search_sessions JOIN sessions s ON s.seq = search_sessions.rowid
WHERE search_sessions MATCH :match AND s.project = :project AND s.seq <= :bound
  AND (:session IS NULL OR s.id = :session)
  AND (:type IS NULL OR s.status = :type)
  AND (:since IS NULL OR s.created_at >= :since)
  AND (:until IS NULL OR s.created_at < :until)
  AND (:only IS NULL OR s.seq = :only)
  AND (:after_key IS NULL OR sort_key > :after_key OR (sort_key = :after_key AND tie > :after_tie))
ORDER BY sort_key, tie
LIMIT :limit

-- name: search_artifact
-- The index holds each text blob once; every artifact version with that content is a hit. Only
-- each name's newest version, unless :all_versions.
SELECT a.id, -search_artifacts.rank AS score,
       a.session_id, NULL, a.type, a.name, a.version, NULL, a.created_at, b.search_text,
       CASE WHEN :recent THEN -a.created_at ELSE search_artifacts.rank END AS sort_key,
       CASE WHEN :recent THEN -a.id ELSE a.id END AS tie
FROM search_artifacts JOIN artifact_blobs b ON b.id = search_artifacts.rowid JOIN artifacts a ON a.blob_id = b.id
WHERE search_artifacts MATCH :match AND a.project = :project AND a.id <= :bound
  AND (:all_versions OR a.version = (SELECT max(x.version) FROM artifacts x
                                     WHERE x.project = a.project AND x.name = a.name))
  AND (:session IS NULL OR a.session_id = :session)
  AND (:type IS NULL OR a.type = :type)
  AND (:since IS NULL OR a.created_at >= :since)
  AND (:until IS NULL OR a.created_at < :until)
  AND (:only IS NULL OR a.id = :only)
  AND (:after_key IS NULL OR sort_key > :after_key OR (sort_key = :after_key AND tie > :after_tie))
ORDER BY sort_key, tie
LIMIT :limit

-- name: search_bounds
-- The newest record of each kind (in the order of roost.search.hits.KINDS) when a search's first page is read: later pages leave out what
-- was written after it, so new records never reshuffle a paging in progress.
SELECT (SELECT coalesce(max(id), 0) FROM transcript_entries), (SELECT coalesce(max(id), 0) FROM memories),
       (SELECT coalesce(max(id), 0) FROM observations), (SELECT coalesce(max(id), 0) FROM artifacts),
       (SELECT coalesce(max(seq), 0) FROM sessions)

-- name: search_backfill_claim
-- Inside the batch's write transaction, so no other process is between this read and its write.
SELECT done, upto FROM search_backfill WHERE kind = :kind

-- name: search_backfill_pending
SELECT kind, done, upto FROM search_backfill ORDER BY kind

-- name: search_backfill_transcript
INSERT INTO search_transcripts (rowid, body)
SELECT id, substr(content, 1, 32000) FROM transcript_entries WHERE id > :done AND id <= :to;
UPDATE search_backfill SET done = :to WHERE kind = 'transcript';
DELETE FROM search_backfill WHERE kind = 'transcript' AND done >= upto

-- name: search_backfill_memory
INSERT INTO search_memories (rowid, body)
SELECT id, substr(key || ' ' || coalesce((
        SELECT group_concat(CASE WHEN typeof(key) = 'text' THEN key || ' ' ELSE '' END
                            || CASE WHEN type = 'text' THEN atom ELSE '' END, ' ')
        FROM json_tree(memories.content)), ''), 1, 32000)
FROM memories WHERE id > :done AND id <= :to;
UPDATE search_backfill SET done = :to WHERE kind = 'memory';
DELETE FROM search_backfill WHERE kind = 'memory' AND done >= upto

-- name: search_backfill_observation
INSERT INTO search_observations (rowid, body)
SELECT id, substr(content, 1, 32000) FROM observations WHERE id > :done AND id <= :to;
UPDATE search_backfill SET done = :to WHERE kind = 'observation';
DELETE FROM search_backfill WHERE kind = 'observation' AND done >= upto

-- name: search_backfill_session
INSERT INTO search_sessions (rowid, body)
SELECT seq, substr(title, 1, 32000) FROM sessions WHERE seq > :done AND seq <= :to;
UPDATE search_backfill SET done = :to WHERE kind = 'session';
DELETE FROM search_backfill WHERE kind = 'session' AND done >= upto

-- name: search_backfill_artifact_rows
-- Text blobs stored before search: their first chunk, from which roost takes the text.
SELECT b.id, c.data FROM artifact_blobs b JOIN artifact_chunks c ON c.blob_id = b.id AND c.seq = 0
WHERE b.id > :done AND b.id <= :to AND b.search_text IS NULL AND b.sha256 IS NOT NULL
  AND EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_id = b.id AND a.is_text)

-- name: search_backfill_artifact_text
UPDATE artifact_blobs SET search_text = :text WHERE id = :id AND search_text IS NULL

-- name: search_backfill_artifact
UPDATE search_backfill SET done = :to WHERE kind = 'artifact';
DELETE FROM search_backfill WHERE kind = 'artifact' AND done >= upto

-- name: find_names_trigram
-- Candidates for fuzzy lookup: names sharing trigrams with the one asked for (:match, built by
-- roost), best first; roost ranks them by trigram similarity.
SELECT n.kind, n.name FROM search_names_trigram JOIN search_names n ON n.id = search_names_trigram.rowid
WHERE search_names_trigram MATCH :match AND n.project = :project AND n.kind IN (SELECT value FROM json_each(:kinds))
ORDER BY search_names_trigram.rank
LIMIT :limit

-- name: find_names_prefix
-- Names shorter than a trigram: those starting with it (any case).
SELECT kind, name FROM search_names
WHERE project = :project AND kind IN (SELECT value FROM json_each(:kinds))
  AND lower(substr(name, 1, length(:prefix))) = lower(:prefix)
ORDER BY length(name), name
LIMIT :limit

-- name: find_trigram_available
SELECT 1

-- name: search_trigram_install
-- SQLite's trigram index is FTS5's, made by migration 0011: nothing to do.
SELECT 1
