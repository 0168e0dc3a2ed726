"""Workflow runs on every backend: definitions and their versions, the run state machine, phases
with fencing and takeover, gate decisions, evaluations and the refinement-loop rule, outputs per
iteration, the constant-query load with every field read back, the built-in events, and bad input
refused with nothing changed."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import roost
from roost import errors
from roost._op import Script
from roost.workflows import _common as c
from roost.workflows.definitions import PhaseSpec
from roost.workflows.records import Evaluation, decide_loop
from tests.helpers import backdate

PHASES: list[dict[str, Any]] = [{"id": "plan", "template": "Plan {{TASK}}", "variables": {"DEPTH": 2}},
          {"id": "implement", "max_iterations": 5},
          {"id": "review", "gate": "human", "description": "a person signs off"}]


@pytest.fixture
def store(url):
    with roost.connect(url, project="runs") as s:
        yield s


@pytest.fixture
def run(store):
    store.workflows.define("feature", PHASES, variables={"LANG": "python"})
    return store.runs.start("feature", {"task": 42}, variables={"TASK": "auth"})


def topics(store, prefix=""):
    return [e.topic for e in store.events.query() if e.topic.startswith(prefix)]


def counted(store):
    """Statements each call of the store runs: the steps its operations yield (each one statement,
    or one block on SQLite)."""
    seen = []
    backend = getattr(store, "bridged_backend", store._backend)  # (the async run: its backend)
    original = backend.execute

    def execute(make, atomic, tx):
        def counting():
            op = make()
            steps: list[object] = []
            seen.append(steps)

            def gen():
                try:
                    step = next(op)
                    while True:
                        steps.append(step)
                        result = yield step
                        step = op.send(result)
                except StopIteration as stop:
                    return stop.value
            return gen()
        return original(counting, atomic, tx)

    backend.execute = execute
    return seen


# -- definitions ---------------------------------------------------------------------------------

def test_define_is_idempotent_versioned_and_a_run_keeps_its_version(store):
    wf = store.workflows.define("feature", PHASES, variables={"LANG": "python"}, description="d")
    assert wf.changed and wf.version == 1 and [p.id for p in wf.phases] == ["plan", "implement", "review"]
    assert wf.phases[0].variables == {"DEPTH": 2} and wf.phases[2].gate == "human" and wf.phases[1].max_iterations == 5
    again = store.workflows.define("feature", [PhaseSpec(**p) for p in PHASES], variables={"LANG": "python"},
                                   description="d")
    assert not again.changed and again.version == 1
    first = store.runs.start("feature", "task:1")
    v2 = store.workflows.define("feature", [*PHASES, {"id": "qa", "gate": "ai"}])
    assert v2.changed and v2.version == 2
    second = store.runs.start("feature", "task:2")
    assert (first.workflow_version, second.workflow_version) == (1, 2)
    assert [p for p in store.runs.get(first.id).phases] == ["plan", "implement", "review"]
    assert list(store.runs.get(second.id).phases)[-1] == "qa"
    assert store.workflows.get("feature").version == 2 and store.workflows.get("feature", version=1).version == 1
    assert [(w.name, w.version) for w in store.workflows.list()] == [("feature", 2)]
    old = store.runs.start("feature", "task:3", version=1)
    assert old.workflow_version == 1 and store.workflows.get("nope") is None


# -- the run state machine -----------------------------------------------------------------------

def test_every_transition_of_the_state_machine_is_allowed_or_refused_with_nothing_changed(store):
    store.workflows.define("w", [{"id": "only"}])
    for source, target in itertools.product(c.RUN_STATES, c.RUN_STATES):
        r = store.runs.start("w", "task:x", status="pending")
        path = {"pending": [], "running": ["running"], "paused": ["running", "paused"],
                "blocked": ["running", "blocked"], "completed": ["running", "completed"],
                "failed": ["running", "failed"], "cancelled": ["cancelled"]}[source]
        for step in path:
            store.runs.transition(r.id, step)
        before = store.runs.get(r.id).run
        assert before.status == source
        if target in c.TRANSITIONS[source]:
            moved = store.runs.transition(r.id, target, expected=source, reason="because")
            assert (moved.status, moved.reason, moved.version) == (target, "because", before.version + 1)
            assert (moved.finished_at is not None) == (target in c.TERMINAL)
        else:
            with pytest.raises(errors.IllegalTransition, match=f"run {r.id} is {source}"):
                store.runs.transition(r.id, target)
            assert store.runs.get(r.id).run == before


def test_a_transition_from_an_unexpected_state_is_refused(store, run):
    store.runs.pause(run.id)
    with pytest.raises(errors.IllegalTransition, match="is paused, not running as expected"):
        store.runs.transition(run.id, "cancelled", expected="running")
    assert store.runs.get(run.id).status == "paused"
    assert store.runs.resume(run.id).status == "running"
    with pytest.raises(errors.RunNotFound):
        store.runs.transition(9999, "paused")
    assert topics(store, "run.") == ["run.started", "run.transitioned", "run.transitioned"]
    store.runs.cancel(run.id, "no longer needed")
    assert topics(store, "run.")[-1] == "run.finished"
    with pytest.raises(errors.IllegalTransition, match="is cancelled: a phase starts only while the run is running"):
        store.runs.phase_start(run.id, "plan")


# -- phases --------------------------------------------------------------------------------------

def test_phases_start_finish_count_iterations_and_keep_every_field(store, run):
    p = store.runs.phase_start(run.id, "plan", executor="planner", session=None)
    assert (p.status, p.iteration, p.executor, p.claim) == ("running", 1, "planner", None)
    with pytest.raises(errors.PhaseBusy, match="planner"):
        store.runs.phase_start(run.id, "plan", executor="intruder")
    done = store.runs.phase_finish(run.id, "plan", tokens=120, cost=0.25, iteration=1)
    assert (done.status, done.tokens, done.cost, done.finished_at is not None) == ("completed", 120, 0.25, True)
    again = store.runs.phase_start(run.id, "plan", executor="planner-2")
    failed = store.runs.phase_finish(run.id, "plan", "failed", tokens=30, cost=0.5, error="tests broke")
    assert (again.iteration, failed.status, failed.tokens, failed.cost, failed.error) == (2, "failed", 150, 0.75,
                                                                                          "tests broke")
    store.runs.phase_start(run.id, "plan")
    store.runs.phase_finish(run.id, "plan")
    with pytest.raises(errors.IterationLimit, match="max_iterations of 3"):
        store.runs.phase_start(run.id, "plan")
    skipped = store.runs.phase_finish(run.id, "implement", "skipped", skip_reason="nothing to build")
    assert (skipped.status, skipped.skip_reason, skipped.iteration) == ("skipped", "nothing to build", 0)
    with pytest.raises(errors.IllegalTransition, match="not running"):
        store.runs.phase_finish(run.id, "review")
    with pytest.raises(errors.PhaseNotFound, match="no phase 'deploy'"):
        store.runs.phase_start(run.id, "deploy")
    detail = store.runs.get(run.id)
    plan = detail.phases["plan"]
    assert (plan.iteration, plan.tokens, plan.cost, plan.executor, plan.error) == (3, 150, 0.75, c.who(None, "x"),
                                                                                   None)
    assert detail.run.phase == "plan"
    assert topics(store, "phase.").count("phase.started") == 3 and topics(store, "phase.").count("phase.finished") == 4
    finished = [e.payload for e in store.events.query("phase.finished")]
    assert [(f["iteration"], f["status"], f["tokens"], f["cost"]) for f in finished[:2]] == [
        (1, "completed", 120, 0.25), (2, "failed", 30, 0.5)]  # each iteration's own figures


def test_a_silent_executor_is_stale_and_can_be_taken_over_and_its_late_finish_is_refused(store, run):
    first = store.runs.phase_start(run.id, "plan", executor="slow")
    assert store.runs.stale(stale_after=60) == []
    backdate(store, "run_phases", ["heartbeat_at"], 1.5, where="status = 'running'")  # (silence, without waiting)
    (stale,) = store.runs.stale(stale_after=1)
    assert (stale.run, stale.phase, stale.executor, stale.why, stale.iteration) == (run.id, "plan", "slow", "silent", 1)
    with pytest.raises(errors.PhaseBusy):
        store.runs.phase_start(run.id, "plan", executor="eager", stale_after=60)
    taken = store.runs.phase_start(run.id, "plan", executor="eager", stale_after=1)
    assert (taken.iteration, taken.executor) == (2, "eager")
    with pytest.raises(errors.LeaseLost, match="iteration 2, not 1"):
        store.runs.phase_finish(run.id, "plan", iteration=first.iteration)
    with pytest.raises(errors.LeaseLost):
        store.runs.phase_heartbeat(run.id, "plan", iteration=first.iteration)
    assert store.runs.phase_heartbeat(run.id, "plan", iteration=2).heartbeat_at >= taken.heartbeat_at
    assert store.runs.phase_finish(run.id, "plan", iteration=2).status == "completed"


def test_a_phase_under_a_task_claim_is_fenced_by_its_lease(store, run):
    store.tasks.enqueue("build")
    (claim,) = store.tasks.claim("worker", lease=60)
    with pytest.raises(errors.LeaseLost, match="not a live task claim"):
        store.runs.phase_start(run.id, "plan", claim=claim.token + 1000)
    p = store.runs.phase_start(run.id, "plan", executor="worker", claim=claim)
    assert p.claim == claim.token
    with pytest.raises(errors.LeaseLost, match=f"runs under claim {claim.token}"):
        store.runs.phase_finish(run.id, "plan")
    store.runs.phase_heartbeat(run.id, "plan", claim=claim.token)
    assert store.runs.stale(stale_after=0) == []
    backdate(store, "tasks", ["lease_expires_at"], 120)  # (the lease ran out; the SIGKILL test waits for real)
    (stale,) = store.runs.stale()
    assert (stale.why, stale.claim) == ("claim lost", claim.token)
    with pytest.raises(errors.LeaseLost, match="lease of claim"):
        store.runs.phase_finish(run.id, "plan", claim=claim.token)
    (again,) = store.tasks.claim("worker-2", lease=30)
    taken = store.runs.phase_start(run.id, "plan", executor="worker-2", claim=again.token)
    assert (taken.iteration, taken.claim) == (2, again.token)
    assert store.runs.phase_finish(run.id, "plan", claim=again.token, tokens=5).status == "completed"
    store.tasks.complete(again.token, task_id=again.id)


# -- gates and advancing -------------------------------------------------------------------------

def test_advance_walks_the_phases_and_waits_on_a_human_gate(store, run):
    assert store.runs.advance(run.id).outcome == "not_done"
    store.runs.phase_start(run.id, "plan")
    store.runs.phase_finish(run.id, "plan")
    step = store.runs.advance(run.id)
    assert (step.outcome, step.run.phase, step.run.status) == ("advanced", "implement", "running")
    store.runs.phase_start(run.id, "implement")
    store.runs.phase_finish(run.id, "implement", "failed", error="x")
    assert store.runs.advance(run.id).outcome == "failed"
    store.runs.phase_start(run.id, "implement")
    store.runs.phase_finish(run.id, "implement")
    store.runs.advance(run.id)
    with pytest.raises(errors.IllegalTransition, match="not started"):
        store.runs.decide(run.id, "review", True)
    store.runs.phase_start(run.id, "review")
    store.runs.phase_finish(run.id, "review")
    waiting = store.runs.advance(run.id)
    assert (waiting.outcome, waiting.run.status) == ("waiting", "blocked")
    assert "human gate of phase review" in waiting.run.reason
    assert store.runs.advance(run.id).outcome == "waiting"
    no = store.runs.decide(run.id, "review", False, "missing tests", decided_by="alice")
    assert (no.approved, no.iteration, no.decided_by) == (False, 1, "alice")
    assert store.runs.get(run.id).phases["review"].gate_state == "rejected"
    assert store.runs.advance(run.id).outcome == "rejected"
    store.runs.resume(run.id)
    store.runs.phase_start(run.id, "review")
    assert store.runs.get(run.id).phases["review"].gate_state == "pending"  # a new iteration needs a new decision
    store.runs.phase_finish(run.id, "review")
    store.runs.decide(run.id, "review", True, "good now", decided_by="alice")
    done = store.runs.advance(run.id)
    assert (done.outcome, done.run.status, done.run.finished_at is not None) == ("completed", "completed", True)
    decisions = store.runs.get(run.id).decisions
    assert [(d.iteration, d.approved, d.reason) for d in decisions] == [(1, False, "missing tests"),
                                                                         (2, True, "good now")]
    assert topics(store, "gate.") == ["gate.decided", "gate.decided"]


# -- evaluations and the refinement loop ----------------------------------------------------------

def test_evaluations_are_unique_per_reviewer_and_iteration_and_kept(store, run):
    runs = store.runs
    runs.phase_start(run.id, "implement")
    e = runs.evaluate(run.id, "implement", 1, "qa", 7, max_score=10, blockers=["no tests"], feedback="f",
                      findings=[{"file": "a.py", "line": 3}])
    assert (e.score, e.max_score, e.normalized, e.blockers, e.findings) == (7, 10, 70, ["no tests"],
                                                                            [{"file": "a.py", "line": 3}])
    same = runs.evaluate(run.id, "implement", 1, "qa", 7, max_score=10, blockers=["no tests"], feedback="f",
                         findings=[{"file": "a.py", "line": 3}])
    assert same.id == e.id
    with pytest.raises(errors.DuplicateRecord, match="already evaluated iteration 1"):
        runs.evaluate(run.id, "implement", 1, "qa", 9, max_score=10)
    with pytest.raises(errors.InvalidArgument, match="has reached iteration 1"):
        runs.evaluate(run.id, "implement", 2, "qa", 9)
    runs.evaluate(run.id, "implement", 1, "sec", 90)
    runs.phase_finish(run.id, "implement")
    runs.phase_start(run.id, "implement")
    runs.evaluate(run.id, "implement", 2, "qa", 9, max_score=10)
    history = runs.score_history(run.id, "implement")
    assert [(h.iteration, h.reviewer, h.score) for h in history] == [(1, "qa", 7), (1, "sec", 90), (2, "qa", 9)]
    latest = runs.latest_by_reviewer(run.id, "implement")
    assert {k: (x.iteration, x.score) for k, x in latest.items()} == {"qa": (2, 9), "sec": (1, 90)}
    assert runs.latest_by_reviewer(run.id, "implement", up_to_iteration=1)["qa"].score == 7
    loop = runs.decide_loop(run.id, "implement", threshold=80, max_iterations=5)
    assert (loop.verdict, loop.scores) == ("passed", [(1, 70), (2, 90)])
    assert [x.reviewer for x in store.runs.get(run.id).evaluations] == ["qa", "sec"]
    assert topics(store, "evaluation.") == ["evaluation.recorded"] * 3


def _history(*iterations):
    """Hand-written score histories: each argument is one iteration's {reviewer: score}."""
    at = datetime.now(UTC)
    return [Evaluation(1, "p", k, reviewer, float(score), 100.0, ["blocker"] if score == "b" else [], None, [], at)
            if score != "b" else Evaluation(1, "p", k, reviewer, 95.0, 100.0, ["blocker"], None, [], at)
            for k, scores in enumerate(iterations, 1) for reviewer, score in scores.items()]


