"""``roost signal``: named values agents set, read, compare-and-set and wait for, from a shell.

Plain output is what a script wants (a value, a version); ``--json`` gives the whole record. Exit 3
when a signal is not set, is at another version, or a wait timed out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roost import errors
from roost.cli._common import (
    OWNER_HELP,
    cli_owner,
    common,
    emit,
    escape,
    new_table,
    plain,
    print_json,
    store,
    value_arg,
)

if TYPE_CHECKING:
    from rich.console import Console

    from roost.signals import Signal


@click.group()
def signal() -> None:
    """Named values agents set, read, compare-and-set and wait for."""


@signal.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--ttl", type=float, help="Seconds until it reads as absent.")
@click.option("--critical", is_flag=True, help="Exempt from age-based cleanup.")
@click.option("--if-version", type=int, help="Only if the signal is at this version (0: only if absent).")
@click.option("--if-absent", is_flag=True, help="Only if the signal is not set.")
@click.option("--json-value", is_flag=True, help="VALUE is JSON (refused if malformed); default: a string.")
@click.option("--privileged", is_flag=True, help="Allow writing a protected key (managers, orchestrators).")
@click.option("--owner", help=OWNER_HELP)
@common
def signal_set(url: str | None, project: str | None, as_json: bool, key: str, value: str, ttl: float | None,
               critical: bool, if_version: int | None, if_absent: bool, json_value: bool, privileged: bool,
               owner: str | None) -> None:
    """Set KEY to VALUE; prints the new version. Exit 3 on a version conflict. VALUE - reads standard
    input (one trailing newline dropped); with --json-value, @PATH reads a file."""
    parsed = value_arg(value, json_value)
    with store(url, project) as s:
        version = s.signals.set(key, parsed, ttl=ttl, critical=critical, expected_version=if_version,
                                if_absent=if_absent, privileged=privileged, owner=cli_owner(owner))
    if as_json:
        print_json({"key": key, "version": version})
    else:
        click.echo(version)


@signal.command("get")
@click.argument("key")
@common
def signal_get(url: str | None, project: str | None, as_json: bool, key: str) -> None:
    """Print KEY's value (strings as they are, anything else as JSON). Exit 3 if not set."""
    with store(url, project) as s:
        found = s.signals.get(key)
    if found is None:
        raise errors.NotFound(f"signal {key!r} is not set")
    if as_json:
        print_json(found)
    else:
        click.echo(plain(found.value))


@signal.command("clear")
@click.argument("key")
@click.option("--if-version", type=int, help="Only if the signal is at this version.")
@click.option("--privileged", is_flag=True, help="Allow clearing a protected key.")
@click.option("--owner", help=OWNER_HELP)
@common
def signal_clear(url: str | None, project: str | None, as_json: bool, key: str, if_version: int | None,
                 privileged: bool, owner: str | None) -> None:
    """Clear KEY. Exit 3 if it was not set (or, with --if-version, is at another version)."""
    with store(url, project) as s:
        cleared = s.signals.delete(key, expected_version=if_version, privileged=privileged, owner=cli_owner(owner))
    if not cleared:
        raise errors.NotFound(f"signal {key!r} is not set")
    if as_json:
        print_json({"key": key, "cleared": True})
    else:
        click.echo(f"cleared {key}")


def _signal_table(console: Console, found: list[Signal]) -> None:
    table = new_table("key", "value", "version", "flags", "updated", box=None)
    for sig in found:
        flags = ["critical"] if sig.critical else []
        if sig.expires_at is not None:
            flags.append(f"expires {sig.expires_at:%H:%M:%S}")
        text = plain(sig.value)
        table.add_row(escape(sig.key), escape(text if len(text) <= 60 else text[:57] + "..."), str(sig.version),
                      ", ".join(flags), f"{sig.updated_at:%Y-%m-%d %H:%M:%S} by {escape(sig.updated_by)}")
    console.print(table if found else "no signals")


@signal.command("list")
@click.argument("prefix", default="")
@click.option("--limit", type=int, default=1000, show_default=True, help="At most this many.")
@common
def signal_list(url: str | None, project: str | None, as_json: bool, prefix: str, limit: int) -> None:
    """List live signals whose key starts with PREFIX."""
    with store(url, project) as s:
        found = s.signals.list(prefix, limit=limit)
    emit(as_json, {"signals": found}, lambda c: _signal_table(c, found))


@signal.command("wait")
@click.argument("key")
@click.option("--value", help="Wait until KEY has this value (default: until it is set at all).")
@click.option("--json-value", is_flag=True, help="--value is JSON; default: a string.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait.")
@common
def signal_wait(url: str | None, project: str | None, as_json: bool, key: str, value: str | None,
                json_value: bool, timeout: float) -> None:
    """Block until KEY is set (to --value); prints its value. Exit 3 on timeout."""
    wanted = None if value is None else value_arg(value, json_value)
    with store(url, project) as s:
        found = s.signals.wait(key, timeout, wanted)
    if found is None:
        raise errors.WaitTimeout(f"signal {key!r} was not set{'' if value is None else f' to {value!r}'} "
                                 f"within {timeout:g} s")
    if as_json:
        print_json(found)
    else:
        click.echo(plain(found.value))


@signal.command("cleanup")
@click.option("--age", type=float, help="Seconds; default the signal_max_age setting (24 h).")
@common
def signal_cleanup(url: str | None, project: str | None, as_json: bool, age: float | None) -> None:
    """Delete expired signals and non-critical ones older than --age."""
    with store(url, project) as s:
        removed = s.signals.cleanup(age)
    emit(as_json, {"removed": removed}, lambda c: c.print(f"removed {removed} signal(s)"))
