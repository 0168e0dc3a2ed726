"""What a run accumulates: gate decisions, evaluations and phase outputs, each append-only.

Each is one ``INSERT … SELECT`` from the phase's row (so the phase must exist and have reached the
iteration), never an update: a later save cannot rewrite or drop one, and triggers refuse any
UPDATE of them. An evaluation is unique per (run, phase, iteration, reviewer) and an output per
(run, phase, variable, iteration): the same record again is answered with the stored one (a retry
after a lost connection is safe); a different one is refused with
:class:`~roost.errors.DuplicateRecord`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.workflows import _common as c
from roost.workflows.definitions import SpecCache
from roost.workflows.runs import must_get, workflow_of_run

OUTPUT_MAX_BYTES = 2**20
BLOCKERS_MAX = 100
FINDINGS_MAX_BYTES = 256 * 1024
SCORE_MAX = 1_000_000.0


@dataclass(slots=True)
class GateDecision:
    run: int
    phase: str
    iteration: int
    """The phase's iteration when the decision was made: a new iteration needs a new decision."""
    approved: bool
    reason: str | None
    decided_by: str
    decided_at: datetime
    id: int = field(default=0, repr=False)


def decision_of(row: Sequence[Any]) -> GateDecision:
    did, run, phase, iteration, approved, reason, by, at = row[:8]
    return GateDecision(int(run), phase, int(iteration), bool(approved), reason, by, to_datetime(at), int(did))


def _phase_spec(project: str, run: int, phase: str, specs: SpecCache) -> Op[None]:
    (yield from workflow_of_run(project, run, specs)).phase(phase)


def decide(project: str, run: int, phase: str, approved: bool, reason: str | None, decided_by: str,
           specs: SpecCache) -> Op[GateDecision]:
    yield from _phase_spec(project, run, phase, specs)
    row = (yield Query("gate_decide", {"run": run, "phase": phase, "approved": approved, "reason": reason,
                                       "decided_by": decided_by})).one()
    if row is None:
        raise errors.IllegalTransition(f"phase {phase} of run {run} has not started yet: there is nothing to decide")
    return decision_of(row)


@dataclass(slots=True)
class Evaluation:
    run: int
    phase: str
    iteration: int
    reviewer: str
    score: float
    max_score: float
    blockers: list[str]
    feedback: str | None
    findings: list[Any]
    created_at: datetime
    id: int = field(default=0, repr=False)

    @property
    def normalized(self) -> float:
        """The score on a 0 to 100 scale."""
        return 100.0 * self.score / self.max_score


def evaluation_of(row: Sequence[Any]) -> Evaluation:
    eid, run, phase, iteration, reviewer, score, max_score, blockers, feedback, findings, at = row[:11]
    return Evaluation(int(run), phase, int(iteration), reviewer, float(score), float(max_score),
                      [] if blockers == "[]" else json.loads(blockers), feedback,
                      [] if findings == "[]" else v.stored_json(findings), to_datetime(at), int(eid))


def score_of(score: object, max_score: object) -> tuple[float, float]:
    for value, what in ((max_score, "max_score"), (score, "score")):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise errors.InvalidArgument(f"{what} must be a finite number, not {v.shown(value)}")
    top = float(max_score)  # type: ignore[arg-type]
    if not 0 < top <= SCORE_MAX:
        raise errors.InvalidArgument(f"max_score = {max_score!r} is out of range: above 0, at most {SCORE_MAX:g}")
    if not 0 <= float(score) <= top:  # type: ignore[arg-type]
        raise errors.InvalidArgument(f"score = {score!r} is out of range: from 0 to max_score ({top:g})")
    return float(score), top  # type: ignore[arg-type]


