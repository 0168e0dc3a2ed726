-- Appends lock their session's row FOR NO KEY UPDATE instead of FOR UPDATE (the batch append's
-- transcript_reserve query changes with this release too). FOR UPDATE conflicts with the FOR KEY
-- SHARE lock that the foreign-key check of every memory, observation and artifact insert takes on
-- its session's row; an append queued behind such an insert, while holding other sessions, could
-- deadlock with it (40P01 under eight concurrent writers). The weaker lock still makes appends to
-- one session take turns, and leaves those inserts free to pass.
CREATE OR REPLACE FUNCTION roost.transcript_append(p_project text, p_session text, p_role text, p_content text,
                                        p_agent text, p_phase text, p_iteration integer, p_message_id text,
                                        p_metadata text, p_search tsvector)
RETURNS TABLE (id bigint, session_id text, entry_position bigint, role text, content text, agent text, phase text,
               iteration integer, message_id text, metadata text, created_at float8)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    pos bigint;
    stamp timestamptz := clock_timestamp();
BEGIN
    PERFORM 1 FROM roost.sessions s WHERE s.project = p_project AND s.id = p_session FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_message_id IS NOT NULL THEN
        RETURN QUERY SELECT t.id, t.session_id, t.position, t.role, t.content, t.agent, t.phase, t.iteration,
                            t.message_id, t.metadata, extract(epoch FROM t.created_at)::float8
                     FROM roost.transcript_entries t
                     WHERE t.project = p_project AND t.session_id = p_session AND t.message_id = p_message_id;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    UPDATE roost.sessions s SET last_position = s.last_position + 1, entry_count = s.entry_count + 1,
        last_activity = stamp
    WHERE s.project = p_project AND s.id = p_session
    RETURNING s.last_position INTO pos;
    INSERT INTO roost.events (project, topic, payload, refs) VALUES (p_project, 'transcript.appended',
        (json_build_object('session', p_session, 'count', 1, 'first', pos, 'last', pos))::text,
        jsonb_build_object('session', p_session));
    RETURN QUERY INSERT INTO roost.transcript_entries AS t (project, session_id, position, role, content, agent,
                                                            phase, iteration, message_id, metadata, created_at,
                                                            search)
        VALUES (p_project, p_session, pos, p_role, p_content, p_agent, p_phase, p_iteration, p_message_id,
                p_metadata, stamp, p_search)
        RETURNING t.id, t.session_id, t.position, t.role, t.content, t.agent, t.phase, t.iteration, t.message_id,
                  t.metadata, extract(epoch FROM t.created_at)::float8;
END
$$;
