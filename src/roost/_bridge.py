"""Running the sync code of roost under asyncio without a second copy of it, and without a thread.

The async face (:mod:`roost._async`) calls a sync method (``Signals.get``, ``Tasks.claim``, …) in
a greenlet of its own, on the event loop's thread. The method validates, builds its operations and
applies every rule (retries, settling, waiting) exactly as it does for a sync caller; only where
it would block (a statement, a transaction's ``BEGIN``/``COMMIT``, a pause, a wait for a wake-up)
does it hand an awaitable to :func:`await_`, which switches back to the coroutine that started it.
That coroutine awaits the awaitable on the loop (psycopg's async driver on PostgreSQL) and switches
the answer, or the exception, back in. This is how SQLAlchemy's asyncio extension runs its sync
core; ``greenlet`` is the well-kept library made for it.

So a method of the async face is ``await run(ctx, sync_method, *args)``: one implementation of each
rule, driven by either face. Code that may run in both worlds knows which it is in from the
store's ``_via`` context variable (set only for a call of the async face).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import greenlet

T = TypeVar("T")
P = ParamSpec("P")


class _Bridged(greenlet.greenlet):
    """A greenlet running sync roost code for a coroutine (its parent)."""


def await_(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` on the event loop from bridged sync code, and return its result."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Bridged):
        raise RuntimeError("roost: await_() called outside the async face")
    parent = current.parent
    assert parent is not None  # (a bridged greenlet always has the coroutine that started it)
    return parent.switch(awaitable)  # type: ignore[no-any-return]


def sleep(seconds: float) -> None:
    """``time.sleep`` for bridged code: awaits ``asyncio.sleep``, so the loop runs on meanwhile."""
    await_(asyncio.sleep(seconds))


async def run(ctx: contextvars.Context, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run the sync ``fn`` in a bridged greenlet with the context ``ctx``; await what it awaits.

    A cancellation (or any exception) of an awaited step is thrown into ``fn`` at the point where
    it awaited, so its ``finally`` blocks and context managers run as they would for a sync caller
    (a transaction rolls back, a connection goes back to its pool) before the error comes out."""
    child = _Bridged(lambda: fn(*args, **kwargs), parent=greenlet.getcurrent())
    child.gr_context = ctx
    step: Any = child.switch()
    while not child.dead:
        try:
            value = await step
        except BaseException as exc:  # (handed to fn, which decides)
            step = child.throw(exc)
        else:
            step = child.switch(value)
    return step  # type: ignore[no-any-return]
