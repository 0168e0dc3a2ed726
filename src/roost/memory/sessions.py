"""Sessions: the unit of work an agent team remembers things in.

A session holds participants and metadata, and counts what belongs to it (transcript entries,
memories, artifact versions, observations). The counts and ``last_activity`` are written in the
same transaction as the write they count (triggers for memories, observations and artifacts; the
append statement for a transcript batch), so they equal ``COUNT(*)`` at every commit, and an
idempotent re-send or an overwrite never counts twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, atomic, repeatable, to_datetime
from roost.memory import _common as c

if TYPE_CHECKING:
    from roost.memory.transcripts import Entry
    from roost.store import Store

STATUSES = ("active", "paused", "completed", "archived")
SUMMARY_ENTRIES = 5


@dataclass(slots=True)
class Session:
    id: str
    title: str
    status: str
    participants: list[str]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_activity: datetime
    entry_count: int
    memory_count: int
    artifact_count: int
    observation_count: int


@dataclass(slots=True)
class Summary:
    """A session at a glance: its record (counts, participants, first and last activity) and its
    latest transcript entries, oldest first."""

    session: Session
    latest_entries: list[Entry]

    @property
    def first_activity(self) -> datetime:
        return self.session.created_at

    @property
    def last_activity(self) -> datetime:
        return self.session.last_activity


def session_of(row: tuple[Any, ...]) -> Session:
    (id_, title, status, participants, metadata, created, updated, last, entries, memories, artifacts,
     observations, _seq) = row
    return Session(id_, title, status, c.decode_list(participants), c.decode_object(metadata), to_datetime(created),
                   to_datetime(updated), to_datetime(last), int(entries), int(memories), int(artifacts),
                   int(observations))


def new_id() -> str:
    """Time-ordered and unique: 12 hex digits of milliseconds, then 8 random ones."""
    return f"s-{int(time.time() * 1000):012x}{os.urandom(4).hex()}"


def create(params: dict[str, Any]) -> Op[Session | None]:
    row = (yield Query("session_insert", params)).one()
    return None if row is None else session_of(row)


@repeatable
def get(project: str, id_: str) -> Op[Session | None]:
    row = (yield Query("session_get", {"project": project, "id": id_})).one()
    return None if row is None else session_of(row)


@repeatable
def listing(params: dict[str, Any]) -> Op[c.Page[Session]]:
    rows = (yield Query("session_list", params)).rows
    want = params["limit"] - 1
    return c.page([session_of(r) for r in rows], want, int(rows[want - 1][-1]) if len(rows) > want else None)


def update(name: str, params: dict[str, Any]) -> Op[Session | None]:
    row = (yield Query(name, params)).one()
    return None if row is None else session_of(row)


@repeatable
def summary(project: str, id_: str, count: int) -> Op[Summary | None]:
    from roost.memory.transcripts import entry_of

    row = (yield Query("session_get", {"project": project, "id": id_})).one()
    if row is None:
        return None
    rows = (yield Query("transcript_before", {"project": project, "session": id_, "after": 0,
                                              "before": c.CURSOR_MAX, "phase": None, "limit": count})).rows
    return Summary(session_of(row), [entry_of(r) for r in reversed(rows)])


@atomic
def delete(project: str, id_: str) -> Op[bool]:
    return (yield Query("session_delete", {"project": project, "id": id_})).one() is not None


class Sessions:
    """``store.sessions``: create, read, list, join, leave, change the status of and delete sessions."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _missing(self, id_: str) -> errors.SessionNotFound:
        return c.no_session(self._store.project, id_)

    def create(self, title: str, *, participants: Iterable[str] = (), metadata: dict[str, Any] | None = None,
               id: str | None = None) -> Session:
        """A new, active session. ``id`` is generated (time-ordered) when not given; a given id that
        exists already is a :class:`~roost.errors.VersionConflict`."""
        given = c.session_id(id) if id is not None else None
        params: dict[str, Any] = {
            "project": self._store.project,
            "id": given or new_id(),
            "title": v.name(title, "session title", c.TITLE_MAX),
            "participants": v.to_json(_participants(participants), "participants"),
            "metadata": c.metadata(metadata) or "{}",
        }
        params["search"] = c.search_vector(self._store, params["title"])
        made = self._store._execute(create, params)
        if made is None:
            raise errors.VersionConflict(f"a session with id {params['id']!r} already exists in project "
                                         f"{self._store.project!r}")
        return made

    def get(self, id: str) -> Session | None:
        return self._store._execute(get, self._store.project, c.session_id(id))

    def list(self, *, status: str | None = None, participant: str | None = None,
             since: datetime | float | None = None, limit: int = 100, cursor: str | None = None) -> c.Page[Session]:
        """Sessions newest first (by creation), optionally only those with ``status``, with
        ``participant``, or active (``last_activity``) since a time. Pass the returned page's
        ``cursor`` for the next page."""
        params = {
            "project": self._store.project,
            "status": None if status is None else _status(status),
            "participant": c.optional_name(participant, "participant", c.PARTICIPANT_MAX),
            "since": c.since(since),
            "limit": c.limit(limit) + 1,
            "cursor": c.cursor(cursor),
        }
        return self._store._execute(listing, params)

    def _update(self, name: str, id_: str, **extra: Any) -> Session:
        found = self._store._execute(update, name, {"project": self._store.project, "id": c.session_id(id_),
                                                    **extra})
        if found is None:
            raise self._missing(id_)
        return found

    def join(self, id: str, participant: str) -> Session:
        """Add ``participant`` (once: joining twice changes nothing but the activity time). A
        session has at most 1,000 participants."""
        name = v.name(participant, "participant", c.PARTICIPANT_MAX)
        found = self._store._execute(update, "session_join", {"project": self._store.project, "id": c.session_id(id),
                                                              "participant": name, "max": c.PARTICIPANTS_MAX})
        if found is not None:
            return found
        if self.get(id) is None:
            raise self._missing(id)
        raise errors.InvalidArgument(f"session {id!r} already has {c.PARTICIPANTS_MAX:,} participants, the most a "
                                     f"session may have; {name!r} was not added")

    def leave(self, id: str, participant: str) -> Session:
        return self._update("session_leave", id, participant=v.name(participant, "participant", c.PARTICIPANT_MAX))

    def set_status(self, id: str, status: str) -> Session:
        """``active``, ``paused``, ``completed`` or ``archived``; a change writes a
        ``session.status_changed`` event."""
        return self._update("session_set_status", id, status=_status(status))

    def summary(self, id: str, *, entries: int = SUMMARY_ENTRIES) -> Summary:
        """Counts, participants, first and last activity and the latest transcript entries, in two
        queries however big the session is."""
        found = self._store._execute(summary, self._store.project, c.session_id(id), c.limit(entries, 100))
        if found is None:
            raise self._missing(id)
        return found

    def delete(self, id: str) -> bool:
        """Delete the session with everything that belongs to it (entries, memories, observations,
        artifact versions) in one transaction; False if there was no such session. Artifact content
        no longer used by any version is removed by ``store.artifacts.cleanup()``."""
        return self._store._execute(delete, self._store.project, c.session_id(id))


def _status(value: object) -> str:
    if value not in STATUSES:
        raise errors.InvalidArgument(f"session status {v.shown(value)} is not one of {', '.join(STATUSES)}")
    return str(value)


def _participants(value: Iterable[str]) -> list[str]:
    if isinstance(value, str):
        raise errors.InvalidArgument("participants must be a list of names, not a string")
    found = list(dict.fromkeys(v.name(p, "participant", c.PARTICIPANT_MAX) for p in value))
    if len(found) > c.PARTICIPANTS_MAX:
        raise errors.InvalidArgument(f"a session has at most {c.PARTICIPANTS_MAX} participants")
    return found