def test_decide_loop_on_hand_written_histories():
    assert decide_loop([], 80, 5, 3).verdict == "continue"
    assert decide_loop(_history({"a": 50}, {"a": 85}), 80, 5, 3).verdict == "passed"
    # the lowest reviewer counts, and a reviewer who did not review again keeps the last score
    assert decide_loop(_history({"a": 90, "b": 60}, {"a": 95}), 80, 5, 3).verdict == "continue"
    assert decide_loop(_history({"a": 90, "b": 60}, {"b": 85}), 80, 5, 3).verdict == "passed"
    blocked = decide_loop(_history({"a": "b"}), 80, 5, 3)
    assert (blocked.verdict, blocked.blockers) == ("continue", ["blocker"])
    exhausted = decide_loop(_history({"a": 50}, {"a": 60}, {"a": 70}), 80, 3, 3)
    assert exhausted.verdict == "exhausted" and "last of 3" in exhausted.reason
    assert decide_loop(_history({"a": 50}, {"a": 60}, {"a": 70}), 80, 3, 3).verdict == "exhausted"
    plateau = decide_loop(_history({"a": 60}, {"a": 70}, {"a": 65}, {"a": 70}, {"a": 68}), 80, 10, 3)
    assert plateau.verdict == "stagnated" and plateau.best == 70
    rising = decide_loop(_history({"a": 60}, {"a": 61}, {"a": 62}, {"a": 63}), 80, 10, 3)
    assert rising.verdict == "continue"
    assert decide_loop(_history({"a": 70}, {"a": 70}, {"a": 70}, {"a": 70}), 80, 10, None).verdict == "continue"
    assert decide_loop(_history({"a": 70}, {"a": 70}), 80, 10, 1).verdict == "stagnated"
    assert decide_loop(_history({"a": 80}), 80, 1, 3).verdict == "passed"  # passing beats the last iteration


