"""Documents: put, patch, get and delete, each one transaction with its event.

A write reads its document inside its own write transaction (``BEGIN IMMEDIATE`` on SQLite,
``SELECT … FOR UPDATE`` on PostgreSQL), applies the change, checks the frozen paths and the
schema, and writes the new body, the previous version into the history (trimmed in the same
statement), the index keys and the event, before COMMIT. No writer can slip in between the read
and the write, so two agents patching different fields of one document both keep their change,
and a refused write (a frozen field, a schema violation, a stale version) leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, atomic, repeatable, to_datetime
from roost.documents import keys, patches, paths, schemas
from roost.documents.collections import Collection, collection_of, must_get

BODY_MAX_BYTES = 2**20
KEY_MAX = 512


@dataclass(slots=True)
class Document:
    collection: str
    key: str
    body: dict[str, Any]
    version: int
    parent: str | None
    agent: str | None
    created_at: datetime
    updated_at: datetime
    model: Any = field(default=None, repr=False)
    """The body as the collection's pydantic model, in a process that declared it with one."""


def document_of(row: Sequence[Any]) -> Document:
    _id, collection, key, parent, body, version, agent, _change, created, updated = row[:10]
    return Document(collection, key, v.stored_json(body), int(version), parent, agent, to_datetime(created),
                    to_datetime(updated))


def key_of(value: object) -> str:
    return v.name(value, "document key", KEY_MAX)


def body_text(body: object, what: str, shaped: bool = False) -> str:
    """A body as stored text; ``shaped`` when its depth and keys are known good (a stored body
    patched with values checked by patches.check), so only its size is left to check."""
    if not isinstance(body, dict):
        raise errors.InvalidArgument(f"{what} must be a JSON object, not {paths.kind(body)}")
    if not shaped:
        return v.to_json(body, what, BODY_MAX_BYTES)
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    size = len(text.encode("utf-8"))
    if size > BODY_MAX_BYTES:
        raise errors.InvalidArgument(f"{what} is {size:,} bytes as JSON; the limit is {BODY_MAX_BYTES:,}")
    return text


def same(a: Any, b: Any) -> bool:
    """JSON equality: 1 and 1.0, or true and 1, are different values here."""
    return _encoded(a) == _encoded(b)


Frozen = list[tuple[paths.Path, str]]
"""The frozen paths a body has reached, each with its value as compared (see frozen_values)."""


def frozen_values(collection: Collection, body: Any) -> Frozen:
    """What the frozen paths hold in ``body`` (JSON text, "" for nothing there), leaving out those
    not frozen yet ("first_set" and nothing set). Taken before a patch changes the body in place."""
    out: Frozen = []
    for path in collection.frozen_paths:
        value = paths.get(body, path)
        if collection.frozen_after == "first_set" and (value is paths.MISSING or value is None):
            continue
        out.append((path, _encoded(value)))
    return out


def check_frozen(collection: Collection, key: str, before: Frozen, new: dict[str, Any]) -> None:
    """Refuse a write that changes a frozen path (nothing of it is applied)."""
    for path, value in before:
        after = paths.get(new, path)
        if value != _encoded(after):
            when = "since the document was created" if collection.frozen_after == "create" else "once it was set"
            was = paths.MISSING if value == "" else json.loads(value)
            raise errors.FrozenField(f"{collection.name}/{key}: {path} is frozen ({when}); the write would change it "
                                     f"from {_brief(was)} to {_brief(after)}, and nothing of it was applied")


def _encoded(value: Any) -> str:
    return "" if value is paths.MISSING else json.dumps(value, sort_keys=True)


def _brief(value: Any) -> str:
    if value is paths.MISSING:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _checked(collection: Collection, key: str, new: dict[str, Any], shaped: bool = False) -> str:
    """The new body as stored text, once it passed the schema and the size limit."""
    schemas.validate(collection.schema_text, collection.unknown == "reject", new, f"{collection.name}/{key}")
    return body_text(new, f"the body of {collection.name}/{key}", shaped)


