"""``store.workflows`` and ``store.runs``: the faces of the workflow area (arguments checked here,
the work in the operations). See docs/workflows.md."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost.memory._common import ARTIFACT_NAME_MAX, Page, optional_session
from roost.memory._common import cursor as cursor_of
from roost.memory._common import since as since_of
from roost.workflows import _common as c
from roost.workflows import definitions as defs
from roost.workflows import loading, phases, records, runs
from roost.workflows.definitions import PhaseSpec, SpecCache, Workflow
from roost.workflows.loading import RunDetail
from roost.workflows.phases import Phase, StalePhase
from roost.workflows.records import Evaluation, GateDecision, LoopDecision, Output
from roost.workflows.runs import Advance, Run

if TYPE_CHECKING:
    from roost.store import Store
    from roost.tasks import Claim

LOAD_MAX = 1000
_NO_CONTENT: Any = object()


class Workflows:
    """Versioned workflow definitions."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def define(self, name: str, phases: Iterable[PhaseSpec | Mapping[str, Any]], *,
               variables: Mapping[str, Any] | None = None, description: str | None = None) -> Workflow:
        """Define workflow ``name`` as these phases, in order (idempotent: the same definition again
        changes nothing; a different one is the next version, ``changed`` True). ``variables`` are
        the defaults a run's prompt templates read; a phase's own variables override them."""
        checked = c.name(name, "workflow name")
        return self._store._execute(defs.define, self._store.project, checked,
                                    defs.spec_of(phases, variables, description))

    def get(self, name: str, *, version: int | None = None) -> Workflow | None:
        """The workflow's latest version (or ``version``), or None."""
        number = None if version is None else v.integer(version, "version", 1, c.ID_MAX)
        return self._store._execute(defs.get, self._store.project, c.name(name, "workflow name"), number)

    def list(self) -> list[Workflow]:
        """The latest version of every workflow, by name."""
        return self._store._execute(defs.listing, self._store.project)