# -- outputs -------------------------------------------------------------------------------------

def test_outputs_keep_every_iteration_and_give_the_latest_for_templates(store, run):
    runs = store.runs
    with pytest.raises(errors.IllegalTransition, match="has not started"):
        runs.output(run.id, "plan", "PLAN", "too early")
    runs.phase_start(run.id, "plan")
    first = runs.output(run.id, "plan", "PLAN", "step one \U0001f426")
    assert (first.iteration, first.kind, first.size) == (1, "text", len("step one \U0001f426".encode()))
    assert runs.output(run.id, "plan", "PLAN", "step one \U0001f426").id == first.id
    with pytest.raises(errors.DuplicateRecord, match="already written"):
        runs.output(run.id, "plan", "PLAN", "other")
    runs.output(run.id, "plan", "SPEC", {"goals": ["a", "b"], "n": 1.5})
    runs.phase_finish(run.id, "plan")
    runs.phase_start(run.id, "plan")
    runs.output(run.id, "plan", "PLAN", "step two")
    store.artifacts.put("design.md", "# design")
    store.artifacts.put("design.md", "# design v2")
    ref = runs.output(run.id, "plan", "DESIGN", artifact="design.md")
    assert ref.kind == "artifact" and ref.content == {"artifact": "design.md", "version": 2}
    runs.output(run.id, "plan", "OLD_DESIGN", artifact=("design.md", 1))
    with pytest.raises(errors.ArtifactNotFound):
        runs.output(run.id, "plan", "X", artifact=("design.md", 9))
    assert runs.outputs(run.id) == {"PLAN": "step two", "SPEC": {"goals": ["a", "b"], "n": 1.5},
                                    "DESIGN": {"artifact": "design.md", "version": 2},
                                    "OLD_DESIGN": {"artifact": "design.md", "version": 1}}
    assert runs.outputs(run.id, "plan", iteration=1) == {"PLAN": "step one \U0001f426",
                                                          "SPEC": {"goals": ["a", "b"], "n": 1.5}}
    assert [o.content for o in runs.output_history(run.id, "plan", "PLAN")] == ["step one \U0001f426", "step two"]
    assert runs.output(run.id, "plan", "LATE", "for iteration 1", iteration=1).iteration == 1
    with pytest.raises(errors.InvalidArgument, match="reached iteration 2"):
        runs.output(run.id, "plan", "X", "y", iteration=3)
    assert runs.outputs(run.id, "implement") == {}
    assert store.runs.get(run.id).outputs["PLAN"] == "step two"
    assert topics(store, "output.").count("output.written") == 6


