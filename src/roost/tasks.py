"""The task queue: priorities, dependencies, atomic claims with leases, heartbeats and retries.

A claim is one statement. It first reclaims expired leases (so no reaper process is needed), then
takes ready tasks with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, or inside ``BEGIN IMMEDIATE`` on
SQLite. Every claim draws a new lease token. ``heartbeat``, ``complete``, ``fail`` and ``release``
act only while the token is the task's current one and the task is running, so a worker whose
lease was reclaimed is refused with :class:`LeaseLost`, and no task is completed twice.
Details: docs/tasks.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, RequestKey, atomic, repeatable, to_datetime

if TYPE_CHECKING:
    from roost.store import Store

PRIORITY_MIN, PRIORITY_MAX = -1000, 1000
ATTEMPTS_MAX = 100
LEASE_MIN, LEASE_MAX = 1.0, 86400.0
TIMEOUT_MAX = 7 * 86400.0
DELAY_MAX = 365 * 86400.0
CLAIM_MAX = 1000
DEPS_MAX = 1000
BATCH_MAX = 10_000
PAYLOAD_MAX_BYTES = 1024 * 1024
ERROR_MAX = 10_000
STATUSES = ("pending", "running", "failed", "done", "dead", "cancelled")


@dataclass(slots=True)
class Task:
    id: int
    queue: str
    kind: str
    payload: Any
    target: str | None
    capability: str | None
    priority: int
    status: str
    run_after: datetime
    max_attempts: int
    attempts: int
    timeout: float | None
    idempotency_key: str | None
    blocked_by: int
    token: int | None
    claimed_by: str | None
    claimed_host: str | None
    claimed_pid: int | None
    claimed_at: datetime | None
    lease_expires_at: datetime | None
    result: Any
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    depends_on: list[int]
    """The ids this task waits for (or waited for), in order."""


@dataclass(slots=True)
class Claim:
    """A claimed task. Pass ``token`` to heartbeat, complete, fail or release it."""

    id: int
    token: int
    queue: str
    kind: str
    payload: Any
    priority: int
    attempts: int
    max_attempts: int
    lease_expires_at: datetime


@dataclass(slots=True)
class TaskRun:
    """One claim of a task: who, when, and how it ended (None while it runs)."""

    token: int
    agent: str
    host: str
    pid: int
    claimed_at: datetime
    ended_at: datetime | None
    outcome: str | None
    error: str | None


@dataclass(slots=True)
class QueueStats:
    queue: str
    pending: int
    ready: int
    running: int
    done: int
    failed: int
    dead: int
    cancelled: int


@dataclass
class TaskSpec:
    """One task for :meth:`Tasks.enqueue_many`. ``ref`` names it so later specs of the same batch
    can list it in ``depends_on``, next to the ids of tasks already stored."""

    kind: str
    payload: Any = None
    queue: str = "default"
    target: str | None = None
    capability: str | None = None
    priority: int = 0
    run_after: datetime | float | None = None
    max_attempts: int = 3
    timeout: float | None = None
    depends_on: Sequence[int | str] = ()
    idempotency_key: str | None = None
    ref: str | None = None



def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else to_datetime(epoch)


def _json(text: str | None) -> Any:
    return None if text is None else v.stored_json(text)


def _task(row: tuple[Any, ...]) -> Task:
    (id_, queue, kind, payload, target, capability, priority, status, run_after, max_attempts, attempts, timeout,
     key, blocked_by, token, claimed_by, host, pid, claimed_at, expires, result, error, created, finished, deps) = row
    return Task(int(id_), queue, kind, _json(payload), target, capability, int(priority), status,
                to_datetime(run_after), int(max_attempts), int(attempts), timeout, key, int(blocked_by),
                None if token is None else int(token), claimed_by, host, pid, _when(claimed_at), _when(expires),
                _json(result), error, to_datetime(created), _when(finished),
                [int(d) for d in json.loads(deps)])


# --- operations ------------------------------------------------------------------------------------


@repeatable
@atomic
def enqueue(project: str, rows: list[dict[str, Any]], key: RequestKey) -> Op[list[int]]:
    """Insert ``rows`` (already validated and in dependency order) in one transaction. Run again
    after a lost connection, it first looks for the tasks its first run wrote under ``key``."""
    if key.again():
        earlier = (yield Query("task_by_request_key", {"project": project, "request_key": key.value})).rows
        if earlier:  # the first run committed: the same ids, in the same order
            return (yield from _ids_written(project, rows, earlier))
    if len(rows) > 1 and all(not r["depends_on"] and r["idempotency_key"] is None for r in rows):
        return (yield from _enqueue_plain(project, rows, key))
    ids: list[int] = []
    local: dict[str, int] = {}
    for given in rows:
        row = dict(given)  # the rows stay as given, for a run after a lost connection
        deps = [local[d] if isinstance(d, str) else d for d in row.pop("depends_on")]
        ref = row.pop("ref")
        row["request_key"] = key.value
        blocked = 0
        if deps:
            found = dict((yield Query("task_states", {"project": project, "ids": json.dumps(deps)})).rows)
            for dep in deps:
                state = found.get(dep)
                if state is None:
                    raise errors.InvalidArgument(f"task {row['kind']!r} depends on task {dep}, which does not exist")
                if state in ("dead", "cancelled"):
                    raise errors.InvalidArgument(
                        f"task {row['kind']!r} depends on task {dep}, which is {state} and will never be done")
            blocked = sum(1 for dep in set(deps) if found[dep] != "done")
        new_id = (yield Query("task_insert", {"project": project, **row, "blocked_by": blocked})).scalar()
        if new_id is None:  # the idempotency key was used before: that task stands for this one
            new_id = (yield Query("task_by_idempotency", {"project": project,
                                                          "idempotency_key": row["idempotency_key"]})).scalar()
        elif deps:
            yield Query("task_deps_insert", {"task_id": new_id, "ids": json.dumps(sorted(set(deps)))})
        ids.append(int(new_id))
        if ref is not None:
            local[ref] = int(new_id)
    return ids


def _enqueue_plain(project: str, rows: list[dict[str, Any]], key: RequestKey) -> Op[list[int]]:
    """Tasks with no dependencies and no idempotency keys (the usual bulk enqueue): one statement
    for all of them, instead of one per task. Ids are drawn in the order of the rows, so sorted
    they are the rows' ids."""
    batch = json.dumps([[r["queue"], r["kind"], r["payload"], r["target"], r["capability"], r["priority"],
                         r["run_at"], r["max_attempts"], r["timeout"]] for r in rows])
    found = (yield Query("task_insert_many", {"project": project, "rows": batch, "request_key": key.value})).rows
    return sorted(int(r[0]) for r in found)


