"""What the memory kinds share: their grammar of names and labels, text checks, cursors and pages.

The limits here are documented in docs/memory.md; each check names the argument it refuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from roost import _validate as v
from roost import errors
from roost._op import Op, Query

if TYPE_CHECKING:
    from roost.store import Store

T = TypeVar("T")

SESSION_ID_MAX = 128
TITLE_MAX = 1000
PARTICIPANT_MAX = 128
PARTICIPANTS_MAX = 1000
MEMORY_KEY_MAX = 512
MESSAGE_ID_MAX = 256
ARTIFACT_NAME_MAX = 512
TAGS_MAX = 64
METADATA_MAX_BYTES = 64 * 1024
LIST_MAX = 1000
CURSOR_MAX = 2**62

LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_.:/+-]{0,63}")
"""Roles, memory types, observation kinds, artifact types and formats, tags and phases: a letter,
then up to 63 letters, digits or ``_ . : / + -``. An application's own values (``general``,
``in_progress``, ``text/markdown``) fit; roost never narrows them to a fixed list."""


def label(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise errors.InvalidArgument(f"{what} must be a string, not {type(value).__name__}")
    if not LABEL.fullmatch(value):
        raise errors.InvalidArgument(
            f"{what} {v.shown(value)} is not a valid name: a letter, then up to 63 letters, digits or _ . : / + -")
    return value


def optional_label(value: object, what: str) -> str | None:
    return None if value is None else label(value, what)


def optional_name(value: object, what: str, max_len: int) -> str | None:
    return None if value is None else v.name(value, what, max_len)


def session_id(value: object) -> str:
    return v.name(value, "session id", SESSION_ID_MAX)


def optional_session(value: object) -> str | None:
    return None if value is None else session_id(value)


def text(value: object, what: str, max_bytes: int) -> str:
    """Free text (newlines and tabs welcome) that PostgreSQL and SQLite store exactly: valid
    Unicode without NUL, at most ``max_bytes`` as UTF-8."""
    if not isinstance(value, str):
        raise errors.InvalidArgument(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise errors.InvalidArgument(f"{what} contains a NUL character, which cannot be stored as text")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise errors.InvalidArgument(f"{what} is not valid Unicode (it holds a lone surrogate)") from None
    if size > max_bytes:
        raise errors.TooLarge(f"{what} is {size:,} bytes as UTF-8; the limit is {max_bytes:,}")
    return value


def metadata(value: object, what: str = "metadata") -> str | None:
    """A JSON object of at most 64 KiB, as text (None when not given)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.InvalidArgument(f"{what} must be a JSON object (a dict), not {type(value).__name__}")
    return v.to_json(value, what, METADATA_MAX_BYTES)


def tags(value: object, what: str = "tags") -> list[str]:
    """Labels, each once, in the order given."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
        raise errors.InvalidArgument(f"{what} must be a list of names, not {type(value).__name__}")
    found = list(dict.fromkeys(label(t, "tag") for t in value))
    if len(found) > TAGS_MAX:
        raise errors.InvalidArgument(f"{what} holds {len(found)} tags; the limit is {TAGS_MAX}")
    return found


def limit(value: object, high: int = LIST_MAX) -> int:
    return v.integer(value, "limit", 1, high)


def cursor(value: object) -> int:
    """A page cursor as returned in :attr:`Page.cursor` (None: the first page)."""
    if value is None:
        return CURSOR_MAX
    if not isinstance(value, str) or not value.isdigit() or len(value) > 19 or not 0 < int(value) <= CURSOR_MAX:
        raise errors.InvalidArgument(f"cursor {v.shown(value)} is not a cursor roost returned")
    return int(value)


def since(value: object) -> float | None:
    """A point in time as epoch seconds: a timezone-aware datetime or a number (None: no bound)."""
    from datetime import datetime

    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise errors.InvalidArgument("since must be timezone-aware (for example datetime.now(UTC))")
        return value.timestamp()
    return v.seconds(value, "since (epoch seconds)", 0, 2**35)


def decode_list(value: Any) -> list[str]:
    """A list of names as a backend returns it: JSON text (SQLite) or an array (PostgreSQL)."""
    return list(json.loads(value) if isinstance(value, str) else value)


def decode_object(value: str | None) -> dict[str, Any]:
    return {} if value is None else v.stored_json(value)


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a listing: the ``items``, and the ``cursor`` to pass for the next page (None
    when this is the last). Iterates, indexes and has a length like the list of its items."""

    items: list[T]
    cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


def page(items: list[T], want: int, last: int | None) -> Page[T]:
    """A page of at most ``want`` items, read as ``want + 1`` rows: the extra row only says that
    there is more, and the cursor is the last item's sort key."""
    more = len(items) > want
    return Page(items[:want], str(last) if more and last is not None else None)


def no_session(project: str, session: str) -> errors.SessionNotFound:
    return errors.SessionNotFound(f"no session {session!r} in project {project!r}")


def require_session(project: str, session: str) -> Op[None]:
    """Raise SessionNotFound unless ``session`` exists in ``project``."""
    if (yield Query("session_get", {"project": project, "id": session})).one() is None:
        raise no_session(project, session)


def unknown_session(store: Store, session: str | None) -> errors.SessionNotFound | None:
    """After a write that names ``session`` broke a constraint: the error to raise if that was
    because the session does not exist (its foreign key), else None. Checked only on that error
    path, so a write pays nothing for it."""
    if session is not None and store.sessions.get(session) is None:
        return no_session(store.project, session)
    return None


def search_vector(store: Store, text: str) -> str | None:
    """The search vector a write hands the backend, if it takes one (PostgreSQL: see
    Capabilities.search_vectors); the tokenizer is loaded only then."""
    if not store.capabilities.search_vectors:
        return None
    from roost.search import tokens

    return tokens.vector(text)