# -- loading -------------------------------------------------------------------------------------

def _busy_run(store, subject):
    r = store.runs.start("feature", {"task": subject}, variables={"TASK": subject})
    for phase in ("plan", "implement"):
        store.runs.phase_start(r.id, phase, executor="x")
        store.runs.output(r.id, phase, phase.upper(), f"{phase} of {subject}")
        store.runs.evaluate(r.id, phase, 1, "qa", 50)
        store.runs.decide(r.id, phase, True, decided_by="lead")
        store.runs.phase_finish(r.id, phase, tokens=3)
    return r


def test_load_costs_a_constant_number_of_queries_whatever_the_number_of_runs(store):
    store.workflows.define("feature", PHASES)
    with store.transaction():  # (one transaction: quicker to fill)
        for i in range(200):
            _busy_run(store, str(i))
    store.runs.load(limit=1)  # (the workflow version is read once per process)
    seen = counted(store)
    counts = {}
    for n in (1, 10, 200):
        seen.clear()
        page = store.runs.load(limit=n)
        assert len(page) == n and all(len(d.phases) == 3 and len(d.decisions) == 2 and len(d.evaluations) == 2
                                      and len(d.outputs) == 2 for d in page)
        counts[n] = sum(len(steps) for steps in seen)
    assert counts[1] == counts[10] == counts[200] == 5, counts
    page = store.runs.load(limit=150)
    rest = store.runs.load(limit=150, cursor=page.cursor)
    assert len(rest) == 50 and rest.cursor is None and {d.id for d in page} | {d.id for d in rest} == set(
        range(1, 201))
    assert [d.id for d in store.runs.load(subject="task:7")] == [8]
    assert [d.id for d in store.runs.load(ids=[3, 5])] == [5, 3]


