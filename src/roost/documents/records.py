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
from roost.documents.collections import Collection, must_get

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
    _id, collection, key, parent, body, version, agent, _change, created, updated = row
    return Document(collection, key, v.stored_json(body), int(version), parent, agent, to_datetime(created),
                    to_datetime(updated))


def key_of(value: object) -> str:
    return v.name(value, "document key", KEY_MAX)


def body_text(body: object, what: str) -> str:
    if not isinstance(body, dict):
        raise errors.InvalidArgument(f"{what} must be a JSON object, not {paths.kind(body)}")
    return v.to_json(body, what, BODY_MAX_BYTES)


def same(a: Any, b: Any) -> bool:
    """JSON equality: 1 and 1.0, or true and 1, are different values here."""
    if a is paths.MISSING or b is paths.MISSING:
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def check_frozen(collection: Collection, key: str, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    """Refuse a write that changes a frozen path (nothing of it is applied)."""
    if old is None:
        return
    for path in collection.frozen_paths:
        before = paths.get(old, path)
        if collection.frozen_after == "first_set" and (before is paths.MISSING or before is None):
            continue
        after = paths.get(new, path)
        if not same(before, after):
            when = "since the document was created" if collection.frozen_after == "create" else "once it was set"
            raise errors.FrozenField(
                f"{collection.name}/{key}: {path} is frozen ({when}); the write would change it from "
                f"{_brief(before)} to {_brief(after)}, and nothing of it was applied")


def _brief(value: Any) -> str:
    if value is paths.MISSING:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _checked(collection: Collection, key: str, old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """The new body as stored text, once it passed the frozen paths, the schema and the size limit."""
    check_frozen(collection, key, old, new)
    schemas.validate(collection.schema_text, collection.unknown == "reject", new, f"{collection.name}/{key}")
    return body_text(new, f"the body of {collection.name}/{key}")


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


def _write(project: str, collection: Collection, key: str, current: tuple[Any, ...] | None, old: dict[str, Any] | None,
           new: dict[str, Any], text: str, parent: int | None, agent: str | None, change: str | None,
           topic: str) -> Op[Document]:
    if current is None:
        row = (yield Query("doc_insert", {"collection": collection.id, "key": key, "parent": parent, "body": text,
                                          "agent": agent})).one()
        version = 1
    else:
        doc_id, _body, version, old_parent = current
        row = (yield Query("doc_update", {"id": doc_id, "version": version, "keep": collection.history,
                                          "body": text, "agent": agent, "change": change,
                                          "parent": old_parent if parent is None else parent})).one()
        version = int(version) + 1
    if row is None:
        raise errors.VersionConflict(f"{collection.name}/{key} changed during the write")
    doc_id, created, updated = row
    indexed = collection.indexed_paths
    if indexed:
        wanted = keys.keys_of(new, indexed)
        if old is None or wanted != keys.keys_of(old, indexed):
            yield Query("doc_keys_set", {"id": doc_id, "collection": collection.id,
                                         "keys": json.dumps(wanted, ensure_ascii=False)})
    event = {"collection": collection.name, "key": key, "version": version, "agent": agent}
    yield Query("doc_event", {"project": project, "topic": topic, "payload": json.dumps(event, ensure_ascii=False),
                              "refs": json.dumps({"collection": collection.name, "key": key}, ensure_ascii=False)})
    return Document(collection.name, key, new, version, None, agent, to_datetime(created), to_datetime(updated))


def _expect(collection: Collection, key: str, current: tuple[Any, ...] | None, expected: int | None) -> None:
    if expected is None:
        return
    have = 0 if current is None else int(current[2])
    if have != expected:
        now = f"it is at version {have}" if have else "it does not exist"
        wanted = "to be absent" if expected == 0 else f"at version {expected}"
        raise errors.VersionConflict(f"{collection.name}/{key} was expected {wanted}, but {now}")


@atomic
def put(project: str, collection_name: str, key: str, body: dict[str, Any], expected: int | None,
        parent: str | None, agent: str | None) -> Op[Document]:
    collection = yield from must_get(project, collection_name)
    current = (yield Query("doc_for_write", {"collection": collection.id, "key": key})).one()
    _expect(collection, key, current, expected)
    old = None if current is None else v.stored_json(current[1])
    new = json.loads(body_text(body, f"the body of {collection_name}/{key}"))  # (a copy the caller cannot change)
    text = _checked(collection, key, old, new)
    parent_id = yield from _parent_id(project, collection, parent)
    doc = yield from _write(project, collection, key, current, old, new, text, parent_id, agent, None, "document.put")
    doc.parent = yield from _parent_key(project, collection, parent, current)
    return doc


@atomic
def patch(project: str, collection_name: str, key: str, ops: list[patches.Op], expected: int | None,
          agent: str | None) -> Op[Document]:
    collection = yield from must_get(project, collection_name)
    current = (yield Query("doc_for_write", {"collection": collection.id, "key": key})).one()
    if current is None:
        raise errors.DocumentNotFound(f"no document {collection_name}/{key} to patch")
    _expect(collection, key, current, expected)
    old = v.stored_json(current[1])
    new = patches.apply(v.stored_json(current[1]), ops)
    text = _checked(collection, key, old, new)
    change = json.dumps([op.as_json() for op in ops], ensure_ascii=False, separators=(",", ":"))
    doc = yield from _write(project, collection, key, current, old, new, text, None, agent, change,
                            "document.patched")
    doc.parent = yield from _parent_key(project, collection, None, current)
    return doc


def _parent_key(project: str, collection: Collection, given: str | None,
                current: tuple[Any, ...] | None) -> Op[str | None]:
    """The parent's key for the returned document (one read, only when there is a parent)."""
    if given is not None:
        return given
    if current is None or current[3] is None:
        return None
    row = (yield Query("doc_get_key", {"id": current[3]})).one()
    return None if row is None else str(row[0])


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
    collection = yield from must_get(project, collection_name)
    current = (yield Query("doc_for_write", {"collection": collection.id, "key": key})).one()
    if current is None:
        if expected is not None:
            raise errors.VersionConflict(f"{collection_name}/{key} was expected at version {expected}, but it "
                                         "does not exist")
        return 0
    _expect(collection, key, current, expected)
    below, restricted, example = (yield Query("doc_descendants", {"id": current[0]})).one() or (0, 0, None)
    if restricted:
        raise errors.DeleteRestricted(
            f"{collection_name}/{key} has {restricted} document(s) below it in collections declared "
            f"on_parent_delete='restrict' (such as {example}); delete those first. Nothing was deleted")
    yield Query("doc_delete", {"id": current[0]})
    event = {"collection": collection_name, "key": key, "version": int(current[2]), "cascaded": int(below)}
    yield Query("doc_event", {"project": project, "topic": "document.deleted", "payload": json.dumps(event),
                              "refs": json.dumps({"collection": collection_name, "key": key})})
    return 1 + int(below)
