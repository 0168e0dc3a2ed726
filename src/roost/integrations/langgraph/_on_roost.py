"""What the saver and the store share: the roost store under them, and how a coroutine runs a sync method."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from roost._async import AsyncStore
    from roost.store import Store

P = ParamSpec("P")
T = TypeVar("T")


class OnRoost:
    """Holds the sync store and, when there is one, its async face (an AsyncStore given, or the
    face the store was opened by)."""

    _face: AsyncStore | None
    _store: Store

    def _attach(self, store: Store | AsyncStore) -> None:
        from roost._async import AsyncStore

        if isinstance(store, AsyncStore):
            self._face, self._store = store, store.sync
        else:
            self._face, self._store = store._async_face, store

    @property
    def store(self) -> Store:
        return self._store

    async def _run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a sync method from a coroutine: bridged onto the async face (natively on
        PostgreSQL's async pool), else on a worker thread."""
        if self._face is not None:
            return await self._face._call(fn, *args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)
