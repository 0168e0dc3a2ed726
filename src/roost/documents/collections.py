"""Collections: what a project declares about a kind of document, stored with a version.

``declare`` is idempotent: the same declaration again changes nothing (``changed`` is False); a
different one is the next version of the collection, reported by ``changed`` and a
``document.collection_declared`` event. A change of ``indexed`` rebuilds the collection's index
keys in the same transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from roost import _validate as v
from roost import errors
from roost._op import Batch, Op, Query, atomic, repeatable, to_datetime
from roost.documents import keys, paths

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
"""A collection name: a letter, then up to 63 letters, digits or ``_ . -`` (no ``/``, which the
CLI uses between a collection and a key)."""
FROZEN_AFTER = ("create", "first_set")
ON_PARENT_DELETE = ("cascade", "restrict")
UNKNOWN = ("keep", "reject")
HISTORY_MAX = 10_000
FROZEN_MAX = 64
REBUILD_BATCH = 1000


@dataclass(slots=True)
class Collection:
    name: str
    version: int
    schema: dict[str, Any] | None
    frozen: list[str]
    frozen_after: str
    history: int
    parent: str | None
    on_parent_delete: str
    unknown: str
    indexed: list[str]
    created_at: datetime
    updated_at: datetime
    changed: bool = False
    """True when this ``declare`` call created the collection or changed its declaration."""
    id: int = field(default=0, repr=False)
    schema_text: str | None = field(default=None, repr=False)

    def spec(self) -> dict[str, Any]:
        return {"schema": self.schema, "frozen": self.frozen, "frozen_after": self.frozen_after,
                "history": self.history, "parent": self.parent, "on_parent_delete": self.on_parent_delete,
                "unknown": self.unknown, "indexed": self.indexed}

    @property
    def frozen_paths(self) -> tuple[paths.Path, ...]:
        return _paths_of(tuple(self.frozen))

    @property
    def indexed_paths(self) -> tuple[paths.Path, ...]:
        return _paths_of(tuple(self.indexed))


@lru_cache(maxsize=256)
def _paths_of(texts: tuple[str, ...]) -> tuple[paths.Path, ...]:
    return tuple(paths.parse(p) for p in texts)


@lru_cache(maxsize=256)
def _spec_of(text: str) -> tuple[dict[str, Any], str | None]:
    """A stored declaration, parsed once per process (every write reads its collection's)."""
    spec = json.loads(text)
    schema = spec["schema"]
    return spec, None if schema is None else json.dumps(schema, separators=(",", ":"))


def collection_of(row: Sequence[Any]) -> Collection:
    id_, name, version, spec_text, created, updated = row[:6]
    spec, schema_text = _spec_of(spec_text)
    return Collection(name, int(version), spec["schema"], list(spec["frozen"]), spec["frozen_after"],
                      int(spec["history"]), spec["parent"], spec["on_parent_delete"], spec["unknown"],
                      list(spec["indexed"]), to_datetime(created), to_datetime(updated), id=int(id_),
                      schema_text=schema_text)


def name(value: object, what: str = "collection name") -> str:
    if not isinstance(value, str):
        raise errors.InvalidArgument(f"{what} must be a string, not {type(value).__name__}")
    if not NAME.fullmatch(value):
        raise errors.InvalidArgument(f"{what} {v.shown(value)} is not valid: a letter, then up to 63 letters, "
                                     "digits or _ . -")
    return value


def spec_of(schema: dict[str, Any] | None, frozen: Iterable[str], frozen_after: str, history: int,
            parent: str | None, on_parent_delete: str, unknown: str, indexed: Iterable[str]) -> dict[str, Any]:
    """A declaration checked and put in its stored form (paths normalised, lists de-duplicated)."""
    if isinstance(frozen, str) or isinstance(indexed, str):
        raise errors.InvalidArgument("frozen and indexed are lists of paths, not one string")
    frozen_list = list(dict.fromkeys(paths.parse(p, "a frozen path").text for p in frozen))
    indexed_list = list(dict.fromkeys(paths.parse(p, "an indexed path").text for p in indexed))
    if len(frozen_list) > FROZEN_MAX:
        raise errors.InvalidArgument(f"{len(frozen_list)} frozen paths; the limit is {FROZEN_MAX}")
    if len(indexed_list) > keys.INDEXED_MAX:
        raise errors.InvalidArgument(f"{len(indexed_list)} indexed paths; the limit is {keys.INDEXED_MAX}")
    for value, allowed, what in ((frozen_after, FROZEN_AFTER, "frozen_after"),
                                 (on_parent_delete, ON_PARENT_DELETE, "on_parent_delete"),
                                 (unknown, UNKNOWN, "unknown")):
        if value not in allowed:
            raise errors.InvalidArgument(f"{what} must be one of {', '.join(map(repr, allowed))}, not {value!r}")
    if unknown == "reject" and schema is None:
        raise errors.InvalidArgument("unknown='reject' needs a schema that names the fields to keep")
    return {"schema": schema, "frozen": frozen_list, "frozen_after": frozen_after,
            "history": v.integer(history, "history", 0, HISTORY_MAX),
            "parent": None if parent is None else name(parent, "parent collection"),
            "on_parent_delete": on_parent_delete, "unknown": unknown, "indexed": indexed_list}


@repeatable
def get(project: str, collection: str) -> Op[Collection | None]:
    row = (yield Query("doc_collection_get", {"project": project, "name": collection})).one()
    return None if row is None else collection_of(row)


def must_get(project: str, collection: str) -> Op[Collection]:
    found = yield from get(project, collection)
    if found is None:
        raise errors.CollectionNotFound(f"no document collection {collection!r} in project {project!r}; "
                                        "declare it first (store.documents.collection(...), roost doc declare)")
    return found


@repeatable
def listing(project: str) -> Op[list[Collection]]:
    rows = (yield Query("doc_collection_list", {"project": project})).rows
    return [collection_of(r) for r in rows]


@atomic
def declare(project: str, collection: str, spec: dict[str, Any]) -> Op[Collection]:
    if spec["parent"] is not None and spec["parent"] != collection:
        yield from must_get(project, spec["parent"])
    current = yield from get(project, collection)
    text = json.dumps(spec, separators=(",", ":"))  # (in order: a schema's properties order the render)
    params = {"project": project, "name": collection, "spec": text, "on_parent_delete": spec["on_parent_delete"]}
    row = None
    if current is None:
        row = (yield Query("doc_collection_insert", params)).one()
        if row is None:  # another process declared it first (every pod declares at start)
            current = yield from must_get(project, collection)
    if row is None:
        assert current is not None
        if current.spec() == spec:
            return current
        row = (yield Query("doc_collection_update", {**params, "id": current.id})).one()
    assert row is not None
    declared = collection_of(row)
    declared.changed = True
    if current is not None and current.indexed != spec["indexed"]:
        yield from _rebuild_keys(declared)
    event = {"collection": collection, "version": declared.version}
    yield Query("doc_event", {"project": project, "topic": "document.collection_declared",
                              "payload": json.dumps(event), "refs": json.dumps({"collection": collection})})
    return declared


def _rebuild_keys(collection: Collection) -> Op[None]:
    """Index keys for every document of the collection, for its new ``indexed`` paths."""
    yield Query("doc_keys_clear", {"collection": collection.id})
    indexed = collection.indexed_paths
    if not indexed:
        return
    after = 0
    while True:
        rows = (yield Query("doc_bodies_after", {"collection": collection.id, "after": after,
                                                 "limit": REBUILD_BATCH})).rows
        if not rows:
            return
        batch = [(int(doc_id), collection.id, path, key, doc_key)
                 for doc_id, doc_key, body in rows for path, key in keys.keys_of(v.stored_json(body), indexed)]
        if batch:
            yield Batch("doc_keys_add", batch)
        after = int(rows[-1][0])
