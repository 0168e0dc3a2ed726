"""The event log: publish, query, and subscriptions that never miss an event.

Every event has a **cursor** that grows in delivery order. A subscriber reads the table after its
cursor; wake-ups (NOTIFY on PostgreSQL, ``PRAGMA data_version`` on an SQLite file) only say when
to read again, and a short poll covers any wake-up that never comes, such as behind a transaction
pooler, so a lost notification costs latency, never an event.

On PostgreSQL, identity values are handed out in insert order, not commit order. So the cursor is
(transaction id, position), and readers stop at the oldest transaction still running: whatever
commits later sorts after everything already read. On SQLite one writer at a time makes positions
commit-ordered, and the first part of the cursor is always 0. Built-in events (tasks, signals,
locks, agents) are written by triggers in the same transaction as the change they report.
Details: docs/events.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, RequestKey, atomic, repeatable, to_datetime

if TYPE_CHECKING:
    from roost.backends.base import Listener
    from roost.store import Store

log = logging.getLogger("roost.events")

CHANNEL = "roost_events"
TOPIC_MAX = 200
PAYLOAD_MAX_BYTES = 256 * 1024
REFS_MAX = 16
REF_VALUE_MAX = 256
PAGE_MAX = 10_000
BATCH_MAX = 10_000
_TOPIC = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_REF_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CURSOR = re.compile(r"(\d{1,20}):(\d{1,20})")
START = "0:0"
"""The cursor before the first event: ``after=START`` reads the whole retained log."""


@dataclass(slots=True)
class Event:
    cursor: str
    """Where this event sits in delivery order; pass it as ``after`` to continue from here."""
    position: int
    topic: str
    payload: Any
    refs: dict[str, Any]
    dedupe_key: str | None
    created_at: datetime


@dataclass(frozen=True)
class _Filter:
    exact: tuple[str, ...]
    prefixes: tuple[str, ...]
    refs: str
    since: float | None
    until: float | None

    def params(self, sqlite: bool) -> dict[str, Any]:
        any_topic = not self.exact and not self.prefixes
        exact, prefixes = list(self.exact), list(self.prefixes)
        return {"any_topic": any_topic, "topics": json.dumps(exact) if sqlite else exact,
                "prefixes": json.dumps(prefixes) if sqlite else prefixes, "refs": self.refs,
                "since": self.since, "until": self.until}


def _cursor(txid: int, position: int) -> str:
    return f"{txid}:{position}"


def _event(row: tuple[Any, ...]) -> Event:
    txid, position, topic, payload, refs, key, created = row
    return Event(_cursor(int(txid), int(position)), int(position), topic, v.stored_json(payload), json.loads(refs), key,
                 to_datetime(created))


# --- operations ------------------------------------------------------------------------------------


@repeatable
def publish_one(row: dict[str, Any], key: RequestKey) -> Op[Event]:
    """Insert one event. Repeatable: an event with a dedupe key is found by it, and one without is
    written under the call's request key, which a run after a lost connection looks for first."""
    if key.again():
        earlier = (yield Query("event_by_request_key", {"project": row["project"], "request_key": key.value})).one()
        if earlier is not None:
            return _event(earlier)
    return (yield from _insert(row, key))


def _insert(row: dict[str, Any], key: RequestKey) -> Op[Event]:
    """Insert one event: under the call's request key, unless its dedupe key already makes it
    repeatable (the events a repeat finds by request key are then exactly those without one)."""
    request_key = key.value if row["dedupe_key"] is None else None
    found = (yield Query("event_insert", {**row, "request_key": request_key})).one()
    if found is None:  # the dedupe key was used before: that event stands for this one
        return (yield from _by_dedupe_key(row))
    return _event(found)


def _by_dedupe_key(row: dict[str, Any]) -> Op[Event]:
    found = (yield Query("event_by_dedupe_key", {"project": row["project"], "dedupe_key": row["dedupe_key"]})).one()
    if found is None:
        raise errors.DatabaseError(f"the event with dedupe key {row['dedupe_key']!r} was removed while publishing")
    return _event(found)


