"""Checks at the public boundary: every name, duration and JSON value is refused here, with a message
naming the argument, before any statement runs. The limits are documented in docs/coordination.md.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from roost.errors import InvalidArgument

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Lengths in characters; JSON sizes in UTF-8 bytes.
SIGNAL_KEY_MAX = 256
LOCK_NAME_MAX = 512
OWNER_MAX = 256
AGENT_NAME_MAX = 128
LABEL_MAX = 64
COMMAND_MAX = 4096
JSON_MAX_BYTES = 64 * 1024
JSON_DEPTH_MAX = 64
"""Arrays and objects may nest this deep in any JSON roost stores. Far beyond what agents write,
and far below the depth at which Python's own JSON code (and so every reader) runs out of stack."""


def name(value: object, what: str, max_len: int) -> str:
    """A key, lock name, owner or label: 1..max_len characters, no control characters, no
    surrounding whitespace, valid Unicode (PostgreSQL text cannot hold NUL or lone surrogates)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string, not {type(value).__name__}")
    if not value:
        raise InvalidArgument(f"{what} must not be empty")
    if len(value) > max_len:
        raise InvalidArgument(f"{what} is {len(value)} characters long; the limit is {max_len}")
    if _CONTROL.search(value):
        raise InvalidArgument(f"{what} {shown(value)} contains a control character")
    if value != value.strip():
        raise InvalidArgument(f"{what} {shown(value)} must not start or end with whitespace")
    _encodable(value, what)
    return value


def prefix(value: object, what: str, max_len: int) -> str:
    """A prefix for listing: like :func:`name`, but may be empty."""
    if value == "":
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > max_len or _CONTROL.search(value):
        raise InvalidArgument(f"{what} {shown(value)} is not a valid prefix")
    _encodable(value, what)
    return value


def seconds(value: object, what: str, low: float, high: float) -> float:
    """A duration in seconds within [low, high]; booleans, NaN and infinities are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{what} must be a number of seconds, not {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < low or number > high:
        raise InvalidArgument(f"{what} = {value!r} is out of range: allowed from {low:g} to {high:g} seconds")
    return number


def integer(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{what} must be a whole number, not {type(value).__name__}")
    if not low <= value <= high:
        raise InvalidArgument(f"{what} = {value} is out of range: allowed from {low} to {high}")
    return value


def to_json(value: Any, what: str, max_bytes: int = JSON_MAX_BYTES) -> str:
    """Encode ``value`` as compact JSON text, refusing what JSON cannot carry exactly (keys that are
    not strings, which JSON would silently turn into strings; NaN), what nests deeper than
    JSON_DEPTH_MAX, and what is too big."""
    if isinstance(value, dict | list | tuple):
        _check_shape(value, what)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{what} cannot be stored as JSON: {exc}") from None
    size = len(_encodable(text, what))
    if size > max_bytes:
        raise InvalidArgument(f"{what} is {size:,} bytes as JSON; the limit is {max_bytes:,}")
    return text


def check_shape(value: Any, what: str, below: int = 0) -> None:
    """Refuse what JSON cannot carry exactly (keys that are not strings) and what would nest deeper
    than JSON_DEPTH_MAX once placed ``below`` levels down (a patch's value at its path)."""
    if isinstance(value, dict | list | tuple):
        _check_shape(value, what, 1 + below)


def _check_shape(value: dict[Any, Any] | list[Any] | tuple[Any, ...], what: str, start: int = 1) -> None:
    """Walk the containers of ``value`` without recursion: depth and key types."""
    stack: list[tuple[Any, int]] = [(value, start)]
    while stack:
        item, depth = stack.pop()
        if depth > JSON_DEPTH_MAX:
            raise InvalidArgument(f"{what} nests arrays and objects {JSON_DEPTH_MAX + 1} or more levels deep; "
                                  f"the limit is {JSON_DEPTH_MAX}")
        if isinstance(item, dict):
            for key in item:
                if not isinstance(key, str):
                    raise InvalidArgument(f"{what} has the key {shown(key)} ({type(key).__name__}); "
                                          "JSON object keys must be strings")
            children = item.values()
        else:
            children = item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))


def parse_json(text: str, what: str) -> Any:
    """Parse JSON given by a person (the CLI), naming what was wrong with it."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidArgument(f"{what} nests deeper than {JSON_DEPTH_MAX} levels") from None
    return value


def stored_json(text: str) -> Any:
    """Decode JSON read back from the store. Values written before the depth limit existed may nest
    deeper than it: too deep to decode at all, or deep enough to break whatever encodes or prints
    them next. Rather than fail every read (and a subscriber on every restart), such a value reads
    as a small object that says so and carries the stored text unchanged."""
    try:
        value = json.loads(text)
    except RecursionError:
        return _unreadable(text)
    if text.count("[") + text.count("{") > JSON_DEPTH_MAX and isinstance(value, dict | list):  # cheap test first
        try:
            _check_shape(value, "stored JSON")
        except InvalidArgument:
            return _unreadable(text)
    return value


def _unreadable(text: str) -> dict[str, str]:
    return {"roost_unreadable": f"stored before roost limited JSON to {JSON_DEPTH_MAX} levels of nesting, "
                                "and nested deeper", "json": text}


def default_owner() -> str:
    """``ROOST_AGENT`` if set, else ``host:pid`` of this process."""
    return os.environ.get("ROOST_AGENT") or f"{hostname()}:{os.getpid()}"


def owner(value: str | None) -> str:
    return name(default_owner() if value is None else value, "owner", OWNER_MAX)


def _encodable(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{what} is not valid Unicode (it holds a lone surrogate)") from None


def shown(value: object) -> str:
    """``repr(value)`` for an error message: at most 60 characters, and never itself an error (a
    caller's argument may nest deeper than repr can go)."""
    try:
        text = repr(value)
    except RecursionError:
        return f"<a {type(value).__name__} nested too deep to show>"
    return text if len(text) <= 60 else text[:57] + "..."


def hostname() -> str:
    """This machine's name (socket is imported here, on first use: most CLI calls never need it)."""
    import socket

    return socket.gethostname()
