"""The asyncio face of :class:`roost.store.Store`: every method is the sync one, run on a worker
thread with ``asyncio.to_thread``, so no logic exists twice. Kept apart from the sync store so that
a program (or a CLI call) that never awaits does not import asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TextIO, TypeVar

from roost import errors

if TYPE_CHECKING:
    from pathlib import Path

    from roost import audit, diagnostics, migrations
    from roost.locks import HeldLock, Locks
    from roost.maintenance.backup import BackupInfo
    from roost.maintenance.cleanup import Report, Status
    from roost.maintenance.exchange import ExportInfo
    from roost.maintenance.importing import LoadInfo
    from roost.memory.artifacts import Artifact, Artifacts, ArtifactStream
    from roost.search.hits import Results
    from roost.search.names import Match
    from roost.store import Store, StoreInfo

T = TypeVar("T")
P = ParamSpec("P")


class AsyncFacade:
    """The awaitable twin of a sync facade (``signals``, ``locks``, ``agents``): each method is the
    sync one, run on a worker thread. Attributes that are not methods are passed through."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(attr, *args, **kwargs)

        call.__doc__ = attr.__doc__
        return call


class AsyncLocks(AsyncFacade):
    """``locks`` of an :class:`AsyncStore`; ``hold`` is an ``async with`` block."""

    def __init__(self, target: Locks) -> None:
        super().__init__(target)
        self._locks = target

    @asynccontextmanager
    async def hold(self, name: str, **options: Any) -> AsyncIterator[HeldLock]:
        held = await asyncio.to_thread(self._locks.hold, name, **options)
        try:
            yield held
        except BaseException as exc:
            await asyncio.to_thread(held.__exit__, type(exc), exc, exc.__traceback__)
            raise
        else:
            await asyncio.to_thread(held.__exit__, None, None, None)


class AsyncArtifactStream:
    """An artifact's content, read a chunk at a time with ``async for``."""

    def __init__(self, stream: ArtifactStream) -> None:
        self._stream = stream
        self.artifact: Artifact = stream.artifact

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for seq in range(self.artifact._chunks):
            yield await asyncio.to_thread(self._stream.read_chunk, seq)


class AsyncArtifacts(AsyncFacade):
    """``artifacts`` of an :class:`AsyncStore`; ``open`` gives an ``async for`` stream of chunks."""

    def __init__(self, target: Artifacts) -> None:
        super().__init__(target)
        self._artifacts = target

    async def open(self, name: str, version: int | None = None) -> AsyncArtifactStream:
        return AsyncArtifactStream(await asyncio.to_thread(self._artifacts.open, name, version))


