"""``roost workflow`` and ``roost run``: workflow definitions and their runs from the command line.

Variables are ``--var NAME=VALUE``, the value JSON when it parses as JSON (``3``, ``true``,
``["a"]``), else the text as it is. A subject is ``KIND:REF`` (``task:42``, ``initiative:auth``).
Exit 3 when a workflow, run or phase does not exist, a transition is not allowed, a phase is busy
or out of iterations, or a different record is already stored; exit 4 when a claim's lease is lost.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from roost import errors
from roost.cli._common import Fail, common, emit, escape, new_table, print_json, read_input, read_json, store, value_arg

if TYPE_CHECKING:
    from rich.console import Console

    from roost.workflows.loading import RunDetail
    from roost.workflows.phases import Phase

JSON_HELP = "JSON, - for standard input or @PATH for a file."


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _vars(given: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in given:
        name, sep, value = item.partition("=")
        if not sep:
            raise Fail(f"--var takes NAME=VALUE, not {item!r}", 2)
        out[name] = _value(value)
    return out


@click.group()
def workflow() -> None:
    """Workflow definitions: ordered phases, each with a template, a gate and an iteration limit."""


@workflow.command("define")
@click.argument("name")
@click.option("--phase", "phase_specs", multiple=True, metavar="ID[:GATE[:MAX_ITERATIONS]]",
              help="A phase, in order (repeat); GATE is auto, human or ai.")
@click.option("--file", "spec", help=f"The definition as {{\"phases\": [...], \"variables\": {{...}}}} ({JSON_HELP})")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A default variable (repeat).")
@click.option("--description", help="What the workflow is for.")
@common
def workflow_define(url: str | None, project: str | None, as_json: bool, name: str, phase_specs: tuple[str, ...],
                    spec: str | None, variables: tuple[str, ...], description: str | None) -> None:
    """Define workflow NAME (the same definition again changes nothing); prints its version."""
    given = read_json(spec, "--file") if spec is not None else {}
    if not isinstance(given, dict):
        raise errors.InvalidArgument("--file must hold a JSON object with \"phases\"")
    phases = list(given.get("phases", []))
    for text in phase_specs:
        parts = text.split(":")
        if len(parts) > 3:
            raise Fail(f"--phase takes ID[:GATE[:MAX_ITERATIONS]], not {text!r}", 2)
        phase: dict[str, Any] = {"id": parts[0]}
        if len(parts) > 1 and parts[1]:
            phase["gate"] = parts[1]
        if len(parts) > 2:
            if not parts[2].isdigit():
                raise Fail(f"--phase {text!r}: MAX_ITERATIONS must be a whole number", 2)
            phase["max_iterations"] = int(parts[2])
        phases.append(phase)
    with store(url, project) as s:
        defined = s.workflows.define(name, phases, variables={**given.get("variables", {}), **_vars(variables)},
                                     description=description or given.get("description"))
    if as_json:
        print_json(defined)
    else:
        click.echo(f"{defined.version}" + ("" if defined.changed else " (unchanged)"))


@workflow.command("list")
@common
def workflow_list(url: str | None, project: str | None, as_json: bool) -> None:
    """List the workflows (their latest versions)."""
    with store(url, project) as s:
        found = s.workflows.list()

    def human(console: Console) -> None:
        table = new_table("name", "version", "phases", box=None)
        for w in found:
            table.add_row(w.name, str(w.version), escape(" -> ".join(
                p.id + ("" if p.gate == "auto" else f" [{p.gate}]") for p in w.phases)))
        console.print(table if found else "no workflows")

    emit(as_json, {"workflows": found}, human)


@workflow.command("show")
@click.argument("name")
@click.option("--version", "number", type=int, help="An earlier version.")
@common
def workflow_show(url: str | None, project: str | None, as_json: bool, name: str, number: int | None) -> None:
    """Show a workflow's definition. Exit 3 if there is none."""
    with store(url, project) as s:
        found = s.workflows.get(name, version=number)
    if found is None:
        raise errors.WorkflowNotFound(f"no workflow {name!r}" + (f" version {number}" if number else ""))
    if as_json:
        print_json(found)
        return
    click.echo(f"{found.name} version {found.version}" + (f": {found.description}" if found.description else ""))
    for p in found.phases:
        click.echo(f"  {p.id}  gate={p.gate}  max_iterations={p.max_iterations}"
                   + (f"  variables={json.dumps(p.variables)}" if p.variables else ""))


@click.group()
def run() -> None:
    """Runs of workflows: state, phases, gates, evaluations and outputs."""


