"""A cleanup pass: every kind's steps, in short batches, under the project's cleanup lock.

A pass takes the lock ``roost.cleanup`` (an ordinary roost lock, so ``roost lock list`` shows who
is cleaning), then runs each step's delete until a batch removes fewer rows than
``cleanup_batch``. Each batch is its own short statement, so writers wait for one batch at most,
and a pass that stops half-way (its process exits, its lease is lost) has lost nothing: it leaves
the rest for the next pass. A complete pass over every kind is recorded in ``cleanup_state``,
which the janitor reads to decide when the next is due and ``roost doctor`` reports.

A dry run counts what each step would remove, without the lock and without removing anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.maintenance.policies import BY_NAME, KINDS, Kind, duration

if TYPE_CHECKING:
    from roost.diagnostics import Check
    from roost.locks import Lease
    from roost.store import Store

LOCK = "roost.cleanup"
LEASE = 120.0
"""Seconds the cleanup lock is leased for; renewed every third of that while a pass runs."""
PAUSE = 0.002
"""Seconds between two full batches on SQLite, so that a writer waiting for the database's one
write lock gets it (its busy handler retries after 1, 2, 5 ms, …). PostgreSQL needs none: a batch
skips rows another transaction holds, and no writer waits for the old rows it removes."""


@dataclass(frozen=True)
class KindResult:
    """What one kind lost (or, in a dry run, would lose): ``tables`` by table, ``policy`` the
    settings that bounded it."""

    kind: str
    policy: str
    removed: int
    tables: dict[str, int]


@dataclass(frozen=True)
class Report:
    """One pass. ``complete`` is False when it stopped before the end (its process is closing, or
    its lease was lost); ``batches`` counts the delete statements it ran."""

    dry_run: bool
    complete: bool
    kinds: list[KindResult]
    batches: int
    seconds: float

    @property
    def removed(self) -> int:
        return sum(k.removed for k in self.kinds)

    def by_kind(self) -> dict[str, int]:
        return {k.kind: k.removed for k in self.kinds}


@dataclass(frozen=True)
class Status:
    """When the project's cleanup last ran: ``finished_at`` of the last complete pass (before the
    first, when the project was created), ``started_at`` of the latest pass, complete or not."""

    started_at: datetime | None
    finished_at: datetime
    passes: int
    last_by: str | None
    removed: dict[str, int]
    now: datetime
    interval: float = field(default=0.0)

    @property
    def age(self) -> float:
        """Seconds since the last complete pass (or since the first check, before any pass)."""
        return (self.now - self.finished_at).total_seconds()

    @property
    def due(self) -> bool:
        return self.interval > 0 and self.age >= self.interval


def kinds_named(names: Iterable[str] | None) -> tuple[Kind, ...]:
    """The kinds asked for (all by default), in the order passes run them; an unknown name is refused."""
    if names is None:
        return KINDS
    if isinstance(names, str):
        names = [names]
    wanted = list(names)
    unknown = [n for n in wanted if n not in BY_NAME]
    if unknown or not wanted:
        raise errors.InvalidArgument(f"unknown cleanup kind {v.shown(unknown[0]) if unknown else '(none given)'}; "
                                     f"the kinds: {', '.join(BY_NAME)}")
    return tuple(k for k in KINDS if k.name in wanted)


@repeatable
def _count(query: str, params: dict[str, Any]) -> Op[int]:
    return int((yield Query(f"{query}_count", params)).scalar() or 0)


@repeatable
def _delete(query: str, params: dict[str, Any]) -> Op[tuple[int, int | None]]:
    """One batch: how many rows went and, for a step over an ascending key (its delete returns
    the keys), the largest, which the next batch starts after: on PostgreSQL the rows removed stay
    in the index as dead entries until vacuum, and a batch that began at the start again would
    step over all of them. Running it again after a lost connection only removes more rows the
    policy already allows to go."""
    result = yield Query(query, params)
    if result.rows:
        return len(result.rows), max(int(row[0]) for row in result.rows)
    return max(int(result.rowcount), 0), None


@repeatable
def _state(project: str) -> Op[tuple[Any, ...] | None]:
    return (yield Query("cleanup_state_get", {"project": project})).one()


@repeatable
def _started(project: str, by: str) -> Op[None]:
    yield Query("cleanup_state_started", {"project": project, "by": by})


@repeatable
def _finished(project: str, by: str, removed: str) -> Op[None]:
    yield Query("cleanup_state_finished", {"project": project, "by": by, "removed": removed})


def status(store: Store) -> Status:
    """The project's cleanup record; before its first pass, a project counts as clean since its creation."""
    row = store._execute(_state, store.project)
    if row is None:
        raise errors.NotFound(f"project {store.project!r} is not registered in this store")
    started, finished, passes, by, removed, now = row
    return Status(None if started is None else to_datetime(started), to_datetime(finished), int(passes), by,
                  {str(k): int(n) for k, n in json.loads(removed).items()}, to_datetime(now),
                  store.settings.cleanup_interval)


def owner() -> str:
    """Who cleans: this process, by host and pid (an agent name can be shared by several)."""
    return f"{v.hostname()}:{os.getpid()}"


