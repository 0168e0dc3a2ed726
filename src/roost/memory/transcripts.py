"""Transcripts: what was said in a session, entry by entry, in order.

Every entry gets a position that only grows within its session. Appends to one session take turns
(the session row is locked on PostgreSQL; SQLite has one writer), so positions are dense and a
``message_id`` seen before is found before anything is written: re-sending an entry (a retry after
a lost answer) returns the stored one and adds nothing. A batch is one transaction, loaded in bulk
(COPY on PostgreSQL, one executemany on SQLite), and moves its session's counters and writes one
``transcript.appended`` event per session, not one per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Batch, Op, Query, atomic, repeatable, to_datetime
from roost.memory import _common as c

if TYPE_CHECKING:
    from roost.store import Store

ENTRY_MAX_BYTES = 8 * 2**20
BATCH_MAX = 10_000
ROLES = ("prompt", "response", "chunk", "combined", "system", "tool")
"""The common roles; any name matching :data:`roost.memory._common.LABEL` is accepted too."""


@dataclass(slots=True)
class Entry:
    id: int
    session: str
    position: int
    role: str
    content: str
    agent: str | None
    phase: str | None
    iteration: int | None
    message_id: str | None
    metadata: dict[str, Any]
    created_at: datetime


def entry_of(row: tuple[Any, ...]) -> Entry:
    id_, session, position, role, content, agent, phase, iteration, message_id, metadata, created = row
    return Entry(int(id_), session, int(position), role, content, agent, phase,
                 None if iteration is None else int(iteration), message_id, c.decode_object(metadata),
                 to_datetime(created))


Item = tuple[str, str, str, str | None, str | None, int | None, str | None, str | None, dict[str, Any]]
"""One checked entry: session, role, content, agent, phase, iteration, message_id, metadata (JSON
text) and metadata (the value)."""

Groups = dict[str, list[tuple[int, Item]]]


@atomic
def append_rows(project: str, groups: Groups, total: int, vectors: bool) -> Op[list[Entry]]:
    """Append each session's items (with their index in the caller's list); sessions in sorted
    order, so two batches that share sessions lock them in one order and cannot deadlock. With
    ``vectors``, each row carries its search vector (Capabilities.search_vectors)."""
    out: list[Entry | None] = [None] * total
    if vectors:  # (the tokenizer, loaded once per batch and only where the backend takes vectors)
        from roost.search.tokens import vector
    for session in sorted(groups):
        items = groups[session]
        row = (yield Query("transcript_reserve", {"project": project, "session": session})).one()
        if row is None:
            raise c.no_session(project, session)
        last, now, stamp = int(row[0]), float(row[1]), row[2]
        message_ids = [item[6] for _, item in items if item[6] is not None]
        known: dict[str, Entry] = {}
        if message_ids:
            found = (yield Query("transcript_known", {"project": project, "session": session,
                                                      "message_ids": json.dumps(message_ids)})).rows
            known = {e.message_id: e for e in map(entry_of, found) if e.message_id is not None}
        first = last + 1
        at = to_datetime(now)
        fresh: list[tuple[int, Entry]] = []
        rows: list[tuple[Any, ...]] = []
        repeated: list[tuple[int, str]] = []
        for index, (_, role, content, agent, phase, iteration, mid, meta, meta_value) in items:
            if mid is not None and mid in known:
                repeated.append((index, mid))
                continue
            last += 1
            entry = Entry(0, session, last, role, content, agent, phase, iteration, mid, meta_value, at)
            if mid is not None:
                known[mid] = entry  # the same message twice in one batch is stored once
            fresh.append((index, entry))
            row = (project, session, last, role, content, agent, phase, iteration, mid, meta, stamp)
            rows.append((*row, vector(content)) if vectors else row)
        if rows:
            yield Batch("transcript_insert", rows)
            ids = (yield Query("transcript_ids", {"project": project, "session": session, "after": first - 1})).rows
            for (index, entry), (entry_id,) in zip(fresh, ids, strict=True):
                entry.id = entry_id
                out[index] = entry
            yield Query("transcript_commit", {"project": project, "session": session, "count": len(rows),
                                              "first": first, "last": last, "stamp": stamp})
        for index, mid in repeated:
            out[index] = known[mid]
    return [e for e in out if e is not None]


@repeatable
@atomic
def append_rows_keyed(project: str, groups: Groups, total: int, vectors: bool) -> Op[list[Entry]]:
    """The same append, for batches whose every entry has a message id: running it again after a
    lost answer finds the entries it stored and adds nothing, so it may be repeated."""
    return (yield from append_rows(project, groups, total, vectors))


def append_one(params: dict[str, Any]) -> Op[Entry]:
    """One entry in one statement (a block on SQLite): the single append's fast path. Nothing
    comes back for an unknown session, or (on SQLite) for a message id the session holds."""
    row = (yield Query("transcript_append", params)).one()
    if row is None and params["message_id"] is not None:
        row = (yield Query("transcript_known", {"project": params["project"], "session": params["session"],
                                                "message_ids": json.dumps([params["message_id"]])})).one()
    if row is None:
        raise c.no_session(params["project"], params["session"])
    return entry_of(row)


@repeatable
def append_one_keyed(params: dict[str, Any]) -> Op[Entry]:
    """A single append with a message id may run again after a lost answer: it finds the entry."""
    return (yield from append_one(params))


@repeatable
def get(project: str, id_: int) -> Op[Entry | None]:
    row = (yield Query("transcript_get", {"project": project, "id": id_})).one()
    return None if row is None else entry_of(row)


@repeatable
def page(project: str, session: str, after: int, before: int, phase: str | None, limit: int,
         backward: bool) -> Op[c.Page[Entry]]:
    params = {"project": project, "session": session, "after": after, "before": before, "phase": phase,
              "limit": limit + 1}
    rows = (yield Query("transcript_before" if backward else "transcript_after", params)).rows
    if not rows:
        yield from c.require_session(project, session)
    entries = [entry_of(r) for r in rows[:limit]]
    more = len(rows) > limit
    if backward:
        entries.reverse()
        return c.Page(entries, str(entries[0].position) if more else None)
    return c.Page(entries, str(entries[-1].position) if more else None)


class Transcripts:
    """``store.transcripts``: append entries to a session's transcript and read them back in order."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def append(self, session: str, role: str, content: str, *, agent: str | None = None, phase: str | None = None,
               iteration: int | None = None, message_id: str | None = None,
               metadata: dict[str, Any] | None = None) -> Entry:
        """Append one entry; with ``message_id``, appending it again returns the stored entry."""
        item = _item({"session": session, "role": role, "content": content, "agent": agent, "phase": phase,
                      "iteration": iteration, "message_id": message_id, "metadata": metadata}, 0)
        params = dict(zip(("session", "role", "content", "agent", "phase", "iteration", "message_id", "metadata"),
                          item, strict=False))
        op = append_one if message_id is None else append_one_keyed
        search = c.search_vector(self._store, item[2])
        return self._store._execute(op, {"project": self._store.project, **params, "search": search})

    def append_many(self, entries: Iterable[Mapping[str, Any]]) -> list[Entry]:
        """Append several entries (dicts with the arguments of :meth:`append`, ``session`` included)
        in one transaction: all or none. Returns the entries in the order given; an entry whose
        ``message_id`` its session already holds comes back as stored, and is not added again."""
        groups: Groups = {}
        keyed = True
        total = 0
        seen = _Seen()
        for index, given in enumerate(entries):
            if index >= BATCH_MAX:
                raise errors.InvalidArgument(f"append_many takes at most {BATCH_MAX:,} entries at a time")
            item = _item(given, index, seen)
            keyed = keyed and item[6] is not None
            groups.setdefault(item[0], []).append((index, item))
            total += 1
        if not total:
            return []
        op = append_rows_keyed if keyed else append_rows
        return self._store._execute(op, self._store.project, groups, total, self._store.capabilities.search_vectors)

    def get(self, entry_id: int) -> Entry | None:
        return self._store._execute(get, self._store.project, v.integer(entry_id, "entry id", 1, c.CURSOR_MAX))

    def page(self, session: str, *, after: int | str | None = None, before: int | str | None = None,
             phase: str | None = None, limit: int = 100) -> c.Page[Entry]:
        """Entries in position order. With ``after`` (a position; or neither bound), the first
        ``limit`` after it, and the page's ``cursor`` is the next ``after``. With only ``before``,
        the last ``limit`` before it (still oldest first), and the ``cursor`` is the next
        ``before``, for paging back from the end (``before=None`` and ``after=None``: use
        :meth:`latest`)."""
        backward = before is not None and after is None
        return self._store._execute(
            page, self._store.project, c.session_id(session), _position(after, "after", 0),
            _position(before, "before", c.CURSOR_MAX), c.optional_label(phase, "phase"), c.limit(limit), backward)

    def latest(self, session: str, *, limit: int = 20, phase: str | None = None) -> c.Page[Entry]:
        """The last ``limit`` entries, oldest first; the ``cursor`` pages further back (as ``before``)."""
        return self._store._execute(page, self._store.project, c.session_id(session), 0, c.CURSOR_MAX,
                                    c.optional_label(phase, "phase"), c.limit(limit), True)


