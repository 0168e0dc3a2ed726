"""``roost work``: a worker that claims tasks and runs a command for each (see :mod:`roost.worker`)."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any

import click

from roost import errors, worker
from roost.cli._common import AGENT_HELP, Fail, cli_owner, common, print_json, store

if TYPE_CHECKING:
    from roost.tasks import Claim


@click.command("work", context_settings={"ignore_unknown_options": True})
@click.option("--agent", help=AGENT_HELP)
@click.option("--queue", "queues", multiple=True, help="A queue to claim from (repeatable; default: default).")
@click.option("--capability", "capabilities", multiple=True, help="A capability this agent has (repeatable).")
@click.option("--lease", type=float, default=60.0, show_default=True, help="Seconds per lease; renewed while it runs.")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between claims when idle.")
@click.option("--grace", type=click.FloatRange(0, 3600), default=10.0, show_default=True,
              help="On SIGTERM or SIGINT, seconds the running command may take to finish before it is "
                   "stopped and its task released.")
@click.option("--max-idle", type=click.FloatRange(0), default=None,
              help="Exit (0) after this many seconds with no task to claim; default: run until stopped.")
@click.option("--once", is_flag=True, help="Run at most one task, then exit: 0 if it was completed, 1 if the command "
              "failed or could not start, 3 if no task was ready, 4 if its lease was lost.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@common
def work(url: str | None, project: str | None, as_json: bool, agent: str | None, queues: tuple[str, ...],
         capabilities: tuple[str, ...], lease: float, poll: float, grace: float, max_idle: float | None, once: bool,
         command: tuple[str, ...]) -> None:
    """Claim tasks and run COMMAND for each (after --): the task is in ROOST_TASK_* variables and, as
    JSON, on stdin. Exit 0 completes it (stdout is the result), anything else fails it.

    The worker rides out database outages of any length: it says once that the database is
    unreachable, keeps its claimed task, retries with backoff, and says once when it is back.
    The first SIGTERM or SIGINT stops claiming and gives the running command --grace seconds; it is
    then completed or failed, or else stopped and its task released to the queue; the worker exits
    0. A second signal kills the command at once, releases the task and exits 128 + the signal number.
    A command that cannot be started releases its task unchanged and exits 1.
    """
    stop, force = threading.Event(), threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        if stop.is_set():
            force.set()
        else:
            stop.set()
            click.echo(f"stopping: no new tasks; a running command has {grace:g} s to finish "
                       "(signal again to stop at once)", err=True)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    name = cli_owner(agent)

    def report(event: str, claim: Claim | None, detail: str) -> None:
        if as_json:
            record: dict[str, Any] = {"event": event, "detail": detail}
            if claim is not None:
                record |= {"task": claim.id, "kind": claim.kind}
            print_json(record, line=True)
        elif claim is None:
            click.echo(f"database {event}: {detail}", err=True)
        else:
            click.echo(f"{event}: task {claim.id} ({claim.kind}) {detail}")  # every task event on stdout

    with store(url, project) as s:
        summary = worker.run(s, name, list(command), queues=list(queues) or ["default"],
                             capabilities=list(capabilities), lease=lease, once=once, poll=poll, grace=grace,
                             max_idle=max_idle, stop=stop, force=force, report=report)
    data: dict[str, Any] = {"completed": summary.completed, "failed": summary.failed, "lost": summary.lost,
                            "released": summary.released}
    if as_json:
        print_json({"summary": data}, line=True)
    if force.is_set():
        raise SystemExit(128 + received[-1])
    if once and not summary.tasks and not stop.is_set():
        raise errors.NotFound("no task is ready to claim")
    if once and summary.failed:
        raise Fail("the command failed, and so did its task", 1)
    if once and summary.lost:
        raise Fail("the task's lease was lost", errors.LeaseLost.exit_code)