def test_every_field_written_is_read_back(store):
    store.workflows.define("feature", PHASES, variables={"LANG": "python"}, description="all of it")
    store.tasks.enqueue("t")
    (claim,) = store.tasks.claim("exec", lease=60)
    r = store.runs.start("feature", {"initiative": "auth"}, variables={"TASK": "auth", "N": [1, {"x": None}]},
                         agent="manager")
    p = store.runs.phase_start(r.id, "plan", executor="coder-1", session="sess-1", claim=claim.token)
    store.runs.output(r.id, "plan", "PLAN", {"steps": ["a"], "ok": True}, agent="coder-1")
    ev = store.runs.evaluate(r.id, "plan", 1, "rev", 42.5, max_score=50, blockers=["b1", "b2"], feedback="fb \u00e9",
                             findings=[{"k": [1, 2]}, "note"])
    d = store.runs.decide(r.id, "plan", False, "why not", decided_by="lead")
    done = store.runs.phase_finish(r.id, "plan", "failed", tokens=77, cost=1.25, error="boom", claim=claim.token)
    store.runs.phase_finish(r.id, "implement", "skipped", skip_reason="not needed")
    detail = store.runs.get(r.id)
    run_ = detail.run
    assert (run_.workflow, run_.workflow_version, run_.subject, run_.variables, run_.status, run_.phase, run_.agent,
            run_.version) == ("feature", 1, {"initiative": "auth"}, {"TASK": "auth", "N": [1, {"x": None}]},
                              "running", "plan", "manager", 2)
    assert run_ == store.runs.list().items[0]
    plan = detail.phases["plan"]
    assert (plan.position, plan.status, plan.iteration, plan.executor, plan.session, plan.claim, plan.tokens,
            plan.cost, plan.error, plan.gate, plan.gate_state) == (0, "failed", 1, "coder-1", "sess-1", claim.token,
                                                                   77, 1.25, "boom", "auto", "auto")
    assert plan.started_at == p.started_at and plan.finished_at == done.finished_at and plan.heartbeat_at
    impl = detail.phases["implement"]
    assert (impl.status, impl.skip_reason, impl.iteration, impl.started_at) == ("skipped", "not needed", 0, None)
    assert detail.phases["review"].gate == "human" and detail.phases["review"].gate_state == "pending"
    assert detail.decisions == [d] and detail.evaluations == [ev]
    assert detail.outputs == {"PLAN": {"steps": ["a"], "ok": True}}
    (out,) = store.runs.output_history(r.id, "plan", "PLAN")
    assert (out.agent, out.kind, len(out.sha256)) == ("coder-1", "json", 64)


