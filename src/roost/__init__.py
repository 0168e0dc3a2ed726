"""roost: the shared, persistent state layer for teams of AI agents.

``roost.connect()`` opens a :class:`Store` on SQLite (the default, ``.roost/roost.db`` in the
project) or PostgreSQL (set a URL); ``roost.connect_async()`` opens the asyncio face of the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roost.errors import RoostError

if TYPE_CHECKING:
    import os

    from roost._async import AsyncStore
    from roost.maintenance.backup import RestoreInfo
    from roost.maintenance.importing import LoadInfo
    from roost.store import Store

__version__ = "0.1.0"


def connect(url: str | None = None, *, create: bool | None = None, **options: Any) -> Store:
    """Open a store. ``url`` and ``options`` override the environment, ``roost.toml`` and defaults;
    see the README's configuration table for every option and its allowed range.

    ``create`` says whether a new store may be made. True: yes, even beside another application's
    tables. False: never; the store must exist. None (the default): for memory://, the zero-config
    default location and a URL passed here, a new, empty database is made a store; a URL from
    ROOST_URL, DATABASE_URL or roost.toml must already hold one (`roost init`), so that a typo in a
    variable fails instead of opening an empty store no other agent uses. A database that holds
    other tables but no roost schema is only given one with create=True."""
    from roost.store import open_store

    return open_store(url, create=create, **options)


def connect_async(url: str | None = None, *, create: bool | None = None, **options: Any) -> AsyncStore:
    """Open an :class:`AsyncStore`: ``async with roost.connect_async() as store:``."""
    from roost._async import AsyncStore
    from roost.store import open_store

    return AsyncStore(lambda: open_store(url, create=create, **options))


def restore(path: str | os.PathLike[str], url: str | None = None, **options: Any) -> RestoreInfo:
    """Restore a backup made by ``Store.backup`` (or ``roost backup``) into an empty store: an
    SQLite file that does not exist yet, or a PostgreSQL database with no roost schema. The
    backup must come from the same backend, and its schema must not be newer than this roost;
    an older one is migrated. Nothing is left half-restored."""
    from roost.config import resolve
    from roost.maintenance import backup
    from roost.store import open_store

    settings = resolve(url, **options)
    info = backup.restore(settings, path)
    open_store(url, create=False, **options).close()  # (migrates an older backup, checks the result)
    return info


def transfer(source: str, target: str, project: str | None = None, *, replace: bool = False,
             **options: Any) -> list[LoadInfo]:
    """Copy ``project`` (default: every project) from the store at URL ``source`` to the one at
    ``target`` (any two backends; a new target is created), and verify each, table by table, by
    row count and checksum: :class:`~roost.errors.TransferMismatch` on a difference. Ids, event
    positions and fencing tokens carry over, and the target's next ones are larger. A target
    project that already holds records is refused unless ``replace``. See docs/operations.md."""
    from roost.maintenance.transfer import transfer as run

    return run(source, target, project, replace=replace, **options)


def __getattr__(name: str) -> Any:
    """``roost.Store`` and ``roost.AsyncStore`` load on first use: importing
    roost stays cheap for a process that only needs one area (every CLI call is a new process)."""
    if name == "Store":
        from roost.store import Store

        return Store
    if name == "AsyncStore":
        from roost._async import AsyncStore

        return AsyncStore
    raise AttributeError(f"module 'roost' has no attribute {name!r}")


__all__ = ["AsyncStore", "RoostError", "Store", "__version__", "connect", "connect_async", "restore", "transfer"]
