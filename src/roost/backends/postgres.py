"""PostgreSQL backend: psycopg 3 with psycopg_pool, safe behind PgBouncer in transaction mode.

Pooled connections are in autocommit, so a single-statement operation is one round trip; atomic
operations and user transactions are explicit ``BEGIN``/``COMMIT`` blocks (savepoints when nested).
No session state is created with SQL: the statement timeout travels as a startup parameter, locks
taken by roost are transaction-scoped, and LISTEN uses its own connection outside the pool.

Opening retries the first connection with backoff for ``connect_timeout`` seconds while the server
is unreachable (a pod may start before its database); a refused password or a missing database is
reported at once, since waiting cannot fix it.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import sql as pgsql

from roost import errors
from roost._op import Batch, Op, Query, Result, Step, drive
from roost._sql import queries
from roost.backends.base import Capabilities
from roost.config import Settings

T = TypeVar("T")
_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK

# psycopg_pool warns on stderr for every connection it drops or cannot open, which floods the
# output of a worker riding out an outage; roost reports outages itself. The records still reach
# any handler the application configures (they propagate), so they are quiet only by default.
logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())


RECONNECT_WINDOW = 4.0
"""Seconds one chain of the pool's reconnection attempts lasts (see ``_reconnect_again``)."""


def _reconnect_again(pool: psycopg_pool.ConnectionPool[Any]) -> None:
    """Start a fresh chain of reconnection attempts while callers wait for a connection.

    psycopg_pool retries a lost connection with a delay that doubles without a cap until
    ``reconnect_timeout``: after a 30 s outage its next attempt could be half a minute after the
    server came back, and a worker sat blind all that time (a fleet test saw it). So a chain lasts
    RECONNECT_WINDOW seconds (attempts at about 0, 1, 3 and 4 s) and, if anyone is waiting, the
    next one starts at once (``check()`` grows an empty pool). With no one waiting, the next
    request starts one. Attempts are therefore at most about two seconds apart during an outage."""
    if not pool.closed and pool.get_stats().get("requests_waiting", 0):
        with suppress(psycopg.Error):
            pool.check()