def test_runs_list_filters_and_pages(store):
    store.workflows.define("feature", PHASES)
    store.workflows.define("other", [{"id": "x"}])
    ids = [store.runs.start("feature" if i % 2 else "other", {"task": i % 3}).id for i in range(9)]
    store.runs.cancel(ids[0])
    assert [r.id for r in store.runs.list(workflow="other")] == [ids[8], ids[6], ids[4], ids[2], ids[0]]
    assert [r.id for r in store.runs.list(status="cancelled")] == [ids[0]]
    assert [r.id for r in store.runs.list(status=["running"], subject={"task": 0})] == [ids[6], ids[3]]
    first = store.runs.list(limit=4)
    assert len(first) == 4 and first.cursor
    assert [r.id for r in store.runs.list(limit=4, cursor=first.cursor)] == ids[4::-1][:4]
    assert store.runs.list(since=datetime.now(UTC) + timedelta(hours=1)).items == []
    assert len(store.runs.list(since=datetime.now(UTC) - timedelta(hours=1))) == 9


# -- bad input -----------------------------------------------------------------------------------

def _snapshot(store, run_id):
    detail = store.runs.get(run_id)
    return (detail, len(store.events.query(limit=10_000)), store.runs.score_history(run_id, "implement"),
            store.runs.output_history(run_id, "implement", "V"))


