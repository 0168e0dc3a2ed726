"""``roost task``: the queue for agents that speak shell (``roost work`` is in :mod:`roost.cli.work`).

Plain output is what a script wants (an id, a token); ``--json`` gives whole records. Exit codes:
3 when nothing was claimed or a task is not found or already finished, 4 when a lease was lost.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from roost import errors
from roost.cli._common import AGENT_HELP, cli_owner, common, emit, escape, new_table, print_json, read_json, store
from roost.tasks import STATUSES

if TYPE_CHECKING:
    from rich.console import Console

    from roost.tasks import Task


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
@click.option("--agent", help=AGENT_HELP)
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
        table = new_table(show_header=False, box=None)
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
    table = new_table("id", "kind", "queue", "status", "prio", "attempts", "agent", box=None)
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
        table = new_table("queue", "pending", "ready", "running", "done", "failed", "dead", "cancelled", box=None)
        for q in stats:
            names = ("pending", "ready", "running", "done", "failed", "dead", "cancelled")
            counts = (str(getattr(q, n)) for n in names)
            table.add_row(escape(q.queue), *counts)
        console.print(table if stats else "no tasks")

    emit(as_json, {"queues": stats}, human)
