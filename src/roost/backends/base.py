"""The narrow contract between the domain and a backend.

A backend runs an operation (see :mod:`roost._op`) on a connection of its choosing, opens
transactions (savepoints when nested), hands out listeners for wake-ups, and states what it can do.
That is all the domain may ask of it: no cursor, connection or driver type crosses this line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from roost._op import Op

T = TypeVar("T")


@dataclass(frozen=True)
class Capabilities:
    """What a backend offers; domain code branches on these, never on the backend's name."""

    notify: bool
    """Server-pushed notifications (PostgreSQL LISTEN/NOTIFY); otherwise wake-ups come by cheap polling."""
    skip_locked: bool
    """Row locks with SKIP LOCKED, so claimers do not queue behind each other."""
    multi_host: bool
    """Processes on several machines may share the store."""
    search_vectors: bool
    """The full-text index is fed the terms roost splits text into (PostgreSQL's tsvector, written
    with the row) rather than tokenizing in the database (SQLite's FTS5): see roost.search.tokens."""
    remote: bool
    """The database is reached over a network connection, which can break after a commit and
    before its answer arrives. Writes that cannot simply run again then carry a request key
    (:class:`roost._op.RequestKey`), so that they can be repeated without being done twice."""


class Listener(Protocol):
    """Wakes its owner when something may have changed; the owner then reads the truth itself."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True if woken by a change or notification."""

    def close(self) -> None: ...


class Backend(Protocol):
    dialect: str
    capabilities: Capabilities

    def execute(self, make: Callable[[], Op[T]], atomic: bool, tx: Any | None) -> T:
        """Run the operation ``make()`` builds: inside ``tx`` when given, else on a pooled connection,
        in a write transaction when ``atomic``. ``make`` may be called again to retry."""

    def transaction(self, parent: Any | None) -> AbstractContextManager[Any]:
        """A write transaction (or a savepoint inside ``parent``); yields the handle for execute()."""

    def listener(self, channels: Sequence[str]) -> Listener: ...

    def snapshot(self) -> AbstractContextManager[Any]:
        """A read-only view of the whole database at one moment, for long reads (an export): a
        reader with ``tables()``, ``columns(table)``, ``count(...)`` and ``rows(...)``
        (:mod:`roost.backends.exports`)."""

    def loader(self) -> AbstractContextManager[Any]:
        """A connection for writing a project's records in batches (an import or a transfer): a
        writer with ``batch()``, ``insert(...)``, ``delete(...)``, ``reserve(...)`` and a ``reader``
        of the same connection (:mod:`roost.backends.imports`)."""

    def backup(self, target: Path) -> str:
        """Write a consistent copy of the whole store to the new file ``target`` while writers go
        on, check it, and say how it was checked."""

    def close(self) -> None: ...
