"""A document's versions (who, when, which patch) and the difference between two of them.

The current version lives in ``documents``; each earlier one, up to the collection's ``history``
count, in ``document_history``. Trimming removes history rows only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.documents import paths
from roost.documents.collections import must_get
from roost.documents.records import get, same


@dataclass(slots=True)
class Version:
    version: int
    agent: str | None
    at: datetime
    change: list[dict[str, Any]] | None
    """The patch operations that made this version, or None where a whole body was put."""

    @property
    def op(self) -> str:
        return "put" if self.change is None else "patch"


@dataclass(slots=True)
class Change:
    path: str
    kind: str
    """``added``, ``removed`` or ``changed``."""
    before: Any = None
    after: Any = None


@repeatable
def history(project: str, collection_name: str, key: str) -> Op[list[Version]]:
    row = (yield Query("doc_get", {"project": project, "collection_name": collection_name, "key": key})).one()
    collection = yield from must_get(project, collection_name)
    if row is None:
        raise errors.DocumentNotFound(f"no document {collection_name}/{key}")
    out = [Version(int(row[5]), row[6], to_datetime(row[9]), _change(row[7]))]
    for number, agent, change, at in (yield Query("doc_history", {"collection": collection.id, "key": key})).rows:
        out.append(Version(int(number), agent, to_datetime(at), _change(change)))
    return out


def _change(text: str | None) -> list[dict[str, Any]] | None:
    return None if text is None else list(v.stored_json(text))


@repeatable
def diff(project: str, collection_name: str, key: str, a: int, b: int) -> Op[list[Change]]:
    bodies = []
    for number in (a, b):
        doc = yield from get(project, collection_name, key, number)
        if doc is None:
            raise errors.DocumentNotFound(f"{collection_name}/{key} has no version {number} (the collection keeps "
                                          "the last versions its history count allows)")
        bodies.append(doc.body)
    out: list[Change] = []
    _compare(bodies[0], bodies[1], (), out)
    return out


def _compare(a: Any, b: Any, at: tuple[paths.Segment, ...], out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            here = (*at, k)
            if k not in b:
                out.append(Change(paths.show(here), "removed", before=a[k]))
            elif k not in a:
                out.append(Change(paths.show(here), "added", after=b[k]))
            else:
                _compare(a[k], b[k], here, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        ids_a, ids_b = _ids(a), _ids(b)
        if ids_a is not None and ids_b is not None:
            for ident in list(ids_a) + [i for i in ids_b if i not in ids_a]:
                here = (*at, paths.Match("id", ident))
                if ident not in ids_b:
                    out.append(Change(paths.show(here), "removed", before=ids_a[ident]))
                elif ident not in ids_a:
                    out.append(Change(paths.show(here), "added", after=ids_b[ident]))
                else:
                    _compare(ids_a[ident], ids_b[ident], here, out)
            return
        for i in range(max(len(a), len(b))):
            here = (*at, i)
            if i >= len(b):
                out.append(Change(paths.show(here), "removed", before=a[i]))
            elif i >= len(a):
                out.append(Change(paths.show(here), "added", after=b[i]))
            else:
                _compare(a[i], b[i], here, out)
        return
    if not same(a, b):
        out.append(Change(paths.show(at), "changed", before=a, after=b))


def _ids(items: list[Any]) -> dict[str, Any] | None:
    """Elements by their ``id`` when every element is an object with a distinct string or integer id."""
    found: dict[str, Any] = {}
    for item in items:
        ident = item.get("id") if isinstance(item, dict) else None
        if isinstance(ident, bool) or not isinstance(ident, str | int) or str(ident) in found:
            return None
        found[str(ident)] = item
    return found


def as_json(changes: list[Change]) -> list[dict[str, Any]]:
    return [{"path": c.path, "kind": c.kind, **({} if c.kind == "added" else {"before": c.before}),
             **({} if c.kind == "removed" else {"after": c.after})} for c in changes]


def dumps(changes: list[Change]) -> str:
    return json.dumps(as_json(changes), ensure_ascii=False)