def amount(value: object, what: str) -> float:
    """A cost: a finite number, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise errors.InvalidArgument(f"{what} must be a finite number, 0 or more, not {v.shown(value)}")
    return float(value)


def blockers_of(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise errors.InvalidArgument("blockers must be a list of strings")
    if len(value) > BLOCKERS_MAX:
        raise errors.InvalidArgument(f"blockers holds {len(value)} items; the limit is {BLOCKERS_MAX}")
    out = []
    for item in value:
        checked = c.text(item, "a blocker")
        assert checked is not None
        out.append(checked)
    return out


def findings_of(value: object) -> str:
    if value is None:
        value = []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise errors.InvalidArgument("findings must be a list of JSON values")
    return v.to_json(list(value), "findings", FINDINGS_MAX_BYTES)


@repeatable
def evaluate(project: str, run: int, phase: str, iteration: int, reviewer: str, score: float, max_score: float,
             blockers: list[str], feedback: str | None, findings: str, specs: SpecCache) -> Op[Evaluation]:
    yield from _phase_spec(project, run, phase, specs)
    params = {"run": run, "phase": phase, "iteration": iteration, "reviewer": reviewer, "score": score,
              "max_score": max_score, "blockers": json.dumps(blockers, ensure_ascii=False), "feedback": feedback,
              "findings": findings}
    row = (yield Query("evaluation_insert", params)).one()
    if row is not None:
        return evaluation_of(row)
    row = (yield Query("evaluation_get", params)).one()
    if row is None:
        current = (yield Query("run_phase_gate", {"id": run, "phase": phase})).one()
        reached = 0 if current is None else int(current[1])
        raise errors.InvalidArgument(f"phase {phase} of run {run} has reached iteration {reached}; iteration "
                                     f"{iteration} cannot be evaluated")
    found = evaluation_of(row)
    if (found.score, found.max_score, found.blockers, found.feedback, json.loads(findings)) != (
            score, max_score, blockers, feedback, found.findings):
        raise errors.DuplicateRecord(f"{reviewer} has already evaluated iteration {iteration} of phase {phase} of run "
                                     f"{run} (score {found.score:g}/{found.max_score:g}); evaluations are never "
                                     "rewritten: evaluate the next iteration")
    return found


@repeatable
def history(project: str, run: int, phase: str) -> Op[list[Evaluation]]:
    rows = (yield Query("evaluation_history", {"project": project, "run": run, "phase": phase})).rows
    if not rows:
        yield from must_get(project, run)
    return [evaluation_of(r) for r in rows]


def latest_by_reviewer(evaluations: list[Evaluation], up_to: int | None) -> dict[str, Evaluation]:
    """Each reviewer's evaluation of the highest iteration up to ``up_to`` (all, if None)."""
    latest: dict[str, Evaluation] = {}
    for e in evaluations:
        if (up_to is None or e.iteration <= up_to) and (
                e.reviewer not in latest or e.iteration > latest[e.reviewer].iteration):
            latest[e.reviewer] = e
    return dict(sorted(latest.items()))


@dataclass(slots=True)
class LoopDecision:
    """``decide_loop``'s answer: ``verdict`` is ``continue``, ``passed``, ``stagnated`` or
    ``exhausted``; ``scores`` are the iterations' scores (0 to 100) it was decided from."""

    verdict: str
    iteration: int
    score: float | None
    best: float | None
    blockers: list[str]
    scores: list[tuple[int, float]]
    reason: str


def decide_loop(evaluations: list[Evaluation], threshold: float, max_iterations: int,
                plateau: int | None) -> LoopDecision:
    """The refinement loop's rule (docs/workflows.md), applied to the stored history.

    An iteration's score is the lowest of its reviewers' latest scores up to it (each on a 0 to 100
    scale), and its blockers are theirs: every reviewer must be satisfied. Then, for the latest
    evaluated iteration: ``passed`` if its score reaches ``threshold`` and nothing blocks it; else
    ``exhausted`` if it is iteration ``max_iterations`` or later; else ``stagnated`` if the last
    ``plateau`` iterations scored no higher than the best before them; else ``continue``."""
    iterations = sorted({e.iteration for e in evaluations})
    scores: list[tuple[int, float]] = []
    blockers: list[str] = []
    for k in iterations:
        latest = latest_by_reviewer(evaluations, k).values()
        scores.append((k, min(e.normalized for e in latest)))
        blockers = [b for e in latest for b in e.blockers]
    if not scores:
        return LoopDecision("continue", 0, None, None, [], [], "no evaluation yet")
    k, score = scores[-1]
    best = max(s for _, s in scores)
    if score >= threshold and not blockers:
        return LoopDecision("passed", k, score, best, blockers, scores,
                            f"iteration {k} scored {score:g}, at least the threshold {threshold:g}, with no blockers")
    why = f"iteration {k} scored {score:g}" + (f" with {len(blockers)} blocker(s)" if blockers else
                                             f", below the threshold {threshold:g}")
    if k >= max_iterations:
        return LoopDecision("exhausted", k, score, best, blockers, scores, f"{why}, and it is the last of "
                                                                          f"{max_iterations} iterations")
    if plateau is not None and len(scores) > plateau:
        before = max(s for _, s in scores[:-plateau])
        recent = max(s for _, s in scores[-plateau:])
        if recent <= before:
            return LoopDecision("stagnated", k, score, best, blockers, scores,
                                f"{why}; the last {plateau} iterations scored at most {recent:g}, no better than "
                                f"the {before:g} before them")
    return LoopDecision("continue", k, score, best, blockers, scores, why)


