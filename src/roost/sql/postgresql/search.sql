-- Search for PostgreSQL (docs/search.md). One query per kind of record: the stored, GIN-indexed
-- vector finds the matches (%(tsquery)s is a tsquery literal built by roost from the parsed query,
-- cast, never parsed as the user's text), ts_rank_cd ranks them, and the record's own row supplies
-- the filters and what a hit shows. Every hit comes back as: id, score (higher is better),
-- session, agent, type, name, version, position, created_at, text, sort_key, tie. Hits go in
-- sort_key then tie order: rank then id, or with %(recent)s time then newest id first.
-- %(after_key)s/%(after_tie)s are the kind's last hit on the pages before; %(only)s asks for that
-- one hit alone (its rank now); %(bound)s leaves out records written after the first page (as
-- id + 0: a generic plan would otherwise read the whole primary key index for it).

-- name: search_transcript
SELECT h.* FROM (SELECT i.*, CASE WHEN %(recent)s THEN -i.at ELSE -i.score END AS sort_key,
                         CASE WHEN %(recent)s THEN -i.id ELSE i.id END AS tie FROM (
    SELECT t.id, ts_rank_cd(t.search, q, 1)::float8 AS score,
           t.session_id, t.agent, t.role, NULL::text, NULL::bigint, t.position,
           extract(epoch FROM t.created_at)::float8 AS at, t.content
    FROM roost.transcript_entries t, CAST(%(tsquery)s AS tsquery) q
    WHERE t.search @@ q AND t.project = %(project)s AND t.id + 0 <= %(bound)s
      AND (%(session)s::text IS NULL OR t.session_id = %(session)s::text)
      AND (%(agent)s::text IS NULL OR t.agent = %(agent)s::text)
      AND (%(type)s::text IS NULL OR t.role = %(type)s::text)
      AND (%(since)s::float8 IS NULL OR t.created_at >= to_timestamp(%(since)s::float8))
      AND (%(until)s::float8 IS NULL OR t.created_at < to_timestamp(%(until)s::float8))
      AND (%(only)s::bigint IS NULL OR t.id = %(only)s::bigint)
) i) h
WHERE %(after_key)s::float8 IS NULL OR h.sort_key > %(after_key)s::float8
   OR (h.sort_key = %(after_key)s::float8 AND h.tie > %(after_tie)s::bigint)
ORDER BY h.sort_key, h.tie
LIMIT %(limit)s

-- name: search_memory
SELECT h.* FROM (SELECT i.*, CASE WHEN %(recent)s THEN -i.at ELSE -i.score END AS sort_key,
                         CASE WHEN %(recent)s THEN -i.id ELSE i.id END AS tie FROM (
    SELECT m.id, ts_rank_cd(m.search, q, 1)::float8 AS score,
           m.session_id, m.agent, m.type, m.key, m.version::bigint, NULL::bigint,
           extract(epoch FROM m.updated_at)::float8 AS at, m.content
    FROM roost.memories m, CAST(%(tsquery)s AS tsquery) q
    WHERE m.search @@ q AND m.project = %(project)s AND m.id + 0 <= %(bound)s
      AND (%(session)s::text IS NULL OR m.session_id = %(session)s::text)
      AND (%(agent)s::text IS NULL OR m.agent = %(agent)s::text)
      AND (%(type)s::text IS NULL OR m.type = %(type)s::text)
      AND (%(tags)s::jsonb IS NULL OR m.tags @> ARRAY(SELECT jsonb_array_elements_text(%(tags)s::jsonb)))
      AND (%(since)s::float8 IS NULL OR m.updated_at >= to_timestamp(%(since)s::float8))
      AND (%(until)s::float8 IS NULL OR m.updated_at < to_timestamp(%(until)s::float8))
      AND (%(only)s::bigint IS NULL OR m.id = %(only)s::bigint)
) i) h
WHERE %(after_key)s::float8 IS NULL OR h.sort_key > %(after_key)s::float8
   OR (h.sort_key = %(after_key)s::float8 AND h.tie > %(after_tie)s::bigint)
ORDER BY h.sort_key, h.tie
LIMIT %(limit)s

-- name: search_observation
-- Observations past retention (%(max_age)s seconds) are never found, cleaned up or not.
SELECT h.* FROM (SELECT i.*, CASE WHEN %(recent)s THEN -i.at ELSE -i.score END AS sort_key,
                         CASE WHEN %(recent)s THEN -i.id ELSE i.id END AS tie FROM (
    SELECT o.id, ts_rank_cd(o.search, q, 1)::float8 AS score,
           o.session_id, o.agent, o.kind, NULL::text, NULL::bigint, NULL::bigint,
           extract(epoch FROM o.created_at)::float8 AS at, o.content
    FROM roost.observations o, CAST(%(tsquery)s AS tsquery) q
    WHERE o.search @@ q AND o.project = %(project)s AND o.id + 0 <= %(bound)s
      AND o.created_at >= clock_timestamp() - make_interval(secs => %(max_age)s::float8)
      AND (%(session)s::text IS NULL OR o.session_id = %(session)s::text)
      AND (%(agent)s::text IS NULL OR o.agent = %(agent)s::text)
      AND (%(type)s::text IS NULL OR o.kind = %(type)s::text)
      AND (%(since)s::float8 IS NULL OR o.created_at >= to_timestamp(%(since)s::float8))
      AND (%(until)s::float8 IS NULL OR o.created_at < to_timestamp(%(until)s::float8))
      AND (%(only)s::bigint IS NULL OR o.id = %(only)s::bigint)
) i) h
WHERE %(after_key)s::float8 IS NULL OR h.sort_key > %(after_key)s::float8
   OR (h.sort_key = %(after_key)s::float8 AND h.tie > %(after_tie)s::bigint)
ORDER BY h.sort_key, h.tie
LIMIT %(limit)s

-- name: search_session
SELECT h.* FROM (SELECT i.*, CASE WHEN %(recent)s THEN -i.at ELSE -i.score END AS sort_key,
                         CASE WHEN %(recent)s THEN -i.id ELSE i.id END AS tie FROM (
    SELECT s.seq AS id, ts_rank_cd(s.search, q, 1)::float8 AS score,
           s.id AS session_id, NULL::text, s.status, s.id AS name, NULL::bigint, NULL::bigint,
           extract(epoch FROM s.created_at)::float8 AS at, s.title
    FROM roost.sessions s, CAST(%(tsquery)s AS tsquery) q
    WHERE s.search @@ q AND s.project = %(project)s AND s.seq + 0 <= %(bound)s
      AND (%(session)s::text IS NULL OR s.id = %(session)s::text)
      AND (%(type)s::text IS NULL OR s.status = %(type)s::text)
      AND (%(since)s::float8 IS NULL OR s.created_at >= to_timestamp(%(since)s::float8))
      AND (%(until)s::float8 IS NULL OR s.created_at < to_timestamp(%(until)s::float8))
      AND (%(only)s::bigint IS NULL OR s.seq = %(only)s::bigint)
) i) h
WHERE %(after_key)s::float8 IS NULL OR h.sort_key > %(after_key)s::float8
   OR (h.sort_key = %(after_key)s::float8 AND h.tie > %(after_tie)s::bigint)
ORDER BY h.sort_key, h.tie
LIMIT %(limit)s

-- name: search_artifact
-- The index holds each text blob once; every artifact version with that content is a hit. Only
-- each name's newest version, unless %(all_versions)s.
SELECT h.* FROM (SELECT i.*, CASE WHEN %(recent)s THEN -i.at ELSE -i.score END AS sort_key,
                         CASE WHEN %(recent)s THEN -i.id ELSE i.id END AS tie FROM (
    SELECT a.id, ts_rank_cd(b.search, q, 1)::float8 AS score,
           a.session_id, NULL::text, a.type, a.name, a.version::bigint, NULL::bigint,
           extract(epoch FROM a.created_at)::float8 AS at, b.search_text
    FROM roost.artifact_blobs b JOIN roost.artifacts a ON a.blob_id = b.id, CAST(%(tsquery)s AS tsquery) q
    WHERE b.search @@ q AND b.project = %(project)s AND a.project = %(project)s AND a.id + 0 <= %(bound)s
      AND (%(all_versions)s OR a.version = (SELECT max(x.version) FROM roost.artifacts x
                                            WHERE x.project = a.project AND x.name = a.name))
      AND (%(session)s::text IS NULL OR a.session_id = %(session)s::text)
      AND (%(type)s::text IS NULL OR a.type = %(type)s::text)
      AND (%(since)s::float8 IS NULL OR a.created_at >= to_timestamp(%(since)s::float8))
      AND (%(until)s::float8 IS NULL OR a.created_at < to_timestamp(%(until)s::float8))
      AND (%(only)s::bigint IS NULL OR a.id = %(only)s::bigint)
) i) h
WHERE %(after_key)s::float8 IS NULL OR h.sort_key > %(after_key)s::float8
   OR (h.sort_key = %(after_key)s::float8 AND h.tie > %(after_tie)s::bigint)
ORDER BY h.sort_key, h.tie
LIMIT %(limit)s

-- name: search_raw_tsquery
-- A raw query (search(raw=True)) in PostgreSQL's own tsquery syntax, read by its own parser.
SELECT to_tsquery('simple', %(text)s)::text

-- name: search_bounds
-- The newest record of each kind (in the order of roost.search.hits.KINDS) when a search's first page is read: later pages leave out what
-- was written after it, so new records never reshuffle a paging in progress.
SELECT (SELECT coalesce(max(id), 0) FROM roost.transcript_entries), (SELECT coalesce(max(id), 0) FROM roost.memories),
       (SELECT coalesce(max(id), 0) FROM roost.observations), (SELECT coalesce(max(id), 0) FROM roost.artifacts),
       (SELECT coalesce(max(seq), 0) FROM roost.sessions)

-- name: search_backfill_claim
-- The kind's bookmark, locked for the batch: a second process waits, then reads where it ended.
SELECT done, upto FROM roost.search_backfill WHERE kind = %(kind)s FOR UPDATE

-- name: search_backfill_pending
SELECT kind, done, upto FROM roost.search_backfill ORDER BY kind

-- name: search_backfill_transcript_rows
SELECT id, content FROM roost.transcript_entries
WHERE id > %(done)s AND id <= %(to)s AND search IS NULL ORDER BY id

-- name: search_backfill_memory_rows
SELECT id, key, content FROM roost.memories
WHERE id > %(done)s AND id <= %(to)s AND search IS NULL ORDER BY id

-- name: search_backfill_observation_rows
SELECT id, content FROM roost.observations
WHERE id > %(done)s AND id <= %(to)s AND search IS NULL ORDER BY id

-- name: search_backfill_session_rows
SELECT seq, title FROM roost.sessions
WHERE seq > %(done)s AND seq <= %(to)s AND search IS NULL ORDER BY seq

-- name: search_backfill_artifact_rows
-- Text blobs stored before search: their first chunk, from which roost takes the text.
SELECT b.id, c.data FROM roost.artifact_blobs b JOIN roost.artifact_chunks c ON c.blob_id = b.id AND c.seq = 0
WHERE b.id > %(done)s AND b.id <= %(to)s AND b.search_text IS NULL AND b.sha256 IS NOT NULL
  AND EXISTS (SELECT 1 FROM roost.artifacts a WHERE a.blob_id = b.id AND a.is_text)

-- name: search_backfill_transcript
-- One batch's vectors, and the kind's bookmark moved on (or removed, once the kind is done).
WITH indexed AS (
    UPDATE roost.transcript_entries t SET search = v.search::tsvector
    FROM unnest(%(ids)s::bigint[], %(vectors)s::text[]) v(id, search) WHERE t.id = v.id
    RETURNING 1
), moved AS (
    UPDATE roost.search_backfill SET done = %(to)s WHERE kind = 'transcript' AND %(to)s < upto RETURNING 1
)
DELETE FROM roost.search_backfill WHERE kind = 'transcript' AND %(to)s >= upto

-- name: search_backfill_memory
WITH indexed AS (
    UPDATE roost.memories t SET search = v.search::tsvector
    FROM unnest(%(ids)s::bigint[], %(vectors)s::text[]) v(id, search) WHERE t.id = v.id
    RETURNING 1
), moved AS (
    UPDATE roost.search_backfill SET done = %(to)s WHERE kind = 'memory' AND %(to)s < upto RETURNING 1
)
DELETE FROM roost.search_backfill WHERE kind = 'memory' AND %(to)s >= upto

-- name: search_backfill_observation
WITH indexed AS (
    UPDATE roost.observations t SET search = v.search::tsvector
    FROM unnest(%(ids)s::bigint[], %(vectors)s::text[]) v(id, search) WHERE t.id = v.id
    RETURNING 1
), moved AS (
    UPDATE roost.search_backfill SET done = %(to)s WHERE kind = 'observation' AND %(to)s < upto RETURNING 1
)
DELETE FROM roost.search_backfill WHERE kind = 'observation' AND %(to)s >= upto

-- name: search_backfill_session
WITH indexed AS (
    UPDATE roost.sessions t SET search = v.search::tsvector
    FROM unnest(%(ids)s::bigint[], %(vectors)s::text[]) v(id, search) WHERE t.seq = v.id
    RETURNING 1
), moved AS (
    UPDATE roost.search_backfill SET done = %(to)s WHERE kind = 'session' AND %(to)s < upto RETURNING 1
)
DELETE FROM roost.search_backfill WHERE kind = 'session' AND %(to)s >= upto

-- name: search_backfill_artifact
WITH indexed AS (
    UPDATE roost.artifact_blobs t SET search = v.search::tsvector, search_text = v.text
    FROM unnest(%(ids)s::bigint[], %(vectors)s::text[], %(texts)s::text[]) v(id, search, text) WHERE t.id = v.id
    RETURNING 1
), moved AS (
    UPDATE roost.search_backfill SET done = %(to)s WHERE kind = 'artifact' AND %(to)s < upto RETURNING 1
)
DELETE FROM roost.search_backfill WHERE kind = 'artifact' AND %(to)s >= upto

-- name: find_names_trigram
-- Candidates from pg_trgm's index (similarity at least 0.3), best first; roost ranks them.
SELECT kind, name FROM roost.find_names(%(project)s, ARRAY(SELECT jsonb_array_elements_text(%(kinds)s::jsonb)),
                                               %(name)s, %(limit)s)

-- name: find_names_all
-- Without pg_trgm: every name of the kinds asked for, ranked by roost (the slower path).
SELECT kind, name FROM roost.search_names
WHERE project = %(project)s AND kind = ANY (ARRAY(SELECT jsonb_array_elements_text(%(kinds)s::jsonb)))

-- name: find_names_prefix
-- Names shorter than a trigram: those starting with it (any case).
SELECT kind, name FROM roost.search_names
WHERE project = %(project)s AND kind = ANY (ARRAY(SELECT jsonb_array_elements_text(%(kinds)s::jsonb)))
  AND lower(left(name, length(%(prefix)s))) = lower(%(prefix)s)
ORDER BY length(name), name
LIMIT %(limit)s

-- name: find_trigram_available
SELECT to_regprocedure('roost.find_names(text,text[],text,integer)') IS NOT NULL

-- name: search_trigram_install
-- What migration 0011 does for fuzzy lookup when pg_trgm is there, for a database that has it
-- only now (run by store.migrate; it changes nothing while pg_trgm is missing).
DO $$
DECLARE
    trgm text;
BEGIN
    SELECT extnamespace::regnamespace::text INTO trgm FROM pg_extension WHERE extname = 'pg_trgm';
    IF trgm IS NULL OR to_regprocedure('roost.find_names(text,text[],text,integer)') IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE INDEX IF NOT EXISTS search_names_trigram ON roost.search_names USING gin (name %s.gin_trgm_ops)', trgm);
    EXECUTE format($f$
        CREATE FUNCTION roost.find_names(p_project text, p_kinds text[], p_name text, p_limit integer)
        RETURNS TABLE (kind text, name text, score float8)
        LANGUAGE sql STABLE SET pg_trgm.similarity_threshold = 0.3 AS $body$
            SELECT n.kind, n.name, %1$s.similarity(n.name, p_name)::float8
            FROM roost.search_names n
            WHERE n.project = p_project AND n.kind = ANY (p_kinds) AND n.name OPERATOR(%1$s.%%) p_name
            ORDER BY 3 DESC, n.kind, n.name
            LIMIT p_limit
        $body$ $f$, trgm);
END
$$