@repeatable
@atomic
def publish_all(rows: list[dict[str, Any]], key: RequestKey) -> Op[list[Event]]:
    """Insert a batch in one transaction, as :func:`publish_one` does each event."""
    project = rows[0]["project"]
    if key.again():
        earlier = [_event(r) for r in (yield Query("event_by_request_key",
                                                   {"project": project, "request_key": key.value})).rows]
        if earlier:  # the first run committed: the events without a dedupe key were written in order
            plain = iter(earlier)
            found = []
            for row in rows:
                found.append(next(plain) if row["dedupe_key"] is None else (yield from _by_dedupe_key(row)))
            return found
    if any(row["dedupe_key"] is not None for row in rows):  # each may stand for an earlier event
        found = []
        for row in rows:
            found.append((yield from _insert(row, key)))
        return found
    batch = json.dumps([{"i": i, "topic": r["topic"], "payload": r["payload"], "refs": r["refs"]}
                        for i, r in enumerate(rows)])
    inserted = (yield Query("event_insert_many", {"project": project, "rows": batch, "request_key": key.value})).rows
    return sorted((_event(r) for r in inserted), key=lambda e: e.position)  # positions follow the given order


@repeatable
def page(params: dict[str, Any]) -> Op[list[Event]]:
    return [_event(r) for r in (yield Query("event_page", params)).rows]


@repeatable
def latest(params: dict[str, Any]) -> Op[list[Event]]:
    return [_event(r) for r in (yield Query("event_latest", params)).rows]


@repeatable
def head(project: str) -> Op[str]:
    row = (yield Query("event_head", {"project": project})).one()
    return START if row is None else _cursor(int(row[0]), int(row[1]))


@repeatable
def exists(project: str, txid: int, position: int) -> Op[bool]:
    return (yield Query("event_exists", {"project": project, "txid": txid, "position": position})).one() is not None


@repeatable
def consumer_get(project: str, name: str) -> Op[str | None]:
    row = (yield Query("consumer_get", {"project": project, "name": name})).one()
    return None if row is None else _cursor(int(row[0]), int(row[1]))


@repeatable
def consumer_set(project: str, name: str, txid: int, position: int) -> Op[None]:
    yield Query("consumer_set", {"project": project, "name": name, "txid": txid, "position": position})


def consumer_delete(project: str, name: str) -> Op[bool]:
    return (yield Query("consumer_delete", {"project": project, "name": name})).one() is not None


# --- validation ------------------------------------------------------------------------------------


def topic(value: object, what: str = "topic") -> str:
    """Topics are dot-separated words of letters, digits, ``_`` and ``-`` (``task.completed``)."""
    text = v.name(value, what, TOPIC_MAX)
    if not _TOPIC.fullmatch(text):
        raise errors.InvalidArgument(
            f"{what} {text!r} is not a valid topic: use dot-separated words of letters, digits, '_' and '-' "
            "(for example 'task.completed')")
    return text


