-- Import and transfer (docs/operations.md): what each project was last imported from, and the
-- record-keeping triggers made quiet for an import's own transactions.
--
-- An imported row already carries what these triggers would add: the events they write are in
-- the file too, and a session's counters were counted where the row was first written. So an
-- import sets roost.importing for its transaction (set_config(..., true): it ends with the
-- transaction, and no other session ever sees it), and each trigger's WHEN skips it then. The
-- triggers that keep derived data (search names) still run.

CREATE TABLE roost.imports (
    project text PRIMARY KEY,
    digest text NOT NULL,
    source text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz
);

CREATE FUNCTION roost.recording() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT current_setting('roost.importing', true) IS DISTINCT FROM 'on'
$$;

DROP TRIGGER tasks_inserted ON roost.tasks;
CREATE TRIGGER tasks_inserted AFTER INSERT ON roost.tasks FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.task_events();
DROP TRIGGER signals_written ON roost.signals;
CREATE TRIGGER signals_written AFTER INSERT OR UPDATE OF value, version ON roost.signals FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.signal_events();
DROP TRIGGER lock_holders_inserted ON roost.lock_holders;
CREATE TRIGGER lock_holders_inserted AFTER INSERT ON roost.lock_holders FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.lock_events();
DROP TRIGGER agents_inserted ON roost.agents;
CREATE TRIGGER agents_inserted AFTER INSERT OR DELETE ON roost.agents FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.agent_events();
DROP TRIGGER sessions_written ON roost.sessions;
CREATE TRIGGER sessions_written AFTER INSERT OR DELETE OR UPDATE OF status ON roost.sessions FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.session_events();
DROP TRIGGER memories_written ON roost.memories;
CREATE TRIGGER memories_written AFTER INSERT OR DELETE OR UPDATE OF version ON roost.memories FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.memory_events();
DROP TRIGGER observations_written ON roost.observations;
CREATE TRIGGER observations_written AFTER INSERT OR DELETE ON roost.observations FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.observation_counts();
DROP TRIGGER artifacts_written ON roost.artifacts;
CREATE TRIGGER artifacts_written AFTER INSERT OR DELETE ON roost.artifacts FOR EACH ROW
    WHEN (roost.recording()) EXECUTE FUNCTION roost.artifact_events();
DROP TRIGGER runs_started ON roost.runs;
CREATE TRIGGER runs_started AFTER INSERT ON roost.runs FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.run_events();
DROP TRIGGER gate_decided ON roost.gate_decisions;
CREATE TRIGGER gate_decided AFTER INSERT ON roost.gate_decisions FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.run_record_events();
DROP TRIGGER evaluation_recorded ON roost.evaluations;
CREATE TRIGGER evaluation_recorded AFTER INSERT ON roost.evaluations FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.run_record_events();
DROP TRIGGER run_output_written ON roost.run_outputs;
CREATE TRIGGER run_output_written AFTER INSERT ON roost.run_outputs FOR EACH ROW WHEN (roost.recording())
    EXECUTE FUNCTION roost.run_record_events();