class PostgresBackend:
    """See the module docstring."""

    dialect = "postgresql"
    capabilities = Capabilities(notify=True, skip_locked=True, multi_host=True, remote=True, search_vectors=True)

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._sql = queries("postgresql")
        self._masked = settings.url.masked
        self._kwargs = connection_options(settings)
        self._suspect = False
        """Set when a connection was lost: the idle ones are tested before the next operation."""
        self.lose_answers = 0
        """Fault injection for tests: the next this many operations run on a pooled connection
        commit, and then their answer is lost as if the connection broke right after COMMIT."""
        self._pool = psycopg_pool.ConnectionPool(
            settings.url.raw,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            timeout=settings.acquire_timeout,
            max_idle=settings.pool_max_idle,
            kwargs=self._kwargs,
            open=False,
            name="roost",
            reconnect_timeout=RECONNECT_WINDOW,
            reconnect_failed=_reconnect_again,
        )
        # The pool starts connecting in the background while the first connection proves the
        # server is there: the two connects overlap, so a short-lived process (a CLI call) pays
        # for about one, not two in a row.
        self._pool.open(wait=False)
        try:
            self._connect_first()
        except BaseException:
            self._pool.close()
            raise

    def _connect(self, **extra: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self._settings.url.raw, connect_timeout=5, **{**self._kwargs, **extra})

    def _connect_first(self) -> None:
        """Prove the server is reachable and accepts us, retrying only what waiting can fix."""
        deadline = time.monotonic() + self._settings.connect_timeout
        delay = 0.1
        while True:
            try:
                self._connect().close()
                return
            except psycopg.OperationalError as exc:
                error = _translate_connect(exc, self._masked)
                if not isinstance(error, errors.ServerUnreachable) or time.monotonic() + delay > deadline:
                    raise error from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    # -- running operations -------------------------------------------------------------------

    def _named(self, name: str) -> str:
        try:
            return self._sql[name]
        except KeyError:
            raise errors.RoostError(f"internal error: no PostgreSQL query named {name!r}") from None

    def _run(self, conn: psycopg.Connection[Any], step: Step) -> Result:
        if isinstance(step, Query):
            cur = conn.execute(self._named(step.name), step.params)
            result = cur.pgresult  # (its status, not cur.description, which builds every column's object)
            rows = cur.fetchall() if result is not None and result.status == _TUPLES_OK else []
            return Result(rows, cur.rowcount)
        if isinstance(step, Batch):
            return self._run_batch(conn, self._named(step.name), step.rows)
        conn.execute(step.text or self._named(step.name), prepare=False)
        return Result([], -1)

    @staticmethod
    def _run_batch(conn: psycopg.Connection[Any], sql: str, rows: Sequence[tuple[Any, ...]]) -> Result:
        """COPY for a ``COPY … FROM STDIN`` statement, else executemany (psycopg pipelines it)."""
        with conn.cursor() as cur:
            if is_copy(sql):
                with cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(sql, rows)
        return Result([], len(rows))

    def execute(self, make: Callable[[], Op[T]], atomic: bool, tx: Any | None) -> T:
        if self._suspect and tx is None:
            self._discard_broken()
        try:
            with (
                nullcontext(tx) if tx is not None else self._pool.connection() as conn,
                conn.transaction() if atomic else nullcontext(),
            ):
                value = drive(make(), partial(self._run, conn))
            if self.lose_answers and tx is None:
                self.lose_answers -= 1
                raise errors.ConnectionLost("the PostgreSQL connection was lost (test fault: after the commit)")
            return value
        except psycopg_pool.PoolTimeout as exc:  # first: it is a psycopg.OperationalError too
            raise self._pool_timeout() from exc
        except psycopg.Error as exc:
            raise self._lost(exc) from exc

    def _lost(self, exc: psycopg.Error) -> errors.RoostError:
        error = translate(exc)
        if isinstance(error, errors.ConnectionLost):
            self._suspect = True  # test the idle connections too, before the next operation
        return error

    def _discard_broken(self) -> None:
        """After a lost connection, test the idle ones too: a killed backend or a server restart
        breaks all of them, and each would otherwise fail one repeat of the operation in turn,
        using up its ``connect_timeout``. Broken ones are replaced.

        The test runs just before the next operation, not when the loss is seen: the repeat comes
        after a backoff, and whatever broke during it (connections killed while idle, again and
        again) would otherwise fail that repeat too, and the next, until the deadline (the
        connection-killing fault test saw a worker give up so)."""
        self._suspect = False
        with suppress(psycopg.Error):  # the server is away: the repeat's own backoff waits for it
            self._pool.check()

    def _pool_timeout(self) -> errors.PoolTimeout | errors.ServerUnreachable:
        return pool_timeout(self._pool.get_stats(), self._settings)

    @contextmanager
    def transaction(self, parent: Any | None) -> Iterator[psycopg.Connection[Any]]:
        try:
            if parent is not None:
                with parent.transaction():
                    yield parent
                return
            if self._suspect:
                self._discard_broken()
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg_pool.PoolTimeout as exc:
            raise self._pool_timeout() from exc
        except psycopg.Error as exc:
            raise self._lost(exc) from exc

    # -- wake-ups -----------------------------------------------------------------------------

    @contextmanager
    def loader(self) -> Iterator[Any]:
        from roost.backends.imports import PostgresWriter

        try:
            with self._pool.connection() as conn:
                yield PostgresWriter(conn, self._sql["import_quiet_triggers"], self._sql["import_raise_tokens"])
        except psycopg_pool.PoolTimeout as exc:
            raise self._pool_timeout() from exc
        except psycopg.Error as exc:
            raise translate(exc) from exc

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        from roost.backends.exports import PostgresReader

        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield PostgresReader(conn)
        except psycopg_pool.PoolTimeout as exc:
            raise self._pool_timeout() from exc
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def backup(self, target: Path) -> str:
        from roost.backends import postgres_dump

        return postgres_dump.dump(self._settings.url.raw, target)

    def listener(self, channels: Sequence[str]) -> _Listener:
        try:
            conn = self._connect()
        except psycopg.OperationalError as exc:
            raise _translate_connect(exc, self._masked) from None
        try:
            for channel in channels:
                conn.execute(pgsql.SQL("LISTEN {}").format(pgsql.Identifier(channel)))
            return _Listener(conn, self._sql["listener_seen"], self._sql["listener_gone"])
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self._pool.close()


