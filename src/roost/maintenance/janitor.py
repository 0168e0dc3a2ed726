"""Retention that runs by itself: a background thread in every store that stays open.

The thread waits :data:`FIRST_CHECK` seconds after the store opens (a CLI call is over by then and
never pays for it), then reads the project's cleanup record. When a pass is due (the last complete
one is ``cleanup_interval`` old) it tries the cleanup lock without waiting: the one process in the
whole team that gets it runs the pass, the others look again later. Closing the store stops a pass
between two batches; what is left is due at the next check of any process. ``cleanup_interval = 0``
starts no thread at all.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from roost import errors

if TYPE_CHECKING:
    from roost.store import Store

log = logging.getLogger("roost.cleanup")

FIRST_CHECK = 1.0
"""Seconds after opening before the first look: processes that live shorter never take part."""
RECHECK = 60.0
"""Seconds before looking again when a pass was due but another process held the lock, or the
look failed."""


class Janitor:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._stop = threading.Event()
        self._warned = False
        self._thread = threading.Thread(target=self._loop, name="roost-cleanup", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        wait = FIRST_CHECK
        while not self._stop.wait(wait):
            wait = self._check()

    def _check(self) -> float:
        """Run a pass if one is due; the seconds until the next look."""
        from roost.maintenance import cleanup  # (here: a CLI call closes its store before the first look)

        try:
            state = cleanup.status(self._store)
            if state.due:
                report = cleanup.run(self._store, stop=self._stop, only_if_due=True)
                if report is None:
                    return RECHECK
                log.info("cleanup of project %r removed %d rows in %.1f s%s", self._store.project, report.removed,
                         report.seconds, "" if report.complete else " (stopped before the end)")
                state = cleanup.status(self._store)
            return max(min(state.interval - state.age, state.interval), 1.0)
        except errors.StoreClosed:
            self._stop.set()
        except Exception as exc:  # (a thread must not die with a traceback on the user's terminal)
            if not self._stop.is_set() and not self._warned:
                self._warned = True
                log.warning("automatic cleanup of project %r failed: %s (retrying every %g s)",
                            self._store.project, exc, RECHECK)
        return RECHECK

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the batch in progress (a batch is one short statement)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
