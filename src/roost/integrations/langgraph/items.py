"""The item operations behind :class:`~roost.integrations.langgraph.RoostLangGraphStore`.

A namespace is stored as its labels joined with ``.``, which LangGraph forbids inside a label, so
the namespaces under a prefix of whole labels are the prefix itself and the texts from
``prefix + "."`` up to ``prefix + "/"`` (the next code point): ``("acme",)`` never reaches
``("acme-corp",)``. Expired items are invisible to every read at once and removed by roost's
cleanup (docs/langgraph.md).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from roost._op import Batch, Op, Query, atomic, repeatable

SEP = "."
ALL = {"prefix": "", "lo": "", "hi": "\U0010ffff"}
"""Bounds that hold every namespace (no stored namespace is empty)."""


class ItemRow(NamedTuple):
    namespace: str
    key: str
    value: str
    created: float
    updated: float
    ttl: float | None


def joined(namespace: tuple[str, ...]) -> str:
    return SEP.join(namespace)


def bounds(prefix: tuple[str, ...]) -> dict[str, str]:
    """The query parameters for the namespaces equal to ``prefix`` or under it, by whole labels."""
    if not prefix:
        return dict(ALL)
    text = joined(prefix)
    return {"prefix": text, "lo": text + SEP, "hi": text + chr(ord(SEP) + 1)}


def _item(raw: tuple[Any, ...]) -> ItemRow:
    namespace, key, value, created, updated, ttl = raw
    return ItemRow(namespace, key, value, float(created), float(updated), None if ttl is None else float(ttl))


@repeatable
def get_many(project: str, keys: list[tuple[str, str]]) -> Op[dict[tuple[str, str], ItemRow]]:
    rows = (yield Query("lg_items_get", {"project": project, "keys": json.dumps(keys)})).rows
    return {(r[0], r[1]): _item(r) for r in rows}


@repeatable
def search(project: str, prefix: tuple[str, ...], limit: int, offset: int) -> Op[list[ItemRow]]:
    """Items under ``prefix``, most recently updated first (then by namespace and key)."""
    params = {"project": project, **bounds(prefix), "limit": limit, "offset": offset}
    return [_item(r) for r in (yield Query("lg_items_search", params)).rows]


@repeatable
def match(project: str, prefix: tuple[str, ...], expression: str, limit: int,
          offset: int) -> Op[list[tuple[ItemRow, float]]]:
    """Items under ``prefix`` that match a search (``expression``: the backend's form of a parsed
    query), best first, with their scores."""
    params = {"project": project, **bounds(prefix), "match": expression, "limit": limit, "offset": offset}
    return [(_item(r[:6]), float(r[6])) for r in (yield Query("lg_items_match", params)).rows]


@repeatable
def namespaces(project: str, prefix: tuple[str, ...]) -> Op[list[str]]:
    return [r[0] for r in (yield Query("lg_namespaces", {"project": project, **bounds(prefix)})).rows]


@repeatable
@atomic
def write(refresh: list[tuple[str, str, str]], puts: list[tuple[Any, ...]],
          deletes: list[tuple[str, str, str]]) -> Op[None]:
    """A batch's writes, in one transaction: the time to live of items it read restarted
    (``(project, namespace, key)``), its puts (``(project, namespace, key, value, ttl, ttl)``, and
    the search vector on PostgreSQL) and its deletes."""
    if refresh:
        yield Batch("lg_item_refresh", refresh)
    if puts:
        yield Batch("lg_item_put", puts)
    if deletes:
        yield Batch("lg_item_delete", deletes)