def _parent_id(project: str, collection: Collection, parent: str | None) -> Op[int | None]:
    if parent is None:
        return None
    if collection.parent is None:
        raise errors.InvalidArgument(f"collection {collection.name!r} has no parent collection; declare one with "
                                     "parent=... to give its documents a parent")
    found = (yield Query("doc_parent_id", {"project": project, "collection": collection.parent,
                                           "key": parent})).scalar()
    if found is None:
        raise errors.DocumentNotFound(f"no parent document {collection.parent}/{parent}")
    return int(found)


class Target:
    """What a write reads first, in one query inside its transaction: the collection, and the
    document (None if absent) with its parent's key."""

    __slots__ = ("body", "collection", "doc_id", "parent_id", "parent_key", "version")

    def __init__(self, project: str, collection_name: str, row: Sequence[Any] | None) -> None:
        if row is None:
            raise errors.CollectionNotFound(f"no document collection {collection_name!r} in project {project!r}; "
                                            "declare it first (store.documents.collection(...), roost doc declare)")
        self.collection = collection_of(row)
        self.doc_id: int | None = None if row[6] is None else int(row[6])
        self.body: str | None = row[7]
        self.version = 0 if row[8] is None else int(row[8])
        self.parent_id: int | None = row[9]
        self.parent_key: str | None = row[10]


def _target(project: str, collection_name: str, key: str) -> Op[Target]:
    row = (yield Query("doc_for_write", {"project": project, "collection": collection_name, "key": key})).one()
    return Target(project, collection_name, row)


def _write(project: str, target: Target, key: str, old_keys: list[tuple[str, str]] | None, new: dict[str, Any],
           text: str, parent: int | None, agent: str | None, change: str | None, topic: str) -> Op[Document]:
    """One statement (a block on SQLite): the body, the history and its trim, the index keys
    (only if they changed) and the event."""
    collection = target.collection
    indexed = collection.indexed_paths
    wanted = keys.keys_of(new, indexed) if indexed else []
    unchanged = not indexed or wanted == old_keys
    keys_json = None if unchanged else json.dumps(wanted, ensure_ascii=False)
    version = target.version + 1
    event = json.dumps({"collection": collection.name, "key": key, "version": version, "agent": agent},
                       ensure_ascii=False)
    params = {"project": project, "collection": collection.id, "key": key, "body": text, "agent": agent,
              "keys": keys_json, "topic": topic, "payload": event,
              "refs": json.dumps({"collection": collection.name, "key": key}, ensure_ascii=False)}
    if target.doc_id is None:
        row = (yield Query("doc_create", {**params, "parent": parent})).one()
        if row is None:
            raise _CreatedMeanwhile()
    else:
        row = (yield Query("doc_update", {**params, "id": target.doc_id, "version": target.version,
                                          "keep": collection.history, "change": change,
                                          "parent": target.parent_id if parent is None else parent})).one()
    if row is None:
        raise errors.VersionConflict(f"{collection.name}/{key} changed during the write")
    _id, created, updated = row
    return Document(collection.name, key, new, version, None, agent, to_datetime(created), to_datetime(updated))


def _expect(target: Target, key: str, expected: int | None) -> None:
    if expected is None or target.version == expected:
        return
    now = f"it is at version {target.version}" if target.version else "it does not exist"
    wanted = "to be absent" if expected == 0 else f"at version {expected}"
    raise errors.VersionConflict(f"{target.collection.name}/{key} was expected {wanted}, but {now}")


class _CreatedMeanwhile(Exception):
    """Another writer created the document after this one found none (PostgreSQL: there was no row
    to lock); the put reads again and goes on as a replace of that document."""


@atomic
def put(project: str, collection_name: str, key: str, body: dict[str, Any], expected: int | None,
        parent: str | None, agent: str | None) -> Op[Document]:
    for _ in range(3):
        try:
            return (yield from _put(project, collection_name, key, body, expected, parent, agent))
        except _CreatedMeanwhile:
            continue
    raise errors.VersionConflict(f"{collection_name}/{key} was created and deleted by others during the put; "
                                 "try again")


