-- One transcript entry in one statement: the single append's fast path (a batch goes through COPY).
-- The session's row is locked first, so appends to one session take turns and the message-id check
-- is exact; a repeated message id returns the stored entry and changes nothing. No rows: no such
-- session.
CREATE FUNCTION roost.transcript_append(p_project text, p_session text, p_role text, p_content text,
                                        p_agent text, p_phase text, p_iteration integer, p_message_id text,
                                        p_metadata text)
RETURNS TABLE (id bigint, session_id text, entry_position bigint, role text, content text, agent text, phase text,
               iteration integer, message_id text, metadata text, created_at float8)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    pos bigint;
    stamp timestamptz := clock_timestamp();
BEGIN
    PERFORM 1 FROM roost.sessions s WHERE s.project = p_project AND s.id = p_session FOR UPDATE;
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
                                                            phase, iteration, message_id, metadata, created_at)
        VALUES (p_project, p_session, pos, p_role, p_content, p_agent, p_phase, p_iteration, p_message_id,
                p_metadata, stamp)
        RETURNING t.id, t.session_id, t.position, t.role, t.content, t.agent, t.phase, t.iteration, t.message_id,
                  t.metadata, extract(epoch FROM t.created_at)::float8;
END
$$;
