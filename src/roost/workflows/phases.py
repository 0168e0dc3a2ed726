"""Run phases: started, heartbeated and finished by their executors, fenced by task claims.

Each change is one guarded ``UPDATE`` of the phase's row, which names every condition the change
depends on (the run running, the phase's state and iteration, the claim still live), so the check
and the write cannot be separated by another process. A phase started under a roost task claim
(``claim=`` the claim's token) belongs to that claim: once its lease is lost (expired, released,
taken by another worker) the executor's heartbeat and finish are refused with
:class:`~roost.errors.LeaseLost`, and another executor may take the phase over. A phase without a
claim is fenced by its ``iteration``, and is stale once its heartbeat is older than ``stale_after``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.workflows import _common as c
from roost.workflows.definitions import SpecCache
from roost.workflows.runs import workflow_of_run

STALE_AFTER = 300.0
TRIES = 20


@dataclass(slots=True)
class Phase:
    phase: str
    position: int
    status: str
    iteration: int
    """How many times the phase was started (0: never)."""
    executor: str | None
    session: str | None
    claim: int | None
    """The token of the task claim the phase runs under, if any."""
    tokens: int
    """Tokens used, summed over the phase's iterations."""
    cost: float
    """Cost, summed over the phase's iterations."""
    error: str | None
    skip_reason: str | None
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    gate: str = "auto"
    """The phase's gate type, from the run's workflow version."""
    gate_state: str = "auto"
    """``auto``, or for a human/ai gate ``pending``, ``approved`` or ``rejected`` (the latest
    decision for the phase's current iteration)."""


PHASE_COLUMNS = 15


def _time(value: float | None) -> datetime | None:
    return None if value is None else to_datetime(value)


def phase_of(row: Sequence[Any]) -> Phase:
    (phase, position, status, iteration, executor, session, claim, tokens, cost, error, skip, started, finished,
     heartbeat) = row[1:PHASE_COLUMNS]
    return Phase(phase, int(position), status, int(iteration), executor, session,
                 None if claim is None else int(claim), int(tokens), float(cost), error, skip, _time(started),
                 _time(finished), _time(heartbeat))


def start(project: str, run: int, phase: str, executor: str, session: str | None, claim: int | None,
          stale_after: float, specs: SpecCache) -> Op[Phase]:
    spec = (yield from workflow_of_run(project, run, specs)).phase(phase)
    params = {"project": project, "run": run, "phase": phase, "executor": executor, "session": session,
              "claim": claim, "stale_after": stale_after, "max_iterations": spec.max_iterations}
    for _ in range(TRIES):
        row = (yield Query("run_phase_start", params)).one()
        if row is not None:
            started = phase_of(row)
            started.gate = spec.gate
            return started
        state = yield from _state(project, run, phase, claim, stale_after)
        if state["run"] != "running":
            raise errors.IllegalTransition(f"run {run} is {state['run']}: a phase starts only while the run is "
                                           "running")
        if claim is not None and not state["claim_live"]:
            raise errors.LeaseLost(f"claim {claim} is not a live task claim (expired, released or finished): "
                                   f"phase {phase} of run {run} was not started")
        if state["status"] == "running":
            raise errors.PhaseBusy(f"phase {phase} of run {run} is running (iteration {state['iteration']}, "
                                   f"executor {state['executor']}"
                                   + (f", claim {state['phase_claim']}" if state["phase_claim"] else "")
                                   + "), and its executor is not stale")
        if state["iteration"] >= spec.max_iterations:
            raise errors.IterationLimit(f"phase {phase} of run {run} has run {state['iteration']} iteration(s), "
                                        f"its max_iterations of {spec.max_iterations}")
        # (nothing stands in the way now: the run was paused, or the phase finished, in between)
    raise _changing(run, phase)


def heartbeat(project: str, run: int, phase: str, claim: int | None, iteration: int | None) -> Op[Phase]:
    params = {"project": project, "run": run, "phase": phase, "claim": claim, "iteration": iteration}
    for _ in range(TRIES):
        row = (yield Query("run_phase_heartbeat", params)).one()
        if row is not None:
            return phase_of(row)
        refused = yield from _fenced(project, run, phase, claim, iteration, "heartbeat")
        if refused is not None:
            raise refused
    raise _changing(run, phase)