@run.command("start")
@click.argument("workflow_name", metavar="WORKFLOW")
@click.argument("subject")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A run variable (repeat).")
@click.option("--version", "number", type=int, help="A version of the workflow (default: its latest).")
@click.option("--pending", is_flag=True, help="Create the run without starting it.")
@click.option("--agent", help="The agent starting it.")
@common
def run_start(url: str | None, project: str | None, as_json: bool, workflow_name: str, subject: str,
              variables: tuple[str, ...], number: int | None, pending: bool, agent: str | None) -> None:
    """Start a run of WORKFLOW on SUBJECT (KIND:REF, as task:42); prints the run's id."""
    with store(url, project) as s:
        started = s.runs.start(workflow_name, subject, variables=_vars(variables), version=number,
                               status="pending" if pending else "running", agent=agent)
    if as_json:
        print_json(started)
    else:
        click.echo(started.id)


def _phase_line(p: Phase) -> str:
    gate = "" if p.gate == "auto" else f"  gate={p.gate}:{p.gate_state}"
    extra = "".join(f"  {k}={v}" for k, v in (("executor", p.executor), ("error", p.error),
                                              ("skip_reason", p.skip_reason)) if v)
    return f"  {p.phase:<16} {p.status:<10} iteration={p.iteration}  tokens={p.tokens}  cost={p.cost:g}{gate}{extra}"


def _show(detail: RunDetail) -> None:
    r = detail.run
    kind, ref = next(iter(r.subject.items()))
    click.echo(f"run {r.id}: {r.workflow} v{r.workflow_version} on {kind}:{ref}  {r.status}  phase={r.phase}"
               + (f"  ({r.reason})" if r.reason else ""))
    for p in detail.phases.values():
        click.echo(_phase_line(p))
    for e in detail.evaluations:
        click.echo(f"  evaluation {e.phase}#{e.iteration} by {e.reviewer}: {e.score:g}/{e.max_score:g}"
                   + (f", {len(e.blockers)} blocker(s)" if e.blockers else ""))
    for d in detail.decisions:
        click.echo(f"  gate {d.phase}#{d.iteration}: {'approved' if d.approved else 'rejected'} by {d.decided_by}"
                   + (f": {d.reason}" if d.reason else ""))
    if detail.outputs:
        click.echo(f"  outputs: {', '.join(detail.outputs)}")


@run.command("show")
@click.argument("run_id", metavar="RUN", type=int)
@common
def run_show(url: str | None, project: str | None, as_json: bool, run_id: int) -> None:
    """Show a run with its phases, evaluations, gate decisions and outputs. Exit 3 if none."""
    with store(url, project) as s:
        found = s.runs.get(run_id)
    if found is None:
        raise errors.RunNotFound(f"no run {run_id}")
    if as_json:
        print_json(found)
    else:
        _show(found)


@run.command("list")
@click.option("--workflow", "workflow_name", help="Only runs of this workflow.")
@click.option("--status", "statuses", multiple=True, help="Only runs in this state (repeat).")
@click.option("--subject", help="Only runs on this subject (KIND:REF).")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many.")
@click.option("--cursor", help="The cursor a previous page printed.")
@common
def run_list(url: str | None, project: str | None, as_json: bool, workflow_name: str | None,
             statuses: tuple[str, ...], subject: str | None, limit: int, cursor: str | None) -> None:
    """List runs, newest first."""
    with store(url, project) as s:
        found = s.runs.list(workflow=workflow_name, status=list(statuses) or None, subject=subject, limit=limit,
                            cursor=cursor)

    def human(console: Console) -> None:
        table = new_table("id", "workflow", "subject", "status", "phase", "updated", box=None)
        for r in found:
            kind, ref = next(iter(r.subject.items()))
            table.add_row(str(r.id), f"{r.workflow} v{r.workflow_version}", escape(f"{kind}:{ref}"), r.status,
                          r.phase or "", r.updated_at.isoformat(timespec="seconds"))
        console.print(table if found.items else "no runs")
        if found.cursor:
            console.print(f"more: --cursor {found.cursor}")

    emit(as_json, {"runs": found.items, "cursor": found.cursor}, human)


@run.command("transition")
@click.argument("run_id", metavar="RUN", type=int)
@click.argument("to", type=click.Choice(["pending", "running", "paused", "blocked", "completed", "failed",
                                         "cancelled"]))
@click.option("--from", "expected", multiple=True, help="Only if the run is in this state now (repeat).")
@click.option("--reason", help="Why.")
@common
def run_transition(url: str | None, project: str | None, as_json: bool, run_id: int, to: str,
                   expected: tuple[str, ...], reason: str | None) -> None:
    """Move the run to state TO, if the state machine allows it (exit 3 if not)."""
    with store(url, project) as s:
        moved = s.runs.transition(run_id, to, expected=list(expected) or None, reason=reason)
    if as_json:
        print_json(moved)
    else:
        click.echo(moved.status)