class AsyncStore:
    """The asyncio face of :class:`Store`: the same operations, awaited.

    Use ``async with roost.connect_async(...) as store`` or ``store = await roost.connect_async()``.
    """

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._store: Store | None = None

    async def open(self) -> AsyncStore:
        if self._store is None:
            self._store = await asyncio.to_thread(self._opener)
        return self

    def __await__(self) -> Generator[Any, None, AsyncStore]:
        return self.open().__await__()

    async def __aenter__(self) -> AsyncStore:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def sync(self) -> Store:
        """The underlying sync store (for properties; do not call blocking methods from a loop)."""
        if self._store is None:
            raise errors.StoreClosed("the async store is not open yet: await it or use `async with`")
        return self._store

    @property
    def signals(self) -> Any:
        """:class:`roost.signals.Signals`, awaited."""
        return AsyncFacade(self.sync.signals)

    @property
    def locks(self) -> AsyncLocks:
        """:class:`roost.locks.Locks`, awaited; ``async with store.locks.hold(...)``."""
        return AsyncLocks(self.sync.locks)

    @property
    def agents(self) -> Any:
        """:class:`roost.agents.Agents`, awaited."""
        return AsyncFacade(self.sync.agents)

    @property
    def tasks(self) -> Any:
        """:class:`roost.tasks.Tasks`, awaited."""
        return AsyncFacade(self.sync.tasks)

    @property
    def events(self) -> Any:
        """:class:`roost.events.Events`, awaited; a subscription works with ``async for``."""
        return AsyncFacade(self.sync.events)

    @property
    def sessions(self) -> Any:
        """:class:`roost.memory.sessions.Sessions`, awaited."""
        return AsyncFacade(self.sync.sessions)

    @property
    def transcripts(self) -> Any:
        """:class:`roost.memory.transcripts.Transcripts`, awaited."""
        return AsyncFacade(self.sync.transcripts)

    @property
    def memories(self) -> Any:
        """:class:`roost.memory.memories.Memories`, awaited."""
        return AsyncFacade(self.sync.memories)

    @property
    def observations(self) -> Any:
        """:class:`roost.memory.observations.Observations`, awaited."""
        return AsyncFacade(self.sync.observations)

    @property
    def artifacts(self) -> AsyncArtifacts:
        """:class:`roost.memory.artifacts.Artifacts`, awaited; ``async for chunk in await
        store.artifacts.open(name)`` streams content."""
        return AsyncArtifacts(self.sync.artifacts)

    @property
    def documents(self) -> Any:
        """:class:`roost.documents.area.Documents`, awaited."""
        return AsyncFacade(self.sync.documents)

    @property
    def workflows(self) -> Any:
        """:class:`roost.workflows.area.Workflows`, awaited."""
        return AsyncFacade(self.sync.workflows)

    @property
    def runs(self) -> Any:
        """:class:`roost.workflows.area.Runs`, awaited."""
        return AsyncFacade(self.sync.runs)

    async def search(self, query: str, **options: Any) -> Results:
        """:meth:`roost.store.Store.search`, awaited."""
        return await asyncio.to_thread(self.sync.search, query, **options)

    async def find(self, name: str, **options: Any) -> list[Match]:
        """:meth:`roost.store.Store.find`, awaited."""
        return await asyncio.to_thread(self.sync.find, name, **options)

    async def audit_log(self, limit: int = 100) -> list[audit.AuditEntry]:
        return await self._call(self.sync.audit_log, limit)

    async def _call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(method, *args, **kwargs)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncStore]:
        store = self.sync
        if store._closed:
            raise errors.StoreClosed()
        manager = store._backend.transaction(store._tx.get())
        handle = await asyncio.to_thread(manager.__enter__)
        token = store._tx.set(handle)
        try:
            yield self
        except BaseException as exc:
            store._tx.reset(token)
            if not await asyncio.to_thread(manager.__exit__, type(exc), exc, exc.__traceback__):
                raise
        else:
            store._tx.reset(token)
            await asyncio.to_thread(manager.__exit__, None, None, None)

    async def migrate(self, target: int | None = None) -> list[int]:
        return await self._call(self.sync.migrate, target)

    async def migration_status(self) -> list[migrations.MigrationState]:
        return await self._call(self.sync.migration_status)

    async def get_project(self) -> diagnostics.Project | None:
        return await self._call(self.sync.get_project)

    async def now(self) -> datetime:
        return await self._call(self.sync.now)

    async def info(self) -> StoreInfo:
        return await self._call(self.sync.info)

    async def doctor(self) -> list[diagnostics.Check]:
        return await self._call(self.sync.doctor)

    async def cleanup(self, kinds: Iterable[str] | None = None, *, dry_run: bool = False) -> Report:
        """:meth:`roost.store.Store.cleanup`, awaited."""
        return await self._call(self.sync.cleanup, kinds, dry_run=dry_run)

    async def cleanup_status(self) -> Status:
        return await self._call(self.sync.cleanup_status)

    async def backup(self, path: str | Path, *, overwrite: bool = False) -> BackupInfo:
        """:meth:`roost.store.Store.backup`, awaited (on a worker thread: the loop keeps running)."""
        return await self._call(self.sync.backup, path, overwrite=overwrite)

    async def export(self, out: TextIO) -> ExportInfo:
        """:meth:`roost.store.Store.export`, awaited (on a worker thread: the loop keeps running)."""
        return await self._call(self.sync.export, out)

    async def import_file(self, path: str | Path, *, replace: bool = False) -> LoadInfo:
        """:meth:`roost.store.Store.import_file`, awaited (on a worker thread: the loop keeps running)."""
        return await self._call(self.sync.import_file, path, replace=replace)

    async def notify(self, channel: str, payload: str = "") -> None:
        await self._call(self.sync.notify, channel, payload)

    async def close(self) -> None:
        if self._store is not None:
            await asyncio.to_thread(self._store.close)

    def __repr__(self) -> str:
        return f"<roost.AsyncStore of {self._store!r}>"
