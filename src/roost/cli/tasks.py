"""``roost task`` and ``roost work``: the queue for agents that speak shell.

Plain output is what a script wants (an id, a token); ``--json`` gives whole records. Exit codes:
3 when nothing was claimed or a task is not found or already finished, 4 when a lease was lost.
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from roost import errors, worker
from roost.cli._common import Fail, cli_owner, common, emit, print_json, read_json, store
from roost.tasks import STATUSES, Claim, Task

_AGENT_HELP = "The agent claiming; default ROOST_AGENT, else host:PID of the calling process."


@click.group()
def task() -> None:
    """The task queue: add, claim, heartbeat, finish and inspect tasks."""


@task.command("add")
@click.argument("kind")
@click.option("--payload", help="A JSON value for the worker (default null; - reads standard input, @PATH a file).")
@click.option("--queue", default="default", show_default=True, help="The queue it goes to.")
@click.option("--target", help="Only this agent may claim it.")
@click.option("--capability", help="Only agents claiming with this capability may take it.")
@click.option("--priority", type=int, default=0, show_default=True, help="-1000 to 1000; higher runs first.")
@click.option("--delay", type=float, help="Seconds before it may run.")
@click.option("--max-attempts", type=int, default=3, show_default=True, help="Attempts before it is dead.")
@click.option("--timeout", type=float, help="Seconds one attempt may run, heartbeats included.")
@click.option("--depends-on", "depends_on", type=int, multiple=True, help="A task id that must be done first.")
@click.option("--idempotency-key", help="Adding twice with one key adds one task.")
@common
def task_add(url: str | None, project: str | None, as_json: bool, kind: str, payload: str | None, queue: str,
             target: str | None, capability: str | None, priority: int, delay: float | None, max_attempts: int,
             timeout: float | None, depends_on: tuple[int, ...], idempotency_key: str | None) -> None:
    """Add a task of KIND; prints its id."""
    data = read_json(payload, "--payload")
    with store(url, project) as s:
        task_id = s.tasks.enqueue(kind, data, queue=queue, target=target, capability=capability, priority=priority,
                                  run_after=delay, max_attempts=max_attempts, timeout=timeout,
                                  depends_on=list(depends_on), idempotency_key=idempotency_key)
    if as_json:
        print_json({"id": task_id})
    else:
        click.echo(task_id)


@task.command("claim")
@click.option("--agent", help=_AGENT_HELP)
@click.option("--queue", "queues", multiple=True, help="A queue to claim from (repeatable; default: default).")
@click.option("--capability", "capabilities", multiple=True, help="A capability this agent has (repeatable).")
@click.option("-n", "count", type=int, default=1, show_default=True, help="Claim up to this many.")
@click.option("--lease", type=float, default=60.0, show_default=True, help="Seconds each lease lasts.")
@common
def task_claim(url: str | None, project: str | None, as_json: bool, agent: str | None, queues: tuple[str, ...],
               capabilities: tuple[str, ...], count: int, lease: float) -> None:
    """Claim ready tasks; prints 'ID TOKEN KIND' per task. Exit 3 if none was ready."""
    with store(url, project) as s:
        claims = s.tasks.claim(cli_owner(agent), queues=list(queues) or ["default"],
                               capabilities=list(capabilities), n=count, lease=lease)
    if not claims:
        raise errors.NotFound("no task is ready to claim")
    if as_json:
        print_json({"claims": claims})
    else:
        for c in claims:
            click.echo(f"{c.id} {c.token} {c.kind}")


_TOKEN_HELP = "The lease token that `task claim` printed beside the id (required: ids and tokens differ)."


@task.command("heartbeat")
@click.argument("task_id", type=int, metavar="ID")
@click.option("--token", type=int, required=True, help=_TOKEN_HELP)
@click.option("--lease", type=float, help="Seconds from now (default: the claim's lease).")
@common
def task_heartbeat(url: str | None, project: str | None, as_json: bool, task_id: int, token: int,
                   lease: float | None) -> None:
    """Extend the lease of task ID's claim --token. Exit 4 if it was lost."""
    with store(url, project) as s:
        expires = s.tasks.heartbeat(token, lease=lease, task_id=task_id)
    emit(as_json, {"id": task_id, "token": token, "lease_expires_at": expires},
         lambda c: c.print(f"lease until {expires:%H:%M:%S}"))


@task.command("done")
@click.argument("task_id", type=int, metavar="ID")
@click.option("--token", type=int, required=True, help=_TOKEN_HELP)
@click.option("--result", help="A JSON value to store as the result (- reads standard input, @PATH a file).")
@common
def task_done(url: str | None, project: str | None, as_json: bool, task_id: int, token: int,
              result: str | None) -> None:
    """Complete task ID, claimed with --token. Repeating it with the same result succeeds again.
    Exit 4 if the lease was lost."""
    data = read_json(result, "--result")
    with store(url, project) as s:
        s.tasks.complete(token, data, task_id=task_id)
    emit(as_json, {"id": task_id, "token": token, "status": "done"}, lambda c: c.print("done"))


@task.command("fail")
@click.argument("task_id", type=int, metavar="ID")
@click.option("--token", type=int, required=True, help=_TOKEN_HELP)
@click.option("--error", "message", required=True, help="What went wrong.")
@click.option("--no-retry", is_flag=True, help="Make it dead now instead of retrying.")
@click.option("--backoff", type=float, default=1.0, show_default=True, help="Seconds; doubles per attempt.")
@common
def task_fail(url: str | None, project: str | None, as_json: bool, task_id: int, token: int, message: str,
              no_retry: bool, backoff: float) -> None:
    """Fail the attempt on task ID claimed with --token; prints failed (will retry) or dead. Exit 4
    if the lease was lost."""
    with store(url, project) as s:
        status = s.tasks.fail(token, message, retry=not no_retry, backoff=backoff, task_id=task_id)
    emit(as_json, {"id": task_id, "token": token, "status": status}, lambda c: c.print(status))


