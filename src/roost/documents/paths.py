"""Paths into a document body: ``objectives``, ``steps[2].done``, ``features[id=auth].status``.

A path starts at a key of the top-level object and goes on with segments:

- ``.name``: a key made of letters, digits, ``_``, ``-`` and ``$`` (not starting with a digit or
  ``-``); any other key is written ``["a key"]``, a JSON string in brackets;
- ``[2]``: an array element by position, ``[-1]`` the last;
- ``[id=auth]``: the first element of an array that is an object whose field ``id`` equals
  ``auth`` (a string, or a number written the same way); ``[id="a value"]`` quotes a value with
  ``]`` or spaces in it.

Paths are parsed once into segments; nothing of a path ever reaches SQL as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from roost import _validate as v
from roost import errors

PATH_MAX = 512
SEGMENTS_MAX = 32

_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_INDEX = re.compile(r"\[(-?[0-9]{1,9})\]")
_MATCH = re.compile(r"\[([A-Za-z_$][A-Za-z0-9_$-]*)=")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


class Missing:
    """What a path resolves to when nothing is there (a value of its own, unlike None: null)."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


@dataclass(frozen=True, slots=True)
class Match:
    """An array element chosen by one of its fields: ``[field=value]``."""

    field: str
    value: str

    def __str__(self) -> str:
        bare = re.fullmatch(r"[^\]\"\s=]+", self.value)
        return f"[{self.field}={self.value if bare else json.dumps(self.value)}]"

    def picks(self, element: Any) -> bool:
        if not isinstance(element, dict):
            return False
        have = element.get(self.field, MISSING)
        if isinstance(have, str):
            return have == self.value
        if isinstance(have, int) and not isinstance(have, bool):
            return str(have) == self.value
        return False


Segment = str | int | Match


@dataclass(frozen=True, slots=True)
class Path:
    text: str
    segments: tuple[Segment, ...]

    def __str__(self) -> str:
        return self.text


def parse(text: object, what: str = "path") -> Path:
    """Parse ``text`` into a :class:`Path`, or raise InvalidArgument saying where it is wrong."""
    if not isinstance(text, str):
        raise errors.InvalidArgument(f"{what} must be a string, not {type(text).__name__}")
    if not text:
        raise errors.InvalidArgument(f"{what} must not be empty")
    if len(text) > PATH_MAX:
        raise errors.InvalidArgument(f"{what} is {len(text)} characters long; the limit is {PATH_MAX}")
    segments: list[Segment] = []
    i = 0
    while i < len(text):
        if len(segments) >= SEGMENTS_MAX:
            raise errors.InvalidArgument(f"{what} {v.shown(text)} has more than {SEGMENTS_MAX} segments")
        start = i
        if i == 0 or text[i] == ".":
            if text[i] == ".":
                if i == 0:
                    raise _bad(text, what, i, "a path starts with a key, not '.'")
                i += 1
            m = _NAME.match(text, i)
            if m is None:
                if i == 0 and text.startswith('["'):
                    i, key = _quoted_key(text, what, i)
                    segments.append(key)
                    continue
                raise _bad(text, what, i, "expected a key (letters, digits, _ - $; others as [\"...\"])")
            segments.append(m.group())
            i = m.end()
            continue
        if text[i] != "[":
            raise _bad(text, what, start, "expected '.', '[' or the end")
        if text.startswith('["', i):
            i, key = _quoted_key(text, what, i)
            segments.append(key)
        elif m := _INDEX.match(text, i):
            segments.append(int(m.group(1)))
            i = m.end()
        elif m := _MATCH.match(text, i):
            i = m.end()
            if text.startswith('"', i):
                q = _JSON_STRING.match(text, i)
                if q is None or not text.startswith("]", q.end()):
                    raise _bad(text, what, i, "an unterminated quoted value")
                value = json.loads(q.group())
                i = q.end() + 1
            else:
                end = text.find("]", i)
                if end <= i:
                    raise _bad(text, what, i, "expected a value and ']'")
                value = text[i:end]
                i = end + 1
            segments.append(Match(m.group(1), value))
        else:
            raise _bad(text, what, i, "expected [n], [field=value] or [\"key\"]")
    if not isinstance(segments[0], str):
        raise _bad(text, what, 0, "a path starts with a key")
    return Path(text, tuple(segments))