def _position(value: object, what: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        value = int(value)
    return v.integer(value, what, 0, c.CURSOR_MAX)


_FIELDS = {"session", "role", "content", "agent", "phase", "iteration", "message_id", "metadata"}


class _Seen:
    """The names already checked in one batch: a batch mostly repeats one session, role and agent,
    so each is checked once, not per entry (streaming agents send thousands of entries, and
    checking was most of the cost of a batch)."""

    __slots__ = ("agents", "phases", "roles", "sessions")

    def __init__(self) -> None:
        self.sessions: set[str] = set()
        self.roles: set[str] = set()
        self.agents: set[str] = set()
        self.phases: set[str] = set()


def _item(given: Mapping[str, Any], index: int, seen: _Seen | None = None) -> Item:
    """One entry's arguments, checked (see :class:`_Seen`)."""
    if type(given) is not dict or not given.keys() <= _FIELDS:
        _check_shape(given, index)
    known = _Seen() if seen is None else seen
    get = given.get
    session, role, content, agent, phase, iteration, message_id, meta = (
        get("session"), get("role"), get("content"), get("agent"), get("phase"), get("iteration"),
        get("message_id"), get("metadata"))
    if session is None or role is None or content is None:
        missing = "session" if session is None else "role" if role is None else "content"
        raise errors.InvalidArgument(f"entry {index} has no {missing}")
    # (a value that is not a str is never in a set of checked names, and its check refuses it)
    if type(session) is not str or session not in known.sessions:
        known.sessions.add(c.session_id(session))
    if type(role) is not str or role not in known.roles:
        known.roles.add(c.label(role, f"entry {index}: role"))
    if agent is not None and (type(agent) is not str or agent not in known.agents):
        known.agents.add(v.name(agent, f"entry {index}: agent", v.AGENT_NAME_MAX))
    if phase is not None and (type(phase) is not str or phase not in known.phases):
        known.phases.add(c.label(phase, f"entry {index}: phase"))
    meta_text = None if meta is None else c.metadata(meta, f"entry {index}: metadata")
    return (session, role, c.text(content, f"entry {index}: content", ENTRY_MAX_BYTES), agent, phase,
            None if iteration is None else v.integer(iteration, f"entry {index}: iteration", 0, 2**31 - 1),
            None if message_id is None else v.name(message_id, f"entry {index}: message_id", c.MESSAGE_ID_MAX),
            meta_text, {} if meta_text is None else json.loads(meta_text))


def _check_shape(given: object, index: int) -> None:
    if not isinstance(given, Mapping):
        raise errors.InvalidArgument(f"entry {index} must be a dict of append()'s arguments, "
                                     f"not {type(given).__name__}")
    unknown = sorted(set(given) - _FIELDS)
    if unknown:
        raise errors.InvalidArgument(f"entry {index} has the unknown field {unknown[0]!r}; "
                                     f"known: {', '.join(sorted(_FIELDS))}")