def _ids_written(project: str, rows: list[dict[str, Any]], found: Sequence[tuple[Any, ...]]) -> Op[list[int]]:
    """The id each row got from a committed earlier run: a row with an idempotency key used before
    then stood for that task (written without the request key); the others were written in order."""
    written = {idem: int(i) for i, idem in found if idem is not None}
    plain = iter([int(i) for i, idem in found if idem is None])
    ids = []
    for row in rows:
        idem = row["idempotency_key"]
        if idem is None:
            ids.append(next(plain))
        elif idem in written:
            ids.append(written[idem])
        else:
            query = Query("task_by_idempotency", {"project": project, "idempotency_key": idem})
            ids.append(int((yield query).scalar()))
    return ids


@repeatable
def claim(params: dict[str, Any]) -> Op[list[Claim]]:
    rows = (yield Query("task_claim", params)).rows
    if not rows:  # an idle claimer does the housekeeping: dependents of dead tasks are cancelled
        yield Query("task_cascade", {"project": params["project"]})
    return [Claim(int(i), int(t), q, k, _json(p), int(pr), int(a), int(m), to_datetime(e))
            for i, t, q, k, p, pr, a, m, e in rows]


@repeatable
def lookup(query: str, params: dict[str, Any]) -> Op[tuple[Any, ...] | None]:
    """One row: reads and heartbeats, which may run again after a lost connection."""
    return (yield Query(query, params)).one()