def _topics(topics: str | Sequence[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split topic filters into exact topics and prefixes (``task.*`` matches ``task.`` and below)."""
    if topics is None:
        return (), ()
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, Sequence | set | frozenset):
        raise errors.InvalidArgument(f"topics must be a topic, a list of topics or None, not {type(topics).__name__}")
    exact, prefixes = [], []
    for t in topics:
        if isinstance(t, str) and t.endswith(".*"):
            prefixes.append(topic(t[:-2], "topic pattern") + ".")
        elif t == "*":
            return (), ()
        else:
            exact.append(topic(t, "topic filter"))
    return tuple(exact), tuple(prefixes)


def refs(value: Mapping[str, Any] | None) -> str:
    """References to other records: up to 16 keys (``task``, ``agent`` …) with string or integer values."""
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise errors.InvalidArgument(f"refs must be a mapping of names to ids, not {type(value).__name__}")
    if len(value) > REFS_MAX:
        raise errors.InvalidArgument(f"at most {REFS_MAX} refs, not {len(value)}")
    for key, item in value.items():
        if not isinstance(key, str) or not _REF_KEY.fullmatch(key):
            raise errors.InvalidArgument(
                f"ref name {key!r} is not valid: lowercase letters, digits and '_', starting with a letter, "
                "at most 32 characters")
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise errors.InvalidArgument(f"ref {key!r} must be a string or an integer, not {type(item).__name__}")
        if isinstance(item, int):
            v.integer(item, f"ref {key!r}", -(2**62), 2**62)
        else:
            v.name(item, f"ref {key!r}", REF_VALUE_MAX)
    return v.to_json(dict(value), "refs")


def parse_cursor(value: object) -> tuple[int, int]:
    if not isinstance(value, str) or not _CURSOR.fullmatch(value):
        raise errors.InvalidArgument(f"cursor {v.shown(value)} is not valid: a cursor looks like '0:42'; pass one an "
                                     "event or subscription gave you, 'start' or 'now'")
    txid, position = value.split(":")
    return int(txid), int(position)


def _when(value: datetime | float | None, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise errors.InvalidArgument(f"{what} must be a timezone-aware datetime")
        return value.timestamp()
    return v.seconds(value, what, 0, 4e9)


# --- the facade ------------------------------------------------------------------------------------


class Events:
    """``store.events``: see the module docstring."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._hub: _WakeHub | None = None
        self._hub_lock = threading.Lock()

    def _row(self, topic_: str, payload: Any, refs_: Mapping[str, Any] | None, dedupe_key: str | None
             ) -> dict[str, Any]:
        return {
            "project": self._store.project,
            "topic": topic(topic_),
            "payload": v.to_json(payload, "payload", PAYLOAD_MAX_BYTES),
            "refs": refs(refs_),
            "dedupe_key": None if dedupe_key is None else v.name(dedupe_key, "dedupe_key", v.SIGNAL_KEY_MAX),
        }

    def publish(self, topic: str, payload: Any = None, *, refs: Mapping[str, Any] | None = None,
                dedupe_key: str | None = None) -> Event:
        """Append an event (inside ``store.transaction()``, it commits or rolls back with the rest).
        A ``dedupe_key`` used before returns the event that used it and publishes nothing."""
        return self._store._execute(publish_one, self._row(topic, payload, refs, dedupe_key), self._key())

    def publish_many(self, events: Iterable[Mapping[str, Any] | tuple[Any, ...]]) -> list[Event]:
        """Append several events in one transaction: all or none. Each is a mapping with ``topic``
        and optionally ``payload``, ``refs`` and ``dedupe_key``, or a ``(topic, payload)`` tuple."""
        rows = []
        for item in events:
            if isinstance(item, tuple):
                if len(item) != 2:
                    raise errors.InvalidArgument(f"an event tuple is (topic, payload), not {len(item)} items")
                rows.append(self._row(item[0], item[1], None, None))
            elif isinstance(item, Mapping):
                unknown = set(item) - {"topic", "payload", "refs", "dedupe_key"}
                if unknown:
                    raise errors.InvalidArgument(f"unknown event field(s): {', '.join(sorted(unknown))}")
                rows.append(self._row(item.get("topic"), item.get("payload"),  # type: ignore[arg-type]
                                      item.get("refs"), item.get("dedupe_key")))
            else:
                raise errors.InvalidArgument(f"an event is a mapping or a (topic, payload) tuple, not "
                                             f"{type(item).__name__}")
            if len(rows) > BATCH_MAX:
                raise errors.InvalidArgument(f"at most {BATCH_MAX:,} events per batch")
        return self._store._execute(publish_all, rows, self._key()) if rows else []

    def _key(self) -> RequestKey:
        return RequestKey(self._store.capabilities.remote)

    def _filter(self, topics: str | Sequence[str] | None, refs_: Mapping[str, Any] | None,
                since: datetime | float | None, until: datetime | float | None) -> _Filter:
        exact, prefixes = _topics(topics)
        return _Filter(exact, prefixes, refs(refs_), _when(since, "since"), _when(until, "until"))

    def resolve(self, cursor: str | None) -> str:
        """A cursor as given (checked to exist), ``start`` (or None) for the beginning of the log, or
        ``now`` for the newest event readable now."""
        if cursor is None or cursor == "start" or cursor == START:
            return START
        if cursor == "now":
            return self._store._execute(head, self._store.project)
        txid, position = parse_cursor(cursor)
        if not self._store._execute(exists, self._store.project, txid, position):
            raise errors.NotFound(
                f"cursor {cursor!r} is not in the event log of project {self._store.project!r}: it never existed, "
                f"or its event was removed by cleanup (events older than event_max_age)")
        return cursor

    def query(self, topics: str | Sequence[str] | None = None, *, refs: Mapping[str, Any] | None = None,
              since: datetime | float | None = None, until: datetime | float | None = None,
              after: str | None = None, limit: int = 100) -> list[Event]:
        """Events in delivery order after the cursor ``after`` (default: from the start), matching
        ``topics`` (exact topics, or ``prefix.*`` patterns), every one of ``refs``, and
        ``since <= created_at < until``. Page on with ``after=events[-1].cursor``."""
        flt = self._filter(topics, refs, since, until)
        txid, position = parse_cursor(self.resolve(after))
        return self._page(flt, txid, position, v.integer(limit, "limit", 1, PAGE_MAX))

    def latest(self, topics: str | Sequence[str] | None = None, *, refs: Mapping[str, Any] | None = None,
               limit: int = 20) -> list[Event]:
        """The newest ``limit`` matching events that are readable now, oldest first (``tail``)."""
        flt = self._filter(topics, refs, None, None)
        params = {"project": self._store.project, "limit": v.integer(limit, "limit", 1, PAGE_MAX),
                  **flt.params(self._store.backend == "sqlite")}
        return self._store._execute(latest, params)

    def _page(self, flt: _Filter, txid: int, position: int, limit: int) -> list[Event]:
        params = {"project": self._store.project, "txid": txid, "position": position, "limit": limit,
                  **flt.params(self._store.backend == "sqlite")}
        return self._store._execute(page, params)

    def subscribe(self, topics: str | Sequence[str] | None = None, *, refs: Mapping[str, Any] | None = None,
                  after: str | None = "now", consumer: str | None = None, poll: float = 0.5,
                  batch: int = 500) -> Subscription:
        """Deliver every matching event committed after ``after`` (default ``now``), in order, once.

        With ``consumer``, the cursor is kept in the store under that name: a new consumer starts at
        ``after``, a known one where it last acknowledged (:meth:`Subscription.ack`). ``poll`` is
        the longest wait between reads when no wake-up comes."""
        flt = self._filter(topics, refs, None, None)
        name = None if consumer is None else v.name(consumer, "consumer", v.AGENT_NAME_MAX)
        stored = None if name is None else self._store._execute(consumer_get, self._store.project, name)
        start = self.resolve(stored if stored is not None else after)
        return Subscription(self, flt, start, name, v.seconds(poll, "poll", 0.01, 60),
                            v.integer(batch, "batch", 1, PAGE_MAX))

    def consumer(self, name: str) -> str | None:
        """The stored cursor of a durable consumer, or None if it never acknowledged anything."""
        return self._store._execute(consumer_get, self._store.project,
                                    v.name(name, "consumer", v.AGENT_NAME_MAX))

    def forget_consumer(self, name: str) -> bool:
        """Delete a durable consumer's cursor; False if it had none."""
        return self._store._execute(consumer_delete, self._store.project,
                                    v.name(name, "consumer", v.AGENT_NAME_MAX))

    def buffered(self, *, max_events: int = 100, max_delay: float = 0.05) -> BufferedPublisher:
        """A publisher for high-volume streams that writes in batches; see :class:`BufferedPublisher`."""
        return BufferedPublisher(self, v.integer(max_events, "max_events", 1, BATCH_MAX),
                                 v.seconds(max_delay, "max_delay", 0.001, 60))

    def cleanup(self, age: float | None = None) -> int:
        """Delete events older than ``age`` seconds (default: the ``event_max_age`` setting)."""
        from roost.maintenance import cleanup

        age = self._store.settings.event_max_age if age is None else v.seconds(age, "age", 0, 10 * 365 * 86400.0)
        return cleanup.remove(self._store, "retention_events", age=age)

    def _wakeups(self) -> _WakeHub:
        with self._hub_lock:
            if self._hub is None:
                self._hub = _WakeHub(self._store)
            return self._hub

    def _close(self) -> None:
        """Stop the wake-up thread and its connection (called when the store closes)."""
        with self._hub_lock:
            if self._hub is not None:
                self._hub.close()
                self._hub = None


class _WakeHub:
    """One wake-up source per store, shared by all its subscriptions (and signal waits): a thread
    that waits on the backend's listener (LISTEN on one dedicated connection, or the SQLite
    ``data_version`` check) and bumps a generation number that subscribers wait on.

    The first listener on a NOTIFY backend is tested with a notification of its own: behind a
    transaction pooler LISTEN is accepted but nothing arrives, and then subscriptions only poll,
    which is said once in the log. A lost listener is reopened with backoff, and the generation is
    bumped then too, so subscribers read again after an outage."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cond = threading.Condition()
        self.generation = 0
        self._stop = threading.Event()
        self._probed = False
        self._awaiting: set[Callable[[], None]] = set()
        """How to wake each waiter of the async face: it awaits on the loop, holding no thread."""
        self._thread = threading.Thread(target=self._run, name="roost-event-wakeups", daemon=True)
        self._thread.start()

    def _bump(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()
            awaiting = list(self._awaiting)
        for wake in awaiting:
            wake()

    def _open(self) -> Listener:
        listener = self._store.listener([CHANNEL])
        if self._store.capabilities.notify and not self._probed:
            try:
                self._store.notify(CHANNEL, "probe")
                arrived = listener.wait(2.0)
            except BaseException:
                listener.close()
                raise
            self._probed = True
            if not arrived:
                log.warning("LISTEN/NOTIFY is not delivering notifications (for example behind a transaction "
                            "pooler); event subscriptions fall back to polling")
        return listener

    def _run(self) -> None:
        listener: Listener | None = None
        delay = 0.1
        while not self._stop.is_set():
            try:
                if listener is None:
                    listener = self._open()
                    self._bump()  # anything may have happened while there was no listener
                    delay = 0.1
                if listener.wait(0.2):
                    self._bump()
            except errors.RoostError as exc:
                log.info("event listener lost (%s); subscriptions poll until it reconnects", exc)
                if listener is not None:
                    with contextlib.suppress(Exception):  # a dead connection may fail to close
                        listener.close()
                listener = None
                self._bump()
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
        if listener is not None:
            with contextlib.suppress(Exception):
                listener.close()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until the generation moves past ``seen`` or ``timeout`` passes; the generation now.
        In a call of the async face the wait is awaited on the loop (no thread waits for it)."""
        if self._store._via.get() is not None:
            from roost._bridge import await_

            return await_(self._wait_async(seen, timeout))
        with self._cond:
            self._cond.wait_for(lambda: self.generation != seen or self._stop.is_set(), timeout)
            return self.generation

    async def _wait_async(self, seen: int, timeout: float) -> int:
        import asyncio

        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def wake() -> None:  # (called on the wake-up thread)
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
                loop.call_soon_threadsafe(changed.set)

        with self._cond:
            if self.generation != seen or self._stop.is_set():
                return self.generation
            self._awaiting.add(wake)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await changed.wait()
        finally:
            with self._cond:
                self._awaiting.discard(wake)
        return self.generation

    def close(self) -> None:
        self._stop.set()
        self._bump()
        self._thread.join(timeout=5)


class Subscription:
    """An iterator over events as they commit. ``for event in sub`` blocks for the next one; use
    :meth:`get` for a timeout, and :meth:`close` (or ``with``) to stop. ``async for`` works too.
    ``cursor`` is the cursor of the last event delivered."""

    def __init__(self, events: Events, flt: _Filter, cursor: str, consumer: str | None, poll: float,
                 batch: int) -> None:
        self._events = events
        self._filter = flt
        self.cursor = cursor
        self.consumer = consumer
        self._poll = poll
        self._batch = batch
        self._buffer: deque[Event] = deque()
        self._closed = threading.Event()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None if none came within ``timeout`` seconds (None: wait forever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        wakeups = self._events._wakeups()
        while not self._closed.is_set():
            if self._buffer:
                event = self._buffer.popleft()
                self.cursor = event.cursor
                return event
            seen = wakeups.generation  # before reading: a commit after the read still wakes the wait
            txid, position = parse_cursor(self.cursor)
            found = self._events._page(self._filter, txid, position, self._batch)
            if found:
                self._buffer.extend(found)
                continue
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            wakeups.wait(seen, self._poll if left is None else min(self._poll, left))
        return None

    def ack(self, event: Event | None = None) -> None:
        """Store the durable consumer's cursor: ``event``'s, or that of the last event delivered."""
        if self.consumer is None:
            raise errors.InvalidArgument("ack needs a durable subscription: subscribe(..., consumer='name')")
        txid, position = parse_cursor(self.cursor if event is None else event.cursor)
        store = self._events._store
        store._execute(consumer_set, store.project, self.consumer, txid, position)

    def close(self) -> None:
        self._closed.set()

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self.get()
        if event is None:
            raise StopIteration
        return event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        import asyncio  # here, so that a program that never awaits does not import it

        face = self._events._store._async_face
        while not self._closed.is_set():
            if face is not None:  # (the async face's subscription: its waits are awaited, holding no thread)
                event = await face._call(self.get, None)
            else:
                event = await asyncio.to_thread(self.get, self._poll)  # short waits, so close() is noticed
            if event is not None:
                return event
        raise StopAsyncIteration

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.close()


class BufferedPublisher:
    """Collects events and writes them in batches: at ``max_events``, after ``max_delay`` seconds,
    on :meth:`flush` and on :meth:`close`. A failed write keeps the batch and is retried with
    backoff, as the same batch with the same request key, so a batch whose commit went through
    unseen is not written twice; nothing is dropped silently. If the buffer reaches 100 batches
    because writes keep failing, :meth:`publish` raises the last error instead of growing without
    bound."""

    def __init__(self, events: Events, max_events: int, max_delay: float) -> None:
        self._events = events
        self._max = max_events
        self._delay = max_delay
        self._limit = max_events * 100
        self._pending: list[dict[str, Any]] = []
        self._inflight: tuple[list[dict[str, Any]], RequestKey] | None = None
        """The batch being written (the head of ``_pending``) and its request key, until it is."""
        self._cond = threading.Condition()
        self._flushing = threading.Lock()
        self._closed = False
        self.error: errors.RoostError | None = None
        """The last failed write, if the newest attempt failed (cleared by a successful one)."""
        self.published = 0
        self._thread = threading.Thread(target=self._run, name="roost-event-buffer", daemon=True)
        self._thread.start()

    def publish(self, topic: str, payload: Any = None, *, refs: Mapping[str, Any] | None = None,
                dedupe_key: str | None = None) -> None:
        """Queue an event; bad input raises here, at once."""
        row = self._events._row(topic, payload, refs, dedupe_key)
        with self._cond:
            if self._closed:
                raise errors.InvalidArgument("this buffered publisher is closed")
            if len(self._pending) >= self._limit and self.error is not None:
                raise errors.DatabaseError(f"{len(self._pending):,} events are waiting to be written and writes "
                                           f"keep failing: {self.error.message}")
            self._pending.append(row)
            if len(self._pending) >= self._max:
                self._cond.notify()

    def _write(self) -> bool:
        """Write what is pending in batches; False if a write failed (the rows stay queued)."""
        with self._flushing:
            while True:
                with self._cond:
                    if self._inflight is None:  # a failed batch is retried as it was, with its key
                        batch = self._pending[: self._max]
                        if not batch:
                            return True
                        self._inflight = (batch, self._events._key())
                    batch, key = self._inflight
                try:
                    self._events._store._execute(publish_all, batch, key)
                except errors.RoostError as exc:
                    self.error = exc
                    return False
                with self._cond:
                    del self._pending[: len(batch)]
                    self._inflight = None
                    self.published += len(batch)
                self.error = None

    def _run(self) -> None:
        backoff = 0.05
        while True:
            with self._cond:
                if not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                if len(self._pending) < self._max:
                    self._cond.wait(self._delay)
            if self._write():
                backoff = 0.05
            else:
                with self._cond:
                    self._cond.wait(backoff)
                backoff = min(backoff * 2, 2.0)

    def flush(self) -> None:
        """Write everything queued now; raises if a write fails (the events stay queued)."""
        if not self._write() and self.error is not None:
            raise self.error

    def close(self, timeout: float = 10.0) -> None:
        """Stop the background writer and write what is left, retrying for up to ``timeout``
        seconds; raises if events are still unwritten then (they are in ``unwritten``)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        deadline = time.monotonic() + timeout
        delay = 0.05
        while not self._write():
            if time.monotonic() + delay > deadline:
                raise errors.DatabaseError(f"{len(self._pending):,} buffered events could not be written: "
                                           f"{self.error.message if self.error else 'unknown error'}")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    @property
    def unwritten(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._pending)

    def __enter__(self) -> BufferedPublisher:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