def run(store: Store, kinds: Iterable[str] | None = None, *, dry_run: bool = False,
        stop: threading.Event | None = None, only_if_due: bool = False) -> Report | None:
    """Run a pass (see the module docstring). Raises :class:`~roost.errors.LockNotAcquired` when
    another process is cleaning this project, unless ``only_if_due`` (the janitor's way), which
    returns None then, and also when the pass is no longer due once the lock is held."""
    chosen = kinds_named(kinds)
    if dry_run:
        return _pass(store, chosen, True, None)
    me = owner()
    lease = store.locks.acquire(LOCK, owner=me, ttl=LEASE)
    if lease is None:
        if only_if_due:
            return None
        holders = ", ".join(sorted({repr(h.owner) for h in store.locks.list(LOCK) if h.name == LOCK}))
        raise errors.LockNotAcquired(f"another process is cleaning project {store.project!r} (lock {LOCK!r} is "
                                     f"held by {holders or 'another owner'}); try again later")
    try:
        if only_if_due and not status(store).due:
            return None
        store._execute(_started, store.project, me)
        report = _pass(store, chosen, False, _Lease(store, lease, stop))
        if report.complete and chosen == KINDS:
            store._execute(_finished, store.project, me, json.dumps(report.by_kind(), sort_keys=True))
        return report
    finally:
        with contextlib.suppress(errors.RoostError):  # (lost or unreachable: the lease runs out by itself)
            store.locks.release(lease)


class _Lease:
    """Whether the pass may go on: not while its store is closing, and only while it holds the
    lock (renewed every third of its lease, between batches)."""

    def __init__(self, store: Store, lease: Lease, stop: threading.Event | None) -> None:
        self._store, self._lease, self._stop = store, lease, stop
        self._renewed = time.monotonic()

    def go_on(self) -> bool:
        if self._stop is not None and self._stop.is_set():
            return False
        if time.monotonic() - self._renewed > LEASE / 3:
            try:
                self._lease = self._store.locks.renew(self._lease, ttl=LEASE)
            except errors.LeaseLost:
                return False
            self._renewed = time.monotonic()
        return True


def _pass(store: Store, kinds: tuple[Kind, ...], dry_run: bool, lease: _Lease | None) -> Report:
    settings, began = store.settings, time.monotonic()
    batches, results, complete = 0, [], True
    for kind in kinds:
        tables: dict[str, int] = {}
        for step in kind.steps:
            bound = step.bound(settings)
            if bound is None:
                continue
            params = {"project": store.project, step.param: bound, "batch": settings.cleanup_batch, "after": 0}
            if dry_run or lease is None:
                removed = store._execute(_count, step.query, params)
            else:
                removed, ran, complete = _batches(store, step.query, params, lease)
                batches += ran
            tables[step.table] = tables.get(step.table, 0) + removed
            if not complete:
                break
        results.append(KindResult(kind.name, "; ".join(s.policy(settings) for s in kind.steps),
                                  sum(tables.values()), tables))
        if not complete:
            break
    return Report(dry_run, complete, results, batches, time.monotonic() - began)


def remove(store: Store, query: str, **bounds: float) -> int:
    """One step's batches, without the lock or the record: the areas' own cleanup methods (with
    an age of the caller's choosing). Safe beside a pass: each batch removes only rows that both
    allow to go."""
    params = {"project": store.project, "batch": store.settings.cleanup_batch, "after": 0, **bounds}
    return _batches(store, query, params, None)[0]


def _batches(store: Store, query: str, params: dict[str, Any], lease: _Lease | None) -> tuple[int, int, bool]:
    """Delete batch after batch until one comes back short: (rows, batches, finished)."""
    total = batches = 0
    pause = 0.0 if store.capabilities.skip_locked else PAUSE
    while lease is None or lease.go_on():
        removed, last = store._execute(_delete, query, params)
        total, batches = total + removed, batches + 1
        if last is not None:
            params["after"] = last
        if removed < params["batch"]:
            return total, batches, True
        if pause:
            time.sleep(pause)
    return total, batches, False


def check(store: Store) -> Check:
    """``roost doctor``'s line: when cleanup last ran and what it removed, or why it does not run."""
    from roost.diagnostics import Check

    try:
        state = status(store)
    except errors.RoostError as exc:
        return Check("cleanup", "warn", f"cannot read the cleanup record: {exc.message}")
    interval = store.settings.cleanup_interval
    if state.passes == 0:
        value = "no pass yet"
    else:
        removed = ", ".join(f"{kind} {n:,}" for kind, n in sorted(state.removed.items()) if n)
        value = (f"last pass {duration(state.age)} ago by {state.last_by}, removed "
                 f"{sum(state.removed.values()):,} rows" + (f" ({removed})" if removed else ""))
    if interval == 0:
        return Check("cleanup", "warn", f"automatic cleanup is off (cleanup_interval = 0); {value}",
                     "run `roost cleanup` on a schedule, or set cleanup_interval")
    if state.age > 3 * interval + 600:
        return Check("cleanup", "warn", f"{value}; none for {duration(state.age)} (cleanup_interval = {interval:g} s)",
                     "passes run in stores that stay open (workers, `roost work`, a long-lived orchestrator); "
                     "run `roost cleanup`, or keep one such process running")
    return Check("cleanup", "ok", value if state.passes else f"{value}; the first is due in "
                 f"{duration(max(interval - state.age, 0))}")

