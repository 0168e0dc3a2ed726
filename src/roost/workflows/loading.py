"""Loading runs whole: each with its phases, gate decisions, latest evaluations and latest outputs,
in a constant number of queries however many runs there are.

One query pages the runs; then one query each reads the phases, the gate decisions, each
reviewer's latest evaluation per phase and each variable's latest output, for all those runs at
once (their ids passed as one JSON array). Workflow versions not seen before by this process add
one query (see :class:`~roost.workflows.definitions.SpecCache`). Nothing is read per run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from roost._op import Op, Query, repeatable
from roost.memory._common import Page
from roost.workflows import _common as c
from roost.workflows.definitions import SpecCache
from roost.workflows.phases import Phase, phase_of
from roost.workflows.records import Evaluation, GateDecision, content_of, decision_of, evaluation_of
from roost.workflows.runs import Run, listing


@dataclass(slots=True)
class RunDetail:
    """A run with everything it holds: ``phases`` by id (in workflow order), every gate decision
    (oldest first), each reviewer's latest evaluation per phase, and ``outputs``: each variable's
    latest content (what a prompt template reads)."""

    run: Run
    phases: dict[str, Phase] = field(default_factory=dict)
    decisions: list[GateDecision] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.run.id

    @property
    def status(self) -> str:
        return self.run.status


@repeatable
def load(params: dict[str, Any], specs: SpecCache) -> Op[Page[RunDetail]]:
    runs = yield from listing(params)
    if not runs.items:
        return Page([], None)
    ids = json.dumps([r.id for r in runs.items])
    workflows = yield from specs.fetch({r.workflow_id for r in runs.items})
    details = {r.id: RunDetail(r) for r in runs.items}
    for r in runs.items:
        specs.remember_run(r.id, r.workflow_id)
    gates = {wf_id: {p.id: p.gate for p in wf.phases} for wf_id, wf in workflows.items()}
    for row in (yield Query("run_load_phases", {"ids": ids})).rows:
        detail = details[int(row[0])]
        phase = phase_of(row)
        phase.gate = gates.get(detail.run.workflow_id, {}).get(phase.phase, "auto")
        detail.phases[phase.phase] = phase
    for row in (yield Query("run_load_decisions", {"ids": ids})).rows:
        details[int(row[1])].decisions.append(decision_of(row))
    for row in (yield Query("run_load_evaluations", {"ids": ids})).rows:
        details[int(row[1])].evaluations.append(evaluation_of(row))
    for row in (yield Query("run_load_outputs", {"ids": ids})).rows:
        details[int(row[0])].outputs[row[1]] = content_of(row[2], row[3])
    for detail in details.values():
        latest = {(d.phase, d.iteration): d.approved for d in detail.decisions}  # (oldest first: the last wins)
        for phase in detail.phases.values():
            phase.gate_state = c.gate_state(phase.gate, latest.get((phase.phase, phase.iteration)))
    return Page(list(details.values()), runs.cursor)
