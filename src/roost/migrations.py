"""Schema migrations: numbered SQL files per dialect, recorded in ``schema_migrations``.

Files live in ``roost/sql/<dialect>/migrations/NNNN_name.sql`` and are never edited once released;
the checksum recorded with each one proves it. An empty database gets ``schema.sql`` (the whole
schema at the newest version) in one step, with every migration recorded as applied; a database
that is behind gets the missing migrations one at a time, each in its own transaction together with
its record. A test keeps the two routes equal.

Every step runs under the backend's migration lock (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL) and re-reads what is applied after taking it, so
any number of processes may start at once and each migration is still applied exactly once.
"""

from __future__ import annotations

import os
import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from importlib import import_module
from pathlib import Path
from typing import Any

from roost import errors
from roost._op import Op, Query, Script, atomic, repeatable
from roost._sql import SQL_ROOT, read_text, resource_text


def _find_sha256() -> Any:
    """CPython's own SHA-256 (``_sha256``; ``_sha2`` from 3.12): the same digests as hashlib's,
    without loading OpenSSL, which took 2 ms of every CLI call. hashlib where neither exists."""
    for name in ("_sha256", "_sha2"):
        with suppress(ImportError, AttributeError):
            return import_module(name).sha256
    return import_module("hashlib").sha256


_sha256 = _find_sha256()

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @cached_property
    def checksum(self) -> str:
        return checksum(self.sql)

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True)
class MigrationState:
    """One migration as the database and the code see it.

    ``state``: ``applied``; ``pending`` (in the code, not in the database); ``changed`` (applied,
    but the file's checksum differs); ``unknown`` (in the database only: the schema is newer).
    """

    version: int
    name: str
    state: str
    applied_at: datetime | None


@dataclass(frozen=True)
class MigrationSet:
    dialect: str
    migrations: tuple[Migration, ...]
    schema: str | None

    @property
    def latest(self) -> int:
        return self.migrations[-1].version if self.migrations else 0

    @classmethod
    def bundled(cls, dialect: str) -> MigrationSet:
        """The migrations shipped with roost (read once per process: every store opened checks
        the database against them)."""
        return _bundled(dialect)

    @classmethod
    def from_directory(cls, dialect: str, folder: Path, schema: str | None = None) -> MigrationSet:
        return cls(dialect, _load(str(folder)), schema)


@cache
def _bundled(dialect: str) -> MigrationSet:
    folder = os.path.join(SQL_ROOT, dialect, "migrations")
    return MigrationSet(dialect, _load(folder), resource_text(dialect, "schema.sql"))


def checksum(sql: str) -> str:
    text = "\n".join(line.rstrip() for line in sql.replace("\r\n", "\n").strip().split("\n"))
    return str(_sha256(text.encode("utf-8")).hexdigest())


def _load(folder: str) -> tuple[Migration, ...]:
    found = []
    for entry in os.listdir(folder):
        match = _FILE.match(entry)
        if match:
            found.append(Migration(int(match[1]), match[2], read_text(os.path.join(folder, entry))))
        elif entry.endswith(".sql"):
            raise errors.RoostError(f"migration file {entry!r} is not named NNNN_name.sql")
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise errors.RoostError(f"migrations must be numbered 1, 2, 3…; {migration.label} is out of order")
    return tuple(found)


@repeatable
def foreign_tables() -> Op[int]:
    """How many tables the database holds although it has no roost schema (0: it is empty)."""
    return int((yield Query("database_tables")).scalar())


@repeatable
def status(mset: MigrationSet) -> Op[list[MigrationState]]:
    """Every migration, in the code or in the database, with its state. Changes nothing."""
    exists = (yield Query("migrations_table_exists")).scalar()
    applied = (yield Query("migrations_applied")).rows if exists else []
    return _states(mset, applied)


def _states(mset: MigrationSet, applied: object) -> list[MigrationState]:
    rows = {int(r[0]): r for r in applied}  # type: ignore[attr-defined]
    states = []
    for m in mset.migrations:
        row = rows.pop(m.version, None)
        if row is None:
            states.append(MigrationState(m.version, m.name, "pending", None))
        else:
            state = "applied" if row[2] == m.checksum else "changed"
            states.append(MigrationState(m.version, m.name, state, _when(row[3])))
    for version, row in sorted(rows.items()):
        states.append(MigrationState(version, str(row[1]), "unknown", _when(row[3])))
    return states


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(float(epoch), UTC)


def verify(states: list[MigrationState], latest: int) -> None:
    """Refuse a database this code must not touch: newer than the code, or with edited history."""
    unknown = [s for s in states if s.state == "unknown"]
    if unknown:
        newest = max(s.version for s in unknown)
        raise errors.SchemaTooNew(
            f"the database schema is at version {newest}, newer than this roost knows ({latest}); "
            "upgrade roost before using this database"
        )
    changed = [s for s in states if s.state == "changed"]
    if changed:
        names = ", ".join(f"{s.version:04d}_{s.name}" for s in changed)
        raise errors.MigrationChecksumMismatch(
            f"applied migration {names} differs from the file shipped with this roost (checksum "
            "mismatch); the schema was changed outside roost or by another build"
        )


@repeatable
@atomic
def step(mset: MigrationSet, target: int | None = None) -> Op[list[int]]:
    """Apply what is next under the migration lock: the whole schema to an empty database, else
    the next pending migration up to ``target``. Returns the versions applied (empty when done)."""
    yield Query("migration_lock")
    yield Script(name="migrations_bootstrap")
    states = _states(mset, (yield Query("migrations_applied")).rows)
    verify(states, mset.latest)
    pending = [s.version for s in states if s.state == "pending" and (target is None or s.version <= target)]
    if not pending:
        return []
    if len(pending) == len(mset.migrations) and mset.schema is not None and target is None:
        yield Script(mset.schema)
        for m in mset.migrations:
            yield Query("migration_record", {"version": m.version, "name": m.name, "checksum": m.checksum})
        return pending
    migration = mset.migrations[pending[0] - 1]
    yield Script(migration.sql)
    yield Query(
        "migration_record",
        {"version": migration.version, "name": migration.name, "checksum": migration.checksum},
    )
    return [migration.version]
