"""A worker loop that runs a command per claimed task: the engine of ``roost work``.

For each task it starts the command with the task in its environment (``ROOST_TASK_ID``,
``ROOST_TASK_TOKEN``, ``ROOST_TASK_KIND``, ``ROOST_TASK_PAYLOAD``, ``ROOST_TASK_ATTEMPT``,
``ROOST_AGENT``) and the payload as JSON on stdin, heartbeats while it runs, and completes the task
on exit 0 (stdout as the result: JSON if it parses, else the text) or fails it otherwise (with the
end of stderr). If the lease is lost meanwhile, the command is terminated: its work would be refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from roost import errors
from roost.store import Store
from roost.tasks import Claim

OUTPUT_MAX = 1024 * 1024


@dataclass
class WorkSummary:
    completed: int = 0
    failed: int = 0
    lost: int = 0
    tasks: list[int] = field(default_factory=list)


def run(
    store: Store,
    agent: str,
    command: Sequence[str],
    *,
    queues: Sequence[str] = ("default",),
    capabilities: Sequence[str] = (),
    lease: float = 60.0,
    once: bool = False,
    poll: float = 1.0,
    stop: threading.Event | None = None,
    report: Callable[[str, Claim, str], None] | None = None,
) -> WorkSummary:
    """Claim and run tasks until ``stop`` is set (or, with ``once``, after at most one task).
    ``report(event, claim, detail)`` is told of each start, completion, failure and lost lease."""
    if not command:
        raise errors.InvalidArgument("work needs a command to run for each task")
    stop = stop or threading.Event()
    summary = WorkSummary()
    while not stop.is_set():
        claims = store.tasks.claim(agent, queues=queues, capabilities=capabilities, n=1, lease=lease)
        if not claims:
            if once:
                break
            stop.wait(poll)
            continue
        claim = claims[0]
        summary.tasks.append(claim.id)
        outcome, detail = _run_one(store, agent, command, claim, lease, report)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
        if report:
            report(outcome, claim, detail)
        if once:
            break
    return summary


def _run_one(store: Store, agent: str, command: Sequence[str], claim: Claim, lease: float,
             report: Callable[[str, Claim, str], None] | None) -> tuple[str, str]:
    env = {**os.environ, "ROOST_AGENT": agent, "ROOST_TASK_ID": str(claim.id), "ROOST_TASK_TOKEN": str(claim.token),
           "ROOST_TASK_KIND": claim.kind, "ROOST_TASK_PAYLOAD": json.dumps(claim.payload),
           "ROOST_TASK_ATTEMPT": str(claim.attempts)}
    if report:
        report("started", claim, " ".join(command))
    try:
        child = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env, text=True)
    except OSError as exc:
        store.tasks.fail(claim.token, f"cannot start {command[0]!r}: {exc.strerror or exc}")
        return "failed", f"cannot start {command[0]!r}"
    lost = threading.Event()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(max(0.2, lease / 3)):
            try:
                store.tasks.heartbeat(claim.token)
            except errors.LeaseLost:
                lost.set()
                child.terminate()
                return
            except errors.RoostError:
                continue  # transient: try again; the lease has room for a missed beat or two

    beater = threading.Thread(target=beat, name=f"roost-heartbeat {claim.id}", daemon=True)
    beater.start()
    try:
        out, err = child.communicate(json.dumps(claim.payload))
    finally:
        done.set()
        beater.join()
    if lost.is_set():
        return "lost", "the lease was lost; the command was stopped"
    try:
        if child.returncode == 0:
            store.tasks.complete(claim.token, _result(out))
            return "completed", f"exit 0 in task {claim.id}"
        message = (err.strip() or out.strip())[-2000:] or f"exit status {child.returncode}"
        store.tasks.fail(claim.token, f"exit status {child.returncode}: {message}")
        return "failed", message
    except errors.LeaseLost as exc:
        return "lost", exc.message


def _result(out: str) -> object:
    text = out[:OUTPUT_MAX]
    try:
        return json.loads(text)
    except ValueError:
        return text.rstrip("\n")

