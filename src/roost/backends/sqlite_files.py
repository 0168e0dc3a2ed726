"""Backups of SQLite stores, and restores of them: SQLite's online backup API and file checks.

A backup copies the database in one step of the backup API: one read transaction, a consistent
snapshot. In WAL mode a reader never blocks a writer, so the agents go on writing while it runs
(their changes after the snapshot are simply not in the copy). Copying in many small steps would
not help: SQLite restarts a stepwise backup whenever another connection writes, so under steady
writes it might never finish. The copy is then switched to a rollback journal (one self-contained
file) and must pass ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from roost import errors

MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


def copy_checked(source: sqlite3.Connection, target: Path) -> str:
    """Copy the database behind ``source`` into the new file ``target`` and check the copy."""
    dest = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")
        check(dest, target)
    finally:
        dest.close()
    return "PRAGMA integrity_check: ok"


def check(conn: sqlite3.Connection, path: Path) -> None:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    if rows != [("ok",)]:
        problems = "; ".join(str(r[0]) for r in rows[:3])
        raise errors.BackupError(f"{path} fails PRAGMA integrity_check: {problems}")


def schema_version(conn: sqlite3.Connection, path: Path) -> int:
    try:
        found = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    except sqlite3.OperationalError:
        found = None
    if found is None or found[0] is None:
        raise errors.BackupError(f"{path} is an SQLite database but not a roost store (it has no schema_migrations)")
    return int(found[0])


def restore(source: Path, target: Path, latest: int) -> int:
    """Copy the backup ``source`` into ``target`` (missing, or an empty file) and return its schema
    version. Nothing is written to ``target`` until the whole copy is checked: it is built beside
    it and renamed into place."""
    with open(source, "rb") as handle:
        head = handle.read(16)
    if head.startswith(PG_MAGIC):
        raise errors.BackupError(f"{source} is a PostgreSQL backup (pg_dump); restore it into a postgresql:// URL")
    if head != MAGIC:
        raise errors.BackupError(f"{source} is not a roost backup: not an SQLite database")
    for path in (target, Path(f"{target}-wal")):
        if path.exists() and path.stat().st_size > 0:
            raise errors.TargetNotEmpty(f"{path} already exists; restore into a new file (or remove it first)")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    try:
        try:
            check(src, source)
            version = schema_version(src, source)
        except sqlite3.DatabaseError as exc:
            raise errors.BackupError(f"{source} cannot be read as an SQLite database: {exc}") from None
        if version > latest:
            raise errors.SchemaTooNew(f"{source} holds schema version {version}, newer than this roost knows "
                                      f"({latest}); upgrade roost to restore it")
        partial = target.with_name(f".{target.name}.restoring-{os.getpid()}")
        try:
            dest = sqlite3.connect(partial, isolation_level=None)
            try:
                src.backup(dest)
                dest.execute("PRAGMA journal_mode=WAL")
                check(dest, partial)
            finally:
                dest.close()
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    except sqlite3.Error as exc:
        raise errors.BackupError(f"restoring {source} into {target} failed: {exc}") from None
    finally:
        src.close()
    return version
