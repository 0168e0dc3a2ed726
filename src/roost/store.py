"""The Python faces: :class:`Store` (sync) and :class:`AsyncStore`.

Both are thin. A method hands one operation (see :mod:`roost._op`) to the backend and returns what
it returns; the async face runs the very same call on a worker thread, so there is no second copy
of any logic to keep in step. The open transaction lives in a context variable, which
``asyncio.to_thread`` carries into the worker, so ``async with store.transaction()`` works as the
sync form does.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from roost import _validate, audit, diagnostics, errors, migrations
from roost._op import Op, Query, is_atomic, is_repeatable
from roost.agents import Agents
from roost.backends import Backend, Capabilities, Listener, open_backend
from roost.config import Settings, resolve
from roost.events import Events
from roost.locks import HeldLock, Locks
from roost.signals import Signals
from roost.tasks import Tasks

T = TypeVar("T")
P = ParamSpec("P")
_ids = itertools.count()


@dataclass(frozen=True)
class StoreInfo:
    backend: str
    url: str
    project: str
    schema_version: int
    schema_latest: int
    sizes: dict[str, int]


class Store:
    """A connection to one roost database, scoped to one project. Open it with :func:`roost.connect`."""

    def __init__(
        self,
        settings: Settings,
        *,
        migration_set: migrations.MigrationSet | None = None,
        check_schema: bool = True,
        create: bool | None = None,
    ) -> None:
        self.settings = settings
        may_create = _may_create(settings, create)
        path = settings.url.path
        if not may_create and settings.url.kind == "sqlite" and path is not None and not path.exists():
            raise errors.NoStore(f"no roost store at {settings.url.masked}: the file {path} does not exist; "
                                 f"create it with `roost init --url {settings.url.masked}`" + _hint(settings, create))
        self._backend: Backend = open_backend(settings)
        self._mset = migration_set or migrations.MigrationSet.bundled(self._backend.dialect)
        self._tx: contextvars.ContextVar[Any] = contextvars.ContextVar(f"roost_tx_{next(_ids)}", default=None)
        self._closed = False
        self.signals = Signals(self)
        """Named values with versions, compare-and-set, TTLs and waiting: :class:`roost.signals.Signals`."""
        self.locks = Locks(self)
        """Leased locks with fencing tokens: :class:`roost.locks.Locks`."""
        self.agents = Agents(self)
        """The agent registry: :class:`roost.agents.Agents`."""
        self.tasks = Tasks(self)
        """The task queue: :class:`roost.tasks.Tasks`."""
        self.events = Events(self)
        """The event log and subscriptions: :class:`roost.events.Events`."""
        try:
            self._prepare(check_schema, may_create, create is True)
        except BaseException:
            self._backend.close()
            raise

    def _prepare(self, check_schema: bool, may_create: bool, into_foreign: bool) -> None:
        """Check the schema with a read; take the migration lock only when something is pending.
        A database with no roost schema gets one only if this store may create it, and only if
        it is empty, unless ``create=True`` asked to install roost beside another application's
        tables."""
        if not (self.settings.auto_migrate or check_schema or not may_create):
            return
        states = self.migration_status()
        if all(s.state == "pending" for s in states):  # no roost schema here
            masked = self.settings.url.masked
            if not may_create:
                raise errors.NoStore(f"no roost store at {masked}: the database has no roost schema; create one "
                                     f"with `roost init --url {masked}`" + _hint(self.settings, False))
            tables = self._execute(migrations.foreign_tables)
            if tables and not into_foreign:
                raise errors.NoStore(
                    f"the database at {masked} holds {tables} table(s) but no roost schema: it looks like another "
                    f"application's; to add roost's tables beside them, run `roost init --url {masked}` or "
                    "pass create=True")
        if not (self.settings.auto_migrate or check_schema):
            return
        migrations.verify(states, self._mset.latest)
        pending = [s for s in states if s.state == "pending"]
        if pending and self.settings.auto_migrate:
            self.migrate()
        elif pending:
            raise errors.SchemaNotReady(
                f"the database has {len(pending)} pending migration(s) and auto_migrate is off; "
                "run `roost migrate`"
            )
        self._execute(diagnostics.project_ensure, self.project)

    # -- what it is ---------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """``sqlite`` (for files and ``memory://``) or ``postgresql``."""
        return self._backend.dialect

    @property
    def capabilities(self) -> Capabilities:
        return self._backend.capabilities

    @property
    def project(self) -> str:
        return self.settings.project

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return self.settings.url.masked

    @property
    def in_transaction(self) -> bool:
        """Whether this thread (or task) is inside ``store.transaction()``."""
        return self._tx.get() is not None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<roost.Store {state} {self.url} project={self.project!r}>"

    # -- running ------------------------------------------------------------------------------

    def _execute(self, fn: Callable[P, Op[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._closed:
            raise errors.StoreClosed()
        tx = self._tx.get()
        make, atomic = partial(fn, *args, **kwargs), is_atomic(fn)
        repeatable = is_repeatable(fn)
        try:
            return self._backend.execute(make, atomic, tx)
        except errors.ConnectionLost:
            if tx is not None or not repeatable:
                raise
        except errors.ServerUnreachable:
            if tx is not None:
                raise  # (outside a transaction nothing was sent, so any operation may run again)
        return self._again(make, atomic, repeatable)

    def _again(self, make: Callable[[], Op[T]], atomic: bool, repeatable: bool) -> T:
        """Run an operation again after a lost connection (a killed backend, a server restart) or
        an unreachable server, backing off until the server answers or ``connect_timeout`` has
        passed. An operation that is not repeatable is run again only while nothing was sent."""
        deadline = time.monotonic() + self.settings.connect_timeout
        delay = 0.05
        while True:
            time.sleep(delay * (0.5 + random.random()))
            try:
                return self._backend.execute(make, atomic, None)
            except errors.ConnectionLost:
                if not repeatable or self._closed or time.monotonic() + delay > deadline:
                    raise
            except (errors.PoolTimeout, errors.ServerUnreachable):
                if self._closed or time.monotonic() + delay > deadline:
                    raise
            delay = min(delay * 2, 1.0)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Make every operation inside the block one atomic unit. A nested block is a savepoint:
        if it raises, only its own changes are undone."""
        if self._closed:
            raise errors.StoreClosed()
        with self._backend.transaction(self._tx.get()) as handle:
            token = self._tx.set(handle)
            try:
                yield self
            finally:
                self._tx.reset(token)

    # -- schema -------------------------------------------------------------------------------

    def migrate(self, target: int | None = None) -> list[int]:
        """Apply pending migrations (up to ``target``); returns the versions this call applied."""
        applied: list[int] = []
        while step := self._execute(migrations.step, self._mset, target):
            applied.extend(step)
        return applied

    def migration_status(self) -> list[migrations.MigrationState]:
        return self._execute(migrations.status, self._mset)

    # -- the store itself ---------------------------------------------------------------------

    def get_project(self) -> diagnostics.Project | None:
        """This store's project record (a point read by primary key)."""
        return self._execute(diagnostics.project_get, self.project)

    def now(self) -> datetime:
        """The database's clock: the one leases and expiries are measured against."""
        return datetime.fromtimestamp(float(self._execute(_db_now)), UTC)

    def info(self) -> StoreInfo:
        schema = self._execute(diagnostics.schema_info, self._mset)
        sizes = dict(schema.sizes)
        path = self.settings.url.path
        if self.settings.url.kind == "sqlite" and path is not None:
            wal = Path(f"{path}-wal")
            sizes["wal file bytes"] = wal.stat().st_size if wal.exists() else 0
        return StoreInfo(self.backend, self.url, self.project, schema.version, schema.latest, sizes)

    def doctor(self) -> list[diagnostics.Check]:
        return self._execute(diagnostics.doctor, self._mset)

    def audit_log(self, limit: int = 100) -> list[audit.AuditEntry]:
        """Privileged actions (force releases, writes to protected signals), newest first."""
        return self._execute(audit.entries, self.project, _validate.integer(limit, "limit", 1, 10_000))

    def notify(self, channel: str, payload: str = "") -> None:
        """Wake listeners of ``channel`` when the current transaction commits (or now)."""
        self._execute(_notify, channel, payload)

    def listener(self, channels: Sequence[str]) -> Listener:
        """A wake-up source for ``channels``; see :class:`roost.backends.Listener`."""
        if self._closed:
            raise errors.StoreClosed()
        return self._backend.listener(channels)

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.events._close()
            self._backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _db_now() -> Op[float]:
    return float((yield Query("db_now")).scalar())


def _notify(channel: str, payload: str) -> Op[None]:
    yield Query("notify", {"channel": channel, "payload": payload})


class AsyncFacade:
    """The awaitable twin of a sync facade (``signals``, ``locks``, ``agents``): each method is the
    sync one, run on a worker thread. Attributes that are not methods are passed through."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(attr, *args, **kwargs)

        call.__doc__ = attr.__doc__
        return call


class AsyncLocks(AsyncFacade):
    """``locks`` of an :class:`AsyncStore`; ``hold`` is an ``async with`` block."""

    def __init__(self, target: Locks) -> None:
        super().__init__(target)
        self._locks = target

    @asynccontextmanager
    async def hold(self, name: str, **options: Any) -> AsyncIterator[HeldLock]:
        held = await asyncio.to_thread(self._locks.hold, name, **options)
        try:
            yield held
        except BaseException as exc:
            await asyncio.to_thread(held.__exit__, type(exc), exc, exc.__traceback__)
            raise
        else:
            await asyncio.to_thread(held.__exit__, None, None, None)


class AsyncStore:
    """The asyncio face of :class:`Store`: the same operations, awaited.

    Use ``async with roost.connect_async(...) as store`` or ``store = await roost.connect_async()``.
    """

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._store: Store | None = None

    async def open(self) -> AsyncStore:
        if self._store is None:
            self._store = await asyncio.to_thread(self._opener)
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
    def signals(self) -> Any:
        """:class:`roost.signals.Signals`, awaited."""
        return AsyncFacade(self.sync.signals)

    @property
    def locks(self) -> AsyncLocks:
        """:class:`roost.locks.Locks`, awaited; ``async with store.locks.hold(...)``."""
        return AsyncLocks(self.sync.locks)

    @property
    def agents(self) -> Any:
        """:class:`roost.agents.Agents`, awaited."""
        return AsyncFacade(self.sync.agents)

    @property
    def tasks(self) -> Any:
        """:class:`roost.tasks.Tasks`, awaited."""
        return AsyncFacade(self.sync.tasks)

    @property
    def events(self) -> Any:
        """:class:`roost.events.Events`, awaited; a subscription works with ``async for``."""
        return AsyncFacade(self.sync.events)

    async def audit_log(self, limit: int = 100) -> list[audit.AuditEntry]:
        return await self._call(self.sync.audit_log, limit)

    async def _call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(method, *args, **kwargs)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncStore]:
        store = self.sync
        if store._closed:
            raise errors.StoreClosed()
        manager = store._backend.transaction(store._tx.get())
        handle = await asyncio.to_thread(manager.__enter__)
        token = store._tx.set(handle)
        try:
            yield self
        except BaseException as exc:
            store._tx.reset(token)
            if not await asyncio.to_thread(manager.__exit__, type(exc), exc, exc.__traceback__):
                raise
        else:
            store._tx.reset(token)
            await asyncio.to_thread(manager.__exit__, None, None, None)

    async def migrate(self, target: int | None = None) -> list[int]:
        return await self._call(self.sync.migrate, target)

    async def migration_status(self) -> list[migrations.MigrationState]:
        return await self._call(self.sync.migration_status)

    async def get_project(self) -> diagnostics.Project | None:
        return await self._call(self.sync.get_project)

    async def now(self) -> datetime:
        return await self._call(self.sync.now)

    async def info(self) -> StoreInfo:
        return await self._call(self.sync.info)

    async def doctor(self) -> list[diagnostics.Check]:
        return await self._call(self.sync.doctor)

    async def notify(self, channel: str, payload: str = "") -> None:
        await self._call(self.sync.notify, channel, payload)

    async def close(self) -> None:
        if self._store is not None:
            await asyncio.to_thread(self._store.close)

    def __repr__(self) -> str:
        return f"<roost.AsyncStore of {self._store!r}>"


def open_store(
    url: str | None = None,
    *,
    migration_set: migrations.MigrationSet | None = None,
    check_schema: bool = True,
    create: bool | None = None,
    **options: Any,
) -> Store:
    """:func:`roost.connect` with the extra knobs the CLI and tests need."""
    return Store(resolve(url, **options), migration_set=migration_set, check_schema=check_schema, create=create)


def _may_create(settings: Settings, create: bool | None) -> bool:
    """``create`` True or False decides. Left as None, a store may be created where the URL cannot
    be a typo that silently splits a team: memory://, the zero-config default location, and a URL
    the program passed itself. A URL from ROOST_URL, DATABASE_URL or roost.toml must already hold
    a roost store (made by `roost init`), so a mistyped variable fails instead of opening a new,
    empty store that nobody else uses."""
    if create is not None:
        return create
    return settings.url.kind == "memory" or settings.sources.get("url") in ("argument", "default")


def _hint(settings: Settings, create: bool | None) -> str:
    source = settings.sources.get("url", "default")
    if create is False or source in ("argument", "default"):
        return ""
    return f" (the URL came from {source}; check it for a typo, or pass create=True)"
