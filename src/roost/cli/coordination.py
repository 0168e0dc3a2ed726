"""``roost signal``, ``roost lock`` and ``roost agent``: the bridge for agents that speak shell.

Plain output is what a script wants (a token, a version, a value); ``--json`` gives the whole
record. Exit codes: 3 when something is not acquired, not found, at another version or timed out,
4 when a lease was lost.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from roost import errors
from roost.agents import Agent
from roost.cli._common import claimed_owner, cli_owner, common, emit, print_json, read_input, read_json, store
from roost.locks import Lease
from roost.signals import Signal

_OWNER_HELP = "Who holds it; default ROOST_AGENT, else host:PID of the calling process."


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _value(text: str, as_json_value: bool) -> Any:
    if as_json_value:
        return read_json(text, "VALUE")
    return read_input(text, "VALUE", files=False).removesuffix("\n") if text == "-" else text


def _ago(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


# --- signals ---------------------------------------------------------------------------------------


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
@click.option("--owner", help=_OWNER_HELP)
@common
def signal_set(url: str | None, project: str | None, as_json: bool, key: str, value: str, ttl: float | None,
               critical: bool, if_version: int | None, if_absent: bool, json_value: bool, privileged: bool,
               owner: str | None) -> None:
    """Set KEY to VALUE; prints the new version. Exit 3 on a version conflict. VALUE - reads standard
    input (one trailing newline dropped); with --json-value, @PATH reads a file."""
    parsed = _value(value, json_value)
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
        click.echo(_plain(found.value))


@signal.command("clear")
@click.argument("key")
@click.option("--if-version", type=int, help="Only if the signal is at this version.")
@click.option("--privileged", is_flag=True, help="Allow clearing a protected key.")
@click.option("--owner", help=_OWNER_HELP)
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
    table = Table("key", "value", "version", "flags", "updated", box=None)
    for sig in found:
        flags = ["critical"] if sig.critical else []
        if sig.expires_at is not None:
            flags.append(f"expires {sig.expires_at:%H:%M:%S}")
        text = _plain(sig.value)
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
    wanted = None if value is None else _value(value, json_value)
    with store(url, project) as s:
        found = s.signals.wait(key, timeout, wanted)
    if found is None:
        raise errors.WaitTimeout(f"signal {key!r} was not set{'' if value is None else f' to {value!r}'} "
                                 f"within {timeout:g} s")
    if as_json:
        print_json(found)
    else:
        click.echo(_plain(found.value))


@signal.command("cleanup")
@click.option("--age", type=float, help="Seconds; default the signal_max_age setting (24 h).")
@common
def signal_cleanup(url: str | None, project: str | None, as_json: bool, age: float | None) -> None:
    """Delete expired signals and non-critical ones older than --age."""
    with store(url, project) as s:
        removed = s.signals.cleanup(age)
    emit(as_json, {"removed": removed}, lambda c: c.print(f"removed {removed} signal(s)"))


# --- locks -----------------------------------------------------------------------------------------


@click.group()
def lock() -> None:
    """Leased locks with fencing tokens (for example on file paths)."""


def _lease_out(as_json: bool, lease: Lease) -> None:
    if as_json:
        print_json(lease)
    else:
        click.echo(lease.token)


@lock.command("acquire")
@click.argument("name")
@click.option("--ttl", type=float, default=60.0, show_default=True, help="Seconds the lease lasts unless renewed.")
@click.option("--shared", is_flag=True, help="A shared lease: any number of shared holders, no exclusive one.")
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for the lock.")
@click.option("--owner", help=_OWNER_HELP)
@common
def lock_acquire(url: str | None, project: str | None, as_json: bool, name: str, ttl: float, shared: bool,
                 wait: float, owner: str | None) -> None:
    """Acquire NAME; prints the fencing token. Exit 3 if it is held by someone else."""
    with store(url, project) as s:
        lease = s.locks.acquire(name, owner=cli_owner(owner), ttl=ttl, mode="shared" if shared else "exclusive",
                                wait=wait)
        if lease is None:
            raise s.locks.not_acquired(name, cli_owner(owner), wait)
    _lease_out(as_json, lease)


@lock.command("renew")
@click.argument("name")
@click.option("--token", type=int, required=True, help="The token acquire printed.")
@click.option("--ttl", type=float, default=60.0, show_default=True, help="Seconds from now.")
@click.option("--owner", help="Check that this owner holds it (default: ROOST_AGENT if set).")
@common
def lock_renew(url: str | None, project: str | None, as_json: bool, name: str, token: int, ttl: float,
               owner: str | None) -> None:
    """Extend the lease on NAME; prints the token. Exit 4 if the lease was lost."""
    with store(url, project) as s:
        lease = s.locks.renew(name, token, ttl=ttl, owner=claimed_owner(owner))
    _lease_out(as_json, lease)


@lock.command("release")
@click.argument("name")
@click.option("--token", type=int, required=True, help="The token acquire printed.")
@click.option("--owner", help="Check that this owner holds it (default: ROOST_AGENT if set).")
@common
def lock_release(url: str | None, project: str | None, as_json: bool, name: str, token: int,
                 owner: str | None) -> None:
    """Release the lease on NAME. Exit 4 if it was not held with that token."""
    with store(url, project) as s:
        s.locks.release(name, token, owner=claimed_owner(owner))
    if as_json:
        print_json({"name": name, "token": token, "released": True})
    else:
        click.echo(f"released {name}")


@lock.command("release-all")
@click.option("--owner", help=_OWNER_HELP)
@common
def lock_release_all(url: str | None, project: str | None, as_json: bool, owner: str | None) -> None:
    """Release every lease an owner holds; prints how many."""
    who = cli_owner(owner)
    with store(url, project) as s:
        count = s.locks.release_all(who)
    if as_json:
        print_json({"owner": who, "released": count})
    else:
        click.echo(count)


@lock.command("force-release")
@click.argument("name")
@click.option("--privileged", is_flag=True, help="Required: this evicts the holders.")
@click.option("--reason", default="", help="Recorded in the audit log.")
@click.option("--owner", help="Who does it (recorded); default ROOST_AGENT, else host:PID.")
@common
def lock_force_release(url: str | None, project: str | None, as_json: bool, name: str, privileged: bool,
                       reason: str, owner: str | None) -> None:
    """End every holding of NAME now; the evicted tokens are refused from then on."""
    with store(url, project) as s:
        evicted = s.locks.force_release(name, privileged=privileged, actor=cli_owner(owner), reason=reason)
    data = [{"owner": o, "token": t, "mode": m} for o, t, m in evicted]
    emit(as_json, {"name": name, "evicted": data}, lambda c: c.print(
        escape(f"released {name}; evicted " + (", ".join(f"{o} (token {t})" for o, t, _ in evicted) or "nobody"))))


@lock.command("cleanup")
@click.option("--idle", type=float, default=86400.0, show_default=True,
              help="Seconds a free lock must have been untouched (at least 3600).")
@common
def lock_cleanup(url: str | None, project: str | None, as_json: bool, idle: float) -> None:
    """Remove ended holder rows, and free locks untouched for --idle seconds (tokens keep growing)."""
    with store(url, project) as s:
        holders, locks = s.locks.cleanup(idle)
    emit(as_json, {"holders": holders, "locks": locks},
         lambda c: c.print(f"removed {holders} ended holder(s) and {locks} idle lock(s)"))


@lock.command("list")
@click.argument("prefix", default="")
@click.option("--owner", help="Only this owner's leases.")
@common
def lock_list(url: str | None, project: str | None, as_json: bool, prefix: str, owner: str | None) -> None:
    """List live leases (holder, mode, age, expiry) of locks whose name starts with PREFIX."""
    with store(url, project) as s:
        held = s.locks.list(prefix, owner=owner)

    def human(console: Console) -> None:
        table = Table("lock", "owner", "mode", "token", "age", "expires in", box=None)
        for h in held:
            table.add_row(escape(h.name), escape(h.owner), h.mode, str(h.token), _ago(h.age), _ago(h.remaining))
        console.print(table if held else "no locks held")

    emit(as_json, {"locks": held}, human)


# --- agents ----------------------------------------------------------------------------------------


@click.group()
def agent() -> None:
    """The agent registry: who is on the team, and who is alive."""


def _agent_out(as_json: bool, found: Agent) -> None:
    if as_json:
        print_json({**dataclasses.asdict(found), "state": found.state})
    else:
        click.echo(f"{found.name}: {found.state}")


@agent.command("register")
@click.argument("name")
@click.option("--kind", default="agent", show_default=True, help="What it is (coder, qa, reviewer, manager...).")
@click.option("--command", "command_line", help="How it is started.")
@click.option("--capability", "capabilities", multiple=True, help="Something it can do (repeatable).")
@click.option("--max-concurrent", type=int, default=1, show_default=True, help="Tasks it runs at once.")
@click.option("--metadata", help="A JSON object (- reads standard input, @PATH a file).")
@click.option("--status", default="idle", show_default=True, help="Its initial status.")
@common
def agent_register(url: str | None, project: str | None, as_json: bool, name: str, kind: str,
                   command_line: str | None, capabilities: tuple[str, ...], max_concurrent: int,
                   metadata: str | None, status: str) -> None:
    """Register NAME (again, to update it); counts as a heartbeat."""
    meta = read_json(metadata, "--metadata")
    with store(url, project) as s:
        found = s.agents.register(name, kind=kind, command=command_line, capabilities=list(capabilities),
                                  max_concurrent=max_concurrent, metadata=meta, status=status)
    _agent_out(as_json, found)


@agent.command("get")
@click.argument("name")
@common
def agent_get(url: str | None, project: str | None, as_json: bool, name: str) -> None:
    """Show agent NAME: kind, capabilities, status, last heartbeat, online or offline. Exit 3 if unknown."""
    with store(url, project) as s:
        found = s.agents.get(name)
    if found is None:
        raise errors.AgentNotFound(f"no agent {name!r} is registered")
    if as_json:
        print_json({**dataclasses.asdict(found), "state": found.state})
        return
    for field_name, value in dataclasses.asdict(found).items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        click.echo(f"{field_name}: {shown}")
    click.echo(f"state: {found.state}")


@agent.command("heartbeat")
@click.argument("name")
@click.option("--status", help="Also set its status.")
@common
def agent_heartbeat(url: str | None, project: str | None, as_json: bool, name: str, status: str | None) -> None:
    """Record that NAME is alive. Exit 3 if it is not registered."""
    with store(url, project) as s:
        found = s.agents.heartbeat(name, status)
    _agent_out(as_json, found)


@agent.command("deregister")
@click.argument("name")
@click.option("--keep-locks", is_flag=True, help="Leave its locks to expire instead of releasing them.")
@common
def agent_deregister(url: str | None, project: str | None, as_json: bool, name: str, keep_locks: bool) -> None:
    """Remove NAME from the registry and release its locks. Exit 3 if it was not registered."""
    with store(url, project) as s:
        gone = s.agents.deregister(name, release_locks=not keep_locks)
    if not gone:
        raise errors.AgentNotFound(f"no agent {name!r} is registered")
    emit(as_json, {"name": name, "deregistered": True}, lambda c: c.print(escape(f"deregistered {name}")))


@agent.command("list")
@click.option("--online/--offline", default=None, help="Only agents that are (or are not) online.")
@common
def agent_list(url: str | None, project: str | None, as_json: bool, online: bool | None) -> None:
    """List registered agents with their state and last heartbeat."""
    with store(url, project) as s:
        found = s.agents.list(online=online)

    def human(console: Console) -> None:
        table = Table("agent", "kind", "state", "capabilities", "last heartbeat", box=None)
        for a in found:
            style = "green" if a.online else "red"
            table.add_row(escape(a.name), escape(a.kind), f"[{style}]{escape(a.state)}[/]",
                          escape(", ".join(a.capabilities)),
                          f"{_ago(a.heartbeat_age)} ago")
        console.print(table if found else "no agents registered")

    emit(as_json, {"agents": [{**dataclasses.asdict(a), "state": a.state} for a in found]}, human)


@agent.command("release-offline")
@common
def agent_release_offline(url: str | None, project: str | None, as_json: bool) -> None:
    """Release every lock held by an agent that reads as offline."""
    with store(url, project) as s:
        released = s.agents.release_offline_locks()
    emit(as_json, {"released": released}, lambda c: c.print(
        escape(", ".join(f"{n}: {k} lock(s)" for n, k in released.items()) or "no offline agent held a lock")))


@agent.command("sweep")
@common
def agent_sweep(url: str | None, project: str | None, as_json: bool) -> None:
    """Mark agents silent past agent_offline_after as offline (publishing agent.offline)."""
    with store(url, project) as s:
        marked = list(s.agents.sweep())
    emit(as_json, {"offline": marked}, lambda c: c.print(
        escape("marked offline: " + ", ".join(marked)) if marked else "no agent went silent"))


GROUPS = [signal, lock, agent]