@atomic
def finish(query: str, params: dict[str, Any], project: str) -> Op[tuple[Any, ...] | None]:
    """fail or cancel, and cancel what can now never run, in one transaction."""
    row = (yield Query(query, params)).one()
    if row is not None and (query == "task_cancel" or row[1] == "dead"):
        yield Query("task_cascade", {"project": project})
    return row


@repeatable
def settle(query: str, params: dict[str, Any]) -> Op[tuple[Any, ...] | None]:
    """End a claim by its token with one guarded statement (complete, release). Repeatable: run
    again after a commit whose answer was lost, it is refused by the guard, and
    :meth:`Tasks._settle` then sees that this claim already ended so."""
    return (yield Query(query, params)).one()


@repeatable
@atomic
def settle_failed(query: str, params: dict[str, Any], project: str) -> Op[tuple[Any, ...] | None]:
    """``settle`` for a failure, with the cascade when the task is now dead, in one transaction."""
    return (yield from finish(query, params, project))


@repeatable
def settle_many(items: str) -> Op[list[tuple[Any, ...]]]:
    """Complete several claims with one statement (one transaction): ``items`` is a JSON array of
    [token, result] pairs; returns (token, task id) of those completed. Repeatable as ``settle``."""
    return list((yield Query("task_complete_many", {"items": items})).rows)


@repeatable
def rows(query: str, params: dict[str, Any]) -> Op[list[tuple[Any, ...]]]:
    return list((yield Query(query, params)).rows)


# --- the facade ------------------------------------------------------------------------------------


