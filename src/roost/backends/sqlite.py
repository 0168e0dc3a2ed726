"""SQLite backend: stdlib ``sqlite3``, used the way that survives many processes on one machine.

Every connection gets WAL, ``busy_timeout``, ``foreign_keys=ON``, in-memory temporary b-trees and the
configured ``synchronous``
(pragmas are per connection, so they are set on each one, not once). Write transactions start with
``BEGIN IMMEDIATE`` so a writer queues for the lock up front instead of failing on upgrade; a busy
error that still escapes is retried whole, with jitter, for a bounded time, then reported as
:class:`~roost.errors.DatabaseLocked`.

``memory://NAME`` is one in-memory database per name and process, shared by every store that
opens it; its single connection is handed out under a lock, so threads and stores serialize on it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, TypeVar

from roost import errors
from roost._op import Batch, Op, Query, Result, Step, drive
from roost._sql import queries
from roost.backends.base import Capabilities
from roost.config import Settings

T = TypeVar("T")
_POLL = 0.005  # seconds between data_version checks while a listener waits


@dataclass
class _Tx:
    conn: sqlite3.Connection
    depth: int


class _Pool:
    """At most ``size`` connections, handed out one holder at a time.

    The common path is one deque pop and one append (atomic under the GIL); the condition is
    only taken when the pool is empty and a caller must wait or open a connection.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], size: int, timeout: float) -> None:
        self._connect = connect
        self._size = size
        self._timeout = timeout
        self._idle: deque[sqlite3.Connection] = deque()
        self._open = 0
        self._waiting = 0
        self._cond = threading.Condition()
        self.changed = threading.Condition()
        self.generation = 0

    def get(self) -> sqlite3.Connection:
        try:
            return self._idle.pop()
        except IndexError:
            return self._get_slow()

    def _get_slow(self) -> sqlite3.Connection:
        with self._cond:
            deadline = time.monotonic() + self._timeout
            self._waiting += 1
            try:
                while not self._idle and self._open >= self._size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise errors.PoolTimeout(
                            f"all {self._size} SQLite connections stayed in use for acquire_timeout = "
                            f"{self._timeout:g} s; raise pool_max_size or acquire_timeout, "
                            "or hold connections for less time"
                        )
                    self._cond.wait(min(left, 0.1))
            finally:
                self._waiting -= 1
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return self._connect()
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def put(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # never hand out a connection with a half-done transaction
            conn.rollback()
        self._idle.append(conn)
        if self._waiting:
            with self._cond:
                self._cond.notify()

    def bump(self) -> None:
        """Wake in-process listeners (memory databases, where data_version cannot see our writes)."""
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def close(self) -> None:
        with self._cond:
            for conn in self._idle:
                conn.close()
            self._open -= len(self._idle)
            self._idle.clear()


@cache
def _plans() -> dict[str, str | tuple[str, ...]]:
    """Each named query's SQL, or the statements of a block (SQLite has no data-modifying CTEs);
    split once per process."""
    return {name: tuple(parts) if len(parts := split_script(sql)) > 1 else sql
            for name, sql in queries("sqlite").items()}


_memory_pools: dict[str, _Pool] = {}
_memory_lock = threading.Lock()


class SQLiteBackend:
    """See the module docstring."""

    dialect = "sqlite"
    capabilities = Capabilities(notify=False, skip_locked=False, multi_host=False, remote=False, search_vectors=False)

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._sql = queries("sqlite")
        self._plans = _plans()
        self._busy = settings.sqlite_busy_timeout
        url = settings.url
        self.path = url.path
        self._memory = url.kind == "memory"
        if self._memory:
            with _memory_lock:
                pool = _memory_pools.get(url.name)
                if pool is None:
                    pool = _Pool(self._connect_memory, 1, settings.acquire_timeout)
                    _memory_pools[url.name] = pool
            self._pool = pool
        else:
            assert self.path is not None
            _check_directory(self.path, create=settings.create_dir)
            self._pool = _Pool(self._connect_file, settings.pool_max_size, settings.acquire_timeout)
        self._pool.put(self._retrying(self._pool.get))  # surface a bad file now, at open

    # -- connections --------------------------------------------------------------------------

    def _connect_file(self) -> sqlite3.Connection:
        """A configured WAL connection. SQLite errors are raised as they are, for the caller's
        retry to tell "busy" apart: switching a new file to WAL while other processes open it
        too can be refused at once with "database is locked", whatever the busy timeout."""
        assert self.path is not None
        conn = sqlite3.connect(
            self.path, timeout=self._busy, isolation_level=None, check_same_thread=False,
            cached_statements=256,
        )
        try:
            self._configure(conn)
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise errors.CannotOpenDatabase(
                    f"cannot open SQLite database {self.path}: it stays in journal mode {mode!r}, "
                    "and roost needs WAL"
                )
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_memory(self) -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", timeout=self._busy, isolation_level=None, check_same_thread=False)
        self._configure(conn)
        return conn

    def _configure(self, conn: sqlite3.Connection) -> None:
        """The per-connection pragmas. The busy timeout is already set: ``sqlite3.connect(timeout=)``
        is ``sqlite3_busy_timeout``, the very call ``PRAGMA busy_timeout`` makes. Temporary b-trees
        (a window, a materialized CTE, an ORDER BY without an index) stay in memory: roost's
        statements are bounded by their LIMITs, and with the default (files) each such statement
        created and deleted a temporary file, which made a claim cost 2.6 times as much."""
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute(f"PRAGMA synchronous={self._settings.sqlite_synchronous}")

    # -- running operations -------------------------------------------------------------------

    def _named(self, name: str) -> str:
        try:
            return self._sql[name]
        except KeyError:
            raise errors.RoostError(f"internal error: no SQLite query named {name!r}") from None

    def _run(self, conn: sqlite3.Connection, step: Step) -> Result:
        if isinstance(step, Query):
            plan = self._plans.get(step.name)
            if plan.__class__ is str:
                cur = _execute(conn, plan, step.params or {})
                return Result(cur.fetchall(), cur.rowcount)
            if plan is None:
                self._named(step.name)  # raises the clear error
            return self._run_block(conn, plan, step.params or {})  # type: ignore[arg-type]
        if isinstance(step, Batch):
            try:
                conn.executemany(self._named(step.name), step.rows)
            except sqlite3.OperationalError as exc:
                if not _stale_schema(exc):
                    raise
                conn.executemany(self._named(step.name), step.rows)
            return Result([], len(step.rows))
        for statement in split_script(step.text or self._named(step.name)):
            conn.execute(statement)
        return Result([], -1)

    def _run_block(self, conn: sqlite3.Connection, block: tuple[str, ...], params: Any) -> Result:
        """A named query of several statements (SQLite has no data-modifying CTEs): all run in one
        write transaction, their own unless one is open, and the last one's rows are the result."""
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in block[:-1]:
                _execute(conn, statement, params)
            cur = _execute(conn, block[-1], params)
            result = Result(cur.fetchall(), cur.rowcount)
            if own:
                conn.execute("COMMIT")
        except BaseException:
            if own and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _release(self, conn: sqlite3.Connection, changes_before: int) -> None:
        """Return ``conn`` to the pool; on memory://, wake listeners if it wrote anything."""
        self._pool.put(conn)
        if self._memory and conn.total_changes != changes_before:
            self._pool.bump()

    def backup(self, target: Path) -> str:
        from roost.backends import sqlite_files

        conn = self._pool.get()
        try:
            return sqlite_files.copy_checked(conn, target)
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        finally:
            self._pool.put(conn)

    @contextmanager
    def loader(self) -> Iterator[Any]:
        from roost.backends.imports import SQLiteWriter

        plan = self._plans["import_raise_tokens"]
        conn = self._pool.get()
        try:
            yield SQLiteWriter(conn, self._sql["import_quiet_triggers"], (plan,) if isinstance(plan, str) else plan)
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        finally:
            self._pool.put(conn)

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        from roost.backends.exports import SQLiteReader

        conn = self._pool.get()
        try:
            self._guard(lambda: conn.execute("BEGIN"))  # (deferred: the first read fixes the snapshot)
            try:
                yield SQLiteReader(conn)
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc
            finally:
                conn.execute("ROLLBACK")
        finally:
            self._pool.put(conn)

    def execute(self, make: Callable[[], Op[T]], atomic: bool, tx: Any | None) -> T:
        if tx is None:
            try:  # the common case, without setting up the retry loop
                return self._attempt(make, atomic)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise _translate(exc, self.path) from exc
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc
            return self._retrying(partial(self._attempt, make, atomic))
        if not atomic:
            return self._guard(lambda: drive(make(), partial(self._run, tx.conn)))
        with self.transaction(tx) as inner:
            return self._guard(lambda: drive(make(), partial(self._run, inner.conn)))

    def _attempt(self, make: Callable[[], Op[T]], atomic: bool) -> T:
        conn = self._pool.get()
        before = conn.total_changes if self._memory else 0
        try:
            if atomic:
                conn.execute("BEGIN IMMEDIATE")
            value = drive(make(), partial(self._run, conn))
            if atomic:
                conn.execute("COMMIT")
            return value
        finally:
            self._release(conn, before)

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt``, retrying it with jittered backoff while SQLite reports busy."""
        import random  # (here: most calls never retry, and each import is CLI latency)

        deadline = 0.0
        delay = 0.005
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                deadline = deadline or time.monotonic() + max(1.0, 2 * self._busy)
                if not _is_busy(exc) or time.monotonic() + delay > deadline:
                    raise _translate(exc, self.path) from exc
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.2)

    def _guard(self, run: Callable[[], T]) -> T:
        try:
            return run()
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc

    @contextmanager
    def transaction(self, parent: Any | None) -> Iterator[_Tx]:
        if parent is not None:
            name = f"roost_sp{parent.depth + 1}"
            self._guard(lambda: parent.conn.execute(f"SAVEPOINT {name}"))
            try:
                yield _Tx(parent.conn, parent.depth + 1)
            except BaseException:
                self._guard(lambda: parent.conn.execute(f"ROLLBACK TO {name}"))
                self._guard(lambda: parent.conn.execute(f"RELEASE {name}"))
                raise
            self._guard(lambda: parent.conn.execute(f"RELEASE {name}"))
            return

        def begin() -> sqlite3.Connection:
            conn = self._pool.get()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._pool.put(conn)
                raise
            return conn

        conn = self._retrying(begin)
        before = conn.total_changes
        try:
            yield _Tx(conn, 0)
            self._guard(lambda: conn.execute("COMMIT"))
        finally:
            self._release(conn, before)

    # -- wake-ups -----------------------------------------------------------------------------

    def listener(self, channels: Sequence[str]) -> _Listener:
        if self._memory:
            return _MemoryListener(self._pool)
        return _FileListener(self._retrying(self._connect_file))

    def close(self) -> None:
        if not self._memory:
            self._pool.close()


class _FileListener:
    """Polls ``PRAGMA data_version``, which changes when another connection commits to the file."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._version = self._read()

    def _read(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._read()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(_POLL, left))

    def close(self) -> None:
        self._conn.close()


class _MemoryListener:
    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self._seen = pool.generation

    def wait(self, timeout: float) -> bool:
        with self._pool.changed:
            woke = self._pool.changed.wait_for(lambda: self._pool.generation != self._seen, timeout)
            self._seen = self._pool.generation
        return woke

    def close(self) -> None:
        pass


_Listener = _FileListener | _MemoryListener


def split_script(text: str) -> list[str]:
    """Split DDL into statements; ``executescript`` cannot be used as it commits first."""
    statements, current = [], ""
    for line in (text.rstrip() + ";").splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statement = current.strip().rstrip(";").strip()
            if statement:
                statements.append(statement)
            current = ""
    if current.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in current.splitlines()
    ):
        raise errors.RoostError(f"incomplete SQL statement in script: {current.strip()[:80]!r}")
    return statements


