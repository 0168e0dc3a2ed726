"""Workflow definitions: an ordered list of phases, each with its template, gate and iteration limit.

A definition is stored as one JSON spec per version. ``define`` is idempotent: the same definition
again changes nothing (``changed`` is False); a different one is the next version. A run keeps the
version it started with, so redefining a workflow never changes a run already under way. Versions
never change once written, which lets a process keep the specs it has read (:class:`SpecCache`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.workflows import _common as c

GATES = ("auto", "human", "ai")
PHASES_MAX = 100
ITERATIONS_MAX = 1000
TEMPLATE_MAX_BYTES = 256 * 1024
DEFINE_TRIES = 20


@dataclass(slots=True)
class PhaseSpec:
    """One phase of a workflow. ``gate``: ``auto`` passes when the phase completes; ``human`` and
    ``ai`` wait for a gate decision. ``max_iterations``: how many times the phase may be started
    (a takeover of a stale executor does not count)."""

    id: str
    template: str | None = None
    gate: str = "auto"
    max_iterations: int = 3
    variables: dict[str, Any] = field(default_factory=dict)
    description: str | None = None

    def spec(self) -> dict[str, Any]:
        return {"id": self.id, "template": self.template, "gate": self.gate, "max_iterations": self.max_iterations,
                "variables": self.variables, "description": self.description}


@dataclass(slots=True)
class Workflow:
    name: str
    version: int
    phases: list[PhaseSpec]
    variables: dict[str, Any]
    description: str | None
    created_at: datetime
    changed: bool = False
    """True when this ``define`` call stored this version (a new workflow or a changed one)."""
    id: int = field(default=0, repr=False)

    def phase(self, phase_id: str) -> PhaseSpec:
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise errors.PhaseNotFound(f"workflow {self.name!r} version {self.version} has no phase {phase_id!r}; "
                                   f"its phases are {', '.join(p.id for p in self.phases)}")

    def spec(self) -> dict[str, Any]:
        return {"phases": [p.spec() for p in self.phases], "variables": self.variables,
                "description": self.description}


def phase_of(value: object, index: int) -> PhaseSpec:
    """A phase as given: a :class:`PhaseSpec`, or a mapping with the same fields."""
    what = f"phase {index + 1}"
    if isinstance(value, PhaseSpec):
        value = value.spec()
    if not isinstance(value, Mapping):
        raise errors.InvalidArgument(f"{what} must be a PhaseSpec or a mapping, not {type(value).__name__}")
    unknown = set(value) - {"id", "template", "gate", "max_iterations", "variables", "description"}
    if unknown:
        raise errors.InvalidArgument(f"{what} has unknown fields: {', '.join(sorted(map(str, unknown)))}")
    if "id" not in value:
        raise errors.InvalidArgument(f"{what} has no id")
    phase_id = c.name(value["id"], "phase id")
    gate = value.get("gate", "auto")
    if gate not in GATES:
        raise errors.InvalidArgument(f"phase {phase_id!r}: gate must be one of {', '.join(GATES)}, not {v.shown(gate)}")
    return PhaseSpec(phase_id, c.text(value.get("template"), f"phase {phase_id!r} template", TEMPLATE_MAX_BYTES),
                     str(gate), v.integer(value.get("max_iterations", 3), f"phase {phase_id!r} max_iterations", 1,
                                          ITERATIONS_MAX),
                     c.variables(value.get("variables"), f"phase {phase_id!r} variables"),
                     c.text(value.get("description"), f"phase {phase_id!r} description"))


def spec_of(phases: Iterable[Any], variables: object, description: object) -> dict[str, Any]:
    """The definition as stored, once every part of it is checked."""
    if isinstance(phases, str | bytes | Mapping) or not isinstance(phases, Iterable):
        raise errors.InvalidArgument("phases must be a list of PhaseSpec (or mappings)")
    checked = [phase_of(p, i) for i, p in enumerate(phases)]
    if not checked:
        raise errors.InvalidArgument("a workflow needs at least one phase")
    if len(checked) > PHASES_MAX:
        raise errors.InvalidArgument(f"a workflow has at most {PHASES_MAX} phases, not {len(checked)}")
    ids = [p.id for p in checked]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise errors.InvalidArgument(f"phase ids must be unique; given more than once: {', '.join(twice)}")
    spec = {"phases": [p.spec() for p in checked], "variables": c.variables(variables),
            "description": c.text(description, "description")}
    v.to_json(spec, "the workflow definition", 4 * 2**20)
    return spec


def workflow_of(row: Any) -> Workflow:
    wf_id, name, version, spec_text, created = row[:5]
    spec = json.loads(spec_text)
    return Workflow(name, int(version), [PhaseSpec(**p) for p in spec["phases"]], spec["variables"],
                    spec["description"], to_datetime(created), id=int(wf_id))


@repeatable
def define(project: str, name: str, spec: dict[str, Any]) -> Op[Workflow]:
    """Store ``spec`` as the workflow's next version unless it is its latest already. Two
    processes defining at once: one insert wins the version number, the other reads again."""
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"))
    for _ in range(DEFINE_TRIES):
        latest = yield from get(project, name, None)
        if latest is not None and latest.spec() == spec:
            return latest
        version = 1 if latest is None else latest.version + 1
        row = (yield Query("workflow_insert", {"project": project, "name": name, "version": version,
                                               "spec": text})).one()
        if row is not None:
            made = workflow_of(row)
            made.changed = True
            return made
    raise errors.DatabaseLocked(f"workflow {name!r} kept changing while it was being defined; try again")


@repeatable
def get(project: str, name: str, version: int | None) -> Op[Workflow | None]:
    row = (yield Query("workflow_get", {"project": project, "name": name, "version": version})).one()
    return None if row is None else workflow_of(row)


@repeatable
def listing(project: str) -> Op[list[Workflow]]:
    """The latest version of every workflow of the project, by name."""
    return [workflow_of(r) for r in (yield Query("workflow_list", {"project": project})).rows]


class SpecCache:
    """Workflow versions this process has read, by id, and the version each run it has seen runs:
    neither ever changes, so a phase write on a run already seen needs no read before it, and
    gate states no query for a workflow already seen."""

    RUNS_MAX = 100_000

    def __init__(self) -> None:
        self._by_id: dict[int, Workflow] = {}
        self._runs: dict[int, int] = {}

    def remember(self, workflow: Workflow) -> None:
        self._by_id[workflow.id] = workflow

    def run_workflow(self, run: int) -> int | None:
        return self._runs.get(run)

    def remember_run(self, run: int, wf_id: int) -> int:
        if len(self._runs) >= self.RUNS_MAX:
            self._runs.clear()
        self._runs[run] = wf_id
        return wf_id

    def get(self, wf_id: int) -> Workflow | None:
        return self._by_id.get(wf_id)

    def fetch(self, ids: Iterable[int]) -> Op[dict[int, Workflow]]:
        """The workflows of ``ids``, reading the ones not seen yet in one query."""
        wanted = set(ids)
        missing = sorted(wanted - self._by_id.keys())
        if missing:
            for row in (yield Query("workflow_by_ids", {"ids": json.dumps(missing)})).rows:
                self._by_id[int(row[0])] = workflow_of(row)
        return {i: self._by_id[i] for i in wanted if i in self._by_id}

    def one(self, wf_id: int) -> Op[Workflow]:
        found = yield from self.fetch([wf_id])
        return found[wf_id]
