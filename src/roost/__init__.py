"""roost: the shared, persistent state layer for teams of AI agents.

``roost.connect()`` opens a :class:`Store` on SQLite (the default, ``.roost/roost.db`` in the
project) or PostgreSQL (set a URL); ``roost.connect_async()`` opens the asyncio face of the same.
"""

from __future__ import annotations

from typing import Any

from roost.errors import RoostError
from roost.store import AsyncStore, Store, open_store

__version__ = "0.1.0"


def connect(url: str | None = None, **options: Any) -> Store:
    """Open a store. ``url`` and ``options`` override the environment, ``roost.toml`` and defaults;
    see the README's configuration table for every option and its allowed range."""
    return open_store(url, **options)


def connect_async(url: str | None = None, **options: Any) -> AsyncStore:
    """Open an :class:`AsyncStore`: ``async with roost.connect_async() as store:``."""
    return AsyncStore(lambda: open_store(url, **options))


__all__ = ["AsyncStore", "RoostError", "Store", "__version__", "connect", "connect_async"]