def _put(project: str, collection_name: str, key: str, body: dict[str, Any], expected: int | None,
         parent: str | None, agent: str | None) -> Op[Document]:
    target = yield from _target(project, collection_name, key)
    collection = target.collection
    _expect(target, key, expected)
    old = None if target.body is None else v.stored_json(target.body)
    new = json.loads(body_text(body, f"the body of {collection_name}/{key}"))  # (a copy the caller cannot change)
    check_frozen(collection, key, [] if old is None else frozen_values(collection, old), new)
    text = _checked(collection, key, new)
    parent_id = yield from _parent_id(project, collection, parent)
    old_keys = None if old is None or not collection.indexed else keys.keys_of(old, collection.indexed_paths)
    doc = yield from _write(project, target, key, old_keys, new, text, parent_id, agent, None, "document.put")
    doc.parent = parent if parent is not None else target.parent_key
    return doc


@atomic
def patch(project: str, collection_name: str, key: str, ops: list[patches.Op], expected: int | None,
          agent: str | None) -> Op[Document]:
    target = yield from _target(project, collection_name, key)
    collection = target.collection
    if target.body is None:
        raise errors.DocumentNotFound(f"no document {collection_name}/{key} to patch")
    _expect(target, key, expected)
    body = v.stored_json(target.body)
    # What the checks compare with is taken before the patch changes the body in place.
    frozen = frozen_values(collection, body)
    old_keys = keys.keys_of(body, collection.indexed_paths) if collection.indexed else None
    new = patches.apply(body, ops)
    check_frozen(collection, key, frozen, new)
    text = _checked(collection, key, new, shaped=True)
    change = json.dumps([op.as_json() for op in ops], ensure_ascii=False, separators=(",", ":"))
    doc = yield from _write(project, target, key, old_keys, new, text, None, agent, change, "document.patched")
    doc.parent = target.parent_key
    return doc


@repeatable
def get(project: str, collection_name: str, key: str, version: int | None) -> Op[Document | None]:
    row = (yield Query("doc_get", {"project": project, "collection_name": collection_name, "key": key})).one()
    if row is None:
        yield from must_get(project, collection_name)  # (a missing collection is an error, a missing key None)
        return None
    doc = document_of(row)
    if version is None or version == doc.version:
        return doc
    collection = yield from must_get(project, collection_name)
    old = (yield Query("doc_version", {"collection": collection.id, "key": key, "version": version})).one()
    if old is None:
        return None
    body, number, agent, _change, at = old
    return Document(collection_name, key, v.stored_json(body), int(number), doc.parent, agent, doc.created_at,
                    to_datetime(at))


@atomic
def delete(project: str, collection_name: str, key: str, expected: int | None) -> Op[int]:
    """Delete the document and everything below it; returns how many documents went (0: none)."""
    target = yield from _target(project, collection_name, key)
    if target.doc_id is None:
        if expected is not None:
            raise errors.VersionConflict(f"{collection_name}/{key} was expected at version {expected}, but it "
                                         "does not exist")
        return 0
    _expect(target, key, expected)
    below, restricted, example = (yield Query("doc_descendants", {"id": target.doc_id})).one() or (0, 0, None)
    if restricted:
        raise errors.DeleteRestricted(
            f"{collection_name}/{key} has {restricted} document(s) below it in collections declared "
            f"on_parent_delete='restrict' (such as {example}); delete those first. Nothing was deleted")
    yield Query("doc_delete", {"id": target.doc_id})
    event = {"collection": collection_name, "key": key, "version": target.version, "cascaded": int(below)}
    yield Query("doc_event", {"project": project, "topic": "document.deleted", "payload": json.dumps(event),
                              "refs": json.dumps({"collection": collection_name, "key": key})})
    return 1 + int(below)