class Tasks:
    """``store.tasks``: see the module docstring."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- adding work --------------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        payload: Any = None,
        *,
        queue: str = "default",
        target: str | None = None,
        capability: str | None = None,
        priority: int = 0,
        run_after: datetime | float | None = None,
        max_attempts: int = 3,
        timeout: float | None = None,
        depends_on: Sequence[int] = (),
        idempotency_key: str | None = None,
    ) -> int:
        """Add a task and return its id (or, for an ``idempotency_key`` used before, that task's id).

        ``target`` restricts it to one agent, ``capability`` to agents that claim with it.
        ``priority`` runs from -1000 to 1000, higher first. ``run_after`` is a datetime, or seconds
        from now. ``timeout`` caps one attempt: heartbeats cannot extend a lease past it.
        ``depends_on`` lists task ids that must be done first.
        """
        spec = TaskSpec(kind, payload, queue, target, capability, priority, run_after, max_attempts, timeout,
                        depends_on, idempotency_key)
        return self.enqueue_many([spec])[0]

    def enqueue_many(self, specs: Iterable[TaskSpec | Mapping[str, Any]]) -> list[int]:
        """Add several tasks in one transaction (all or none); ids in the order given. A spec's
        ``depends_on`` may name earlier or later specs of the batch by their ``ref``; a cycle is refused."""
        parsed = [s if isinstance(s, TaskSpec) else _spec(s) for s in specs]
        if not parsed:
            return []
        if len(parsed) > BATCH_MAX:
            raise errors.InvalidArgument(f"at most {BATCH_MAX:,} tasks per batch, not {len(parsed):,}")
        for spec in parsed:
            if isinstance(spec.depends_on, str | bytes) or not isinstance(spec.depends_on, Sequence):
                raise errors.InvalidArgument("depends_on must be a list of task ids (or refs in a batch)")
        order = _dependency_order(parsed)
        clock: list[float] = []  # the database's time, read once for the whole batch if a delay needs it
        rows = [self._row(parsed[i], clock) for i in order]
        key = RequestKey(self._store.capabilities.remote)
        stored = self._store._execute(enqueue, self._store.project, rows, key)
        ids = [0] * len(parsed)
        for position, index in enumerate(order):
            ids[index] = stored[position]
        return ids

    def _row(self, s: TaskSpec, clock: list[float]) -> dict[str, Any]:
        if isinstance(s.run_after, datetime):
            run_at: float | None = s.run_after.timestamp()
        elif s.run_after is None:
            run_at = None
        else:
            delay = v.seconds(s.run_after, "run_after", 0, DELAY_MAX)
            if not clock:
                clock.append(self._store.now().timestamp())
            run_at = clock[0] + delay
        if len(s.depends_on) > DEPS_MAX:
            raise errors.InvalidArgument(f"a task may depend on at most {DEPS_MAX} tasks")
        deps = [d if isinstance(d, str) else v.integer(d, "depends_on id", 1, 2**62) for d in s.depends_on]
        return {
            "queue": v.name(s.queue, "queue", v.LABEL_MAX),
            "kind": v.name(s.kind, "kind", 128),
            "payload": v.to_json(s.payload, "payload", PAYLOAD_MAX_BYTES),
            "target": None if s.target is None else v.name(s.target, "target", v.AGENT_NAME_MAX),
            "capability": None if s.capability is None else v.name(s.capability, "capability", v.LABEL_MAX),
            "priority": v.integer(s.priority, "priority", PRIORITY_MIN, PRIORITY_MAX),
            "run_at": run_at,
            "max_attempts": v.integer(s.max_attempts, "max_attempts", 1, ATTEMPTS_MAX),
            "timeout": None if s.timeout is None else v.seconds(s.timeout, "timeout", LEASE_MIN, TIMEOUT_MAX),
            "idempotency_key": None if s.idempotency_key is None else v.name(
                s.idempotency_key, "idempotency_key", v.SIGNAL_KEY_MAX),
            "depends_on": deps,
            "ref": s.ref,
        }

    # -- working ------------------------------------------------------------------------------

    def claim(
        self,
        agent: str,
        *,
        queues: Sequence[str] = ("default",),
        capabilities: Sequence[str] = (),
        n: int = 1,
        lease: float = 60.0,
    ) -> list[Claim]:
        """Claim up to ``n`` ready tasks of ``queues`` for ``agent`` (tasks targeted at it, or at
        one of ``capabilities``, or at anyone), each leased for ``lease`` seconds."""
        if isinstance(queues, str) or isinstance(capabilities, str):
            raise errors.InvalidArgument("queues and capabilities must be lists of names")
        if not queues:
            raise errors.InvalidArgument("claim needs at least one queue")
        params = {
            "project": self._store.project,
            "agent": v.name(agent, "agent", v.AGENT_NAME_MAX),
            "queues": [v.name(q, "queue", v.LABEL_MAX) for q in queues],
            "capabilities": [v.name(c, "capability", v.LABEL_MAX) for c in capabilities],
            "n": v.integer(n, "n", 1, CLAIM_MAX),
            "lease": v.seconds(lease, "lease", LEASE_MIN, LEASE_MAX),
            "host": v.hostname(),
            "pid": os.getpid(),
        }
        if self._store.backend == "sqlite":
            params["queues"], params["capabilities"] = json.dumps(params["queues"]), json.dumps(params["capabilities"])
        return self._store._execute(claim, params)

    def heartbeat(self, token: int, *, lease: float | None = None, task_id: int | None = None) -> datetime:
        """Extend the lease (by the claim's lease length, or ``lease``); returns the new expiry.

        Every call that takes a token also takes ``task_id``: given, the token must be one of that
        task's claims, else InvalidArgument (task ids and tokens are both small integers, and
        passing one for the other must not settle someone else's task)."""
        token = self._belongs(token, task_id)
        params = {"token": token, "lease": None if lease is None else v.seconds(lease, "lease", LEASE_MIN, LEASE_MAX)}
        row = self._store._execute(lookup, "task_heartbeat", params)
        if row is None:
            raise self._lost(token, "heartbeat")
        return to_datetime(row[1])

    def complete(self, token: int, result: Any = None, *, task_id: int | None = None) -> None:
        """Mark the task done with ``result`` (JSON); its dependents may now run. Repeating a
        completion that already succeeded (same token, same result) succeeds again and changes
        nothing: after a lost connection, simply call it again."""
        token = self._belongs(token, task_id)
        text = v.to_json(result, "result", PAYLOAD_MAX_BYTES)
        if self._settle("done", settle, "task_complete", {"token": token, "result": text}, text) is None:
            raise self._lost(token, "complete")

    def complete_many(self, results: Mapping[int, Any] | Iterable[tuple[int, Any]]) -> list[bool]:
        """Complete several claims at once, each with its result: ``{token: result}`` or
        ``(token, result)`` pairs, at most 10,000. One statement and one transaction on either
        backend (one round trip and one commit on PostgreSQL), so a worker that claimed a batch
        (``claim(n=...)``) settles it at the cost of about one completion; each task is done, its
        claim closed and its dependents unblocked exactly as :meth:`complete` does it.

        Returns, in the order given, whether each claim was completed: False where its lease was
        lost (the others are completed all the same). Like :meth:`complete` it may be repeated:
        a claim already completed by this token with the same result counts as completed."""
        pairs = list(results.items()) if isinstance(results, Mapping) else list(results)
        if len(pairs) > BATCH_MAX:
            raise errors.InvalidArgument(f"at most {BATCH_MAX:,} completions per batch, not {len(pairs):,}")
        items: list[tuple[int, str]] = []
        seen: set[int] = set()
        for pair in pairs:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise errors.InvalidArgument(f"each completion is a (token, result) pair, not {v.shown(pair)}")
            token = _token(pair[0])
            if token in seen:
                raise errors.InvalidArgument(f"token {token} is given twice")
            seen.add(token)
            items.append((token, v.to_json(pair[1], "result", PAYLOAD_MAX_BYTES)))
        if not items:
            return []
        done = {int(token) for token, _ in self._store._execute(settle_many, json.dumps(items))}
        return [token in done or self._already(token, "done", text) for token, text in items]

    def fail(self, token: int, error: str, *, retry: bool = True, backoff: float = 1.0,
             task_id: int | None = None) -> str:
        """Record a failed attempt. With ``retry`` and attempts left, the task runs again after
        ``backoff`` * 2^(attempt-1) seconds (at most an hour) and this returns ``failed``; otherwise
        it is ``dead`` and the tasks that depend on it are cancelled. Repeating a failure that
        already succeeded (same token, same error) returns the same answer and changes nothing."""
        if not isinstance(error, str):
            raise errors.InvalidArgument("error must be a string")
        token = self._belongs(token, task_id)
        params = {"token": token, "error": error[:ERROR_MAX], "retry": bool(retry),
                  "backoff": v.seconds(backoff, "backoff", 0, 3600)}
        row = self._settle("failed", settle_failed, "task_fail", params, error[:ERROR_MAX], self._store.project)
        if row is None:
            raise self._lost(token, "fail")
        return str(row[1])

    def release(self, token: int, *, task_id: int | None = None) -> None:
        """Give the task back unfinished: pending again, and the attempt does not count. Repeating
        a release that already succeeded succeeds again."""
        token = self._belongs(token, task_id)
        if self._settle("released", settle, "task_release", {"token": token}, None) is None:
            raise self._lost(token, "release")

    def cancel(self, task_id: int, reason: str = "cancelled") -> bool:
        """Cancel a task that has not finished (a running one's worker is refused from then on),
        and the tasks that depend on it. False if it had already finished."""
        task_id = v.integer(task_id, "task id", 1, 2**62)
        params = {"project": self._store.project, "id": task_id, "reason": str(reason)[:ERROR_MAX]}
        if self._store._execute(finish, "task_cancel", params, self._store.project) is not None:
            return True
        if self.get(task_id) is None:
            raise errors.NotFound(f"no task {task_id} in project {self._store.project!r}")
        return False

    def retry(self, task_id: int) -> bool:
        """Put a dead or failed task back in the queue, ready now, with its attempts counted
        afresh (its claim history stays). False if it is in another state; NotFound if there is
        no such task. Tasks cancelled because it died stay cancelled: enqueue them again."""
        task_id = v.integer(task_id, "task id", 1, 2**62)
        if self._store._execute(lookup, "task_retry", {"project": self._store.project, "id": task_id}) is not None:
            return True
        if self.get(task_id) is None:
            raise errors.NotFound(f"no task {task_id} in project {self._store.project!r}")
        return False

    def _settle(self, outcome: str, op: Callable[..., Op[tuple[Any, ...] | None]], query: str,
                params: dict[str, Any], detail: str | None, *rest: Any) -> tuple[Any, ...] | None:
        """End a claim by its token; the row is (task id, status), None if the lease is lost.

        The guarded write is refused when the claim has ended. If it ended with this very outcome
        and ``detail`` (the result of a completion, the error of a failure), it was an earlier
        call with this token that ended it, one whose answer was lost with its connection: the
        settle is then a success, idempotently, and nothing is written twice."""
        row = self._store._execute(op, query, params, *rest)
        if row is not None:
            return row
        state = self._store._execute(lookup, "task_lease_state", {"token": params["token"]})
        if not self._ended_so(state, outcome, detail):
            return None
        assert state is not None
        task_id, _, status, _, _, _ = state
        return task_id, "dead" if outcome == "failed" and status == "dead" else outcome

    def _already(self, token: int, outcome: str, detail: str | None) -> bool:
        """Whether the claim ``token`` already ended with ``outcome`` and ``detail``."""
        return self._ended_so(self._store._execute(lookup, "task_lease_state", {"token": token}), outcome, detail)

    @staticmethod
    def _ended_so(state: tuple[Any, ...] | None, outcome: str, detail: str | None) -> bool:
        """Whether a claim's lease state says it ended with ``outcome`` and ``detail`` (the result
        of a completion, the error of a failure): an earlier call with its token ended it."""
        if state is None or state[1] != outcome:
            return False
        _, _, _, _, error, result = state
        return not ((outcome == "done" and result != detail) or (outcome == "failed" and error != detail))

    def _belongs(self, token: object, task_id: object) -> int:
        """Check ``token`` (and, if given, that it is a claim of task ``task_id``; a token never
        moves to another task, so checking before the write is not a race)."""
        token = _token(token)
        if task_id is None:
            return token
        task_id = v.integer(task_id, "task id", 1, 2**62)
        row = self._store._execute(lookup, "task_lease_state", {"token": token})
        if row is None:
            raise errors.NotFound(f"no claim ever had token {token} (task {task_id} was named)")
        if int(row[0]) != task_id:
            raise errors.InvalidArgument(f"token {token} is a claim of task {row[0]}, not of task {task_id}: pass "
                                         "the token that claim printed beside the task id")
        return token

    def _lost(self, token: int, verb: str) -> errors.RoostError:
        row = self._store._execute(lookup, "task_lease_state", {"token": token})
        lead = f"cannot {verb} with token {token}"
        if row is None:
            return errors.NotFound(f"{lead}: no claim ever had that token")
        task_id, outcome, status, current, _, _ = row
        if (verb, outcome) == ("complete", "done"):
            return errors.LeaseLost(f"{lead}: this claim already completed task {task_id}, with another result")
        if (verb, outcome) == ("fail", "failed"):
            return errors.LeaseLost(f"{lead}: this claim of task {task_id} already failed, with another error")
        if outcome == "expired" or (current != token and outcome is None):
            return errors.LeaseLost(f"{lead}: the lease on task {task_id} expired and the task was reclaimed")
        if current != token:
            return errors.LeaseLost(f"{lead}: task {task_id} was claimed again since (claim ended: {outcome})")
        return errors.LeaseLost(f"{lead}: task {task_id} is {status} (this claim ended: {outcome})")

    # -- looking ------------------------------------------------------------------------------

    def get(self, task_id: int) -> Task | None:
        row = self._store._execute(lookup, "task_get", {"project": self._store.project,
                                                        "id": v.integer(task_id, "task id", 1, 2**62)})
        return None if row is None else _task(row)

    def history(self, task_id: int) -> list[TaskRun]:
        """Every claim of the task: who, when, and how it ended."""
        found = self._store._execute(rows, "task_runs", {"id": v.integer(task_id, "task id", 1, 2**62)})
        return [TaskRun(int(t), a, h, int(p), to_datetime(c), _when(e), o, err) for t, a, h, p, c, e, o, err in found]

    def stats(self) -> list[QueueStats]:
        """Per queue: pending, ready (claimable now), running, done, failed, dead, cancelled."""
        found = self._store._execute(rows, "task_stats", {"project": self._store.project})
        return [QueueStats(q, *(int(n) for n in counts)) for q, *counts in found]

    def list(self, *, status: str | None = None, queue: str | None = None, agent: str | None = None,
             limit: int = 100, after: int = 0) -> list[Task]:
        """Tasks by id; page with ``after`` = the last id seen."""
        if status is not None and status not in STATUSES:
            raise errors.InvalidArgument(f"status must be one of {', '.join(STATUSES)}, not {v.shown(status)}")
        found = self._store._execute(rows, "task_list", {
            "project": self._store.project, "status": status,
            "queue": None if queue is None else v.name(queue, "queue", v.LABEL_MAX),
            "agent": None if agent is None else v.name(agent, "agent", v.AGENT_NAME_MAX),
            "limit": v.integer(limit, "limit", 1, 10_000), "after": v.integer(after, "after", 0, 2**62)})
        return [_task(r) for r in found]

    def cleanup(self, age: float = 7 * 86400.0) -> int:
        """Delete done, dead and cancelled tasks that finished more than ``age`` seconds ago."""
        from roost.maintenance import cleanup

        return cleanup.remove(self._store, "retention_tasks", age=v.seconds(age, "age", 0, 10 * DELAY_MAX))


def _token(token: object) -> int:
    return v.integer(token, "token", 1, 2**62)


def _spec(data: Mapping[str, Any]) -> TaskSpec:
    try:
        return TaskSpec(**data)
    except TypeError as exc:
        raise errors.InvalidArgument(f"bad task spec: {exc}") from None


def _dependency_order(specs: list[TaskSpec]) -> list[int]:
    """Indexes of ``specs`` so every spec comes after the specs it names by ref; refuses cycles."""
    refs: dict[str, int] = {}
    for i, s in enumerate(specs):
        if s.ref is not None:
            v.name(s.ref, "ref", v.LABEL_MAX)
            if s.ref in refs:
                raise errors.InvalidArgument(f"ref {s.ref!r} is used by two tasks of the batch")
            refs[s.ref] = i
    for s in specs:
        for d in s.depends_on:
            if isinstance(d, str) and d not in refs:
                raise errors.InvalidArgument(f"task {s.kind!r} depends on ref {d!r}, which no task of the batch has")
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(i: int, path: list[str]) -> None:
        if state.get(i) == "done":
            return
        if state.get(i) == "visiting":
            cycle = " -> ".join([*path[path.index(specs[i].ref or ""):], specs[i].ref or ""])
            raise errors.InvalidArgument(f"dependency cycle: {cycle}")
        state[i] = "visiting"
        for d in specs[i].depends_on:
            if isinstance(d, str):
                visit(refs[d], [*path, specs[i].ref or ""])
        state[i] = "done"
        order.append(i)

    for i in range(len(specs)):
        visit(i, [])
    return order

