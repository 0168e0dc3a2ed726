"""Memories: what agents decided, learned and want to keep, by key, with versions.

A memory is a JSON value under a key, scoped by the project and, when given, by a session: two
sessions never overwrite each other's ``plan`` by accident, and a project-wide memory is one with no
session. ``put`` is one upsert statement that returns the new version; with ``expected_version`` it
is a compare-and-set (0: only if absent). Types and tags are free names of one documented grammar,
so an application's own vocabulary is never refused by a CHECK it did not write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.memory import _common as c

if TYPE_CHECKING:
    from roost.store import Store

CONTENT_MAX_BYTES = 2**20
TYPES = ("idea", "decision", "question", "action_item", "context", "preference", "fact", "risk")
"""The common types; any name matching :data:`roost.memory._common.LABEL` is accepted too."""


@dataclass(slots=True)
class Memory:
    key: str
    session: str | None
    type: str
    content: Any
    tags: list[str]
    agent: str | None
    version: int
    created_at: datetime
    updated_at: datetime


def memory_of(row: tuple[Any, ...]) -> Memory:
    _id, session, key, type_, content, tags, agent, version, created, updated, _seq = row
    return Memory(key, session, type_, v.stored_json(content), c.decode_list(tags), agent, int(version),
                  to_datetime(created), to_datetime(updated))


def put(params: dict[str, Any], expected: int | None) -> Op[Memory | None]:
    """One statement: an upsert (or insert-if-absent), or a compare-and-set update."""
    if expected is None:
        row = (yield Query("memory_upsert", params)).one()
    else:
        row = (yield Query("memory_replace", {**params, "expected": expected})).one()
    return None if row is None else memory_of(row)


@repeatable
def get(project: str, session: str | None, key: str) -> Op[Memory | None]:
    row = (yield Query("memory_get", {"project": project, "session": session, "key": key})).one()
    return None if row is None else memory_of(row)


def delete(project: str, session: str | None, key: str, expected: int | None) -> Op[bool]:
    params = {"project": project, "session": session, "key": key, "expected": expected}
    return (yield Query("memory_delete", params)).one() is not None


@repeatable
def listing(params: dict[str, Any]) -> Op[c.Page[Memory]]:
    rows = (yield Query("memory_list", params)).rows
    want = params["limit"] - 1
    return c.page([memory_of(r) for r in rows], want, int(rows[want - 1][-1]) if len(rows) > want else None)


class Memories:
    """``store.memories``: keyed JSON memories with versions, types, tags and compare-and-set."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _where(self, key: object, session: object) -> dict[str, Any]:
        return {"project": self._store.project, "key": v.name(key, "memory key", c.MEMORY_KEY_MAX),
                "session": c.optional_session(session)}

    def put(self, key: str, content: Any, type: str = "context", *, tags: Iterable[str] = (),
            session: str | None = None, agent: str | None = None, expected_version: int | None = None) -> Memory:
        """Store ``content`` (any JSON, up to 1 MiB) under ``key`` and return the memory with its new
        version. ``expected_version=N`` writes only over version N, ``0`` only if absent; otherwise
        :class:`~roost.errors.VersionConflict`. An unknown ``session`` is
        :class:`~roost.errors.SessionNotFound`."""
        params = {
            **self._where(key, session),
            "type": c.label(type, "memory type"),
            "content": v.to_json(content, f"content of memory {key!r}", CONTENT_MAX_BYTES),
            "tags": v.to_json(c.tags(tags), "tags"),
            "agent": c.optional_name(agent, "agent", v.AGENT_NAME_MAX),
            "if_absent": False,
        }
        params["search"] = None
        if self._store.capabilities.search_vectors:
            from roost.search import tokens

            params["search"] = tokens.vector(tokens.memory_text(params["key"], content))
        if expected_version is not None:
            expected_version = v.integer(expected_version, "expected_version", 0, 2**62)
            if expected_version == 0:
                params["if_absent"], expected_version = True, None
        try:
            stored = self._store._execute(put, params, expected_version)
        except errors.ConstraintViolation:
            if (missing := c.unknown_session(self._store, params["session"])) is not None:
                raise missing from None
            raise
        if stored is None:
            current = self.get(key, session=session)
            now = f"it is at version {current.version}" if current else "it does not exist"
            wanted = "to be absent" if params["if_absent"] else f"at version {expected_version}"
            raise errors.VersionConflict(f"memory {key!r} was expected {wanted}, but {now}")
        return stored

    def get(self, key: str, *, session: str | None = None) -> Memory | None:
        """The memory under ``key`` in ``session`` (None: the project-wide one), or None."""
        where = self._where(key, session)
        return self._store._execute(get, where["project"], where["session"], where["key"])

    def delete(self, key: str, *, session: str | None = None, expected_version: int | None = None) -> bool:
        """Delete the memory; False if there was none (or, with ``expected_version``, it is at another
        version: then :class:`~roost.errors.VersionConflict`)."""
        where = self._where(key, session)
        expected = None if expected_version is None else v.integer(expected_version, "expected_version", 1, 2**62)
        gone = self._store._execute(delete, where["project"], where["session"], where["key"], expected)
        if not gone and expected is not None:
            current = self.get(key, session=session)
            if current is not None:
                raise errors.VersionConflict(f"memory {key!r} was expected at version {expected}, but it is at "
                                             f"version {current.version}")
        return gone

    def list(self, *, type: str | None = None, tags_any: Iterable[str] | None = None,
             tags_all: Iterable[str] | None = None, session: str | None = None, agent: str | None = None,
             since: datetime | float | None = None, limit: int = 100, cursor: str | None = None) -> c.Page[Memory]:
        """Memories newest write first, filtered by type, tags (any of / all of), session (None: every
        scope), agent and last write time. Pass the returned page's ``cursor`` for the next page."""
        params = {
            "project": self._store.project,
            "type": c.optional_label(type, "memory type"),
            "tags_any": None if tags_any is None else v.to_json(c.tags(tags_any, "tags_any"), "tags_any"),
            "tags_all": None if tags_all is None else v.to_json(c.tags(tags_all, "tags_all"), "tags_all"),
            "session": c.optional_session(session),
            "agent": c.optional_name(agent, "agent", v.AGENT_NAME_MAX),
            "since": c.since(since),
            "limit": c.limit(limit) + 1,
            "cursor": c.cursor(cursor),
        }
        return self._store._execute(listing, params)
