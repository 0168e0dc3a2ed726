"""``RoostLangGraphStore``: LangGraph's long-term memory store (``BaseStore``) on a roost store.

``batch`` runs a list of operations as LangGraph's in-memory store does: the reads (gets, searches,
namespace listings) see the store as it was before the batch, and the batch's puts and deletes
(the last one for each item wins) are then written in one transaction. All the gets of a batch
are one statement.

Namespaces match by whole labels (``("acme",)`` is not a prefix of ``("acme-corp",)``); labels
LangGraph forbids (empty, with a ``.`` or a NUL) are refused with LangGraph's own error, before
anything is read or written. Items may expire (``ttl`` in minutes, as LangGraph counts it): an
expired item is gone for every read at once, a read restarts the time to live unless told not to,
and roost's cleanup removes expired rows. A search with a ``query`` is roost's full-text search
over the items (its query language: words, "phrases", prefix*, -exclusions, OR; an index kept in
the writing transaction, FTS5's bm25 or PostgreSQL's ts_rank_cd; docs/search.md); this store has
no embedding index (``index=`` is not supported).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    validate_op_namespace,
)

from roost import _validate as v
from roost import errors
from roost.integrations.langgraph import items as ops
from roost.integrations.langgraph._on_roost import OnRoost
from roost.integrations.langgraph.items import SEP, ItemRow

if TYPE_CHECKING:
    from roost._async import AsyncStore
    from roost.store import Store


VALUE_MAX_BYTES = 1 << 20
"""The largest item value, as JSON."""

SCAN_PAGE = 500
"""Items read per statement when a search filters (LangGraph's filters are applied in Python)."""

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")


class UnsupportedFilter(errors.InvalidArgument, ValueError):
    """A search filter uses an operator the store does not know.

    A ValueError too, as LangGraph's own stores raise for it."""


class RoostLangGraphStore(OnRoost, BaseStore):
    """LangGraph's ``BaseStore`` in roost (SQLite or PostgreSQL), in ``store``'s project.

    ``ttl`` is LangGraph's TTLConfig: ``default_ttl`` (minutes) for puts that give none, and
    ``refresh_on_read`` (default True). ``sweep_interval_minutes`` is not used: roost's cleanup
    (``store.cleanup()``, ``roost cleanup`` or the worker's own passes) removes expired items."""

    supports_ttl = True

    def __init__(self, store: Store | AsyncStore, *, ttl: TTLConfig | None = None) -> None:
        self._attach(store)
        self.ttl_config = ttl

    async def abatch(self, ops_: Iterable[Op]) -> list[Result]:
        return await self._run(self.batch, list(ops_))

    def batch(self, ops_: Iterable[Op]) -> list[Result]:
        todo = list(ops_)
        texts = {id(op): text for op in todo if (text := _check(op)) is not None}  # (each value encoded once)
        project = self._store.project
        results: list[Result] = [None] * len(todo)
        refresh: dict[tuple[str, str], None] = {}
        gets = [(i, op) for i, op in enumerate(todo) if isinstance(op, GetOp)]
        if gets:
            keys = list(dict.fromkeys((ops.joined(op.namespace), str(op.key)) for _, op in gets))
            found = self._store._execute(ops.get_many, project, keys)
            for i, get in gets:
                row = found.get((ops.joined(get.namespace), str(get.key)))
                results[i] = None if row is None else _item(row)
                if row is not None and row.ttl is not None and get.refresh_ttl:
                    refresh[(row.namespace, row.key)] = None
        for i, op in enumerate(todo):
            if isinstance(op, SearchOp):
                hits = self._search(op)
                results[i] = hits
                if op.refresh_ttl:
                    refresh.update(((ops.joined(h.namespace), h.key), None) for h in hits)
            elif isinstance(op, ListNamespacesOp):
                results[i] = self._namespaces(op)
        last: dict[tuple[str, str], PutOp] = {}
        for op in todo:
            if isinstance(op, PutOp):
                last[(ops.joined(op.namespace), str(op.key))] = op
        puts, deletes = [], []
        if last:
            vectors = self._store.capabilities.search_vectors
            if vectors:
                from roost.search import tokens
            for (ns, key), op in last.items():
                if op.value is None:
                    deletes.append((project, ns, key))
                else:
                    seconds = None if op.ttl is None else float(op.ttl) * 60.0
                    put: tuple[Any, ...] = (project, ns, key, texts[id(op)], seconds, seconds)
                    if vectors:  # (PostgreSQL: the search vector is computed here, as for memories)
                        put += (tokens.vector(tokens.memory_text(key, dict(op.value))),)
                    puts.append(put)
        if refresh or puts or deletes:  # (the reads' refreshes and the writes: one transaction)
            self._store._execute(ops.write, [(project, ns, key) for ns, key in refresh], puts, deletes)
        return results

    # -- search ---------------------------------------------------------------------------

    def _search(self, op: SearchOp) -> list[SearchItem]:
        limit, offset = _count(op.limit, "limit"), _count(op.offset, "offset")
        prefix, project = tuple(op.namespace_prefix), self._store.project
        if op.filter:
            _check_filter(op.filter)
        read: Callable[[int, int], list[tuple[ItemRow, float | None]]]
        if op.query is not None:
            from roost.search import query

            parsed = query.parse(op.query)
            if parsed.matches_nothing:
                return []
            expression = query.tsquery(parsed) if self._store.capabilities.search_vectors else query.fts5(parsed)

            def read(size: int, start: int) -> list[tuple[ItemRow, float | None]]:
                return list(self._store._execute(ops.match, project, prefix, expression, size, start))
        else:
            def read(size: int, start: int) -> list[tuple[ItemRow, float | None]]:
                return [(r, None) for r in self._store._execute(ops.search, project, prefix, size, start)]

        if not op.filter:
            return [_hit(r, json.loads(r.value), score) for r, score in read(limit, offset)]
        kept: list[tuple[ItemRow, dict[str, Any], float | None]] = []
        start = 0
        while len(kept) < offset + limit:  # (the filter is LangGraph's, applied here, page by page)
            rows = read(SCAN_PAGE, start)
            for row, score in rows:
                value = json.loads(row.value)
                if all(_compare(value.get(k), f) for k, f in op.filter.items()):
                    kept.append((row, value, score))
            start += len(rows)
            if len(rows) < SCAN_PAGE:
                break
        return [_hit(r, value, score) for r, value, score in kept[offset:offset + limit]]

    def _namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        limit, offset = _count(op.limit, "limit"), _count(op.offset, "offset")
        conditions = tuple(op.match_conditions or ())
        literal: list[str] = []
        for condition in conditions:
            if condition.match_type == "prefix":
                for label in condition.path:
                    if label == "*":
                        break
                    literal.append(label)
                break
        found = {tuple(text.split(SEP)) for text in self._store._execute(ops.namespaces, self._store.project,
                                                                           tuple(literal))}
        chosen = [ns for ns in found if all(_matches(c, ns) for c in conditions)]
        if op.max_depth is not None:
            chosen = list({ns[: op.max_depth] for ns in chosen})
        return sorted(chosen)[offset:offset + limit]


def _check(op: object) -> str | None:
    """Refuse what LangGraph refuses, and what roost cannot store; a put's value as JSON."""
    if not isinstance(op, GetOp | PutOp | SearchOp | ListNamespacesOp):
        raise ValueError(f"Unknown operation type: {type(op)}")
    validate_op_namespace(op)
    if isinstance(op, PutOp | GetOp) and not op.namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    if isinstance(op, PutOp) and op.value is not None:
        if not isinstance(op.value, dict):
            raise errors.InvalidArgument(f"an item's value must be a dict, not {type(op.value).__name__}")
        if op.ttl is not None and (not isinstance(op.ttl, int | float) or op.ttl <= 0 or math.isnan(op.ttl)):
            raise errors.InvalidArgument(f"ttl must be a positive number of minutes or None, not {op.ttl!r}")
        return v.to_json(dict(op.value), "the item's value", VALUE_MAX_BYTES)
    return None


def _count(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise errors.InvalidArgument(f"{what} must be a whole number of 0 or more, not {value!r}")
    return value


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _item(row: ItemRow) -> Item:
    return Item(value=json.loads(row.value), key=row.key, namespace=tuple(row.namespace.split(SEP)),
                created_at=_when(row.created), updated_at=_when(row.updated))


def _hit(row: ItemRow, value: dict[str, Any], score: float | None) -> SearchItem:
    return SearchItem(tuple(row.namespace.split(SEP)), row.key, value, _when(row.created), _when(row.updated), score)


def _matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """LangGraph's rule: the path's labels equal the namespace's first (prefix) or last (suffix)
    ones, ``*`` matching any one label."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValueError(f"Unsupported match type: {condition.match_type}")
    return all(p == "*" or k == p for k, p in pairs)


def _check_filter(filter_: dict[str, Any]) -> None:
    stack: list[Any] = [filter_]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(key, str) and key.startswith("$") and key not in OPERATORS:
                    raise UnsupportedFilter(f"Unsupported operator: {key} (use one of {', '.join(OPERATORS)})")
                stack.append(value)
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _compare(value: Any, wanted: Any) -> bool:
    """LangGraph's filter rule (its in-memory store's, after PostgreSQL's JSONB): a dict of
    operators applies each; another dict matches a dict key by key; a list matches element by
    element; anything else by equality. A comparison with a value that is no number is no match."""
    if isinstance(wanted, dict):
        if any(k.startswith("$") for k in wanted):
            return all(_operator(value, k, w) for k, w in wanted.items())
        return isinstance(value, dict) and all(_compare(value.get(k), w) for k, w in wanted.items())
    if isinstance(wanted, list | tuple):
        return (isinstance(value, list | tuple) and len(value) == len(wanted)
                and all(_compare(a, b) for a, b in zip(value, wanted, strict=True)))
    return bool(value == wanted)


def _operator(value: Any, name: str, wanted: Any) -> bool:
    if name == "$eq":
        return bool(value == wanted)
    if name == "$ne":
        return bool(value != wanted)
    try:
        a, b = float(value), float(wanted)
    except (TypeError, ValueError):
        return False
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[name]