def finish(project: str, run: int, phase: str, status: str, tokens: int, cost: float, error: str | None,
           skip_reason: str | None, claim: int | None, iteration: int | None, specs: SpecCache) -> Op[Phase]:
    spec = (yield from workflow_of_run(project, run, specs)).phase(phase)
    params = {"project": project, "run": run, "phase": phase, "status": status, "tokens": tokens, "cost": cost,
              "error": error, "skip_reason": skip_reason, "claim": claim, "iteration": iteration}
    for _ in range(TRIES):
        row = (yield Query("run_phase_finish", params)).one()
        if row is not None:
            done = phase_of(row)
            done.gate = spec.gate
            return done
        refused = yield from _fenced(project, run, phase, claim, iteration, f"finish as {status}", status == "skipped")
        if refused is not None:
            raise refused
    raise _changing(run, phase)


def _fenced(project: str, run: int, phase: str, claim: int | None, iteration: int | None, what: str,
            skipping: bool = False) -> Op[errors.RoostError | None]:
    """Why a heartbeat or finish of the phase was refused (None: nothing stands in its way now)."""
    state = yield from _state(project, run, phase, claim, 0.0)
    if state["status"] is None:
        return errors.PhaseNotFound(f"run {run} has no phase {phase!r}")
    if state["run"] not in c.ACTIVE:
        return errors.IllegalTransition(f"run {run} is {state['run']}: phase {phase} cannot {what}")
    if state["status"] != "running" and not (skipping and state["status"] == "pending"):
        return errors.IllegalTransition(f"phase {phase} of run {run} is {state['status']}, not running: "
                                        f"it cannot {what}")
    if state["phase_claim"] is not None and claim != state["phase_claim"]:
        return errors.LeaseLost(f"phase {phase} of run {run} runs under claim {state['phase_claim']}, not "
                                f"{claim}: it cannot {what} without that claim's token")
    if claim is not None and state["phase_claim"] is None:
        return errors.LeaseLost(f"phase {phase} of run {run} runs under no claim, not claim {claim}")
    if claim is not None and not state["claim_live"]:
        return errors.LeaseLost(f"the lease of claim {claim} was lost (expired, released or finished): phase "
                                f"{phase} of run {run} cannot {what}")
    if iteration is not None and iteration != state["iteration"]:
        return errors.LeaseLost(f"phase {phase} of run {run} is at iteration {state['iteration']}, not "
                                f"{iteration}: another executor took it over")
    return None


def _changing(run: int, phase: str) -> errors.RoostError:
    return errors.DatabaseLocked(f"phase {phase} of run {run} kept changing while it was being written; try again")


def _state(project: str, run: int, phase: str, claim: int | None, stale_after: float) -> Op[dict[str, Any]]:
    row = (yield Query("run_phase_state", {"project": project, "run": run, "phase": phase, "claim": claim,
                                           "stale_after": stale_after})).one()
    if row is None:
        raise c.not_found(project, run)
    keys = ("run", "status", "iteration", "executor", "phase_claim", "claim_live")
    state = dict(zip(keys, row, strict=True))
    state["claim_live"] = bool(state["claim_live"])
    return state


@dataclass(slots=True)
class StalePhase:
    run: int
    workflow: str
    phase: str
    iteration: int
    executor: str | None
    claim: int | None
    why: str
    """``claim lost``: its task claim's lease is gone; ``silent``: no heartbeat for ``stale_after``."""
    heartbeat_at: datetime | None
    started_at: datetime | None


@repeatable
def stale(project: str, stale_after: float, limit: int) -> Op[list[StalePhase]]:
    rows = (yield Query("run_phases_stale", {"project": project, "stale_after": stale_after,
                                             "limit": limit})).rows
    return [StalePhase(int(r[0]), r[1], r[2], int(r[3]), r[4], None if r[5] is None else int(r[5]), r[6],
                       _time(r[7]), _time(r[8])) for r in rows]
