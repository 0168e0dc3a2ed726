"""PostgreSQL for the async face: ``psycopg.AsyncConnection`` from an ``AsyncConnectionPool``.

It runs the same operations as :class:`~roost.backends.postgres.PostgresBackend`, with the same SQL
files, connection options, error translation and pool rules (those are functions of that module,
used by both); only the waiting differs: each statement is awaited, so a thousand calls in flight
hold a thousand coroutines and at most ``pool_max_size`` connections, and no thread.

It is opened beside the sync backend of the same store, which keeps what needs a thread of its own:
the wake-up listener, lock renewals, and the long maintenance calls (backup, export, import).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any, TypeVar

import psycopg
import psycopg_pool

from roost import errors
from roost._op import Batch, Op, Query, Result, Step, drive_async
from roost.backends.postgres import (
    RECONNECT_WINDOW,
    PostgresBackend,
    connection_options,
    is_copy,
    pool_timeout,
    translate,
)

T = TypeVar("T")
_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK


async def _reconnect_again(pool: psycopg_pool.AsyncConnectionPool[Any]) -> None:
    """The async pool's form of :func:`roost.backends.postgres._reconnect_again` (same rule)."""
    if not pool.closed and pool.get_stats().get("requests_waiting", 0):
        with suppress(psycopg.Error):
            await pool.check()


class AsyncPostgresBackend:
    """See the module docstring. Made from the store's sync backend, whose settings and SQL it shares."""

    def __init__(self, sync: PostgresBackend) -> None:
        settings = sync._settings
        self._settings = settings
        self._named = sync._named
        self._suspect = False
        self._pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            settings.url.raw,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            timeout=settings.acquire_timeout,
            max_idle=settings.pool_max_idle,
            kwargs=connection_options(settings),
            open=False,
            name="roost-async",
            reconnect_timeout=RECONNECT_WINDOW,
            reconnect_failed=_reconnect_again,
        )

    async def open(self) -> None:
        await self._pool.open(wait=False)  # (the sync backend has just proved the server answers)

    async def _run(self, conn: psycopg.AsyncConnection[Any], step: Step) -> Result:
        if isinstance(step, Query):
            cur = await conn.execute(self._named(step.name), step.params)
            result = cur.pgresult
            rows = await cur.fetchall() if result is not None and result.status == _TUPLES_OK else []
            return Result(rows, cur.rowcount)
        if isinstance(step, Batch):
            return await self._run_batch(conn, self._named(step.name), step.rows)
        await conn.execute(step.text or self._named(step.name), prepare=False)
        return Result([], -1)

    @staticmethod
    async def _run_batch(conn: psycopg.AsyncConnection[Any], sql: str, rows: Sequence[tuple[Any, ...]]) -> Result:
        async with conn.cursor() as cur:
            if is_copy(sql):
                async with cur.copy(sql) as copy:
                    for row in rows:
                        await copy.write_row(row)
            else:
                await cur.executemany(sql, rows)
        return Result([], len(rows))

    async def _drive(self, conn: psycopg.AsyncConnection[Any], make: Callable[[], Op[T]], atomic: bool) -> T:
        if atomic:
            async with conn.transaction():
                return await drive_async(make(), partial(self._run, conn))
        return await drive_async(make(), partial(self._run, conn))

    async def _discard_broken(self) -> None:
        """Test the idle connections after a lost one (when and why: PostgresBackend._discard_broken)."""
        self._suspect = False
        with suppress(psycopg.Error):
            await self._pool.check()

    def _lost(self, exc: psycopg.Error) -> errors.RoostError:
        error = translate(exc)
        if isinstance(error, errors.ConnectionLost):
            self._suspect = True  # test the idle connections too, before the next operation
        return error

    async def execute(self, make: Callable[[], Op[T]], atomic: bool, tx: Any | None) -> T:
        if self._suspect and tx is None:
            await self._discard_broken()
        try:
            if tx is not None:
                return await self._drive(tx, make, atomic)
            async with self._pool.connection() as conn:
                return await self._drive(conn, make, atomic)
        except psycopg_pool.PoolTimeout as exc:  # first: it is a psycopg.OperationalError too
            raise pool_timeout(self._pool.get_stats(), self._settings) from exc
        except psycopg.Error as exc:
            raise self._lost(exc) from exc

    @asynccontextmanager
    async def transaction(self, parent: Any | None) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        try:
            if parent is not None:
                async with parent.transaction():
                    yield parent
                return
            if self._suspect:
                await self._discard_broken()
            async with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg_pool.PoolTimeout as exc:
            raise pool_timeout(self._pool.get_stats(), self._settings) from exc
        except psycopg.Error as exc:
            raise self._lost(exc) from exc

    def stats(self) -> dict[str, int]:
        """The pool's counters (psycopg_pool's ``get_stats``), for tests and diagnostics."""
        return self._pool.get_stats()

    async def close(self) -> None:
        await self._pool.close()
