"""Online backup of a store to one file, and restore of such a file into an empty store.

The backend makes the copy (SQLite: the online backup API; PostgreSQL: ``pg_dump``) and checks it;
this module keeps the file handling honest: the copy is written beside the target under a
temporary name and renamed into place only once checked, so a failed or interrupted backup (a
full disk, a killed process) never leaves a file that looks like a backup, and an existing file
is replaced only when asked.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from roost import errors

if TYPE_CHECKING:
    from roost.backends import Backend
    from roost.config import Settings


@dataclass(frozen=True)
class BackupInfo:
    """A backup written: where, of which backend, its size, and how it was checked."""

    path: str
    backend: str
    schema_version: int
    bytes: int
    seconds: float
    checked: str


@dataclass(frozen=True)
class RestoreInfo:
    source: str
    url: str
    schema_version: int
    seconds: float


def _target(path: object) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise errors.InvalidArgument(f"the backup path must be a string or a path, not {type(path).__name__}")
    target = Path(path).expanduser()
    if not str(path) or target.is_dir():
        raise errors.InvalidArgument(f"{str(path)!r} is a folder, not a file to write the backup to")
    if not target.parent.is_dir():
        raise errors.InvalidArgument(f"the folder {target.parent} does not exist")
    return target


def backup(backend: Backend, path: object, schema_version: int, overwrite: bool = False) -> BackupInfo:
    target = _target(path)
    if target.exists() and not overwrite:
        raise errors.TargetNotEmpty(f"{target} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    began = time.monotonic()
    try:
        checked = backend.backup(partial)
        os.replace(partial, target)
    except OSError as exc:
        raise errors.BackupError(f"cannot write the backup {target}: {exc.strerror or exc}; nothing was left "
                                 "behind") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(str(target), backend.dialect, schema_version, target.stat().st_size, time.monotonic() - began,
                      checked)


def restore(settings: Settings, path: object) -> RestoreInfo:
    """Restore the backup file ``path`` into the empty store ``settings`` names (see
    :func:`roost.restore`)."""
    from roost.backends import restore_into
    from roost.migrations import MigrationSet

    if not isinstance(path, str | os.PathLike):
        raise errors.InvalidArgument(f"the backup path must be a string or a path, not {type(path).__name__}")
    source = Path(path).expanduser()
    if not source.is_file():
        raise errors.NotFound(f"no backup file at {source}")
    dialect = "postgresql" if settings.url.kind == "postgresql" else "sqlite"
    began = time.monotonic()
    try:
        version = restore_into(settings, source, MigrationSet.bundled(dialect).latest)
    except OSError as exc:
        raise errors.BackupError(f"cannot restore {source}: {exc.strerror or exc}; nothing was restored") from None
    return RestoreInfo(str(source), settings.url.masked, version, time.monotonic() - began)
