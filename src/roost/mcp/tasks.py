"""The task queue as tools: enqueue, claim under a lease, heartbeat, and finish with the token."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from roost import errors
from roost.mcp._toolbox import Caller, Toolbox, arg
from roost.tasks import Claim, QueueStats, Task

tools = Toolbox("tasks")

Token = Annotated[int, arg("the claim's token, from task_claim")]
TaskId = Annotated[int | None, arg("the task's id (optional: a check that the token is for this task)")]


@dataclass(slots=True)
class Enqueued:
    """The new task's id (or the existing one's, when the idempotency key was seen before)."""

    id: int


@dataclass(slots=True)
class Heartbeat:
    """When the claim's lease now expires."""

    lease_expires_at: datetime


@dataclass(slots=True)
class Failed:
    """What became of the task: 'pending' (it will be retried after the backoff) or 'dead'."""

    status: str


@tools.tool()
def task_enqueue(
    caller: Caller,
    kind: Annotated[str, arg("what the task is, e.g. 'review' or 'build'")],
    payload: Annotated[Any, arg("the task's input (any JSON)")] = None,
    queue: Annotated[str, arg("the queue to put it on")] = "default",
    target: Annotated[str | None, arg("only this agent may claim it")] = None,
    capability: Annotated[str | None, arg("only agents with this capability may claim it")] = None,
    priority: Annotated[int, arg("higher runs first")] = 0,
    delay: Annotated[float | None, arg("seconds from now before it may be claimed", ge=0)] = None,
    max_attempts: Annotated[int, arg("claims before it is dead", ge=1)] = 3,
    depends_on: Annotated[list[int] | None, arg("ids of tasks that must be done first")] = None,
    idempotency_key: Annotated[str | None, arg("a key: enqueueing the same key again returns the first task")]
    = None,
) -> Enqueued:
    """Put a task on a queue for an agent to claim."""
    return Enqueued(caller.store.tasks.enqueue(
        kind, payload, queue=queue, target=target, capability=capability, priority=priority,
        run_after=delay, max_attempts=max_attempts,
        depends_on=depends_on or (), idempotency_key=idempotency_key))


@tools.tool()
def task_claim(
    caller: Caller,
    queues: Annotated[list[str] | None, arg("the queues to claim from (default: ['default'])")] = None,
    capabilities: Annotated[list[str] | None, arg("this agent's capabilities, for tasks that need one")] = None,
    n: Annotated[int, arg("claim up to this many", ge=1, le=100)] = 1,
    lease: Annotated[float, arg("seconds the claim lasts unless heartbeated", gt=0)] = 60.0,
) -> list[Claim]:
    """Claim ready tasks for this agent; an empty list when there are none. Keep each claim's token."""
    return caller.store.tasks.claim(caller.agent, queues=queues or ("default",), capabilities=capabilities or (),
                                    n=n, lease=lease)


@tools.tool(idempotent=True)
def task_heartbeat(
    caller: Caller,
    token: Token,
    lease: Annotated[float | None, arg("new lease length in seconds (default: the claim's)", gt=0)] = None,
    task_id: TaskId = None,
) -> Heartbeat:
    """Extend a claim's lease while working on it; lease_lost if it expired and was reclaimed."""
    return Heartbeat(caller.store.tasks.heartbeat(token, lease=lease, task_id=task_id))


@tools.tool()
def task_complete(
    caller: Caller,
    token: Token,
    result: Annotated[Any, arg("the task's result (any JSON)")] = None,
    task_id: TaskId = None,
) -> bool:
    """Finish a claimed task with its result; lease_lost if the claim was lost."""
    caller.store.tasks.complete(token, result, task_id=task_id)
    return True


@tools.tool()
def task_fail(
    caller: Caller,
    token: Token,
    error: Annotated[str, arg("what went wrong")],
    retry: Annotated[bool, arg("false: do not retry, the task is dead")] = True,
    backoff: Annotated[float, arg("seconds before the retry may be claimed", ge=0)] = 1.0,
    task_id: TaskId = None,
) -> Failed:
    """Report a claimed task as failed: retried after the backoff until its attempts run out."""
    return Failed(caller.store.tasks.fail(token, error, retry=retry, backoff=backoff, task_id=task_id))


@tools.tool()
def task_release(caller: Caller, token: Token, task_id: TaskId = None) -> bool:
    """Give a claimed task back without using up an attempt."""
    caller.store.tasks.release(token, task_id=task_id)
    return True


@tools.tool(read_only=True)
def task_get(caller: Caller, task_id: Annotated[int, arg("the task's id")]) -> Task:
    """Read one task: status, payload, result or error, attempts."""
    task = caller.store.tasks.get(task_id)
    if task is None:
        raise errors.NotFound(f"no task with id {task_id}")
    return task


@tools.tool(read_only=True)
def task_list(
    caller: Caller,
    status: Annotated[str | None, arg("pending, running, done, failed, dead or cancelled")] = None,
    queue: Annotated[str | None, arg("only this queue")] = None,
    agent: Annotated[str | None, arg("only tasks claimed by this agent")] = None,
    limit: Annotated[int, arg("at most this many", ge=1, le=1000)] = 100,
    after: Annotated[int, arg("only ids above this (for paging)", ge=0)] = 0,
) -> list[Task]:
    """List tasks, oldest first."""
    return caller.store.tasks.list(status=status, queue=queue, agent=agent, limit=limit, after=after)


@tools.tool(read_only=True)
def task_stats(caller: Caller) -> list[QueueStats]:
    """Counts of tasks per queue and status."""
    return caller.store.tasks.stats()
