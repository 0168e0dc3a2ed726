"""Backends: the only code that knows an SQL dialect or a driver.

:func:`open_backend` picks one from the URL's kind. Both implement :class:`roost.backends.base.Backend`.
"""

from __future__ import annotations

from pathlib import Path

from roost import errors
from roost.backends.base import Backend, Capabilities, Listener
from roost.config import Settings


def open_backend(settings: Settings) -> Backend:
    if settings.url.kind == "postgresql":
        from roost.backends.postgres import PostgresBackend

        return PostgresBackend(settings)
    from roost.backends.sqlite import SQLiteBackend

    return SQLiteBackend(settings)


def restore_into(settings: Settings, source: Path, latest: int) -> int:
    """Restore the backup file ``source`` into the empty store ``settings`` names; its schema version."""
    if settings.url.kind == "postgresql":
        from roost.backends import postgres_dump

        return postgres_dump.restore(settings.url.raw, source, latest)
    from roost.backends import sqlite_files

    if settings.url.path is None:
        raise errors.InvalidArgument("restore into memory:// is not possible: restore into a file or PostgreSQL")
    return sqlite_files.restore(source, settings.url.path, latest)


__all__ = ["Backend", "Capabilities", "Listener", "open_backend", "restore_into"]