class _Listener:
    """LISTEN on a dedicated connection: a pooled one could be handed to someone else mid-wait.

    It registers itself in ``roost.listeners`` (migration 0008) and refreshes its row every
    ``REFRESH`` seconds while it waits: writers send their NOTIFY only while some listener is
    registered, so a store that nobody subscribes to pays nothing for it."""

    REFRESH = 15.0

    def __init__(self, conn: psycopg.Connection[Any], seen: str, gone: str) -> None:
        self._conn = conn
        self._id = f"{os.getpid()}-{os.urandom(6).hex()}"
        self._seen, self._gone = seen, gone
        self._mark()

    def _mark(self) -> None:
        try:
            self._conn.execute(self._seen, {"id": self._id})
        except psycopg.Error as exc:
            raise translate(exc) from exc
        self._marked = time.monotonic()

    def wait(self, timeout: float) -> bool:
        if time.monotonic() - self._marked > self.REFRESH:
            self._mark()
            return True  # a notification that came during the refresh may not be seen: say "woken"
        try:
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                return True
        except psycopg.Error as exc:
            raise translate(exc) from exc
        return False

    def close(self) -> None:
        with suppress(psycopg.Error):  # a lost connection cannot say goodbye; its row goes stale
            self._conn.execute(self._gone, {"id": self._id})
        self._conn.close()


def connection_options(settings: Settings) -> dict[str, Any]:
    """How every roost connection is set up (sync or async): in autocommit, the statement timeout
    as a startup parameter (no session state made with SQL, so PgBouncer's transaction mode is safe)."""
    return {
        "autocommit": True,
        "prepare_threshold": 5 if settings.pg_prepare else None,
        "application_name": "roost",
        "options": f"-c statement_timeout={int(settings.statement_timeout * 1000)}",
    }


def pool_timeout(stats: dict[str, int], settings: Settings) -> errors.PoolTimeout | errors.ServerUnreachable:
    """Why no connection came within ``acquire_timeout``: every one was in use (the pool is full:
    PoolTimeout), or the pool could not open one (the server is down: ServerUnreachable, and
    nothing was sent). Callers decide differently on each, so the two are told apart."""
    if stats.get("pool_size", 0) >= settings.pool_max_size:
        return errors.PoolTimeout(
            f"all {settings.pool_max_size} PostgreSQL connections stayed in use for "
            f"acquire_timeout = {settings.acquire_timeout:g} s; raise pool_max_size or acquire_timeout, "
            f"or hold connections for less time"
        )
    return errors.ServerUnreachable(
        f"cannot reach PostgreSQL at {settings.url.masked}: no connection could be opened within "
        f"acquire_timeout = {settings.acquire_timeout:g} s (nothing was sent)"
    )


def is_copy(sql: str) -> bool:
    """Whether a named statement is a COPY (its leading comment lines aside)."""
    code = [line for line in sql.splitlines() if line.strip() and not line.lstrip().startswith("--")]
    return bool(code) and code[0].lstrip()[:5].upper() == "COPY "


def _translate_connect(exc: psycopg.OperationalError, masked: str) -> errors.RoostError:
    """Classify a failed connect. Only a server that did not answer, or answered that it is
    starting or shutting down, is worth waiting for (ServerUnreachable is retried)."""
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fatal = next((line.split("FATAL:", 1)[1].strip() for line in lines if "FATAL:" in line), None)
    detail = fatal or (lines[0].rsplit("failed: ", 1)[-1] if lines else "no detail")
    if exc.sqlstate in ("28P01", "28000") or (fatal and ("authentication" in fatal or "role" in fatal)):
        return errors.AuthenticationFailed(f"PostgreSQL at {masked} refused the credentials: {detail}")
    if "no password supplied" in text:
        return errors.AuthenticationFailed(f"PostgreSQL at {masked} wants a password: {detail}")
    if exc.sqlstate == "3D000" or (fatal and "database" in fatal and "does not exist" in fatal):
        return errors.DatabaseNotFound(f"PostgreSQL at {masked}: {detail}")
    if fatal and "starting up" not in fatal and "shutting down" not in fatal:
        return errors.ConnectError(f"PostgreSQL at {masked} refused the connection: {detail}")
    return errors.ServerUnreachable(f"cannot reach PostgreSQL at {masked}: {detail}")


def translate(exc: psycopg.Error) -> errors.RoostError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return errors.StatementTimeout(f"PostgreSQL cancelled a statement: {text}")
    if isinstance(exc, psycopg.errors.IntegrityError):
        return errors.ConstraintViolation(f"constraint violated: {text}")
    # psycopg raises OperationalError for SQLSTATE classes 53 to 58 too (a word too long for a
    # tsquery is 54001): only a connection failure (08, 57P, or no SQLSTATE: the client's own) is
    # a lost connection, worth a new one and another try.
    state = exc.sqlstate
    if (state or "").startswith(("08", "57P")) or (state is None and isinstance(exc, psycopg.OperationalError)):
        return errors.ConnectionLost(f"the PostgreSQL connection was lost: {text}")
    return errors.DatabaseError(f"PostgreSQL error {exc.sqlstate or ''}: {text}".replace("  ", " "))
