"""The Python faces: :class:`Store` (sync) and :class:`AsyncStore`.

Both are thin. A method hands one operation (see :mod:`roost._op`) to the backend and returns what
it returns; the async face (:mod:`roost._async`) runs the very same method in a bridged greenlet
(:mod:`roost._bridge`), with the backend swapped, for that call only, for one that awaits (the
``_via`` context variable), so there is no second copy of any logic to keep in step. The open
transaction lives in a context variable too, so ``async with store.transaction()`` works as the
sync form does.

The areas (``store.signals``, ``store.tasks``, …) are attached on first use, so a process that
reads one signal imports the signals module and nothing of the queue or the event log: a CLI call
is a new process, and import time is its latency.
"""

from __future__ import annotations

import contextvars
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TextIO, TypeVar

from roost import _validate, errors, migrations
from roost._op import Op, Query, is_atomic, is_repeatable, repeatable
from roost.backends import Backend, Capabilities, Listener, open_backend
from roost.config import Settings, resolve

if TYPE_CHECKING:
    from roost import audit, diagnostics
    from roost._async import AsyncStore
    from roost.agents import Agents
    from roost.documents.area import Documents
    from roost.events import Events
    from roost.locks import Locks
    from roost.maintenance.backup import BackupInfo
    from roost.maintenance.cleanup import Report, Status
    from roost.maintenance.exchange import ExportInfo
    from roost.maintenance.importing import LoadInfo
    from roost.maintenance.janitor import Janitor
    from roost.memory.artifacts import Artifacts
    from roost.memory.memories import Memories
    from roost.memory.observations import Observations
    from roost.memory.sessions import Sessions
    from roost.memory.transcripts import Transcripts
    from roost.search.hits import Results, Search
    from roost.search.names import Finder, Match
    from roost.signals import Signals
    from roost.tasks import Tasks
    from roost.workflows.area import Runs, Workflows

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


SEARCH_MIGRATION = 11
"""From this migration on, records written before search existed are indexed after migrating."""


