"""``roost agent``: the agent registry (who is on the team, and who is alive), from a shell."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import click

from roost import errors
from roost.cli._common import ago, common, emit, escape, new_table, print_json, read_json, store

if TYPE_CHECKING:
    from rich.console import Console

    from roost.agents import Agent


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
        table = new_table("agent", "kind", "state", "capabilities", "last heartbeat", box=None)
        for a in found:
            style = "green" if a.online else "red"
            table.add_row(escape(a.name), escape(a.kind), f"[{style}]{escape(a.state)}[/]",
                          escape(", ".join(a.capabilities)),
                          f"{ago(a.heartbeat_age)} ago")
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
