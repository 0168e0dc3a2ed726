-- Workflow runs: versioned workflow definitions, runs of them, their phases, gate decisions,
-- evaluations and phase outputs (docs/workflows.md).
--
-- A definition is one JSON spec per (name, version); a run points at the version it started with.
-- A run's phases are rows created with the run and only ever updated in place, column by column,
-- by guarded statements: nothing deletes and re-inserts them, so no field is lost on a save. Gate
-- decisions, evaluations and outputs are append-only: triggers refuse any UPDATE of them, and they
-- go only with their run. The built-in events are written by triggers, in the writing statement's
-- transaction.

CREATE TABLE roost.workflows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    name text NOT NULL,
    version bigint NOT NULL,
    spec text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (project, name, version)
);

CREATE TABLE roost.runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project text NOT NULL,
    workflow_id bigint NOT NULL REFERENCES roost.workflows (id),
    workflow text NOT NULL,
    workflow_version bigint NOT NULL,
    subject_kind text NOT NULL,
    subject_ref text NOT NULL,
    variables text NOT NULL,
    status text NOT NULL
        CHECK (status IN ('pending', 'running', 'paused', 'blocked', 'completed', 'failed', 'cancelled')),
    phase text,
    reason text,
    version bigint NOT NULL,
    agent text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX runs_status ON roost.runs (project, status, id);
CREATE INDEX runs_workflow ON roost.runs (project, workflow, id);
CREATE INDEX runs_subject ON roost.runs (project, subject_kind, subject_ref, id);

CREATE TABLE roost.run_phases (
    run_id bigint NOT NULL REFERENCES roost.runs (id) ON DELETE CASCADE,
    phase text NOT NULL,
    position integer NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    iteration integer NOT NULL DEFAULT 0,
    executor text,
    session text,
    claim_token bigint,
    tokens bigint NOT NULL DEFAULT 0,
    cost double precision NOT NULL DEFAULT 0,
    error text,
    skip_reason text,
    started_at timestamptz,
    finished_at timestamptz,
    heartbeat_at timestamptz,
    PRIMARY KEY (run_id, phase)
);
CREATE INDEX run_phases_running ON roost.run_phases (heartbeat_at) WHERE status = 'running';

CREATE TABLE roost.gate_decisions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES roost.runs (id) ON DELETE CASCADE,
    phase text NOT NULL,
    iteration integer NOT NULL,
    approved boolean NOT NULL,
    reason text,
    decided_by text NOT NULL,
    decided_at timestamptz NOT NULL
);
CREATE INDEX gate_decisions_run ON roost.gate_decisions (run_id, phase, id);

CREATE TABLE roost.evaluations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES roost.runs (id) ON DELETE CASCADE,
    phase text NOT NULL,
    iteration integer NOT NULL,
    reviewer text NOT NULL,
    score double precision NOT NULL,
    max_score double precision NOT NULL,
    blockers text NOT NULL,
    feedback text,
    findings text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (run_id, phase, iteration, reviewer)
);

CREATE TABLE roost.run_outputs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES roost.runs (id) ON DELETE CASCADE,
    phase text NOT NULL,
    var text NOT NULL,
    iteration integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('text', 'json', 'artifact')),
    content text NOT NULL,
    sha256 text NOT NULL,
    size bigint NOT NULL,
    agent text,
    created_at timestamptz NOT NULL,
    UNIQUE (run_id, phase, var, iteration)
);
CREATE INDEX run_outputs_var ON roost.run_outputs (run_id, var, id);

CREATE FUNCTION roost.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER gate_decisions_kept BEFORE UPDATE ON roost.gate_decisions FOR EACH ROW
    EXECUTE FUNCTION roost.append_only();
CREATE TRIGGER evaluations_kept BEFORE UPDATE ON roost.evaluations FOR EACH ROW
    EXECUTE FUNCTION roost.append_only();
CREATE TRIGGER run_outputs_kept BEFORE UPDATE ON roost.run_outputs FOR EACH ROW
    EXECUTE FUNCTION roost.append_only();

