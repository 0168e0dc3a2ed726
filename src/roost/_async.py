"""The asyncio face of :class:`roost.store.Store`: the same methods, awaited, typed as the sync ones.

Its methods are generated (:mod:`roost._async_areas`, by ``tools/gen_async.py``); each runs the
sync method in a bridged greenlet (:mod:`roost._bridge`) with the store's backend swapped, for that
call, for an async one: psycopg's ``AsyncConnection`` pool on PostgreSQL, and on SQLite (whose
driver is synchronous) the sync backend on an executor of the store's own sized to its pool. The
domain code, the retry rules and the error translation are the sync ones, run once.

Kept apart from the sync store so that a program (or a CLI call) that never awaits does not
import asyncio or greenlet.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from roost import _bridge, errors
from roost._async_areas import AsyncArtifactsBase, AsyncLocksBase, AsyncStoreFace
from roost.backends.bridged import AsyncBackend, Bridged, Offloaded

if TYPE_CHECKING:
    from roost.locks import HeldLock
    from roost.memory.artifacts import Artifact, ArtifactStream
    from roost.store import Store

T = TypeVar("T")
A = TypeVar("A")
P = ParamSpec("P")


class AsyncLocks(AsyncLocksBase):
    """``locks`` of an :class:`AsyncStore`; ``hold`` is an ``async with`` block."""

    @asynccontextmanager
    async def hold(self, name: str, *, owner: str | None = None, ttl: float = 30.0, mode: str = "exclusive",
                   wait: float = 0.0, renew_every: float | None = None,
                   on_lost: Callable[[errors.LeaseLost], None] | None = None) -> AsyncIterator[HeldLock]:
        """:meth:`roost.locks.Locks.hold` as ``async with``: acquired (or LockNotAcquired), renewed
        in the background while the block runs, released after it."""
        held = await self._face._call(self._sync.hold, name, owner=owner, ttl=ttl, mode=mode, wait=wait,
                                      renew_every=renew_every, on_lost=on_lost)
        try:
            yield held
        except BaseException as exc:  # (the release joins the renewing thread: done on a thread)
            await asyncio.to_thread(held.__exit__, type(exc), exc, exc.__traceback__)
            raise
        else:
            await asyncio.to_thread(held.__exit__, None, None, None)


class AsyncArtifactStream:
    """An artifact's content, read a chunk at a time with ``async for``."""

    def __init__(self, face: AsyncStore, stream: ArtifactStream) -> None:
        self._face = face
        self._stream = stream
        self.artifact: Artifact = stream.artifact

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for seq in range(self.artifact._chunks):
            yield await self._face._call(self._stream.read_chunk, seq)


class AsyncArtifacts(AsyncArtifactsBase):
    """``artifacts`` of an :class:`AsyncStore`; ``open`` gives an ``async for`` stream of chunks."""

    async def open(self, name: str, version: int | None = None) -> AsyncArtifactStream:
        """:meth:`roost.memory.artifacts.Artifacts.open`: the content, one chunk per ``async for`` step."""
        return AsyncArtifactStream(self._face, await self._face._call(self._sync.open, name, version))


class AsyncStore(AsyncStoreFace):
    """The asyncio face of :class:`Store`: the same operations, awaited.

    Use ``async with roost.connect_async(...) as store`` or ``store = await roost.connect_async()``.
    A store belongs to the event loop that opened it.
    """

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._store: Store | None = None
        self._backend: AsyncBackend | None = None
        self._bridged: Bridged | None = None
        self._areas: dict[str, Any] = {}

    async def open(self) -> AsyncStore:
        if self._store is None:
            store = await asyncio.to_thread(self._opener)
            try:
                backend = await _async_backend(store)
            except BaseException:
                await asyncio.to_thread(store.close)
                raise
            self._backend, self._bridged = backend, Bridged(backend, store._backend)
            store._async_face = self
            self._store = store
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
    def backend(self) -> str:
        """``sqlite`` (for files and ``memory://``) or ``postgresql``."""
        return self.sync.backend

    @property
    def project(self) -> str:
        return self.sync.project

    def _area(self, name: str, kind: Callable[[Any, Any], A]) -> A:
        area = self._areas.get(name)
        if area is None:
            area = self._areas[name] = kind(self, getattr(self.sync, name))
        return area

    async def _call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the sync ``fn`` bridged, with this face's async backend (see the module docstring)."""
        store = self.sync
        ctx = contextvars.copy_context()
        ctx.run(store._via.set, self._bridged)
        return await _bridge.run(ctx, fn, *args, **kwargs)

    async def _threaded(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the sync ``fn`` on a worker thread with the sync backend: what reads files or runs
        long batches. Not inside ``async with store.transaction()``, whose connection is the async one."""
        if self.sync._tx.get() is not None:
            raise errors.InvalidArgument(f"{getattr(fn, '__name__', 'this call')} cannot run inside "
                                         "`async with store.transaction()`")
        return await asyncio.to_thread(fn, *args, **kwargs)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncStore]:
        """Make every call inside the block one atomic unit (a savepoint when nested), as
        :meth:`Store.transaction` does. Cancelling a call inside it rolls the whole block back."""
        store = self.sync
        if store._closed or self._backend is None:
            raise errors.StoreClosed()
        async with self._backend.transaction(store._tx.get()) as handle:
            token = store._tx.set(handle)
            try:
                yield self
            finally:
                store._tx.reset(token)

    async def close(self) -> None:
        """Close both backends; later calls raise StoreClosed (properties still answer)."""
        backend, self._backend = self._backend, None
        if backend is not None:
            await backend.close()
        if self._store is not None:
            await asyncio.to_thread(self._store.close)

    def __repr__(self) -> str:
        return f"<roost.AsyncStore of {self._store!r}>"


async def _async_backend(store: Store) -> AsyncBackend:
    """The async backend beside ``store``'s sync one: native on PostgreSQL, offloaded on SQLite."""
    if store.backend == "postgresql":
        from roost.backends.postgres import PostgresBackend
        from roost.backends.postgres_async import AsyncPostgresBackend

        assert isinstance(store._backend, PostgresBackend)
        backend = AsyncPostgresBackend(store._backend)
        await backend.open()
        return backend
    return Offloaded(store._backend, store.settings.pool_max_size)
