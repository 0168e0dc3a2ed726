"""``roost cleanup``: retention by hand (it also runs by itself in stores that stay open)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from roost.cli._common import Fail, common, emit, new_table, store
from roost.maintenance.policies import KINDS

if TYPE_CHECKING:
    from rich.console import Console


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice([k.name for k in KINDS]),
              help="Only this kind (repeatable); default every kind.")
@common
def cleanup(url: str | None, project: str | None, as_json: bool, dry_run: bool, kinds: tuple[str, ...]) -> None:
    """Remove what the retention settings no longer keep, kind by kind, in short batches.

    Each kind is bounded by settings (signal_max_age, task_max_age, event_max_age, ...; the
    README's configuration table and docs/operations.md list them); a setting of 0 keeps that
    kind. Only one process per project cleans at a time: exits 3 if another one is cleaning now.
    """
    with store(url, project) as s:
        report = s.cleanup(kinds or None, dry_run=dry_run)
        status = s.cleanup_status()

    def human(console: Console) -> None:
        verb = "would remove" if report.dry_run else "removed"
        table = new_table("kind", verb, "tables", "policy")
        for k in report.kinds:
            tables = ", ".join(f"{t} {n:,}" for t, n in k.tables.items() if n) or "-"
            table.add_row(k.kind, f"{k.removed:,}", tables, k.policy)
        console.print(table)
        tail = "" if report.complete else " (stopped before the end: run it again)"
        console.print(f"{verb} {report.removed:,} rows in {report.seconds:.2f} s"
                      + ("" if report.dry_run else f", {report.batches} batches") + tail)

    emit(as_json, {"dry_run": report.dry_run, "complete": report.complete, "removed": report.removed,
                   "batches": report.batches, "seconds": round(report.seconds, 3),
                   "kinds": [{"kind": k.kind, "removed": k.removed, "tables": k.tables, "policy": k.policy}
                             for k in report.kinds],
                   "passes": status.passes, "last_finished_at": status.finished_at.isoformat()}, human)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists.")
@common
def backup(url: str | None, project: str | None, as_json: bool, path: str, overwrite: bool) -> None:
    """Write a consistent copy of the whole store to PATH while agents go on writing.

    SQLite: the online backup API, checked with PRAGMA integrity_check. PostgreSQL: pg_dump of
    roost's schema (pg_dump must be installed). The file appears only once checked. Restore it with
    `roost restore PATH --url ...` into an empty store.
    """
    with store(url, project) as s:
        info = s.backup(path, overwrite=overwrite)

    def human(console: Console) -> None:
        console.print(f"backed up {info.backend} store to {info.path} ({info.bytes:,} bytes, {info.seconds:.2f} s; "
                      f"{info.checked})")

    emit(as_json, info, human)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@common
def restore(url: str | None, project: str | None, as_json: bool, path: str) -> None:
    """Restore the backup PATH into an empty store at --url (a new SQLite file, or a PostgreSQL
    database with no roost schema) of the same backend. An older schema is migrated; a newer one
    is refused. Nothing is left half-restored."""
    import roost

    info = roost.restore(path, url, project=project)

    def human(console: Console) -> None:
        console.print(f"restored {info.source} into {info.url} (schema version {info.schema_version}, "
                      f"{info.seconds:.2f} s)")

    emit(as_json, info, human)


@click.command()
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False),
              help="Write to this file (gzip-compressed when it ends in .gz); default standard output.")
@common
def export(url: str | None, project: str | None, as_json: bool, path: str | None) -> None:
    """Write every record of the project as JSON Lines: a header (format and schema version, rows
    per table), then one line per row, from one consistent snapshot while agents go on writing.

    The same records give the same lines on SQLite and PostgreSQL. A file appears only once
    complete. (`roost import` is not built yet; see docs/operations.md.)
    """
    import gzip
    import os
    import sys

    with store(url, project) as s:
        if path is None:
            info = s.export(sys.stdout)
            sys.stdout.flush()
            if as_json:  # (standard output holds the export: the summary goes to standard error)
                click.echo(json.dumps({"project": info.project, "rows": info.rows, "tables": info.tables}), err=True)
            return
        partial = f"{path}.partial-{os.getpid()}"
        try:
            with (gzip.open(partial, "wt", encoding="utf-8") if path.endswith(".gz")
                  else open(partial, "w", encoding="utf-8")) as out:
                info = s.export(out)
            os.replace(partial, path)
        except OSError as exc:
            raise Fail(f"cannot write {path}: {exc.strerror or exc}; nothing was left behind") from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    def human(console: Console) -> None:
        console.print(f"exported {info.rows:,} rows of project {info.project!r} to {path} ({info.seconds:.2f} s)")

    emit(as_json, {"path": path, "project": info.project, "schema_version": info.schema_version,
                   "rows": info.rows, "tables": info.tables, "seconds": round(info.seconds, 3)}, human)
