"""The async conformance: the sync conformance tests, run again with every call going through
``roost.connect_async()``.

Under the ``face=async`` parametrisation (tests/conftest.py), ``roost.connect`` returns a
:class:`Through`: it looks like a sync :class:`roost.Store`, but each method of the store and of its
areas is the async face's, awaited on an event loop running in a thread of its own. Each calling
thread keeps one ``contextvars.Context`` for all of its calls, so ``with store.transaction():``
spans the calls inside it as ``async with`` does for one task. No test is written twice.

What has no async form is the sync object's: properties, the private helpers some tests use
(``store._execute``), a subscription (a sync object also in the async face) and artifact streams.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any

import roost

SYNC_ONLY = {"open", "subscribe", "buffered"}
"""Area methods called on the sync area: their async forms return async objects (streams)."""


_loops: list[Loop] = []


def stop_all() -> None:
    """Close what the test left open and stop every loop it started."""
    while _loops:
        loop = _loops.pop()
        for store in loop.stores:
            with contextlib.suppress(Exception):
                loop.call(store.close)
        loop.stop()


class Loop:
    """An event loop on a thread of its own; :meth:`call` awaits a coroutine there."""

    def __init__(self) -> None:
        self.stores: list[Any] = []
        _loops.append(self)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="async-through", daemon=True)
        self._thread.start()
        self._local = threading.local()

    def call(self, make: Callable[[], Awaitable[Any]]) -> Any:
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = self._local.ctx = contextvars.Context()
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        async def run() -> Any:
            return await make()

        def start() -> None:
            task = self.loop.create_task(run(), context=ctx)

            def finish(t: asyncio.Task[Any]) -> None:
                if t.cancelled():
                    done.cancel()
                elif t.exception() is not None:
                    done.set_exception(t.exception())
                else:
                    done.set_result(t.result())

            task.add_done_callback(finish)

        self.loop.call_soon_threadsafe(start)
        return done.result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def _sync_cm(loop: Loop, manager: AbstractAsyncContextManager[Any], eager: bool = False) -> Any:
    """A sync ``with`` over an async one; ``eager`` enters it now (``locks.hold`` acquires when called)."""
    entered = loop.call(manager.__aenter__) if eager else None

    @contextmanager
    def held() -> Iterator[Any]:
        value = entered if eager else loop.call(manager.__aenter__)
        try:
            yield value
        except BaseException as exc:
            if not loop.call(lambda e=exc: manager.__aexit__(type(e), e, e.__traceback__)):  # type: ignore[misc]
                raise
        else:
            loop.call(lambda: manager.__aexit__(None, None, None))

    return held()


class _Methods:
    """Calls ``target``'s coroutine methods through the loop; anything else comes from ``sync``."""

    def __init__(self, loop: Loop, target: Any, sync: Any) -> None:
        self._loop, self._target, self._sync = loop, target, sync

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in SYNC_ONLY or not hasattr(type(self._target), name):
            return getattr(self._sync, name)
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self._loop.call(lambda: attr(*args, **kwargs))
        if callable(attr) and name == "hold":
            return lambda *args, **kwargs: _sync_cm(self._loop, attr(*args, **kwargs), eager=True)
        return getattr(self._sync, name)


class Through(_Methods):
    """``roost.connect``'s stand-in for the async run (see the module docstring)."""

    def __init__(self, url: str | None = None, **options: Any) -> None:
        loop = Loop()
        try:
            face = loop.call(lambda: roost.connect_async(url, **options).open())
        except BaseException:
            _loops.remove(loop)
            loop.stop()
            raise
        loop.stores.append(face)
        super().__init__(loop, face, face.sync)
        self._areas: dict[str, _Methods] = {}

    def __getattr__(self, name: str) -> Any:
        if name in AREAS:
            if name not in self._areas:
                self._areas[name] = _Methods(self._loop, getattr(self._target, name), getattr(self._sync, name))
            return self._areas[name]
        return super().__getattr__(name)

    def transaction(self) -> Any:
        return _sync_cm(self._loop, self._target.transaction())

    def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """(Tests run operations of their own: through the async face too.)"""
        return self._loop.call(lambda: self._target._call(self._sync._execute, fn, *args, **kwargs))

    def __repr__(self) -> str:
        return repr(self._sync)

    @property
    def bridged_backend(self) -> Any:
        """The backend the async face's calls run on (tests that count statements wrap it)."""
        return self._target._bridged

    @property
    def face(self) -> roost.AsyncStore:
        return self._target  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the store; its loop runs on (a closed store must still refuse calls) until the
        test ends (:func:`stop_all`)."""
        if not self._loop.loop.is_closed():
            self._loop.call(self._target.close)

    def __enter__(self) -> Through:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


AREAS = {"signals", "locks", "agents", "tasks", "events", "sessions", "transcripts", "memories", "observations",
         "artifacts", "documents", "workflows", "runs"}
