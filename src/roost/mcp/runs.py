"""Workflow runs as tools: start a run of a defined workflow, move it and its phases along, record
gate decisions, reviewers' evaluations and phase outputs."""

from typing import Annotated, Any

from roost import errors
from roost.mcp._toolbox import Caller, Toolbox, arg
from roost.workflows.loading import RunDetail
from roost.workflows.phases import Phase
from roost.workflows.records import Evaluation, GateDecision, Output
from roost.workflows.runs import Run

tools = Toolbox("runs")

RunId = Annotated[int, arg("the run's id")]
PhaseId = Annotated[str, arg("the phase's id, as the workflow defines it")]
Iteration = Annotated[int | None, arg("the loop iteration (null: the phase's current one)", ge=1)]


@tools.tool()
def run_start(
    caller: Caller,
    workflow: Annotated[str, arg("the workflow's name (defined with `roost workflow define`)")],
    subject: Annotated[dict[str, str | int] | str, arg("what the run is about, e.g. {'feature': 'F-12'}")],
    variables: Annotated[dict[str, Any] | None, arg("the run's variables (JSON object)")] = None,
    version: Annotated[int | None, arg("a version of the workflow (null: the latest)", ge=1)] = None,
) -> Run:
    """Start a run of a workflow, as this agent."""
    return caller.store.runs.start(workflow, subject, variables=variables, version=version, agent=caller.agent)


@tools.tool(read_only=True)
def run_show(caller: Caller, run: RunId) -> RunDetail:
    """A run with its phases, gate decisions, latest evaluations and outputs."""
    found = caller.store.runs.get(run)
    if found is None:
        raise errors.RunNotFound(f"no run with id {run}")
    return found


@tools.tool()
def run_transition(
    caller: Caller,
    run: RunId,
    to: Annotated[str, arg("the new status: running, paused, completed, failed, cancelled, …")],
    expected: Annotated[list[str] | None, arg("change only if the run is in one of these statuses now")] = None,
    reason: Annotated[str | None, arg("why (recorded on the run)")] = None,
) -> Run:
    """Change a run's status; an illegal or unexpected change is a conflict and changes nothing."""
    return caller.store.runs.transition(run, to, expected=expected, reason=reason)


@tools.tool()
def phase_start(
    caller: Caller,
    run: RunId,
    phase: PhaseId,
    session: Annotated[str | None, arg("the session the phase's work is recorded in")] = None,
    stale_after: Annotated[float, arg("seconds without a heartbeat before another executor may take over", gt=0)]
    = 300.0,
) -> Phase:
    """Start (or start the next iteration of) a phase, with this agent as its executor."""
    return caller.store.runs.phase_start(run, phase, executor=caller.agent, session=session, stale_after=stale_after)


@tools.tool(idempotent=True)
def phase_heartbeat(caller: Caller, run: RunId, phase: PhaseId, iteration: Iteration = None) -> Phase:
    """Tell the run this agent is still working on the phase."""
    return caller.store.runs.phase_heartbeat(run, phase, iteration=iteration)


@tools.tool()
def phase_finish(
    caller: Caller,
    run: RunId,
    phase: PhaseId,
    status: Annotated[str, arg("completed, failed or skipped")] = "completed",
    error: Annotated[str | None, arg("what went wrong (status failed)")] = None,
    skip_reason: Annotated[str | None, arg("why it was skipped (status skipped)")] = None,
    tokens: Annotated[int, arg("tokens the phase used", ge=0)] = 0,
    cost: Annotated[float, arg("what the phase cost", ge=0)] = 0.0,
    iteration: Iteration = None,
) -> Phase:
    """Finish a phase."""
    return caller.store.runs.phase_finish(run, phase, status, tokens=tokens, cost=cost, error=error,
                                          skip_reason=skip_reason, iteration=iteration)


@tools.tool()
def gate_decide(
    caller: Caller,
    run: RunId,
    phase: PhaseId,
    approved: Annotated[bool, arg("true: the gate opens; false: it stays shut")],
    reason: Annotated[str | None, arg("why")] = None,
) -> GateDecision:
    """Record a gate decision on a phase, as this agent."""
    return caller.store.runs.decide(run, phase, approved, reason, decided_by=caller.agent)


@tools.tool()
def run_evaluate(
    caller: Caller,
    run: RunId,
    phase: PhaseId,
    iteration: Annotated[int, arg("the iteration evaluated", ge=1)],
    score: Annotated[float, arg("the score given", ge=0)],
    max_score: Annotated[float, arg("the best possible score", gt=0)] = 100,
    blockers: Annotated[list[str] | None, arg("what must be fixed before it can pass")] = None,
    feedback: Annotated[str | None, arg("the review in words")] = None,
) -> Evaluation:
    """Record this agent's evaluation (as reviewer) of a phase's iteration. Evaluations are never
    rewritten: the same one again is a no-op, a different one a conflict."""
    return caller.store.runs.evaluate(run, phase, iteration, caller.agent, score, max_score=max_score,
                                      blockers=blockers or (), feedback=feedback)


@tools.tool()
def run_output(
    caller: Caller,
    run: RunId,
    phase: PhaseId,
    var: Annotated[str, arg("the output variable's name")],
    content: Annotated[Any, arg("its content (any JSON)")],
    iteration: Iteration = None,
) -> Output:
    """Record a phase output (a variable later phases and prompts read), as this agent."""
    return caller.store.runs.output(run, phase, var, content, iteration=iteration, agent=caller.agent)


@tools.tool(read_only=True)
def run_outputs(
    caller: Caller,
    run: RunId,
    phase: Annotated[str | None, arg("only this phase's outputs (null: the run's)")] = None,
    iteration: Iteration = None,
) -> dict[str, Any]:
    """The latest content of each output variable of a run (or of one phase)."""
    return caller.store.runs.outputs(run, phase, iteration=iteration)
