"""The ``roost`` command: rich output for people, ``--json`` for programs.

Exit codes (stable, documented in the README): 0 ok, 1 error, 2 usage, 3 not found / not acquired /
conflict / timed out, 4 lease lost. A roost error prints one line on stderr; ``--debug`` adds the
traceback. Every command takes ``--url`` (and ``--project``), which override the environment and
``roost.toml``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

import roost
from roost.config import resolve
from roost.diagnostics import Check
from roost.errors import RoostError
from roost.store import Store

F = TypeVar("F", bound=Callable[..., Any])
_LEVEL_STYLE = {"ok": "green", "warn": "yellow", "fail": "red"}


class Fail(Exception):
    """Ends a command with a message and an exit code, after output was printed."""

    def __init__(self, message: str | None, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def common(fn: F) -> F:
    """The options every command takes."""

    @click.option("--url", envvar=None, help="Database URL; overrides ROOST_URL, DATABASE_URL, roost.toml.")
    @click.option("--project", help="Project scope; overrides ROOST_PROJECT (default: the project folder name).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for programs instead of tables.")
    @click.option("--debug", is_flag=True, help="Print a traceback on errors.")
    @functools.wraps(fn)
    def wrapper(*args: Any, debug: bool, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Fail as exc:
            if exc.args[0]:
                click.echo(f"error: {exc.args[0]}", err=True)
            sys.exit(exc.code)
        except RoostError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _open(url: str | None, project: str | None, *, existing: bool, migrate: bool) -> Store:
    """Open the store; ``existing`` refuses to create a SQLite file that is not there yet."""
    settings = resolve(url, project=project, auto_migrate=migrate)
    path = settings.url.path
    if existing and settings.url.kind == "sqlite" and path is not None and not path.exists():
        raise Fail(f"no roost database at {path}; run `roost init` first")
    return Store(settings, check_schema=False)


def _emit(as_json: bool, data: Any, human: Callable[[Console], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, default=_jsonable, indent=2))
    else:
        human(Console(highlight=False))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(roost.__version__, "--version", prog_name="roost", message="%(prog)s %(version)s")
def main() -> None:
    """roost: shared, persistent state for teams of AI agents (SQLite or PostgreSQL).

    Exit codes: 0 ok, 1 error, 2 usage, 3 not found/not acquired/conflict/timed out, 4 lease lost.
    """


@main.command()
@common
def init(url: str | None, project: str | None, as_json: bool) -> None:
    """Create the database if needed, apply migrations and register the project."""
    with _open(url, project, existing=False, migrate=True) as store:
        info = store.info()
    _emit(as_json, dataclasses.asdict(info), lambda c: c.print(
        f"[green]ready[/]: {info.url} (project [bold]{info.project}[/], schema version {info.schema_version})"
    ))


@main.command()
@common
def info(url: str | None, project: str | None, as_json: bool) -> None:
    """Show the backend, masked URL, project, schema version and sizes."""
    with _open(url, project, existing=True, migrate=False) as store:
        data = store.info()

    def human(console: Console) -> None:
        table = Table(show_header=False, box=None)
        table.add_row("backend", data.backend)
        table.add_row("url", data.url)
        table.add_row("project", data.project)
        behind = "" if data.schema_version == data.schema_latest else f" (roost knows {data.schema_latest})"
        table.add_row("schema version", f"{data.schema_version}{behind}")
        for name, size in data.sizes.items():
            table.add_row(name, f"{size:,}")
        console.print(table)

    _emit(as_json, dataclasses.asdict(data), human)


@main.command()
@click.option("--status", is_flag=True, help="Only show each migration's state; change nothing.")
@common
def migrate(url: str | None, project: str | None, as_json: bool, status: bool) -> None:
    """Apply pending migrations (safe while other processes start), or show their status."""
    with _open(url, project, existing=status, migrate=False) as store:
        applied = [] if status else store.migrate()
        states = store.migration_status()
    problems = [s for s in states if s.state in ("changed", "unknown")]
    if status:
        def human(console: Console) -> None:
            table = Table("version", "name", "state", "applied at")
            for s in states:
                style = "green" if s.state == "applied" else "yellow" if s.state == "pending" else "red"
                when = s.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC") if s.applied_at else ""
                table.add_row(f"{s.version:04d}", s.name, f"[{style}]{s.state}[/]", when)
            console.print(table)

        _emit(as_json, {"migrations": states}, human)
        if problems:
            raise Fail(None)
        return
    version = max((s.version for s in states if s.state == "applied"), default=0)
    _emit(as_json, {"applied": applied, "schema_version": version}, lambda c: c.print(
        f"applied {len(applied)} migration(s); schema at version {version}" if applied
        else f"nothing to do; schema at version {version}"
    ))


@main.command()
@common
def doctor(url: str | None, project: str | None, as_json: bool) -> None:
    """Check connectivity, pragmas or server facts, migrations and clock skew."""
    settings = resolve(url, project=project, auto_migrate=False)
    try:
        with _open(url, project, existing=True, migrate=False) as store:
            checks = store.doctor()
    except RoostError as exc:
        checks = [Check("connect", "fail", exc.message)]
    failed = any(c.level == "fail" for c in checks)

    def human(console: Console) -> None:
        console.print(f"roost doctor: {settings.url.masked} (project {settings.project})")
        for c in checks:
            hint = f"  [dim]{c.hint}[/]" if c.hint and c.level != "ok" else ""
            console.print(f"  [{_LEVEL_STYLE[c.level]}]{c.level:>4}[/]  {c.name}: {c.value}{hint}")

    _emit(as_json, {"ok": not failed, "url": settings.url.masked, "checks": checks}, human)
    if failed:
        raise Fail(None)
