"""Patch operations, checked up front and applied to a body read inside the write's transaction.

An operation is a dict: ``{"op": "set", "path": "status", "value": "done"}``. The operations:

- ``set`` path value: put ``value`` at ``path``, making missing objects along the way;
- ``merge`` [path] value: an RFC 7396 merge patch (a ``null`` removes a key) into the object at
  ``path``, or into the whole body without one;
- ``remove`` path: take the key or element away (nothing there: nothing to do);
- ``append`` path value [max_len]: add to the end of the array at ``path`` (made if missing),
  then keep only the newest ``max_len`` elements;
- ``increment`` path [by]: add ``by`` (1) to the number at ``path`` (missing counts as 0).

:func:`check` validates the list before anything is read, so a malformed patch costs no
transaction; :func:`apply` then changes a freshly decoded body in place and raises
InvalidArgument naming the path when a value has the wrong kind (appending to an object).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from roost import _validate as v
from roost import errors
from roost.documents import paths

OPS_MAX = 256
MAX_LEN_MAX = 1_000_000
VALUE_MAX_BYTES = 2**20
_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # op: (required, optional)
    "set": ({"path", "value"}, set()),
    "merge": ({"value"}, {"path"}),
    "remove": ({"path"}, set()),
    "append": ({"path", "value"}, {"max_len"}),
    "increment": ({"path"}, {"by"}),
}


@dataclass(frozen=True, slots=True)
class Op:
    op: str
    path: paths.Path | None
    value: Any = None
    max_len: int | None = None
    by: int | float = 1

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op}
        if self.path is not None:
            out["path"] = self.path.text
        if self.op in ("set", "merge", "append"):
            out["value"] = self.value
        if self.max_len is not None:
            out["max_len"] = self.max_len
        if self.op == "increment":
            out["by"] = self.by
        return out


def check(ops: object) -> list[Op]:
    """The patch as checked operations; InvalidArgument naming the first bad one."""
    if isinstance(ops, Mapping):
        ops = [ops]
    if not isinstance(ops, Sequence) or isinstance(ops, str | bytes):
        raise errors.InvalidArgument("a patch is a list of operations such as {\"op\": \"set\", \"path\": \"status\", "
                                     "\"value\": \"done\"}")
    if not ops:
        raise errors.InvalidArgument("a patch needs at least one operation")
    if len(ops) > OPS_MAX:
        raise errors.InvalidArgument(f"a patch has {len(ops)} operations; the limit is {OPS_MAX}")
    return [_one(i, raw) for i, raw in enumerate(ops)]


def _one(i: int, raw: object) -> Op:
    where = f"patch operation {i + 1}"
    if not isinstance(raw, Mapping):
        raise errors.InvalidArgument(f"{where} must be an object with an \"op\", not {type(raw).__name__}")
    name = raw.get("op")
    if name not in _FIELDS:
        raise errors.InvalidArgument(f"{where} has op {name!r}; the operations are {', '.join(_FIELDS)}")
    required, optional = _FIELDS[name]
    given = set(raw) - {"op"}
    if missing := required - given:
        raise errors.InvalidArgument(f"{where} ({name}) needs {', '.join(sorted(missing))}")
    if extra := given - required - optional:
        raise errors.InvalidArgument(f"{where} ({name}) does not take {', '.join(sorted(extra))}")
    path = paths.parse(raw["path"], f"{where} path") if "path" in raw else None
    value = raw.get("value")
    max_len = raw.get("max_len")
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int)
                                or not 1 <= max_len <= MAX_LEN_MAX):
        raise errors.InvalidArgument(f"{where}: max_len must be a whole number from 1 to {MAX_LEN_MAX:,}")
    by = raw.get("by", 1)
    if isinstance(by, bool) or not isinstance(by, int | float) or not math.isfinite(by):
        raise errors.InvalidArgument(f"{where}: by must be a finite number, not {by!r}")
    if name == "merge" and not isinstance(value, Mapping):
        raise errors.InvalidArgument(f"{where}: a merge value must be an object, not {paths.kind(value)}")
    # The value's shape is checked here, as deep as it will sit (an element of an array one more),
    # so the patched body, whose other parts were checked when stored, need not be walked again.
    v.check_shape(value, f"{where} value", (0 if path is None else len(path.segments)) + (name == "append"))
    v.to_json(value, f"{where} value", VALUE_MAX_BYTES)  # (NaN, lone surrogates, what JSON cannot hold)
    return Op(name, path, value, max_len, by)


def apply(body: dict[str, Any], ops: Sequence[Op]) -> dict[str, Any]:
    """Apply ``ops`` in order to ``body`` (changed in place, and returned)."""
    for op in ops:
        if op.op == "merge":
            if op.path is None:
                _merge(body, op.value)
                continue
            target = paths.get(body, op.path)
            if target is paths.MISSING or target is None:
                _put(body, op.path, _merge({}, op.value))
            elif isinstance(target, dict):
                _merge(target, op.value)
            else:
                raise errors.InvalidArgument(f"cannot merge into {op.path}: it holds {paths.kind(target)}, "
                                             "not an object")
        elif op.op == "set":
            assert op.path is not None
            _put(body, op.path, _copy(op.value))
        elif op.op == "remove":
            assert op.path is not None
            _remove(body, op.path)
        elif op.op == "append":
            assert op.path is not None
            target = paths.get(body, op.path)
            if target is paths.MISSING:
                target = []
                _put(body, op.path, target)
            elif not isinstance(target, list):
                raise errors.InvalidArgument(f"cannot append to {op.path}: it holds {paths.kind(target)}, "
                                             "not an array")
            target.append(_copy(op.value))
            if op.max_len is not None and len(target) > op.max_len:
                del target[: len(target) - op.max_len]
        else:  # increment
            assert op.path is not None
            current = paths.get(body, op.path)
            if current is paths.MISSING:
                current = 0
            elif isinstance(current, bool) or not isinstance(current, int | float):
                raise errors.InvalidArgument(f"cannot increment {op.path}: it holds {paths.kind(current)}, "
                                             "not a number")
            total = current + op.by
            if not math.isfinite(total):
                raise errors.InvalidArgument(f"incrementing {op.path} would give {total}, which JSON cannot hold")
            _put(body, op.path, total)
    return body


def _put(body: dict[str, Any], path: paths.Path, value: Any) -> None:
    container, last = paths.parent_of(body, path, create=True)
    if isinstance(last, paths.Match):  # (parent_of resolves a Match to a position)
        raise AssertionError(last)
    container[last] = value


def _remove(body: dict[str, Any], path: paths.Path) -> None:
    try:
        container, last = paths.parent_of(body, path, create=False)
    except errors.InvalidArgument:
        if paths.get(body, path) is paths.MISSING:
            return  # nothing there: nothing to remove
        raise
    if isinstance(container, dict):
        container.pop(last, None)
    else:
        del container[last]


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            inner = target.get(key)
            target[key] = _merge(inner if isinstance(inner, dict) else {}, value)
        else:
            target[key] = _copy(value)
    return target


def _copy(value: Any) -> Any:
    """A copy of a JSON value given by the caller, so the stored body never aliases it."""
    if isinstance(value, Mapping):
        return {k: _copy(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(x) for x in value]
    return value
