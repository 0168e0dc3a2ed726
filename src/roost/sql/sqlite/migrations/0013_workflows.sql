-- Workflow runs: versioned workflow definitions, runs of them, their phases, gate decisions,
-- evaluations and phase outputs (docs/workflows.md).
--
-- A definition is one JSON spec per (name, version); a run points at the version it started with.
-- A run's phases are rows created with the run and only ever updated in place, column by column,
-- by guarded statements: nothing deletes and re-inserts them, so no field is lost on a save. Gate
-- decisions, evaluations and outputs are append-only: triggers refuse any UPDATE of them, and they
-- go only with their run. The built-in events are written by triggers, in the writing statement's
-- transaction.

CREATE TABLE workflows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (project, name, version)
);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    workflow_id INTEGER NOT NULL REFERENCES workflows (id),
    workflow TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    variables TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'running', 'paused', 'blocked', 'completed', 'failed', 'cancelled')),
    phase TEXT,
    reason TEXT,
    version INTEGER NOT NULL,
    agent TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX runs_status ON runs (project, status, id);
CREATE INDEX runs_workflow ON runs (project, workflow, id);
CREATE INDEX runs_subject ON runs (project, subject_kind, subject_ref, id);

CREATE TABLE run_phases (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    iteration INTEGER NOT NULL DEFAULT 0,
    executor TEXT,
    session TEXT,
    claim_token INTEGER,
    tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    error TEXT,
    skip_reason TEXT,
    started_at REAL,
    finished_at REAL,
    heartbeat_at REAL,
    PRIMARY KEY (run_id, phase)
);
CREATE INDEX run_phases_running ON run_phases (heartbeat_at) WHERE status = 'running';

CREATE TABLE gate_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    approved INTEGER NOT NULL,
    reason TEXT,
    decided_by TEXT NOT NULL,
    decided_at REAL NOT NULL
);
CREATE INDEX gate_decisions_run ON gate_decisions (run_id, phase, id);

CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    reviewer TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    blockers TEXT NOT NULL,
    feedback TEXT,
    findings TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (run_id, phase, iteration, reviewer)
);

CREATE TABLE run_outputs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    var TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('text', 'json', 'artifact')),
    content TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    agent TEXT,
    created_at REAL NOT NULL,
    UNIQUE (run_id, phase, var, iteration)
);
CREATE INDEX run_outputs_var ON run_outputs (run_id, var, id);

CREATE TRIGGER gate_decisions_kept BEFORE UPDATE ON gate_decisions BEGIN
    SELECT RAISE(ABORT, 'gate decisions are append-only');
END;
CREATE TRIGGER evaluations_kept BEFORE UPDATE ON evaluations BEGIN
    SELECT RAISE(ABORT, 'evaluations are append-only');
END;
CREATE TRIGGER run_outputs_kept BEFORE UPDATE ON run_outputs BEGIN
    SELECT RAISE(ABORT, 'phase outputs are append-only');
END;

CREATE TRIGGER runs_started AFTER INSERT ON runs BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'run.started',
        json_object('id', NEW.id, 'workflow', NEW.workflow, 'status', NEW.status, 'phase', NEW.phase,
                    'subject', json_object(NEW.subject_kind, NEW.subject_ref)),
        json_patch('{}', json_object('run', NEW.id, 'workflow', NEW.workflow, 'agent', NEW.agent)));
END;
CREATE TRIGGER runs_transitioned AFTER UPDATE OF status ON runs WHEN NEW.status <> OLD.status BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project,
        CASE WHEN NEW.status IN ('completed', 'failed', 'cancelled') THEN 'run.finished' ELSE 'run.transitioned' END,
        json_patch('{}', json_object('id', NEW.id, 'workflow', NEW.workflow, 'from', OLD.status, 'to', NEW.status,
                                     'phase', NEW.phase, 'reason', NEW.reason)),
        json_object('run', NEW.id, 'workflow', NEW.workflow));
END;
CREATE TRIGGER run_phases_started AFTER UPDATE OF iteration ON run_phases WHEN NEW.iteration > OLD.iteration BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'phase.started',
        json_patch('{}', json_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                     'executor', NEW.executor, 'session', NEW.session, 'claim', NEW.claim_token)),
        json_patch('{}', json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.executor))
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER run_phases_finished AFTER UPDATE OF status ON run_phases
WHEN NEW.status <> OLD.status AND NEW.status IN ('completed', 'failed', 'skipped') BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'phase.finished',
        json_patch('{}', json_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                     'status', NEW.status, 'executor', NEW.executor, 'tokens', NEW.tokens - OLD.tokens,
                                     'cost', NEW.cost - OLD.cost, 'error', NEW.error, 'skip_reason', NEW.skip_reason)),
        json_patch('{}', json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.executor))
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER gate_decided AFTER INSERT ON gate_decisions BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'gate.decided',
        json_patch('{}', json_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration,
                                     'approved', json(CASE WHEN NEW.approved THEN 'true' ELSE 'false' END),
                                     'reason', NEW.reason, 'decided_by', NEW.decided_by)),
        json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.decided_by)
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER evaluation_recorded AFTER INSERT ON evaluations BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'evaluation.recorded',
        json_object('run', NEW.run_id, 'phase', NEW.phase, 'iteration', NEW.iteration, 'reviewer', NEW.reviewer,
                    'score', NEW.score, 'max_score', NEW.max_score, 'blockers', json_array_length(NEW.blockers)),
        json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.reviewer)
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER run_output_written AFTER INSERT ON run_outputs BEGIN
    INSERT INTO events (project, topic, payload, refs)
    SELECT r.project, 'output.written',
        json_object('run', NEW.run_id, 'phase', NEW.phase, 'var', NEW.var, 'iteration', NEW.iteration,
                    'kind', NEW.kind, 'sha256', NEW.sha256, 'size', NEW.size),
        json_patch('{}', json_object('run', NEW.run_id, 'workflow', r.workflow, 'agent', NEW.agent))
    FROM runs r WHERE r.id = NEW.run_id;
END;