@task.command("release")
@click.argument("task_id", type=int, metavar="ID")
@click.option("--token", type=int, required=True, help=_TOKEN_HELP)
@common
def task_release(url: str | None, project: str | None, as_json: bool, task_id: int, token: int) -> None:
    """Give task ID back to the queue unfinished (the attempt does not count). Exit 4 if the lease
    was lost."""
    with store(url, project) as s:
        s.tasks.release(token, task_id=task_id)
    emit(as_json, {"id": task_id, "token": token, "status": "pending"}, lambda c: c.print("released"))


@task.command("cancel")
@click.argument("task_id", type=int)
@click.option("--reason", default="cancelled", show_default=True, help="Recorded as the task's error.")
@common
def task_cancel(url: str | None, project: str | None, as_json: bool, task_id: int, reason: str) -> None:
    """Cancel TASK_ID and what depends on it. Exit 3 if it is unknown or already finished."""
    with store(url, project) as s:
        if not s.tasks.cancel(task_id, reason):
            raise errors.NotFound(f"task {task_id} has already finished")
    emit(as_json, {"id": task_id, "status": "cancelled"}, lambda c: c.print(f"cancelled {task_id}"))


@task.command("retry")
@click.argument("task_id", type=int, metavar="ID")
@common
def task_retry(url: str | None, project: str | None, as_json: bool, task_id: int) -> None:
    """Put a dead or failed task back in the queue, ready now, attempts counted afresh. Exit 3 if
    it does not exist or is not dead or failed."""
    with store(url, project) as s:
        retried = s.tasks.retry(task_id)
        status = None if retried else s.tasks.get(task_id)
    if not retried:
        raise errors.NotFound(f"task {task_id} is {status.status if status else 'gone'}, not dead or failed")
    emit(as_json, {"id": task_id, "status": "pending"}, lambda c: c.print("pending"))


@task.command("cleanup")
@click.option("--age", type=float, default=7 * 86400.0, show_default=True,
              help="Seconds since a done, dead or cancelled task finished.")
@common
def task_cleanup(url: str | None, project: str | None, as_json: bool, age: float) -> None:
    """Delete done, dead and cancelled tasks that finished more than --age seconds ago."""
    with store(url, project) as s:
        removed = s.tasks.cleanup(age)
    emit(as_json, {"removed": removed}, lambda c: c.print(f"removed {removed} task(s)"))


@task.command("get")
@click.argument("task_id", type=int)
@common
def task_get(url: str | None, project: str | None, as_json: bool, task_id: int) -> None:
    """Show TASK_ID and its claim history. Exit 3 if it does not exist."""
    with store(url, project) as s:
        found = s.tasks.get(task_id)
        runs = s.tasks.history(task_id) if found else []
    if found is None:
        raise errors.NotFound(f"no task {task_id}")

    def human(console: Console) -> None:
        table = Table(show_header=False, box=None)
        for name in ("id", "kind", "queue", "status", "priority", "attempts", "max_attempts", "depends_on",
                     "claimed_by", "lease_expires_at", "error", "result", "payload"):
            value = getattr(found, name)
            if value not in (None, []):
                shown = json.dumps(value, ensure_ascii=False) if name in ("result", "payload", "depends_on") else value
                table.add_row(name, escape(str(shown)))
        console.print(table)
        for r in runs:
            outcome = r.outcome or "running"
            console.print(escape(f"  claim {r.token}: {r.agent} at {r.claimed_at:%H:%M:%S} -> {outcome}"))

    emit(as_json, {"task": found, "history": runs}, human)


def _task_table(console: Console, found: list[Task]) -> None:
    table = Table("id", "kind", "queue", "status", "prio", "attempts", "agent", box=None)
    for t in found:
        table.add_row(str(t.id), escape(t.kind), escape(t.queue), t.status, str(t.priority),
                      f"{t.attempts}/{t.max_attempts}", escape(t.claimed_by or ""))
    console.print(table if found else "no tasks")


@task.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only tasks with this status.")
@click.option("--queue", help="Only this queue.")
@click.option("--agent", help="Only tasks claimed by this agent.")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@click.option("--after", type=int, default=0, show_default=True, help="Only ids above this (paging).")
@common
def task_list(url: str | None, project: str | None, as_json: bool, status: str | None, queue: str | None,
              agent: str | None, limit: int, after: int) -> None:
    """List tasks by id."""
    with store(url, project) as s:
        found = s.tasks.list(status=status, queue=queue, agent=agent, limit=limit, after=after)
    emit(as_json, {"tasks": found}, lambda c: _task_table(c, found))


@task.command("stats")
@common
def task_stats(url: str | None, project: str | None, as_json: bool) -> None:
    """Per queue: pending, ready, running, done, failed, dead, cancelled."""
    with store(url, project) as s:
        stats = s.tasks.stats()

    def human(console: Console) -> None:
        table = Table("queue", "pending", "ready", "running", "done", "failed", "dead", "cancelled", box=None)
        for q in stats:
            names = ("pending", "ready", "running", "done", "failed", "dead", "cancelled")
            counts = (str(getattr(q, n)) for n in names)
            table.add_row(escape(q.queue), *counts)
        console.print(table if stats else "no tasks")

    emit(as_json, {"queues": stats}, human)


@click.command("work", context_settings={"ignore_unknown_options": True})
@click.option("--agent", help=_AGENT_HELP)
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


GROUPS = [task, work]
