"""What every command shares: the common options, error handling, opening the store, and output.

rich is imported only when something is rendered for people: a command that prints one value
(``roost signal get``) never loads it, because every CLI call is a new process and its imports are
the agent's latency.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from roost._validate import hostname, parse_json
from roost.config import resolve
from roost.errors import RoostError
from roost.store import Store

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

F = TypeVar("F", bound=Callable[..., Any])


class Fail(Exception):
    """Ends a command with a message and an exit code, after output was printed."""

    def __init__(self, message: str | None, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def global_options(fn: F) -> F:
    """``--url``, ``--project``, ``--json`` and ``--debug``: taken by every command, and by ``roost``
    itself before the command (``roost --url X info``); given in both places, the command's wins."""
    fn = click.option("--debug", is_flag=True, default=None, help="Print a traceback on errors.")(fn)
    fn = click.option("--json", "as_json", is_flag=True, default=None,
                      help="Print JSON for programs instead of tables (errors too, on stderr).")(fn)
    fn = click.option("--project",
                      help="Project scope; overrides ROOST_PROJECT (default: the project folder name).")(fn)
    return click.option("--url", envvar=None,
                        help="Database URL; overrides ROOST_URL, DATABASE_URL, roost.toml.")(fn)


def common(fn: F) -> F:
    """The options every command takes, and one way of ending with an error: one line on stderr
    (a JSON object with ``--json``) and the error's exit code."""

    @global_options
    @functools.wraps(fn)
    def wrapper(*args: Any, url: str | None, project: str | None, as_json: bool | None, debug: bool | None,
                **kwargs: Any) -> Any:
        given = click.get_current_context().find_root().params
        url = url if url is not None else given.get("url")
        project = project if project is not None else given.get("project")
        as_json = bool(as_json or given.get("as_json"))
        debug = bool(debug or given.get("debug"))
        try:
            return fn(*args, url=url, project=project, as_json=as_json, **kwargs)
        except Fail as exc:
            _fail(as_json, "Error", exc.args[0], exc.code)
        except RoostError as exc:
            if debug:
                _traceback()
            _fail(as_json, type(exc).__name__, exc.message, exc.exit_code)
        except KeyboardInterrupt:
            _fail(as_json, "Interrupted", "interrupted", 130)
        except BrokenPipeError:  # the reader went away (`roost events tail | head -1`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except Exception as exc:
            if debug:
                _traceback()
            _fail(as_json, "InternalError", f"{type(exc).__name__}: {exc} (rerun with --debug)", 1)

    return wrapper  # type: ignore[return-value]


def _traceback() -> None:
    import traceback

    traceback.print_exc()


def _fail(as_json: bool, name: str, message: str | None, code: int) -> None:
    """Exit with ``code``, saying why on stderr (nothing more when the output already said it)."""
    if message is None:
        sys.exit(code)
    if as_json:
        click.echo(json.dumps({"error": {"name": name, "message": message, "exit_code": code}}), err=True)
    else:
        click.echo(f"{'internal error' if name == 'InternalError' else 'error'}: {message}", err=True)
    sys.exit(code)


def open_store(url: str | None, project: str | None, *, create: bool, migrate: bool) -> Store:
    """Open the store for init, info, migrate and doctor; only ``create`` (init, migrate) may create
    a database or install roost's schema."""
    return Store(resolve(url, project=project, auto_migrate=migrate), check_schema=False, create=create)


INPUT_MAX_BYTES = 16 * 1024 * 1024
"""More than any value roost stores (the limits are per kind), so a big input gets the kind's own
clear limit error rather than being read whole into memory."""


def read_input(text: str, what: str, *, files: bool = True) -> str:
    """A value as given on the command line, where ``-`` reads standard input and (for JSON, which
    never starts with ``@``) ``@PATH`` reads a file: values too big for an argument list."""
    if text == "-":
        data = sys.stdin.read(INPUT_MAX_BYTES + 1)
    elif files and text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                data = handle.read(INPUT_MAX_BYTES + 1)
        except OSError as exc:
            raise Fail(f"{what}: cannot read {text[1:]!r}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise Fail(f"{what}: {text[1:]!r} is not UTF-8 text") from None
    else:
        return text
    if len(data) > INPUT_MAX_BYTES:
        raise Fail(f"{what} is over {INPUT_MAX_BYTES // (1024 * 1024)} MB")
    return data


def read_json(text: str | None, what: str) -> Any:
    """A JSON value from the command line (or ``-`` / ``@PATH``); None when not given."""
    return None if text is None else parse_json(read_input(text, what), what)


def emit(as_json: bool, data: Any, human: Callable[[Console], None]) -> None:
    if as_json:
        print_json(data)
    else:
        human(console())


def console() -> Console:
    """Rich output for people; on a pipe or file, lines are not wrapped at 80 columns."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 100_000)


def new_table(*headers: str, **options: Any) -> Table:
    """A rich table (rich loaded here, on first use)."""
    from rich.table import Table

    return Table(*headers, **options)


def escape(text: str) -> str:
    """``text`` with rich markup made literal (rich loaded here, on first use)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


AGENT_HELP = "The agent claiming; default ROOST_AGENT, else host:PID of the calling process."
OWNER_HELP = "Who holds it; default ROOST_AGENT, else host:PID of the calling process."


def plain(value: Any) -> str:
    """A value as a script reads it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def value_arg(text: str, as_json_value: bool) -> Any:
    """A VALUE argument: JSON with ``--json-value`` (``-`` and ``@PATH`` read it), else a string
    (``-`` reads standard input, one trailing newline dropped)."""
    if as_json_value:
        return read_json(text, "VALUE")
    return read_input(text, "VALUE", files=False).removesuffix("\n") if text == "-" else text


def ago(seconds: float) -> str:
    """A duration, short: 12.3 s, 4.5 min, 6.7 h."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def store(url: str | None, project: str | None) -> Store:
    """Open the store for an ordinary command: it must exist (`roost init` creates it); pending
    migrations of an existing store are applied as usual."""
    return Store(resolve(url, project=project), create=False)


def cli_owner(given: str | None) -> str:
    """The owner a command acts as: ``--owner``, else ``ROOST_AGENT``, else ``host:PPID``. The parent's
    pid, because this process exits at once and the agent that called it is the one holding."""
    return given or os.environ.get("ROOST_AGENT") or f"{hostname()}:{os.getppid()}"


def claimed_owner(given: str | None) -> str | None:
    """The owner to check on renew and release: only one the caller named (``--owner`` or
    ``ROOST_AGENT``); a pid-based default would differ between two commands of one agent."""
    return given or os.environ.get("ROOST_AGENT") or None


def print_json(data: Any, *, line: bool = False) -> None:
    """Indented JSON for a result; ``line`` for one compact object per line (streams of events)."""
    click.echo(json.dumps(data, default=jsonable, ensure_ascii=False, indent=None if line else 2))