class Runs:
    """Runs of workflows: their state machine, phases, gates, evaluations and outputs."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._specs = SpecCache()

    @property
    def _project(self) -> str:
        return self._store.project

    # -- runs ----------------------------------------------------------------------------------

    def start(self, workflow: str, subject: Mapping[str, str | int] | str, *,
              variables: Mapping[str, Any] | None = None, version: int | None = None, status: str = "running",
              agent: str | None = None) -> Run:
        """Start a run of ``workflow`` (its latest version, or ``version``) on ``subject``
        (``{"task": 42}``, ``{"initiative": "auth"}``, or ``"task:42"``), at its first phase.
        ``status="pending"`` creates it without starting it (``transition(run, "running")`` later).
        The run's ``variables`` override the workflow's."""
        status = c.status(status, ("running", "pending"), "status")
        wf = self._store.workflows.get(workflow, version=version)
        if wf is None:
            raise errors.WorkflowNotFound(f"no workflow {workflow!r}" + (f" version {version}" if version else "")
                                          + f" in project {self._project!r}; define it first")
        started = self._store._execute(runs.start, self._project, wf, c.subject(subject), c.variables(variables),
                                       status, None if agent is None else c.who(agent, "agent"))
        self._specs.remember(wf)
        self._specs.remember_run(started.id, wf.id)
        return started

    def get(self, run: int) -> RunDetail | None:
        """The run with its phases, gate decisions, latest evaluations and outputs, or None."""
        found = self.load(ids=[c.run_id(run)], limit=1)
        return found.items[0] if found.items else None

    def list(self, *, workflow: str | None = None, status: str | Sequence[str] | None = None,
             subject: Mapping[str, str | int] | str | None = None, since: datetime | float | None = None,
             limit: int = 100, cursor: str | None = None) -> Page[Run]:
        """Runs, newest first, of ``workflow``, in ``status`` (one or several), on ``subject``,
        created ``since``; pass the page's ``cursor`` for the next page."""
        return self._store._execute(runs.listing, self._filters(workflow, status, subject, since, None, limit,
                                                                cursor, 1000))

    def load(self, *, ids: Iterable[int] | None = None, workflow: str | None = None,
             status: str | Sequence[str] | None = None, subject: Mapping[str, str | int] | str | None = None,
             since: datetime | float | None = None, limit: int = 200, cursor: str | None = None) -> Page[RunDetail]:
        """Runs as :meth:`list` selects them (or by ``ids``), each whole (:class:`RunDetail`), in a
        constant number of queries however many runs there are."""
        checked = None if ids is None else [c.run_id(i) for i in ids]
        if checked is not None and len(checked) > LOAD_MAX:
            raise errors.InvalidArgument(f"load takes at most {LOAD_MAX} ids at once")
        params = self._filters(workflow, status, subject, since, checked, limit, cursor, LOAD_MAX)
        return self._store._execute(loading.load, params, self._specs)

    def _filters(self, workflow: str | None, status: str | Sequence[str] | None,
                 subject: Mapping[str, str | int] | str | None, since: datetime | float | None,
                 ids: builtins.list[int] | None, limit: int, cursor: str | None, most: int) -> dict[str, Any]:
        statuses = None if status is None else [status] if isinstance(status, str) else list(status)
        for s in statuses or ():
            c.status(s, c.RUN_STATES, "status")
        return runs.filters(self._project, None if workflow is None else c.name(workflow, "workflow name"),
                            statuses, None if subject is None else c.subject(subject), since_of(since), ids,
                            v.integer(limit, "limit", 1, most), cursor_of(cursor))

    def transition(self, run: int, to: str, *, expected: str | Sequence[str] | None = None,
                   reason: str | None = None) -> Run:
        """Move the run to state ``to``, if the state machine allows it from where the run is, and
        only from ``expected`` when given; else IllegalTransition and nothing changes."""
        to = c.status(to, c.RUN_STATES, "to")
        wanted = None if expected is None else [expected] if isinstance(expected, str) else list(expected)
        for s in wanted or ():
            c.status(s, c.RUN_STATES, "expected")
        return self._store._execute(runs.transition, self._project, c.run_id(run), to, wanted,
                                    c.text(reason, "reason"))

    def pause(self, run: int, reason: str | None = None) -> Run:
        return self.transition(run, "paused", expected="running", reason=reason)

    def resume(self, run: int, reason: str | None = None) -> Run:
        return self.transition(run, "running", expected=("paused", "blocked", "pending"), reason=reason)

    def cancel(self, run: int, reason: str | None = None) -> Run:
        return self.transition(run, "cancelled", reason=reason)

    def advance(self, run: int) -> Advance:
        """Move past the current phase once it is completed (or skipped) and its gate passed: to the
        next phase, or the run is completed after the last one. A phase whose human or ai gate has
        no decision yet blocks the run (outcome ``waiting``) until a decision and the next advance."""
        return self._store._execute(runs.advance, self._project, c.run_id(run), self._specs)

    # -- phases --------------------------------------------------------------------------------

    def phase_start(self, run: int, phase: str, *, executor: str | None = None, session: str | None = None,
                    claim: int | Claim | None = None, stale_after: float = phases.STALE_AFTER) -> Phase:
        """Start the phase's next iteration under ``executor`` (default ROOST_AGENT, else host:pid),
        optionally within ``session`` and under the task claim whose token is ``claim``. The run
        must be running. A phase already running is refused (PhaseBusy) unless its executor is stale:
        its claim lost, or (without a claim) no heartbeat for ``stale_after`` seconds; then this
        start takes it over. Beyond ``max_iterations``: IterationLimit."""
        return self._store._execute(phases.start, self._project, c.run_id(run), c.name(phase, "phase id"),
                                    c.who(executor, "executor"), optional_session(session), self._claim(claim),
                                    v.seconds(stale_after, "stale_after", 1, 86400 * 30), self._specs)

    def phase_heartbeat(self, run: int, phase: str, *, claim: int | Claim | None = None,
                        iteration: int | None = None) -> Phase:
        """Say the phase's executor is alive (a phase under a claim lives by its task's heartbeat
        too). Refused with LeaseLost when the claim's lease or the ``iteration`` was lost."""
        return self._store._execute(phases.heartbeat, self._project, c.run_id(run), c.name(phase, "phase id"),
                                    self._claim(claim), self._iteration(iteration))

    def phase_finish(self, run: int, phase: str, status: str = "completed", *, tokens: int = 0, cost: float = 0.0,
                     error: str | None = None, skip_reason: str | None = None, claim: int | Claim | None = None,
                     iteration: int | None = None) -> Phase:
        """Finish the phase's running iteration as ``completed``, ``failed`` or ``skipped`` (a
        pending phase may be skipped too), adding ``tokens`` and ``cost`` to its totals. A phase
        started under a claim is finished only with that claim's token while its lease holds;
        ``iteration`` refuses the finish if another executor took the phase over."""
        status = c.status(status, c.FINISHED, "status")
        return self._store._execute(phases.finish, self._project, c.run_id(run), c.name(phase, "phase id"), status,
                                    v.integer(tokens, "tokens", 0, 2**62),
                                    records.amount(cost, "cost"),
                                    c.text(error, "error"), c.text(skip_reason, "skip_reason"), self._claim(claim),
                                    self._iteration(iteration), self._specs)

    def stale(self, *, stale_after: float = phases.STALE_AFTER, limit: int = 100) -> builtins.list[StalePhase]:
        """Running phases whose executor went silent: its task claim's lease is gone, or (without a
        claim) no heartbeat for ``stale_after`` seconds. Oldest heartbeat first."""
        return self._store._execute(phases.stale, self._project, v.seconds(stale_after, "stale_after", 0, 86400 * 30),
                                    v.integer(limit, "limit", 1, 1000))

    # -- gates ---------------------------------------------------------------------------------

    def decide(self, run: int, phase: str, approved: bool, reason: str | None = None, *,
               decided_by: str | None = None) -> GateDecision:
        """Record a gate decision on the phase's current iteration (append-only: never rewritten;
        a later decision on the same iteration is the one that counts)."""
        if not isinstance(approved, bool):
            raise errors.InvalidArgument(f"approved must be True or False, not {v.shown(approved)}")
        return self._store._execute(records.decide, self._project, c.run_id(run), c.name(phase, "phase id"),
                                    approved, c.text(reason, "reason"), c.who(decided_by, "decided_by"), self._specs)

    # -- evaluations ---------------------------------------------------------------------------

    def evaluate(self, run: int, phase: str, iteration: int, reviewer: str, score: float, *,
                 max_score: float = 100, blockers: Sequence[str] = (), feedback: str | None = None,
                 findings: Sequence[Any] = ()) -> Evaluation:
        """Record ``reviewer``'s score (0 to ``max_score``) of the phase's ``iteration``, once per
        reviewer and iteration: the same evaluation again returns the stored one, a different one
        is DuplicateRecord."""
        score, top = records.score_of(score, max_score)
        return self._store._execute(records.evaluate, self._project, c.run_id(run), c.name(phase, "phase id"),
                                    v.integer(iteration, "iteration", 1, defs.ITERATIONS_MAX),
                                    c.who(reviewer, "reviewer"), score, top, records.blockers_of(blockers),
                                    c.text(feedback, "feedback"), records.findings_of(findings), self._specs)

    def score_history(self, run: int, phase: str) -> builtins.list[Evaluation]:
        """Every evaluation of the phase, by iteration, then reviewer."""
        return self._store._execute(records.history, self._project, c.run_id(run), c.name(phase, "phase id"))

    def latest_by_reviewer(self, run: int, phase: str, *, up_to_iteration: int | None = None) -> dict[str, Evaluation]:
        """Each reviewer's evaluation of the latest iteration they reviewed (up to ``up_to_iteration``)."""
        up_to = None if up_to_iteration is None else v.integer(up_to_iteration, "up_to_iteration", 1,
                                                               defs.ITERATIONS_MAX)
        return records.latest_by_reviewer(self.score_history(run, phase), up_to)

    def decide_loop(self, run: int, phase: str, *, threshold: float, max_iterations: int,
                    plateau: int | None = 3) -> LoopDecision:
        """Whether the phase's refinement loop goes on: ``continue``, ``passed``, ``stagnated`` or
        ``exhausted``, from the stored score history (the rule: :func:`records.decide_loop`)."""
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 100:
            raise errors.InvalidArgument(f"threshold must be a number from 0 to 100, not {v.shown(threshold)}")
        top = v.integer(max_iterations, "max_iterations", 1, defs.ITERATIONS_MAX)
        flat = None if plateau is None else v.integer(plateau, "plateau", 1, defs.ITERATIONS_MAX)
        return records.decide_loop(self.score_history(run, phase), threshold, top, flat)

    # -- outputs -------------------------------------------------------------------------------

    def output(self, run: int, phase: str, var: str, content: Any = _NO_CONTENT, *, iteration: int | None = None,
               artifact: str | tuple[str, int] | None = None, agent: str | None = None) -> Output:
        """Keep ``content`` (text, or any JSON value) as variable ``var`` of the phase's
        ``iteration`` (default: its current one), or a reference to an ``artifact`` (a name, its
        latest version then, or (name, version)). Every iteration is kept, content-hashed."""
        ref: tuple[str, int | None] | None = None
        if artifact is not None:
            if content is not _NO_CONTENT:
                raise errors.InvalidArgument("give an output's content or an artifact, not both")
            if isinstance(artifact, str):
                ref = (v.name(artifact, "artifact name", ARTIFACT_NAME_MAX), None)
            elif isinstance(artifact, tuple) and len(artifact) == 2:
                ref = (v.name(artifact[0], "artifact name", ARTIFACT_NAME_MAX),
                       v.integer(artifact[1], "artifact version", 1, c.ID_MAX))
            else:
                raise errors.InvalidArgument(f"artifact is a name or (name, version), not {v.shown(artifact)}")
            kind, text = "artifact", ""
        elif content is _NO_CONTENT:
            raise errors.InvalidArgument("an output needs content (or artifact=)")
        else:
            kind, text = records.stored_content(content)
        return self._store._execute(records.output, self._project, c.run_id(run), c.name(phase, "phase id"),
                                    c.var(var), kind, text, self._iteration(iteration), ref,
                                    None if agent is None else c.who(agent, "agent"), self._specs)

    def outputs(self, run: int, phase: str | None = None, *, iteration: int | None = None) -> dict[str, Any]:
        """``{VAR: latest content}`` over the whole run (for prompt templates), or of ``phase``, or
        of its ``iteration``."""
        if iteration is not None and phase is None:
            raise errors.InvalidArgument("outputs(iteration=...) needs the phase")
        return self._store._execute(records.outputs, self._project, c.run_id(run),
                                    None if phase is None else c.name(phase, "phase id"), self._iteration(iteration))

    def output_history(self, run: int, phase: str, var: str) -> builtins.list[Output]:
        """Every iteration's output of ``var`` in the phase, oldest first."""
        return self._store._execute(records.output_history, self._project, c.run_id(run), c.name(phase, "phase id"),
                                    c.var(var))

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _claim(value: object) -> int | None:
        if value is None:
            return None
        token = getattr(value, "token", value)  # (a Claim from store.tasks.claim, or its token)
        return v.integer(token, "claim token", 1, 2**63 - 1)

    @staticmethod
    def _iteration(value: object) -> int | None:
        return None if value is None else v.integer(value, "iteration", 1, defs.ITERATIONS_MAX)
