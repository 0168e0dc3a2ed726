"""Operations: the domain logic, written once for sync and async.

An operation is a generator function. It yields the statements it needs (a named :class:`Query`,
a :class:`Batch` of rows for a bulk load, or a :class:`Script` of DDL for migrations), receives
each :class:`Result`, and returns its value. It never touches a connection: a backend runs it with
:func:`drive` on whichever connection or transaction it chose (an async backend awaits each step
with :func:`drive_async`). The operation knows no SQL dialect; the backends map query names to
their dialect's SQL.

An operation marked :func:`atomic` runs in one write transaction (``BEGIN IMMEDIATE`` on SQLite);
an unmarked one runs its statements in autocommit, which is what a single-statement operation wants:
one round trip, no ``BEGIN``/``COMMIT``. An unmarked operation may be retried whole when SQLite is
busy, so it may read freely but write at most once, as its last statement. An operation marked
:func:`repeatable` is also run again after a lost connection (outside an explicit transaction),
until the server answers or the ``connect_timeout`` setting runs out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class Query(NamedTuple):
    """A named query of the backend's SQL files, with its parameters (always bound, never spliced).
    A named tuple, as one is built for every statement and is cheaper than a frozen dataclass."""

    name: str
    params: Mapping[str, Any] | None = None


class Script(NamedTuple):
    """Several DDL statements run as one step, given as ``text`` or as the ``name`` of a query
    (migrations only; no parameters)."""

    text: str = ""
    name: str = ""


class Batch(NamedTuple):
    """A named statement run once for each of ``rows`` (tuples in its column order): the bulk path.
    SQLite runs it with one ``executemany``; where the PostgreSQL text is a ``COPY … FROM STDIN``,
    the rows are streamed through COPY, the fastest way into PostgreSQL. The result holds no rows;
    its row count is the number of rows sent."""

    name: str
    rows: Sequence[tuple[Any, ...]]


Step = Query | Script | Batch


class Result:
    """The rows a statement returned (tuples, in the column order of its SQL) and its row count."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: Sequence[tuple[Any, ...]], rowcount: int = -1) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def one(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


Op = Generator[Step, Result, T]


def atomic(fn: F) -> F:
    """Mark an operation that must run as one write transaction."""
    fn.roost_atomic = True  # type: ignore[attr-defined]
    return fn


def is_atomic(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, "roost_atomic", False))


def repeatable(fn: F) -> F:
    """Mark an operation that may simply run again when its connection was lost mid-call: a read,
    or a write whose repetition changes nothing that matters (a heartbeat, an upsert of the same
    row, a claim whose unseen first result comes back to the queue when its lease runs out).
    Other writes surface :class:`~roost.errors.ConnectionLost`, as they may have committed."""
    fn.roost_repeatable = True  # type: ignore[attr-defined]
    return fn


def is_repeatable(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, "roost_repeatable", False))


class RequestKey:
    """A key made once per call of a write that cannot simply run again (an enqueue without an
    idempotency key, a publish without a dedupe key), and carried through every run of its
    operation. The first run stores it with the rows it writes; a later run (after a lost
    connection: the first may have committed unseen) looks for those rows first, and returns
    them instead of writing again. ``None`` where the backend never loses a commit's answer
    (SQLite): nothing is stored, and a run is repeated only after the backend saw the last one
    roll back (a busy database).

    The value starts with the time in nanoseconds, so new keys sort after old ones and land at the
    right edge of their index, as an ascending id does; 64 random bits make it unique."""

    __slots__ = ("runs", "value")

    def __init__(self, enabled: bool) -> None:
        self.value = f"{time.time_ns():016x}{os.urandom(8).hex()}" if enabled else None
        self.runs = 0

    def again(self) -> bool:
        """Count a run of the operation; True from the second on when there is a key: an earlier
        run may have committed, so look for its rows first."""
        self.runs += 1
        return self.runs > 1 and self.value is not None


def drive(op: Op[T], run: Callable[[Step], Result]) -> T:
    """Run ``op`` to completion, executing each step it yields with ``run``."""
    try:
        step = next(op)
        while True:
            step = op.send(run(step))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def to_datetime(epoch: float) -> datetime:
    """A time as it crosses the backend contract (epoch seconds, the database's clock) as a UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)


async def drive_async(op: Op[T], run: Callable[[Step], Awaitable[Result]]) -> T:
    """:func:`drive`, awaiting each step: the same operation, run by an async backend."""
    try:
        step = next(op)
        while True:
            step = op.send(await run(step))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
