"""What every command shares: the common options, error handling, opening the store, and output."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import socket
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console

from roost.config import resolve
from roost.errors import RoostError
from roost.store import Store

F = TypeVar("F", bound=Callable[..., Any])


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


def open_store(url: str | None, project: str | None, *, existing: bool, migrate: bool) -> Store:
    """Open the store; ``existing`` refuses to create a SQLite file that is not there yet."""
    settings = resolve(url, project=project, auto_migrate=migrate)
    path = settings.url.path
    if existing and settings.url.kind == "sqlite" and path is not None and not path.exists():
        raise Fail(f"no roost database at {path}; run `roost init` first")
    return Store(settings, check_schema=False)


def emit(as_json: bool, data: Any, human: Callable[[Console], None]) -> None:
    if as_json:
        print_json(data)
    else:
        human(Console(highlight=False))


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def store(url: str | None, project: str | None) -> Store:
    """Open (creating and migrating if needed) the store for a coordination command."""
    return Store(resolve(url, project=project))


def cli_owner(given: str | None) -> str:
    """The owner a command acts as: ``--owner``, else ``ROOST_AGENT``, else ``host:PPID``. The parent's
    pid, because this process exits at once and the agent that called it is the one holding."""
    return given or os.environ.get("ROOST_AGENT") or f"{socket.gethostname()}:{os.getppid()}"


def claimed_owner(given: str | None) -> str | None:
    """The owner to check on renew and release: only one the caller named (``--owner`` or
    ``ROOST_AGENT``); a pid-based default would differ between two commands of one agent."""
    return given or os.environ.get("ROOST_AGENT") or None


def print_json(data: Any, *, line: bool = False) -> None:
    """Indented JSON for a result; ``line`` for one compact object per line (streams of events)."""
    click.echo(json.dumps(data, default=jsonable, ensure_ascii=False, indent=None if line else 2))