BAD_CALLS = [
    (errors.WorkflowNotFound, lambda s, r: s.runs.start("nope", "task:1")),
    (errors.WorkflowNotFound, lambda s, r: s.runs.start("feature", "task:1", version=7)),
    (errors.RunNotFound, lambda s, r: s.runs.phase_start(r + 100, "plan")),
    (errors.RunNotFound, lambda s, r: s.runs.outputs(r + 100)),
    (errors.RunNotFound, lambda s, r: s.runs.score_history(r + 100, "plan")),
    (errors.PhaseNotFound, lambda s, r: s.runs.evaluate(r, "deploy", 1, "qa", 5)),
    (errors.PhaseNotFound, lambda s, r: s.runs.output(r, "deploy", "V", "x")),
    (errors.PhaseNotFound, lambda s, r: s.runs.decide(r, "deploy", True)),
    (errors.IllegalTransition, lambda s, r: s.runs.transition(r, "pending")),
    (errors.IllegalTransition, lambda s, r: s.runs.phase_finish(r, "plan")),
    (errors.InvalidArgument, lambda s, r: s.runs.evaluate(r, "implement", 1, "qa", 101)),
    (errors.InvalidArgument, lambda s, r: s.runs.evaluate(r, "implement", 1, "qa", -1)),
    (errors.InvalidArgument, lambda s, r: s.runs.evaluate(r, "implement", 1, "qa", float("nan"))),
    (errors.InvalidArgument, lambda s, r: s.runs.evaluate(r, "implement", 1, "qa", 5, max_score=0)),
    (errors.InvalidArgument, lambda s, r: s.runs.evaluate(r, "implement", 0, "qa", 5)),
    (errors.InvalidArgument, lambda s, r: s.runs.evaluate(r, "implement", 1, "qa", True)),
    (errors.DuplicateRecord, lambda s, r: s.runs.evaluate(r, "implement", 1, "qa", 6)),
    (errors.DuplicateRecord, lambda s, r: s.runs.output(r, "implement", "V", "changed")),
    (errors.TooLarge, lambda s, r: s.runs.output(r, "implement", "V2", "x" * (2**20 + 1))),
    (errors.InvalidArgument, lambda s, r: s.runs.output(r, "implement", "V2", {"x": "y" * 2**20})),
    (errors.InvalidArgument, lambda s, r: s.runs.output(r, "implement", "V2", _nested(70))),
    (errors.InvalidArgument, lambda s, r: s.runs.output(r, "implement", "bad-var", "x")),
    (errors.InvalidArgument, lambda s, r: s.runs.output(r, "implement", "V2")),
    (errors.InvalidArgument, lambda s, r: s.runs.output(r, "implement", "V2", "x", artifact="a")),
    (errors.InvalidArgument, lambda s, r: s.runs.output(r, "implement", "V2", "nul\x00")),
    (errors.InvalidArgument, lambda s, r: s.runs.start("feature", {"task": 1, "spec": 2})),
    (errors.InvalidArgument, lambda s, r: s.runs.start("feature", {"Task!": 1})),
    (errors.InvalidArgument, lambda s, r: s.runs.start("feature", "task:1", variables={"bad name": 1})),
    (errors.InvalidArgument, lambda s, r: s.runs.start("feature", "task:1", status="completed")),
    (errors.InvalidArgument, lambda s, r: s.runs.transition(r, "done")),
    (errors.InvalidArgument, lambda s, r: s.runs.phase_start("x; DROP TABLE runs", "plan")),
    (errors.InvalidArgument, lambda s, r: s.runs.phase_start(r, "plan'; --")),
    (errors.InvalidArgument, lambda s, r: s.runs.phase_finish(r, "implement", "done")),
    (errors.InvalidArgument, lambda s, r: s.runs.phase_finish(r, "implement", tokens=-1)),
    (errors.InvalidArgument, lambda s, r: s.runs.phase_finish(r, "implement", cost=float("inf"))),
    (errors.InvalidArgument, lambda s, r: s.runs.phase_finish(r, "implement", cost=-0.5)),
    (errors.InvalidArgument, lambda s, r: s.runs.decide(r, "implement", "yes")),
    (errors.InvalidArgument, lambda s, r: s.runs.decide_loop(r, "implement", threshold=101, max_iterations=3)),
    (errors.InvalidArgument, lambda s, r: s.runs.list(status="nope")),
    (errors.InvalidArgument, lambda s, r: s.runs.load(cursor="abc")),
    (errors.InvalidArgument, lambda s, r: s.workflows.define("w", [])),
    (errors.InvalidArgument, lambda s, r: s.workflows.define("w", [{"id": "a"}, {"id": "a"}])),
    (errors.InvalidArgument, lambda s, r: s.workflows.define("w", [{"id": "a", "gate": "robot"}])),
    (errors.InvalidArgument, lambda s, r: s.workflows.define("w", [{"id": "a", "max_iterations": 0}])),
    (errors.InvalidArgument, lambda s, r: s.workflows.define("w", [{"id": "a", "colour": "red"}])),
    (errors.InvalidArgument, lambda s, r: s.workflows.define("9w", [{"id": "a"}])),
    (errors.InvalidArgument, lambda s, r: s.workflows.define("w", "plan,review")),
]