class Store:
    """A connection to one roost database, scoped to one project. Open it with :func:`roost.connect`."""

    def __init__(
        self,
        settings: Settings,
        *,
        migration_set: migrations.MigrationSet | None = None,
        check_schema: bool = True,
        create: bool | None = None,
        register: bool = True,
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
        self._via: contextvars.ContextVar[Backend | None] = contextvars.ContextVar(f"roost_via_{next(_ids)}",
                                                                                   default=None)
        """The backend of the async face while one of its calls runs (see roost._async), else None."""
        self._async_face: AsyncStore | None = None
        """The async face over this store, once one is opened on it."""
        self._closed = False
        self._janitor: Janitor | None = None
        try:
            self._prepare(check_schema, may_create, create is True, register)
        except BaseException:
            self._backend.close()
            raise

    def _prepare(self, check_schema: bool, may_create: bool, into_foreign: bool, register: bool) -> None:
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
        if register:  # (off only for a look at a store that must not change: a transfer's source)
            self._execute(_register_project, self.project)
        if self.settings.cleanup_interval > 0:
            from roost.maintenance.janitor import Janitor

            self._janitor = Janitor(self)

    # -- the areas, attached on first use ------------------------------------------------------

    @cached_property
    def signals(self) -> Signals:
        """Named values with versions, compare-and-set, TTLs and waiting: :class:`roost.signals.Signals`."""
        from roost.signals import Signals

        return Signals(self)

    @cached_property
    def locks(self) -> Locks:
        """Leased locks with fencing tokens: :class:`roost.locks.Locks`."""
        from roost.locks import Locks

        return Locks(self)

    @cached_property
    def agents(self) -> Agents:
        """The agent registry: :class:`roost.agents.Agents`."""
        from roost.agents import Agents

        return Agents(self)

    @cached_property
    def tasks(self) -> Tasks:
        """The task queue: :class:`roost.tasks.Tasks`."""
        from roost.tasks import Tasks

        return Tasks(self)

    @cached_property
    def events(self) -> Events:
        """The event log and subscriptions: :class:`roost.events.Events`."""
        from roost.events import Events

        return Events(self)

    @cached_property
    def sessions(self) -> Sessions:
        """Sessions, their participants and counters: :class:`roost.memory.sessions.Sessions`."""
        from roost.memory.sessions import Sessions

        return Sessions(self)

    @cached_property
    def transcripts(self) -> Transcripts:
        """Session transcripts, appended in bulk: :class:`roost.memory.transcripts.Transcripts`."""
        from roost.memory.transcripts import Transcripts

        return Transcripts(self)

    @cached_property
    def memories(self) -> Memories:
        """Keyed, versioned memories: :class:`roost.memory.memories.Memories`."""
        from roost.memory.memories import Memories

        return Memories(self)

    @cached_property
    def observations(self) -> Observations:
        """Agents' observations, with retention: :class:`roost.memory.observations.Observations`."""
        from roost.memory.observations import Observations

        return Observations(self)

    @cached_property
    def artifacts(self) -> Artifacts:
        """Versioned, content-addressed artifacts: :class:`roost.memory.artifacts.Artifacts`."""
        from roost.memory.artifacts import Artifacts

        return Artifacts(self)

    @cached_property
    def documents(self) -> Documents:
        """Typed, versioned document collections: :class:`roost.documents.area.Documents`."""
        from roost.documents.area import Documents

        return Documents(self)

    @cached_property
    def workflows(self) -> Workflows:
        """Versioned workflow definitions: :class:`roost.workflows.area.Workflows`."""
        from roost.workflows.area import Workflows

        return Workflows(self)

    @cached_property
    def runs(self) -> Runs:
        """Runs of workflows, their phases, gates, evaluations and outputs: :class:`roost.workflows.area.Runs`."""
        from roost.workflows.area import Runs

        return Runs(self)

    @cached_property
    def _search(self) -> Search:
        from roost.search.hits import Search

        return Search(self)

    @cached_property
    def _finder(self) -> Finder:
        from roost.search.names import Finder

        return Finder(self)

    def search(self, query: str, *, kinds: Iterable[str] | None = None, session: str | None = None,
               agent: str | None = None, tags: Iterable[str] | None = None, type: str | None = None,
               since: datetime | float | None = None, until: datetime | float | None = None, limit: int = 20,
               cursor: str | None = None, order: str = "relevance", all_versions: bool = False, raw: bool = False,
               markers: tuple[str, str] = ("<mark>", "</mark>"), escape: bool = True) -> Results:
        """Ranked full-text search across transcripts, memories, observations, artifacts and
        sessions (docs/search.md). ``query`` is roost's query language: words (all must match),
        ``"phrases"``, ``OR``, ``-excluded``, ``prefix*``; no query raises except an empty one.
        ``kinds`` narrows the kinds; ``session``, ``agent``, ``tags`` (all of them), ``type`` and
        ``since``/``until`` filter (a kind without such a field is left out). ``order="recent"``
        sorts newest first. Returns up to ``limit`` (1 to 200) hits and the ``cursor`` of the next
        page. ``all_versions`` includes old artifact versions; ``raw=True`` takes the backend's own
        query syntax instead (FTS5 or tsquery; a syntax error is InvalidArgument). Snippets mark
        matches with ``markers``, the text around them HTML-escaped unless ``escape=False``."""
        return self._search(query, kinds=kinds, session=session, agent=agent, tags=tags, type=type, since=since,
                            until=until, limit=limit, cursor=cursor, order=order, all_versions=all_versions,
                            raw=raw, markers=markers, escape=escape)

    def find(self, name: str, *, kinds: Iterable[str] | None = None, limit: int = 10) -> list[Match]:
        """The names closest to ``name`` (typos, case and separators forgiven), best first, among
        agents, sessions, artifacts, memory keys, tags, signals and locks (or ``kinds``): each a
        :class:`~roost.search.names.Match` with its trigram similarity (0.3 to 1)."""
        return self._finder(name, kinds=kinds, limit=limit)

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
        backend = self._via.get() or self._backend
        try:
            return backend.execute(make, atomic, tx)
        except errors.ConnectionLost:
            if tx is not None or not repeatable:
                raise
        except errors.ServerUnreachable:
            if tx is not None:
                raise  # (outside a transaction nothing was sent, so any operation may run again)
        return self._again(backend, make, atomic, repeatable)

    def _again(self, backend: Backend, make: Callable[[], Op[T]], atomic: bool, repeatable: bool) -> T:
        """Run an operation again after a lost connection (a killed backend, a server restart) or
        an unreachable server, backing off until the server answers or ``connect_timeout`` has
        passed. An operation that is not repeatable is run again only while nothing was sent."""
        import random  # (here: most processes never retry, and each import is CLI latency)

        deadline = time.monotonic() + self.settings.connect_timeout
        delay = 0.05
        while True:
            self._pause(delay * (0.5 + random.random()))
            try:
                return backend.execute(make, atomic, None)
            except errors.ConnectionLost:
                if not repeatable or self._closed or time.monotonic() + delay > deadline:
                    raise
            except (errors.PoolTimeout, errors.ServerUnreachable):
                if self._closed or time.monotonic() + delay > deadline:
                    raise
            delay = min(delay * 2, 1.0)

    def _pause(self, seconds: float) -> None:
        """Sleep; in a call of the async face, await the sleep instead, so the loop runs on."""
        if self._via.get() is None:
            time.sleep(seconds)
        else:
            from roost._bridge import sleep

            sleep(seconds)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Make every operation inside the block one atomic unit. A nested block is a savepoint:
        if it raises, only its own changes are undone."""
        if self._closed:
            raise errors.StoreClosed()
        with (self._via.get() or self._backend).transaction(self._tx.get()) as handle:
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
        if max((s.version for s in self.migration_status() if s.state == "applied"), default=0) >= SEARCH_MIGRATION:
            from roost.search import backfill, names

            backfill.run(self)
            names.install_trigram(self)
        return applied

    def migration_status(self) -> list[migrations.MigrationState]:
        return self._execute(migrations.status, self._mset)

    # -- the store itself ---------------------------------------------------------------------

    def get_project(self) -> diagnostics.Project | None:
        """This store's project record (a point read by primary key)."""
        from roost import diagnostics

        return self._execute(diagnostics.project_get, self.project)

    def now(self) -> datetime:
        """The database's clock: the one leases and expiries are measured against."""
        return datetime.fromtimestamp(float(self._execute(_db_now)), UTC)

    def info(self) -> StoreInfo:
        from roost import diagnostics

        schema = self._execute(diagnostics.schema_info, self._mset)
        sizes = dict(schema.sizes)
        path = self.settings.url.path
        if self.settings.url.kind == "sqlite" and path is not None:
            wal = Path(f"{path}-wal")
            sizes["wal file bytes"] = wal.stat().st_size if wal.exists() else 0
        return StoreInfo(self.backend, self.url, self.project, schema.version, schema.latest, sizes)

    def doctor(self) -> list[diagnostics.Check]:
        from roost import diagnostics

        checks = self._execute(diagnostics.doctor, self._mset)
        if any(c.name == "migrations" and c.level == "ok" for c in checks):
            from roost.maintenance import cleanup

            checks.append(cleanup.check(self))
        return checks

    def cleanup(self, kinds: Iterable[str] | None = None, *, dry_run: bool = False) -> Report:
        """Remove what the retention settings no longer keep (docs/operations.md), kind by kind
        (``kinds``, default all), in batches of ``cleanup_batch`` rows, under the project's cleanup
        lock: :class:`~roost.errors.LockNotAcquired` if another process is cleaning now. A
        ``dry_run`` removes nothing and counts what would go. Stores that stay open run this by
        themselves every ``cleanup_interval``."""
        from roost.maintenance import cleanup

        report = cleanup.run(self, kinds, dry_run=dry_run)
        assert report is not None
        return report

    def backup(self, path: str | Path, *, overwrite: bool = False) -> BackupInfo:
        """Write a consistent copy of the whole store to the file ``path`` while agents go on
        writing (SQLite: the online backup API, then ``PRAGMA integrity_check``; PostgreSQL:
        ``pg_dump`` of roost's schema, which must be installed). The file appears only once
        checked; an existing one is replaced only with ``overwrite``. Restore it with
        :func:`roost.restore`."""
        from roost.maintenance import backup

        if self._closed:
            raise errors.StoreClosed()
        return backup.backup(self._backend, path, self._applied_version(), overwrite)

    def export(self, out: TextIO) -> ExportInfo:
        """Write every record of this project to ``out`` as JSON Lines: a header (format and
        schema version, rows per table), then one line per row, in one consistent snapshot taken
        while agents go on writing. The same records give the same lines on SQLite and PostgreSQL
        (docs/operations.md)."""
        from roost.maintenance import exchange

        version = self._applied_version()
        with self._backend.snapshot() as reader:
            return exchange.write(reader, self.project, version, out)

    def import_file(self, path: str | Path, *, replace: bool = False,
                    progress: Callable[[str, int], None] | None = None) -> LoadInfo:
        """Load an export file (``Store.export``, ``roost export``; gzip or not) into this project,
        whatever project it was exported from. The whole file is checked before anything is
        written; rows go in batches, each its own transaction; a row already here is skipped, so
        an import that stopped halfway resumes when run again, and a second import of the same
        file changes nothing. A project that already holds other records is refused
        (:class:`~roost.errors.TargetNotEmpty`) unless ``replace``, which deletes them first. Ids
        are kept (:class:`~roost.errors.IdCollision` when another project holds one). Afterwards
        each table's rows and checksum are compared with the file's:
        :class:`~roost.errors.TransferMismatch` on any difference. ``progress(table, rows)`` is
        called after each batch. See docs/operations.md."""
        from roost.maintenance import exchange, exportfile, importing

        file = exportfile.ExportFile(path)
        importing.check_version(self, file.header["schema_version"], file.path)
        with self._backend.snapshot() as reader:
            kinds = {t.name: columns for t, columns, _ in exchange.layout(reader)}
        source = file.scan(kinds)
        return importing.load(self, source, file.rows(kinds), replace=replace, progress=progress)

    def _applied_version(self) -> int:
        """The newest migration applied to this database (what a backup or export carries)."""
        return max((m.version for m in self.migration_status() if m.state == "applied"), default=0)

    def cleanup_status(self) -> Status:
        """When this project's cleanup last ran, by whom, and what it removed."""
        from roost.maintenance import cleanup

        return cleanup.status(self)

    def audit_log(self, limit: int = 100) -> list[audit.AuditEntry]:
        """Privileged actions (force releases, writes to protected signals), newest first."""
        from roost import audit

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
            if self._janitor is not None:  # (first: its batch in progress still needs the backend)
                self._janitor.close()
            self._closed = True
            if "events" in self.__dict__:  # only an area that was used has anything to stop
                self.events._close()
            self._backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@repeatable
def _register_project(project: str) -> Op[None]:
    """Register the project once; a read first keeps the common case (every open) free of any
    write lock. (:func:`roost.diagnostics.project_ensure` is the same, returning the record.)"""
    if (yield Query("project_get", {"project": project})).one() is None:
        yield Query("project_ensure", {"project": project})


def _db_now() -> Op[float]:
    return float((yield Query("db_now")).scalar())


def _notify(channel: str, payload: str) -> Op[None]:
    yield Query("notify", {"channel": channel, "payload": payload})


def open_store(
    url: str | None = None,
    *,
    migration_set: migrations.MigrationSet | None = None,
    check_schema: bool = True,
    create: bool | None = None,
    register: bool = True,
    **options: Any,
) -> Store:
    """:func:`roost.connect` with the extra knobs the CLI and tests need."""
    return Store(resolve(url, **options), migration_set=migration_set, check_schema=check_schema, create=create,
                 register=register)


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
