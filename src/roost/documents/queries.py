"""Queries over a collection: ``where`` on indexed paths, a parent, key order, pages.

One condition drives the query through the key index (a range, else a set of keys); the others
are checked against the same index for each candidate, and ``$ne``/``$nin`` exclude. Results come
in document key order; the page's cursor is the last key.
"""

from __future__ import annotations

import json
from typing import Any

from roost import errors
from roost._op import Op, Query, repeatable
from roost.documents import keys
from roost.documents.collections import must_get
from roost.documents.records import Document, document_of
from roost.memory._common import Page

LIMIT_MAX = 1000


@repeatable
def query(project: str, collection_name: str, where: object, parent: str | None, limit: int,
          cursor: str | None) -> Op[Page[Document]]:
    collection = yield from must_get(project, collection_name)
    conditions = keys.conditions(where, collection.indexed)
    parent_id = None
    if parent is not None:
        if collection.parent is None:
            raise errors.InvalidArgument(f"collection {collection_name!r} has no parent collection")
        parent_id = (yield Query("doc_parent_id", {"project": project, "collection": collection.parent,
                                                   "key": parent})).scalar()
        if parent_id is None:
            return Page([], None)
    positive = [c for c in conditions if not c.negate]
    nots = [[c.path, k] for c in conditions if c.negate for k in (c.keys if c.keys is not None else (c.lo,))]
    # The driver: an equality (its index range is already in key order), else a range, else a set.
    driver = (next((c for c in positive if c.is_point), None)
              or next((c for c in positive if c.keys is None), None) or (positive[0] if positive else None))
    rest = [c.as_json() for c in positive if c is not driver]
    params: dict[str, Any] = {"collection": collection.id, "collection_name": collection_name,
                              "after": cursor or "", "parent": parent_id, "limit": limit + 1,
                              "rest": json.dumps(rest, ensure_ascii=False),
                              "nots": json.dumps(nots, ensure_ascii=False)}
    if driver is None:
        name = "doc_list"
    elif driver.is_point:
        name = "doc_query_eq"
        params |= {"path": driver.path, "lo": driver.lo}
    elif driver.keys is None:
        name = "doc_query_range"
        params |= {"path": driver.path, "lo": driver.lo, "hi": driver.hi, "lo_x": driver.lo_x, "hi_x": driver.hi_x}
    else:
        name = "doc_query_in"
        params |= {"path": driver.path, "keys": json.dumps(list(driver.keys), ensure_ascii=False),
                   "key_list": list(driver.keys)}  # (SQLite reads the JSON, PostgreSQL the array)
    rows = (yield Query(name, params)).rows
    docs = [document_of(r) for r in rows[:limit]]
    return Page(docs, docs[-1].key if len(rows) > limit else None)