def _nested(depth):
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_bad_input_gets_a_clear_error_and_changes_nothing(store, run):
    runs = store.runs
    runs.phase_start(run.id, "implement")
    runs.evaluate(run.id, "implement", 1, "qa", 5)
    runs.output(run.id, "implement", "V", "kept")
    before = _snapshot(store, run.id)
    for expected, call in BAD_CALLS:
        with pytest.raises(expected) as caught:
            call(store, run.id)
        assert str(caught.value), expected
        assert _snapshot(store, run.id) == before, f"{expected.__name__} changed something"
    assert store.workflows.get("w") is None and len(store.runs.list()) == 1


def test_stored_records_refuse_any_update(db):
    """The append-only rule is the database's too: an UPDATE of a decision, an evaluation or an
    output is refused whoever runs it."""
    with roost.connect(db, project="runs") as store:
        store.workflows.define("feature", PHASES)
        r = _busy_run(store, "1")
        for table in ("gate_decisions", "evaluations", "run_outputs"):
            name = f"roost.{table}" if store.backend == "postgresql" else table

            def op(name=name):
                yield Script(text=f"UPDATE {name} SET phase = 'rewritten'")

            with pytest.raises(errors.RoostError, match="append-only"):
                store._execute(op)
        detail = store.runs.get(r.id)
        assert detail is not None and detail.decisions[0].phase == "plan"


def test_the_async_face(url):
    async def main():
        async with roost.connect_async(url, project="runs") as s:
            await s.workflows.define("w", [{"id": "a"}])
            r = await s.runs.start("w", "task:1")
            await s.runs.phase_start(r.id, "a")
            await s.runs.phase_finish(r.id, "a")
            outcome = (await s.runs.advance(r.id)).outcome
            detail = await s.runs.get(r.id)
            assert detail is not None
            return outcome, detail.status

    assert asyncio.run(main()) == ("completed", "completed")
