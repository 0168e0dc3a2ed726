"""``roost init``, ``info``, ``migrate`` and ``doctor``: the store itself."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from roost.cli._common import Fail, common, emit, new_table, open_store
from roost.config import resolve
from roost.diagnostics import Check
from roost.errors import RoostError

if TYPE_CHECKING:
    from rich.console import Console

_LEVEL_STYLE = {"ok": "green", "warn": "yellow", "fail": "red"}


@click.command()
@common
def init(url: str | None, project: str | None, as_json: bool) -> None:
    """Create the store: the SQLite file, or roost's schema in an existing PostgreSQL database (which
    roost does not create); apply migrations and register the project. Safe to run again, and from
    many processes at once. The only commands that create a store are this one and migrate."""
    with open_store(url, project, create=True, migrate=True) as store:
        info = store.info()
    emit(as_json, dataclasses.asdict(info), lambda c: c.print(
        f"[green]ready[/]: {info.url} (project [bold]{info.project}[/], schema version {info.schema_version})"
    ))


@click.command()
@common
def info(url: str | None, project: str | None, as_json: bool) -> None:
    """Show the backend, masked URL, project, schema version and sizes."""
    with open_store(url, project, create=False, migrate=False) as store:
        data = store.info()

    def human(console: Console) -> None:
        table = new_table(show_header=False, box=None)
        table.add_row("backend", data.backend)
        table.add_row("url", data.url)
        table.add_row("project", data.project)
        behind = "" if data.schema_version == data.schema_latest else f" (roost knows {data.schema_latest})"
        table.add_row("schema version", f"{data.schema_version}{behind}")
        for name, size in data.sizes.items():
            table.add_row(name, f"{size:,}")
        console.print(table)

    emit(as_json, dataclasses.asdict(data), human)


@click.command()
@click.option("--status", is_flag=True, help="Only show each migration's state; change nothing.")
@common
def migrate(url: str | None, project: str | None, as_json: bool, status: bool) -> None:
    """Apply pending migrations (safe while other processes start), or show their status."""
    with open_store(url, project, create=not status, migrate=False) as store:
        applied = [] if status else store.migrate()
        states = store.migration_status()
    problems = [s for s in states if s.state in ("changed", "unknown")]
    if status:
        def human(console: Console) -> None:
            table = new_table("version", "name", "state", "applied at")
            for s in states:
                style = "green" if s.state == "applied" else "yellow" if s.state == "pending" else "red"
                when = s.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC") if s.applied_at else ""
                table.add_row(f"{s.version:04d}", s.name, f"[{style}]{s.state}[/]", when)
            console.print(table)

        emit(as_json, {"migrations": states}, human)
        if problems:
            raise Fail(None)
        return
    version = max((s.version for s in states if s.state == "applied"), default=0)
    emit(as_json, {"applied": applied, "schema_version": version}, lambda c: c.print(
        f"applied {len(applied)} migration(s); schema at version {version}" if applied
        else f"nothing to do; schema at version {version}"
    ))


@click.command()
@common
def doctor(url: str | None, project: str | None, as_json: bool) -> None:
    """Check connectivity, pragmas or server facts, migrations and clock skew."""
    settings = resolve(url, project=project, auto_migrate=False)
    try:
        with open_store(url, project, create=False, migrate=False) as store:
            checks = store.doctor()
    except RoostError as exc:
        checks = [Check("connect", "fail", exc.message)]
    failed = any(c.level == "fail" for c in checks)

    def human(console: Console) -> None:
        console.print(f"roost doctor: {settings.url.masked} (project {settings.project})")
        for c in checks:
            hint = f"  [dim]{c.hint}[/]" if c.hint and c.level != "ok" else ""
            console.print(f"  [{_LEVEL_STYLE[c.level]}]{c.level:>4}[/]  {c.name}: {c.value}{hint}")

    emit(as_json, {"ok": not failed, "url": settings.url.masked, "checks": checks}, human)
    if failed:
        raise Fail(None)
