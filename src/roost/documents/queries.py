"""Queries over a collection: ``where`` on indexed paths, a parent, key order, pages.

One condition drives the query through the key index (a range, else a set of keys); the others
are checked against the same index for each candidate, and ``$ne``/``$nin`` exclude. Results come
in document key order; the page's cursor is the last key.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from roost import errors
from roost._op import Op, Query, repeatable
from roost.documents import keys, paths
from roost.documents.collections import Collection, must_get
from roost.documents.records import Document, document_of, key_of
from roost.memory._common import Page

LIMIT_MAX = 1000


@repeatable
def query(project: str, collection_name: str, where: object, parent: str | None, limit: int,
          cursor: str | None, order: Order | None,
          known: Collection | None) -> Op[tuple[Page[Document], Collection]]:
    """The page, and the declaration it was planned with. ``known`` is a declaration remembered
    from an earlier call: the query runs with it at once, and each row says the collection's
    current version; if that differs (or no row came back), the declaration is read again and the
    query re-planned with it. A query thus costs one statement while the declaration stands."""
    if known is not None:
        page: Page[Document] | None
        try:
            page, current = yield from _run(project, known, where, parent, limit, cursor, order)
        except errors.InvalidArgument:
            page, current = None, None  # (the remembered declaration may lack a newly indexed path)
        if page is not None and current == known.version:
            return page, known
        collection = yield from must_get(project, collection_name)
        if page is not None and current is None and collection.version == known.version:
            return page, collection  # (nothing matched, and the declaration stands)
    else:
        collection = yield from must_get(project, collection_name)
    page, _ = yield from _run(project, collection, where, parent, limit, cursor, order)
    return page, collection


def _run(project: str, collection: Collection, where: object, parent: str | None, limit: int,
         cursor: str | None, order: Order | None) -> Op[tuple[Page[Document], int | None]]:
    """The query planned with ``collection``, and the collection's version as the rows report it
    (None when no row came back)."""
    conditions = keys.conditions(where, collection.indexed)
    if order is not None and order.path not in collection.indexed:
        raise errors.InvalidArgument(f"order_by: {order.path} is not an indexed path of this collection (indexed: "
                                     f"{', '.join(collection.indexed) or 'none'})")
    parent_id = None
    if parent is not None:
        if collection.parent is None:
            raise errors.InvalidArgument(f"collection {collection.name!r} has no parent collection")
        parent_id = (yield Query("doc_parent_id", {"project": project, "collection": collection.parent,
                                                   "key": parent})).scalar()
        if parent_id is None:
            return Page([], None), None
    positive = [c for c in conditions if not c.negate]
    nots = [[c.path, k] for c in conditions if c.negate for k in (c.keys if c.keys is not None else (c.lo,))]
    # The driver: an equality (its index range is already in key order), else a range, else a set.
    driver = None if order is not None else (
        next((c for c in positive if c.is_point), None)
        or next((c for c in positive if c.keys is None), None) or (positive[0] if positive else None))
    rest = [c.as_json() for c in positive if c is not driver]
    params: dict[str, Any] = {"collection": collection.id, "collection_name": collection.name,
                              "after": cursor or "", "parent": parent_id, "limit": limit + 1,
                              "rest": json.dumps(rest, ensure_ascii=False),
                              "nots": json.dumps(nots, ensure_ascii=False)}
    if order is not None:
        name = "doc_query_ordered_desc" if order.descending else "doc_query_ordered"
        after = json.loads(cursor) if cursor else (["4", ""] if order.descending else ["", ""])
        params |= {"order_path": order.path, "after_key": after[0], "after_doc": after[1]}
    elif driver is None:
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
    more = len(rows) > limit
    if order is not None:
        next_cursor = json.dumps([rows[limit - 1][11], docs[-1].key], ensure_ascii=False) if more else None
    else:
        next_cursor = docs[-1].key if more else None
    return Page(docs, next_cursor), (int(rows[0][10]) if rows else None)


class Order(NamedTuple):
    path: str
    descending: bool


def order_of(order_by: object) -> Order | None:
    """``"priority"`` (lowest first) or ``"-priority"`` (highest first)."""
    if order_by is None:
        return None
    if not isinstance(order_by, str):
        raise errors.InvalidArgument(f"order_by must be a path, not {type(order_by).__name__}")
    descending = order_by.startswith("-")
    return Order(paths.parse(order_by[1:] if descending else order_by, "order_by").text, descending)


def cursor_of(cursor: object, order: Order | None) -> str | None:
    """A cursor as a page gave it: a document key, or for an ordered query a JSON pair."""
    if cursor is None:
        return None
    if order is None:
        return key_of(cursor)
    try:
        pair = json.loads(cursor) if isinstance(cursor, str) else None
    except ValueError:
        pair = None
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
        raise errors.InvalidArgument("cursor is not one a query with this order_by returned")
    return str(cursor)
