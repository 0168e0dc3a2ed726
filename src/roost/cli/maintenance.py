"""Operating a store: ``roost cleanup`` (retention by hand; it also runs by itself in stores that
stay open), ``backup`` and ``restore``, ``export``, ``import`` and ``transfer``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from roost.cli._common import Fail, common, emit, new_table, store
from roost.maintenance.policies import KINDS

if TYPE_CHECKING:
    from rich.console import Console

    from roost.maintenance.importing import LoadInfo


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
    complete. Load it elsewhere with `roost import FILE --url ...`.
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


def _load_report(info: LoadInfo) -> dict[str, Any]:
    return {"project": info.project, "source": info.origin, "rows": info.rows,
            "already_present": sum(info.present.values()), "replaced": info.replaced, "resumed": info.resumed,
            "verified": info.verified, "seconds": round(info.seconds, 3), "tables": info.written,
            "checks": [{"table": c.table, "source_rows": c.source_rows, "target_rows": c.target_rows,
                        "same": c.same} for c in info.checks]}


def _say_loaded(console: Console, info: LoadInfo, verb: str) -> None:
    present = sum(info.present.values())
    console.print(f"{verb} {info.rows:,} rows into project {info.project!r} from {info.origin} ({info.seconds:.2f} s)"
                  + (f"; {present:,} were there already" if present else "")
                  + (" after deleting its records" if info.replaced else ""))
    console.print(f"verified: {len(info.checks)} tables, row counts and SHA-256 checksums equal")


@contextmanager
def _progress(enabled: bool, what: str, total: int | None = None) -> Iterator[Callable[[str, int], None] | None]:
    """A progress bar on standard error when it is a terminal (of ``total`` rows, when known);
    None (no bar) otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        job = bar.add_task(what, total=total)

        def advance(table: str, rows: int) -> None:
            bar.update(job, advance=rows, description=f"{what}: {table}")

        yield advance


@click.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--replace", is_flag=True, help="Delete the project's records in the target first.")
@common
def import_(url: str | None, project: str | None, as_json: bool, path: str, replace: bool) -> None:
    """Load the export file PATH (`roost export`; gzip or not) into the store at --url, into
    --project (default: the project it was exported from).

    The whole file is checked first: a truncated or damaged one is refused, naming the line, and
    nothing is written. Rows then go in batches; rows already there are skipped, so running it
    again resumes an import that stopped, and changes nothing after one that finished. A project
    that holds other records is refused (exit 3) unless --replace; so are ids another project of
    the target holds. Afterwards every table's rows and checksum are compared with the file's:
    exits 4 on a difference.
    """
    from roost.config import resolve
    from roost.maintenance.exportfile import ExportFile
    from roost.store import Store

    file = ExportFile(path)
    total = sum(int(t["rows"]) for t in file.header["tables"].values())
    with Store(resolve(url, project=project or file.project)) as s, _progress(not as_json, "importing", total) as tick:
        info = s.import_file(path, replace=replace, progress=tick)
    emit(as_json, _load_report(info), lambda console: _say_loaded(console, info, "imported"))


@click.command()
@click.option("--from", "source", required=True, metavar="URL", help="The store to copy from (it is only read).")
@click.option("--to", "target", required=True, metavar="URL", help="The store to copy into (made if new).")
@click.option("--replace", is_flag=True, help="Delete the project's records in the target first.")
@common
def transfer(url: str | None, project: str | None, as_json: bool, source: str, target: str, replace: bool) -> None:
    """Copy --project (default: every project) from the store --from to the store --to, any two
    backends, then verify it: per table, row counts and a SHA-256 of the rows computed the same way
    on both sides; exits 4 on any difference.

    The source is read from one snapshot while agents may go on writing to it. Ids, event
    positions and fencing tokens carry over, and the target issues larger ones next. A target
    project that already holds records is refused (exit 3) unless --replace.
    """
    import roost

    if url is not None:
        raise Fail("roost transfer takes --from URL and --to URL, not --url", 2)
    with _progress(not as_json, "transferring") as tick:
        done = roost.transfer(source, target, project, replace=replace, progress=tick)

    def human(console: Console) -> None:
        for info in done:
            _say_loaded(console, info, "copied")

    emit(as_json, [_load_report(info) for info in done], human)
