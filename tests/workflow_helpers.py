"""Children for the workflow process tests (multiprocessing's spawn needs importable functions)."""

from __future__ import annotations

import time
from typing import Any

import roost
from roost import errors

PROJECT = "runs"
PHASES = 4


def define(store: roost.Store, iterations: int) -> None:
    store.workflows.define("race", [{"id": f"p{i}", "gate": "human", "max_iterations": iterations}
                                    for i in range(PHASES)])


def advance_my_phase(url: str, me: int, iterations: int, run: int, barrier: Any, out: Any) -> None:
    """Child: run phase p<me> of the shared run ``iterations`` times (start, output, two evaluations,
    a gate decision, finish), pausing and resuming the run in between, while three others do the
    same with their phases. Reports what it recorded and how often the others got in its way."""
    try:
        decisions, refused, pauses = [], 0, 0
        phase = f"p{me}"
        with roost.connect(url, project=PROJECT, sqlite_busy_timeout=30) as store:
            runs = store.runs
            barrier.wait(timeout=60)
            for k in range(1, iterations + 1):
                while True:
                    try:
                        started = runs.phase_start(run, phase, executor=f"agent-{me}")
                        break
                    except (errors.PhaseBusy, errors.IterationLimit):
                        raise
                    except errors.IllegalTransition:  # the run is paused by another process
                        refused += 1
                        time.sleep(0.001)
                assert started.iteration == k, (started.iteration, k)
                runs.output(run, phase, f"OUT_{me}", f"{me}:{k}", agent=f"agent-{me}")
                runs.output(run, phase, "SHARED", {"by": me, "k": k})
                runs.evaluate(run, phase, k, f"rev-{me}", score=k, feedback=f"{me}:{k}")
                runs.evaluate(run, phase, k, "shared-reviewer", score=100 - k, blockers=[f"b{me}"])
                d = runs.decide(run, phase, approved=k % 2 == 0, reason=f"{me}:{k}", decided_by=f"agent-{me}")
                decisions.append((d.id, d.iteration, d.approved, d.reason))
                if k % 5 == me % 5:
                    try:
                        runs.pause(run, reason=f"agent-{me}")
                        pauses += 1
                        time.sleep(0.02)  # (long enough for the others to find the run paused)
                        runs.resume(run)
                    except errors.IllegalTransition:
                        refused += 1
                runs.phase_finish(run, phase, tokens=1, cost=0.5, iteration=k)
        out.put(("ok", me, decisions, refused, pauses))
    except BaseException as exc:
        out.put(("error", me, repr(exc)))


def claimed_executor(url: str, run: int, lease: float, ready: Any) -> None:
    """Child: claim the task, start phase ``build`` under the claim, then work without a heartbeat
    until it is killed."""
    with roost.connect(url, project=PROJECT) as store:
        (claim,) = store.tasks.claim("executor", lease=lease)
        store.runs.phase_start(run, "build", executor="doomed", claim=claim)
        ready.put(claim.token)
        time.sleep(3600)
