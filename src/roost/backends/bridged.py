"""The backends of the async face, and the adapter through which sync roost code drives them.

An *async backend* has ``execute`` and ``transaction`` as awaitables: :class:`AsyncPostgresBackend`
(psycopg's async driver) on PostgreSQL, :class:`Offloaded` on SQLite, whose driver is synchronous:
each statement runs on an executor of the store's own, sized to its connection pool, so an async
caller neither blocks the loop nor queues behind unrelated work on the loop's default executor, and
a caller waiting for a wake-up (which awaits on the loop) takes no thread from callers with work.

:class:`Bridged` shows an async backend to the sync code of the areas as the sync
:class:`~roost.backends.base.Backend` contract: each call awaits through :func:`roost._bridge.await_`.
What has no async form (snapshots, loaders, backups, listeners) is the sync backend's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from roost._bridge import await_
from roost._op import Op
from roost.backends.base import Backend, Listener

T = TypeVar("T")


class AsyncBackend(Protocol):
    async def execute(self, make: Callable[[], Op[T]], atomic: bool, tx: Any | None) -> T: ...

    def transaction(self, parent: Any | None) -> AbstractAsyncContextManager[Any]: ...

    async def close(self) -> None: ...


class Offloaded:
    """SQLite's sync backend, each call run on a dedicated executor (see the module docstring)."""

    def __init__(self, backend: Backend, workers: int) -> None:
        self._backend = backend
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="roost-async")

    async def _offload(self, fn: Callable[..., T], *args: Any) -> T:
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The statement cannot be stopped on its thread: let it end before the caller's
            # cancellation undoes anything (a rollback on the same connection), then go on.
            await asyncio.wait({future})
            raise

    async def execute(self, make: Callable[[], Op[T]], atomic: bool, tx: Any | None) -> T:
        return await self._offload(self._backend.execute, make, atomic, tx)

    @asynccontextmanager
    async def transaction(self, parent: Any | None) -> AsyncIterator[Any]:
        manager = self._backend.transaction(parent)
        handle = await self._offload(manager.__enter__)
        try:
            yield handle
        except BaseException as exc:
            if not await self._offload(manager.__exit__, type(exc), exc, exc.__traceback__):
                raise
        else:
            await self._offload(manager.__exit__, None, None, None)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class Bridged:
    """An async backend shown as the sync Backend contract, for sync code running bridged."""

    def __init__(self, inner: AsyncBackend, sync: Backend) -> None:
        self.inner = inner
        self._sync = sync
        self.dialect = sync.dialect
        self.capabilities = sync.capabilities

    def execute(self, make: Callable[[], Op[T]], atomic: bool, tx: Any | None) -> T:
        return await_(self.inner.execute(make, atomic, tx))

    @contextmanager
    def transaction(self, parent: Any | None) -> Iterator[Any]:
        manager = self.inner.transaction(parent)
        handle = await_(manager.__aenter__())
        try:
            yield handle
        except BaseException as exc:
            if not await_(manager.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            await_(manager.__aexit__(None, None, None))

    def listener(self, channels: Sequence[str]) -> Listener:
        return self._sync.listener(channels)

    def snapshot(self) -> Any:
        return self._sync.snapshot()

    def loader(self) -> Any:
        return self._sync.loader()

    def backup(self, target: Path) -> str:
        return self._sync.backup(target)

    def close(self) -> None:
        """(The store closes the backends it opened; the adapter holds nothing of its own.)"""