@dataclass(slots=True)
class Output:
    run: int
    phase: str
    var: str
    iteration: int
    kind: str
    """``text``, ``json`` or ``artifact`` (``content`` is then ``{"artifact": name, "version": n}``)."""
    content: Any
    sha256: str
    size: int
    agent: str | None
    created_at: datetime
    id: int = field(default=0, repr=False)


def content_of(kind: str, text: str) -> Any:
    return text if kind == "text" else v.stored_json(text)


def output_of(row: Sequence[Any]) -> Output:
    oid, run, phase, var, iteration, kind, content, sha, size, agent, at = row[:11]
    return Output(int(run), phase, var, int(iteration), kind, content_of(kind, content), sha, int(size), agent,
                  to_datetime(at), int(oid))


def stored_content(content: Any) -> tuple[str, str]:
    """(kind, text) of an output's content: a string is text, anything else JSON (at most 1 MiB)."""
    if isinstance(content, str):
        checked = c.text(content, "the output", OUTPUT_MAX_BYTES)
        assert checked is not None
        return "text", checked
    return "json", v.to_json(content, "the output", OUTPUT_MAX_BYTES)


@repeatable
def output(project: str, run: int, phase: str, var: str, kind: str, text: str, iteration: int | None,
           artifact: tuple[str, int | None] | None, agent: str | None, specs: SpecCache) -> Op[Output]:
    yield from _phase_spec(project, run, phase, specs)
    if artifact is not None:
        version = (yield Query("run_artifact_version", {"project": project, "name": artifact[0],
                                                        "version": artifact[1]})).scalar()
        if version is None:
            raise errors.ArtifactNotFound(f"no artifact {artifact[0]!r}"
                                          + (f" version {artifact[1]}" if artifact[1] else "") + f" in {project!r}")
        text = json.dumps({"artifact": artifact[0], "version": int(version)}, ensure_ascii=False)
    import hashlib  # (here: loading it costs a CLI call that never writes an output about 2 ms)

    data = text.encode("utf-8")
    params = {"run": run, "phase": phase, "var": var, "iteration": iteration, "kind": kind, "content": text,
              "sha256": hashlib.sha256(kind.encode() + b"\0" + data).hexdigest(), "size": len(data), "agent": agent}
    row = (yield Query("run_output_insert", params)).one()
    if row is not None:
        return output_of(row)
    row = (yield Query("run_output_get", params)).one()
    if row is None:
        current = (yield Query("run_phase_gate", {"id": run, "phase": phase})).one()
        reached = 0 if current is None else int(current[1])
        if reached == 0:
            raise errors.IllegalTransition(f"phase {phase} of run {run} has not started: it has no iteration to "
                                           "write an output for")
        raise errors.InvalidArgument(f"phase {phase} of run {run} has reached iteration {reached}; cannot write "
                                     f"an output for iteration {iteration}")
    found = output_of(row)
    if found.sha256 != params["sha256"]:
        raise errors.DuplicateRecord(f"{var} of iteration {found.iteration} of phase {phase} of run {run} is "
                                     "already written with other content; outputs are kept per iteration and never "
                                     "rewritten: write it for the next iteration")
    return found


@repeatable
def outputs(project: str, run: int, phase: str | None, iteration: int | None) -> Op[dict[str, Any]]:
    rows = (yield Query("run_outputs_latest", {"project": project, "run": run, "phase": phase,
                                               "iteration": iteration})).rows
    if not rows:
        yield from must_get(project, run)
    return {r[0]: content_of(r[1], r[2]) for r in rows}


@repeatable
def output_history(project: str, run: int, phase: str, var: str) -> Op[list[Output]]:
    rows = (yield Query("run_output_history", {"project": project, "run": run, "phase": phase, "var": var})).rows
    if not rows:
        yield from must_get(project, run)
    return [output_of(r) for r in rows]
