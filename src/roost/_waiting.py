"""Waiting for a condition that another process will make true (a lock freed, a signal set).

Wake-ups come from the store's shared wake-up thread (see :mod:`roost.events`), which only says
"something may have changed"; the condition is always re-read from the tables, so a missed or
spurious wake-up costs a retry, never a wrong answer. ``poll`` bounds the sleep for what no event
announces, such as a lease running out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Wakeups(Protocol):
    generation: int

    def wait(self, seen: int, timeout: float) -> int: ...


def wait_for(
    attempt: Callable[[], T | None],
    wakeups: Callable[[], Wakeups],
    timeout: float,
    poll: float = 0.25,
) -> T | None:
    """Call ``attempt`` until it returns something other than None, or ``timeout`` seconds pass."""
    result = attempt()
    if result is not None or timeout <= 0:
        return result
    deadline = time.monotonic() + timeout
    source = wakeups()
    while True:
        seen = source.generation  # before the attempt, so a change just after it still wakes the wait
        result = attempt()
        if result is not None:
            return result
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        source.wait(seen, min(left, poll))
