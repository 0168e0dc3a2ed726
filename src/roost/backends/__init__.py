"""Backends: the only code that knows an SQL dialect or a driver.

:func:`open_backend` picks one from the URL's kind. Both implement :class:`roost.backends.base.Backend`.
"""

from __future__ import annotations

from roost.backends.base import Backend, Capabilities, Listener
from roost.config import Settings


def open_backend(settings: Settings) -> Backend:
    if settings.url.kind == "postgresql":
        from roost.backends.postgres import PostgresBackend

        return PostgresBackend(settings)
    from roost.backends.sqlite import SQLiteBackend

    return SQLiteBackend(settings)


__all__ = ["Backend", "Capabilities", "Listener", "open_backend"]