@run.command("advance")
@click.argument("run_id", metavar="RUN", type=int)
@common
def run_advance(url: str | None, project: str | None, as_json: bool, run_id: int) -> None:
    """Move past the current phase once it is done and its gate passed; prints the outcome
    (advanced, completed, waiting, rejected, failed, not_done) and the current phase."""
    with store(url, project) as s:
        step = s.runs.advance(run_id)
    if as_json:
        print_json(step)
    else:
        click.echo(f"{step.outcome} {step.phase or ''}".rstrip())


def _print_phase(as_json: bool, phase: Phase) -> None:
    if as_json:
        print_json(phase)
    else:
        click.echo(f"{phase.phase} {phase.status} iteration={phase.iteration}")


@run.command("phase-start")
@click.argument("run_id", metavar="RUN", type=int)
@click.argument("phase")
@click.option("--executor", help="Who executes it (default ROOST_AGENT, else host:PID).")
@click.option("--session", help="The session it runs in.")
@click.option("--claim", type=int, help="The token of the task claim it runs under.")
@click.option("--stale-after", type=float, default=300.0, show_default=True,
              help="Take over a running phase whose executor (without a claim) is silent this long.")
@common
def run_phase_start(url: str | None, project: str | None, as_json: bool, run_id: int, phase: str,
                    executor: str | None, session: str | None, claim: int | None, stale_after: float) -> None:
    """Start the phase's next iteration; prints it. Exit 3 if it is busy or out of iterations."""
    with store(url, project) as s:
        started = s.runs.phase_start(run_id, phase, executor=executor, session=session, claim=claim,
                                     stale_after=stale_after)
    _print_phase(as_json, started)


@run.command("phase-finish")
@click.argument("run_id", metavar="RUN", type=int)
@click.argument("phase")
@click.argument("status", type=click.Choice(["completed", "failed", "skipped"]), default="completed")
@click.option("--tokens", type=int, default=0, help="Tokens used (added to the phase's total).")
@click.option("--cost", type=float, default=0.0, help="Cost (added to the phase's total).")
@click.option("--error", help="What went wrong (failed).")
@click.option("--skip-reason", help="Why it was skipped.")
@click.option("--claim", type=int, help="The token of the task claim it runs under.")
@click.option("--iteration", type=int, help="Only if the phase is still at this iteration.")
@common
def run_phase_finish(url: str | None, project: str | None, as_json: bool, run_id: int, phase: str, status: str,
                     tokens: int, cost: float, error: str | None, skip_reason: str | None, claim: int | None,
                     iteration: int | None) -> None:
    """Finish the phase's running iteration. Exit 4 if its claim's lease was lost."""
    with store(url, project) as s:
        done = s.runs.phase_finish(run_id, phase, status, tokens=tokens, cost=cost, error=error,
                                   skip_reason=skip_reason, claim=claim, iteration=iteration)
    _print_phase(as_json, done)


@run.command("gate")
@click.argument("run_id", metavar="RUN", type=int)
@click.argument("phase")
@click.option("--approve/--reject", required=True, help="The decision.")
@click.option("--reason", help="Why.")
@click.option("--by", "decided_by", help="Who decides (default ROOST_AGENT, else host:PID).")
@common
def run_gate(url: str | None, project: str | None, as_json: bool, run_id: int, phase: str, approve: bool,
             reason: str | None, decided_by: str | None) -> None:
    """Record a gate decision on the phase's current iteration (kept for good)."""
    with store(url, project) as s:
        decided = s.runs.decide(run_id, phase, approve, reason, decided_by=decided_by)
    if as_json:
        print_json(decided)
    else:
        click.echo(f"{'approved' if decided.approved else 'rejected'} iteration {decided.iteration}")