CREATE FUNCTION roost.run_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project, 'run.started',
            (json_build_object('id', NEW.id, 'workflow', NEW.workflow, 'status', NEW.status, 'phase', NEW.phase,
                               'subject', json_build_object(NEW.subject_kind, NEW.subject_ref)))::text,
            jsonb_strip_nulls(jsonb_build_object('run', NEW.id, 'workflow', NEW.workflow, 'agent', NEW.agent)));
    ELSE
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (NEW.project,
            CASE WHEN NEW.status IN ('completed', 'failed', 'cancelled') THEN 'run.finished'
                 ELSE 'run.transitioned' END,
            (json_strip_nulls(json_build_object('id', NEW.id, 'workflow', NEW.workflow, 'from', OLD.status,
                                               'to', NEW.status, 'phase', NEW.phase, 'reason', NEW.reason)))::text,
            jsonb_build_object('run', NEW.id, 'workflow', NEW.workflow));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER runs_started AFTER INSERT ON roost.runs FOR EACH ROW EXECUTE FUNCTION roost.run_events();
CREATE TRIGGER runs_transitioned AFTER UPDATE OF status ON roost.runs FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION roost.run_events();

CREATE FUNCTION roost.run_phase_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r roost.runs%ROWTYPE;
BEGIN
    SELECT * INTO r FROM roost.runs WHERE id = NEW.run_id;
    IF NEW.iteration > OLD.iteration THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'phase.started',
            (json_strip_nulls(json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                               'executor', NEW.executor, 'session', NEW.session,
                                               'claim', NEW.claim_token)))::text,
            jsonb_strip_nulls(jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.executor)));
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('completed', 'failed', 'skipped') THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'phase.finished',
            (json_strip_nulls(json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                               'status', NEW.status, 'executor', NEW.executor, 'tokens', NEW.tokens - OLD.tokens,
                                               'cost', NEW.cost - OLD.cost, 'error', NEW.error,
                                               'skip_reason', NEW.skip_reason)))::text,
            jsonb_strip_nulls(jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.executor)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER run_phases_changed AFTER UPDATE OF iteration, status ON roost.run_phases FOR EACH ROW
    WHEN (NEW.iteration > OLD.iteration OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION roost.run_phase_events();

CREATE FUNCTION roost.run_record_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r roost.runs%ROWTYPE;
BEGIN
    SELECT * INTO r FROM roost.runs WHERE id = NEW.run_id;
    IF TG_TABLE_NAME = 'gate_decisions' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'gate.decided',
            (json_strip_nulls(json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                               'approved', NEW.approved, 'reason', NEW.reason,
                                               'decided_by', NEW.decided_by)))::text,
            jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.decided_by));
    ELSIF TG_TABLE_NAME = 'evaluations' THEN
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'evaluation.recorded',
            (json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                               'reviewer', NEW.reviewer, 'score', NEW.score, 'max_score', NEW.max_score,
                               'blockers', jsonb_array_length(NEW.blockers::jsonb)))::text,
            jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.reviewer));
    ELSE
        INSERT INTO roost.events (project, topic, payload, refs) VALUES (r.project, 'output.written',
            (json_build_object('run', NEW.run_id, 'phase', NEW.phase, 'var', NEW.var, 'iteration', NEW.iteration,
                               'kind', NEW.kind, 'sha256', NEW.sha256, 'size', NEW.size))::text,
            jsonb_strip_nulls(jsonb_build_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.agent)));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER gate_decided AFTER INSERT ON roost.gate_decisions FOR EACH ROW
    EXECUTE FUNCTION roost.run_record_events();
CREATE TRIGGER evaluation_recorded AFTER INSERT ON roost.evaluations FOR EACH ROW
    EXECUTE FUNCTION roost.run_record_events();
CREATE TRIGGER run_output_written AFTER INSERT ON roost.run_outputs FOR EACH ROW
    EXECUTE FUNCTION roost.run_record_events();