def _check_directory(path: Path, create: bool) -> None:
    folder = path.parent
    if create and not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.CannotOpenDatabase(f"cannot create directory {folder}: {exc.strerror}") from None
    if not folder.exists():
        raise errors.CannotOpenDatabase(
            f"cannot open SQLite database {path}: directory {folder} does not exist"
        )
    if not folder.is_dir():
        raise errors.CannotOpenDatabase(f"cannot open SQLite database {path}: {folder} is not a directory")
    if path.exists() and not path.is_file():
        raise errors.CannotOpenDatabase(f"cannot open SQLite database {path}: it is not a regular file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise errors.CannotOpenDatabase(
            f"cannot open SQLite database {path}: directory {folder} is not writable (SQLite needs "
            "to create its -wal and -shm files there)"
        )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _execute(conn: sqlite3.Connection, sql: str, params: Any) -> sqlite3.Cursor:
    """``conn.execute``, once more if the statement could not be prepared on a stale schema.

    When another connection has changed the schema (a migration, an application's own table), the
    first statement this connection prepares afterwards can fail with "no such table" although the
    table exists: preparing a statement whose triggers write to an FTS5 table connects the virtual
    table, whose own queries notice the new schema and reload it under the statement being
    prepared. The failed prepare ran nothing, and left the schema reloaded, so the same statement
    is prepared again (once: a table that really is missing fails the same way twice)."""
    try:
        return conn.execute(sql, params)
    except sqlite3.OperationalError as exc:
        if not _stale_schema(exc):
            raise
        return conn.execute(sql, params)


def _stale_schema(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return text.startswith(("no such table:", "no such column:"))


def _translate(exc: sqlite3.Error, path: Path | None) -> errors.RoostError:
    text = str(exc)
    where = f" ({path})" if path else ""
    if isinstance(exc, sqlite3.IntegrityError):
        return errors.ConstraintViolation(f"constraint violated: {text}")
    if "file is not a database" in text:
        return errors.NotADatabase(f"{path} is not an SQLite database; it was left untouched")
    if isinstance(exc, sqlite3.OperationalError):
        if _is_busy(exc):
            return errors.DatabaseLocked(
                f"the SQLite database{where} stayed locked by other writers past the busy timeout "
                f"({text}); retry, or raise sqlite_busy_timeout"
            )
        if "readonly" in text:
            return errors.ReadOnlyDatabase(f"the SQLite database{where} is read-only for this process")
        if "unable to open" in text:
            return errors.CannotOpenDatabase(f"cannot open SQLite database{where}: {text}")
        if "disk I/O" in text or "full" in text:
            return errors.DatabaseError(f"SQLite could not write{where}: {text}")
    return errors.DatabaseError(f"SQLite error{where}: {text}")
