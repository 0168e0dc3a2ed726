"""Runs: a workflow applied to a subject, moving through the run state machine.

Every change of a run is one guarded statement: ``UPDATE … WHERE id = … AND status IN (the states
it may come from) RETURNING``. A caller that read a state and acts on it passes ``expected``; when
the run has moved on meanwhile, nothing is written and :class:`~roost.errors.IllegalTransition`
says what it is now. ``advance`` compares and sets the run's version, so two processes advancing
the same run move it one phase, not two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.memory._common import Page, page
from roost.workflows import _common as c
from roost.workflows.definitions import SpecCache, Workflow

ADVANCE_TRIES = 20


@dataclass(slots=True)
class Run:
    id: int
    workflow: str
    workflow_version: int
    subject: dict[str, str]
    variables: dict[str, Any]
    status: str
    phase: str | None
    """The current phase: the one last started, or the next one once ``advance`` moved on."""
    reason: str | None
    """Why the run last changed state (a transition's reason, what an advance waits for)."""
    version: int
    """Grows by one with every change of the run (a transition, a phase start, an advance)."""
    agent: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    workflow_id: int = 0


RUN_COLUMNS = 15


def run_of(row: Sequence[Any]) -> Run:
    (rid, workflow, wf_version, kind, ref, variables, status, phase, reason, version, agent, created, updated,
     finished, wf_id) = row[:RUN_COLUMNS]
    return Run(int(rid), workflow, int(wf_version), {kind: ref}, v.stored_json(variables), status, phase, reason,
               int(version), agent, to_datetime(created), to_datetime(updated),
               None if finished is None else to_datetime(finished), int(wf_id))


def start(project: str, workflow: Workflow, subject: tuple[str, str], variables: dict[str, Any], status: str,
          agent: str | None) -> Op[Run]:
    """The run and a pending row for each of its phases, in one statement (one block on SQLite)."""
    phases = json.dumps([[p.id, i] for i, p in enumerate(workflow.phases)])
    row = (yield Query("run_insert", {
        "project": project, "workflow_id": workflow.id, "workflow": workflow.name,
        "workflow_version": workflow.version, "subject_kind": subject[0],
        "subject_ref": subject[1], "variables": v.to_json(variables, "variables", c.VARIABLES_MAX_BYTES),
        "status": status, "phase": workflow.phases[0].id, "agent": agent, "phases": phases})).one()
    assert row is not None
    return run_of(row)


@repeatable
def get(project: str, run: int) -> Op[Run | None]:
    row = (yield Query("run_get", {"project": project, "id": run})).one()
    return None if row is None else run_of(row)


def must_get(project: str, run: int) -> Op[Run]:
    found = yield from get(project, run)
    if found is None:
        raise c.not_found(project, run)
    return found


def workflow_of_run(project: str, run: int, specs: SpecCache) -> Op[Workflow]:
    """The workflow version ``run`` runs, read once per process (RunNotFound if there is no such run)."""
    wf_id = specs.run_workflow(run)
    if wf_id is None:
        current = yield from must_get(project, run)
        wf_id = specs.remember_run(run, current.workflow_id)
    return (yield from specs.one(wf_id))


def filters(project: str, workflow: str | None, status: Sequence[str] | None, subject: tuple[str, str] | None,
            since: float | None, ids: Sequence[int] | None, limit: int, cursor: int) -> dict[str, Any]:
    return {"project": project, "workflow": workflow,
            "statuses": None if status is None else json.dumps(list(status)),
            "subject_kind": None if subject is None else subject[0],
            "subject_ref": None if subject is None else subject[1], "since": since,
            "ids": None if ids is None else json.dumps(list(ids)), "limit": limit + 1, "before": cursor}


@repeatable
def listing(params: dict[str, Any]) -> Op[Page[Run]]:
    """Runs newest first, filtered (``filters``); a page and the cursor of the next."""
    runs = [run_of(r) for r in (yield Query("run_list", params)).rows]
    want = params["limit"] - 1
    return page(runs, want, runs[want - 1].id if len(runs) > want else None)


def sources(to: str, expected: Sequence[str] | None) -> list[str]:
    """The states a run may go to ``to`` from, narrowed to ``expected`` when the caller gave it."""
    legal = [s for s, targets in c.TRANSITIONS.items() if to in targets]
    return legal if expected is None else [s for s in legal if s in expected]


def transition(project: str, run: int, to: str, expected: Sequence[str] | None, reason: str | None) -> Op[Run]:
    allowed = sources(to, expected)
    if allowed:
        row = (yield Query("run_transition", {"project": project, "id": run, "to": to, "reason": reason,
                                              "from": json.dumps(allowed)})).one()
        if row is not None:
            return run_of(row)
    current = yield from must_get(project, run)
    raise refused(current, to, expected)


def refused(current: Run, to: str, expected: Sequence[str] | None) -> errors.IllegalTransition:
    if expected is not None and current.status not in expected:
        return errors.IllegalTransition(f"run {current.id} is {current.status}, not {' or '.join(expected)} as "
                                        f"expected; it was not moved to {to}")
    legal = c.TRANSITIONS[current.status]
    return errors.IllegalTransition(
        f"run {current.id} is {current.status} and cannot go to {to}"
        + (f" (from {current.status} it may go to {', '.join(legal)})" if legal else " (a finished run stays so)"))


@dataclass(slots=True)
class Advance:
    """What ``advance`` did: ``advanced`` (to ``run.phase``), ``completed`` (the last phase passed),
    ``waiting`` (the phase's gate has no decision yet: the run is ``blocked``), ``rejected`` (the
    gate's latest decision for this iteration refused it), ``failed`` (the phase failed) or
    ``not_done`` (the phase is pending or running)."""

    outcome: str
    run: Run
    phase: str | None


def advance(project: str, run: int, specs: SpecCache) -> Op[Advance]:
    """Move past the current phase if it is done and its gate passed: to the next phase, or the run
    is completed after the last. A version compare-and-set; a concurrent change makes it look again."""
    for _ in range(ADVANCE_TRIES):
        current = yield from must_get(project, run)
        if current.status not in ("running", "blocked"):
            raise errors.IllegalTransition(f"run {run} is {current.status}; only a running or blocked run advances")
        workflow = yield from specs.one(current.workflow_id)
        phase = current.phase or workflow.phases[0].id
        row = (yield Query("run_phase_gate", {"id": run, "phase": phase})).one()
        assert row is not None
        status, iteration, approved = row[0], int(row[1]), row[2]
        spec = workflow.phase(phase)
        if status in ("pending", "running"):
            return Advance("not_done", current, phase)
        if status == "failed":
            return Advance("failed", current, phase)
        gate = "skipped" if status == "skipped" else c.gate_state(spec.gate, None if approved is None else
                                                                  bool(approved))
        if gate == "rejected":
            return Advance("rejected", current, phase)
        ids = [p.id for p in workflow.phases]
        nxt = ids[ids.index(phase) + 1] if ids.index(phase) + 1 < len(ids) else None
        target: tuple[str, str, str | None]
        if gate == "pending":
            if current.status == "blocked":
                return Advance("waiting", current, phase)
            target = ("blocked", phase, f"waiting for the {spec.gate} gate of phase {phase} (iteration {iteration})")
        elif nxt is None:
            target = ("completed", phase, None)
        else:
            target = ("running", nxt, None)
        row = (yield Query("run_advance", {"id": run, "version": current.version, "status": target[0],
                                           "phase": target[1], "reason": target[2]})).one()
        if row is not None:
            moved = run_of(row)
            outcome = {"blocked": "waiting", "completed": "completed"}.get(target[0], "advanced")
            return Advance(outcome, moved, moved.phase)
    raise errors.DatabaseLocked(f"run {run} kept changing while it was being advanced; try again")