@run.command("evaluate")
@click.argument("run_id", metavar="RUN", type=int)
@click.argument("phase")
@click.argument("iteration", type=int)
@click.argument("score", type=float)
@click.option("--reviewer", help="Who reviews (default ROOST_AGENT, else host:PID).")
@click.option("--max-score", type=float, default=100.0, show_default=True, help="The top of SCORE's scale.")
@click.option("--blocker", "blockers", multiple=True, help="Something that must be fixed (repeat).")
@click.option("--feedback", help="Free text; - reads standard input.")
@click.option("--finding", "findings", multiple=True, help="A finding, as JSON (repeat).")
@common
def run_evaluate(url: str | None, project: str | None, as_json: bool, run_id: int, phase: str, iteration: int,
                 score: float, reviewer: str | None, max_score: float, blockers: tuple[str, ...],
                 feedback: str | None, findings: tuple[str, ...]) -> None:
    """Record a reviewer's SCORE of the phase's ITERATION (once per reviewer and iteration)."""
    text = None if feedback is None else read_input(feedback, "--feedback", files=False)
    with store(url, project) as s:
        recorded = s.runs.evaluate(run_id, phase, iteration, reviewer or _default(), score, max_score=max_score,
                                   blockers=list(blockers), feedback=text,
                                   findings=[read_json(f, "--finding") for f in findings])
    if as_json:
        print_json(recorded)
    else:
        click.echo(f"{recorded.score:g}/{recorded.max_score:g}")


def _default() -> str:
    from roost._validate import default_owner

    return default_owner()


@run.command("loop")
@click.argument("run_id", metavar="RUN", type=int)
@click.argument("phase")
@click.option("--threshold", type=float, required=True, help="The score (0-100) that passes.")
@click.option("--max-iterations", type=int, required=True, help="The last iteration the loop may run.")
@click.option("--plateau", type=int, default=3, show_default=True,
              help="Stagnated after this many iterations without a better score (0: never).")
@common
def run_loop(url: str | None, project: str | None, as_json: bool, run_id: int, phase: str, threshold: float,
             max_iterations: int, plateau: int) -> None:
    """Decide the phase's refinement loop from its score history: continue, passed, stagnated or exhausted."""
    with store(url, project) as s:
        decision = s.runs.decide_loop(run_id, phase, threshold=threshold, max_iterations=max_iterations,
                                      plateau=plateau or None)
    if as_json:
        print_json(decision)
    else:
        click.echo(f"{decision.verdict}: {decision.reason}")


@run.command("output")
@click.argument("run_id", metavar="RUN", type=int)
@click.argument("phase")
@click.argument("var")
@click.argument("content", required=False)
@click.option("--json-value", is_flag=True, help=f"CONTENT is JSON ({JSON_HELP})")
@click.option("--artifact", help="Refer to an artifact instead: NAME or NAME@VERSION.")
@click.option("--iteration", type=int, help="The iteration (default: the phase's current one).")
@click.option("--agent", help="Who wrote it.")
@common
def run_output(url: str | None, project: str | None, as_json: bool, run_id: int, phase: str, var: str,
               content: str | None, json_value: bool, artifact: str | None, iteration: int | None,
               agent: str | None) -> None:
    """Keep CONTENT (text; - reads standard input) as variable VAR of the phase's iteration."""
    ref: str | tuple[str, int] | None = None
    if artifact is not None:
        name, sep, version = artifact.rpartition("@")
        ref = (name, int(version)) if sep and version.isdigit() else artifact
    elif content is None:
        raise Fail("give CONTENT, - for standard input, or --artifact", 2)
    with store(url, project) as s:
        if ref is not None:
            written = s.runs.output(run_id, phase, var, artifact=ref, iteration=iteration, agent=agent)
        else:
            assert content is not None
            value: Any = read_json(content, "CONTENT") if json_value else value_arg(content, False)
            written = s.runs.output(run_id, phase, var, value, iteration=iteration, agent=agent)
    if as_json:
        print_json(written)
    else:
        click.echo(f"{written.var} iteration {written.iteration} {written.sha256[:12]}")


@run.command("outputs")
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--phase", help="Only this phase's outputs.")
@click.option("--iteration", type=int, help="Only this iteration of --phase.")
@common
def run_outputs(url: str | None, project: str | None, as_json: bool, run_id: int, phase: str | None,
                iteration: int | None) -> None:
    """Print each variable's latest output as one JSON object (what prompt templates read)."""
    with store(url, project) as s:
        found = s.runs.outputs(run_id, phase, iteration=iteration)
    print_json(found)


@run.command("stale")
@click.option("--stale-after", type=float, default=300.0, show_default=True,
              help="Silent this long (phases without a claim).")
@common
def run_stale(url: str | None, project: str | None, as_json: bool, stale_after: float) -> None:
    """List running phases whose executor went silent (its claim lost, or no heartbeat)."""
    with store(url, project) as s:
        found = s.runs.stale(stale_after=stale_after)

    def human(console: Console) -> None:
        table = new_table("run", "phase", "iteration", "executor", "why", box=None)
        for p in found:
            table.add_row(str(p.run), p.phase, str(p.iteration), escape(p.executor or ""), p.why)
        console.print(table if found else "no stale phases")

    emit(as_json, {"stale": found}, human)
