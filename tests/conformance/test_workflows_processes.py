"""Workflow runs under real processes: four agents advancing one run at once (every update kept,
every transition legal, every record present, no decision changed), and a phase executor holding
a task claim killed with SIGKILL (stale once its lease runs out, its late finish refused)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import pytest

import roost
from roost import errors
from roost.workflows import _common as c
from tests.helpers import run_processes
from tests.workflow_helpers import PHASES, PROJECT, advance_my_phase, claimed_executor, define

pytestmark = pytest.mark.slow

ITERATIONS = 15


def test_four_processes_advancing_one_run_lose_nothing_and_move_it_only_legally(shared_url):
    with roost.connect(shared_url, project=PROJECT) as store:
        define(store, ITERATIONS)
        run = store.runs.start("race", "spec:shared").id
    results = run_processes(advance_my_phase, [(shared_url, i, ITERATIONS, run) for i in range(PHASES)], timeout=600)
    assert all(r[0] == "ok" for r in results), results
    with roost.connect(shared_url, project=PROJECT) as store:
        detail = store.runs.get(run)
        assert detail is not None and detail.status == "running"
        for i in range(PHASES):
            phase = detail.phases[f"p{i}"]
            assert (phase.status, phase.iteration, phase.tokens, phase.cost) == ("completed", ITERATIONS, ITERATIONS,
                                                                                 0.5 * ITERATIONS), phase
            outs = store.runs.output_history(run, f"p{i}", f"OUT_{i}")
            assert [o.content for o in outs] == [f"{i}:{k}" for k in range(1, ITERATIONS + 1)]
            assert len(store.runs.output_history(run, f"p{i}", "SHARED")) == ITERATIONS
            history = store.runs.score_history(run, f"p{i}")
            assert [(e.iteration, e.reviewer, e.score) for e in history] == [
                (k, reviewer, score) for k in range(1, ITERATIONS + 1)
                for reviewer, score in sorted([(f"rev-{i}", k), ("shared-reviewer", 100 - k)])]
        recorded = sorted(d for r in results for d in r[2])
        stored = sorted((d.id, d.iteration, d.approved, d.reason) for d in detail.decisions)
        assert stored == recorded and len(stored) == PHASES * ITERATIONS, "a gate decision was lost or changed"
        # the run's version counts every change: phase starts, pauses and resumes
        pauses = sum(r[4] for r in results)
        assert detail.run.version == 1 + PHASES * ITERATIONS + 2 * pauses
        # every transition the log shows is legal and follows the one before
        state = "running"
        moves = [e.payload for e in store.events.query("run.transitioned", limit=10_000)]
        for move in moves:
            assert move["from"] == state and move["to"] in c.TRANSITIONS[state], (state, move)
            state = move["to"]
        assert len(moves) == 2 * pauses and state == "running"
        counts = {t: len(store.events.query(t, limit=10_000)) for t in
                  ("phase.started", "phase.finished", "gate.decided", "evaluation.recorded", "output.written")}
        n = PHASES * ITERATIONS
        assert counts == {"phase.started": n, "phase.finished": n, "gate.decided": n, "evaluation.recorded": 2 * n,
                          "output.written": 2 * n}
    assert pauses > 0 and sum(r[3] for r in results) > 0, "the processes never got in each other's way"


def test_a_killed_executor_under_a_claim_goes_stale_and_its_late_finish_is_refused(shared_url):
    lease = 2.0
    with roost.connect(shared_url, project=PROJECT) as store:
        store.workflows.define("build", [{"id": "build"}])
        run = store.runs.start("build", "task:1").id
        store.tasks.enqueue("build")
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    child = ctx.Process(target=claimed_executor, args=(shared_url, run, lease, ready))
    child.start()
    try:
        token = ready.get(timeout=60)
        with roost.connect(shared_url, project=PROJECT) as store:
            assert store.runs.stale(stale_after=3600) == []
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
            child.join(timeout=30)
            killed_at = time.monotonic()
            with pytest.raises(errors.PhaseBusy):
                store.runs.phase_start(run, "build", executor="too-soon")
            while not store.runs.stale():
                assert time.monotonic() - killed_at < lease + 10, "the dead executor never went stale"
                time.sleep(0.1)
            (stale,) = store.runs.stale()
            assert (stale.run, stale.executor, stale.claim, stale.why) == (run, "doomed", token, "claim lost")
            with pytest.raises(errors.LeaseLost):
                store.runs.phase_finish(run, "build", claim=token)
            with pytest.raises(errors.LeaseLost):
                store.runs.phase_heartbeat(run, "build", claim=token)
            (again,) = store.tasks.claim("rescuer", lease=60)
            assert again.token != token
            taken = store.runs.phase_start(run, "build", executor="rescuer", claim=again)
            assert (taken.iteration, taken.executor) == (2, "rescuer")
            assert store.runs.phase_finish(run, "build", claim=again).status == "completed"
            with pytest.raises(errors.IllegalTransition):
                store.runs.phase_finish(run, "build", claim=token)
            assert store.runs.advance(run).outcome == "completed"
            assert store.runs.stale() == []
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=10)