def _quoted_key(text: str, what: str, i: int) -> tuple[int, str]:
    q = _JSON_STRING.match(text, i + 1)
    if q is None or not text.startswith("]", q.end()):
        raise _bad(text, what, i, 'an unterminated ["key"]')
    key = json.loads(q.group())
    if not isinstance(key, str) or not key:
        raise _bad(text, what, i, "an empty key")
    return q.end() + 1, key


def _bad(text: str, what: str, at: int, why: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"{what} {v.shown(text)} is not valid at character {at + 1}: {why}")


def show(segments: tuple[Segment, ...] | list[Any]) -> str:
    """Write segments (or a jsonschema error's path of keys and indexes) in the path form."""
    out = ""
    for s in segments:
        if isinstance(s, Match):
            out += str(s)
        elif isinstance(s, int):
            out += f"[{s}]"
        elif _NAME.fullmatch(s):
            out += f".{s}" if out else s
        else:
            out += f"[{json.dumps(s)}]"
    return out or "(the whole body)"


# -- reading and writing through a path ---------------------------------------------------------


def _step(node: Any, segment: Segment) -> Any:
    """One segment down from ``node``, or MISSING."""
    if isinstance(segment, str):
        return node.get(segment, MISSING) if isinstance(node, dict) else MISSING
    if not isinstance(node, list):
        return MISSING
    if isinstance(segment, int):
        return node[segment] if -len(node) <= segment < len(node) else MISSING
    return next((e for e in node if segment.picks(e)), MISSING)


def get(body: Any, path: Path) -> Any:
    """The value at ``path``, or MISSING."""
    node = body
    for segment in path.segments:
        node = _step(node, segment)
        if node is MISSING:
            return MISSING
    return node


def parent_of(body: Any, path: Path, create: bool) -> tuple[Any, Segment]:
    """The container holding the last segment of ``path``, and that segment (an int or Match
    resolved to the element's position). With ``create``, missing objects along the way are
    made; an array position or element that does not exist is an error."""
    node = body
    for depth, segment in enumerate(path.segments[:-1]):
        nxt = _step(node, segment)
        if nxt is MISSING:
            if create and isinstance(segment, str) and isinstance(node, dict):
                nxt = node[segment] = {}
            else:
                raise _nothing(path, depth, node, segment)
        node = nxt
    last = path.segments[-1]
    if isinstance(last, str):
        if not isinstance(node, dict):
            raise errors.InvalidArgument(f"{path}: {show(path.segments[:-1])} holds {kind(node)}, not an object")
        return node, last
    if not isinstance(node, list):
        raise errors.InvalidArgument(f"{path}: {show(path.segments[:-1])} holds {kind(node)}, not an array")
    if isinstance(last, int):
        if not -len(node) <= last < len(node):
            raise errors.InvalidArgument(f"{path}: {show(path.segments[:-1])} has {len(node)} elements, "
                                         f"no [{last}]")
        return node, last % len(node)
    for position, element in enumerate(node):
        if last.picks(element):
            return node, position
    raise errors.InvalidArgument(f"{path}: no element of {show(path.segments[:-1])} has {last.field} = "
                                 f"{last.value!r}")


def _nothing(path: Path, depth: int, node: Any, segment: Segment) -> errors.InvalidArgument:
    where = show(path.segments[: depth + 1])
    if isinstance(segment, Match) and isinstance(node, list):
        return errors.InvalidArgument(f"{path}: no element of {show(path.segments[:depth])} has "
                                      f"{segment.field} = {segment.value!r}")
    return errors.InvalidArgument(f"{path}: there is nothing at {where}")


def kind(value: Any) -> str:
    """A JSON value's kind, for messages: 'an object', 'an array', 'a string', …"""
    if value is MISSING:
        return "nothing"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"
