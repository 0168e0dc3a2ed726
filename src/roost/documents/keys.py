"""Index keys for the declared ``indexed`` paths, and ``where`` conditions over them.

Each document has one row in ``document_keys`` per scalar value at each indexed path (an array's
scalar elements each get one), holding the value encoded as text whose byte order is the value's
order: ``null`` < ``false`` < ``true`` < numbers < strings, numbers by value, strings by code point
(SQLite's BINARY collation and PostgreSQL's ``"C"`` agree on that). Every condition is then a
range or a set of keys on one B-tree, the same on both backends, and a query never parses a body.

Why a key table and not an expression index per path: an expression index has to name its path
as a literal in the index and in every query (so each query's SQL would be built from user input),
and one per collection and path on a shared table would be updated by every write to every
collection. Here a write touches only its own collection's keys.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from roost import errors
from roost.documents import paths

STRING_KEY_MAX = 512
"""Indexed strings are compared on their first 512 characters (the rest would overflow a B-tree
entry on PostgreSQL); longer ones match as their prefix does."""
INDEXED_MAX = 16
"""Indexed paths per collection."""
IN_MAX = 1000

_TYPE_BOUNDS = {"0": ("0", "00"), "1": ("10", "12"), "2": ("2", "2g"), "3": ("3", "4")}
"""Per type (a key's first character): the lowest key of that type, and a bound just above its
highest one that no key equals (so a range bracketed by type compares like with like)."""
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte")


def encode(value: Any) -> str | None:
    """The sortable key of a scalar; None for objects and arrays (not indexed)."""
    if value is None:
        return "0"
    if isinstance(value, bool):
        return "11" if value else "10"
    if isinstance(value, int | float):
        # (+ 0.0 makes -0.0 the same key as 0.0, as the two are equal numbers)
        (bits,) = struct.unpack(">Q", struct.pack(">d", float(value) + 0.0))
        bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
        return f"2{bits:016x}"
    if isinstance(value, str):
        return "3" + value[:STRING_KEY_MAX]
    return None


def keys_of(body: Any, indexed: Sequence[paths.Path]) -> list[tuple[str, str]]:
    """The (path, key) rows a body has for the indexed paths."""
    rows: list[tuple[str, str]] = []
    for path in indexed:
        value = paths.get(body, path)
        values = value if isinstance(value, list) else [value]
        seen: set[str] = set()
        for item in values:
            if item is paths.MISSING:
                continue
            key = encode(item)
            if key is not None and key not in seen:
                seen.add(key)
                rows.append((path.text, key))
    return rows


@dataclass(frozen=True, slots=True)
class Condition:
    """One path's condition: a key range (``lo``..``hi``, each end excluded when ``lo_x``/``hi_x``
    equals it), or a set of ``keys``; ``negate`` keeps the documents that do NOT match."""

    path: str
    lo: str = ""
    hi: str = ""
    lo_x: str = ""
    hi_x: str = ""
    keys: tuple[str, ...] | None = None
    negate: bool = False

    @property
    def is_point(self) -> bool:
        """One key exactly (an equality), not a range or a set."""
        return self.keys is None and self.lo == self.hi and not self.lo_x and not self.hi_x

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "lo": self.lo, "hi": self.hi, "lo_x": self.lo_x, "hi_x": self.hi_x,
                "keys": None if self.keys is None else list(self.keys)}


def conditions(where: object, indexed: Sequence[str]) -> list[Condition]:
    """``where`` ({path: value | {"$op": value}}) as conditions; every path must be indexed."""
    if where is None:
        return []
    if not isinstance(where, Mapping):
        raise errors.InvalidArgument(f"where must be an object of path: condition, not {type(where).__name__}")
    out: list[Condition] = []
    for raw_path, test in where.items():
        path = paths.parse(raw_path, "a where path").text
        if path not in indexed:
            shown = ", ".join(indexed) or "none"
            raise errors.InvalidArgument(f"where: {path} is not an indexed path of this collection (indexed: "
                                         f"{shown}); declare it in indexed=[...] to query by it")
        if isinstance(test, Mapping):
            if not test:
                raise errors.InvalidArgument(f"where: {path} has an empty condition")
            for op, operand in test.items():
                out.append(_condition(path, op, operand))
        else:
            out.append(_condition(path, "$eq", test))
    return out


def _condition(path: str, op: object, operand: Any) -> Condition:
    if op not in OPERATORS:
        raise errors.InvalidArgument(f"where: {path} has the operator {op!r}; the operators are "
                                     f"{', '.join(OPERATORS)}")
    if op in ("$in", "$nin"):
        if not isinstance(operand, list | tuple) or not operand:
            raise errors.InvalidArgument(f"where: {path} {op} needs a non-empty list of values")
        if len(operand) > IN_MAX:
            raise errors.InvalidArgument(f"where: {path} {op} has {len(operand)} values; the limit is {IN_MAX}")
        keys = tuple(sorted({_scalar(path, op, x) for x in operand}))
        return Condition(path, keys=keys, negate=op == "$nin")
    key = _scalar(path, str(op), operand)
    if op in ("$eq", "$ne"):
        return Condition(path, lo=key, hi=key, negate=op == "$ne")
    low, high = _TYPE_BOUNDS[key[0]]
    if op == "$gt":
        return Condition(path, lo=key, hi=high, lo_x=key, hi_x=high)
    if op == "$gte":
        return Condition(path, lo=key, hi=high, hi_x=high)
    if op == "$lt":
        return Condition(path, lo=low, hi=key, hi_x=key)
    return Condition(path, lo=low, hi=key)  # $lte


def _scalar(path: str, op: str, value: Any) -> str:
    if isinstance(value, float) and value != value:
        raise errors.InvalidArgument(f"where: {path} {op} cannot compare with NaN")
    key = encode(value)
    if key is None:
        raise errors.InvalidArgument(f"where: {path} {op} compares with a string, number, boolean or null, "
                                     f"not {paths.kind(value)}")
    return key
