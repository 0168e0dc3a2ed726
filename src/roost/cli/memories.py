"""``roost memory``, ``roost observe`` and ``roost observation``: what agents keep and notice.

Plain output is what a script wants (a version, a value); ``--json`` gives the records. Exit 3 when
a memory does not exist or is at another version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roost import errors
from roost.cli._common import common, emit, escape, new_table, plain, print_json, store, value_arg

if TYPE_CHECKING:
    from rich.console import Console

    from roost.memory.memories import Memory
    from roost.memory.observations import Observation

SESSION_HELP = "The session it belongs to (default: the whole project)."


@click.group()
def memory() -> None:
    """Keyed, versioned memories (JSON) with types and tags."""


@memory.command("put")
@click.argument("key")
@click.argument("value")
@click.option("--type", "type_", default="context", show_default=True,
              help="A name: idea, decision, question, action_item, context, preference, fact, risk, or your own.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for several).")
@click.option("--session", help=SESSION_HELP)
@click.option("--agent", help="The agent that wrote it.")
@click.option("--if-version", type=int, help="Only over this version (0: only if absent).")
@click.option("--json-value", is_flag=True, help="VALUE is JSON (refused if malformed); default: a string.")
@common
def memory_put(url: str | None, project: str | None, as_json: bool, key: str, value: str, type_: str,
               tags: tuple[str, ...], session: str | None, agent: str | None, if_version: int | None,
               json_value: bool) -> None:
    """Store VALUE under KEY; prints the new version. Exit 3 on a version conflict. VALUE - reads
    standard input; with --json-value, @PATH reads a file."""
    parsed = value_arg(value, json_value)
    with store(url, project) as s:
        stored = s.memories.put(key, parsed, type_, tags=list(tags), session=session, agent=agent,
                                expected_version=if_version)
    if as_json:
        print_json(stored)
    else:
        click.echo(stored.version)


@memory.command("get")
@click.argument("key")
@click.option("--session", help=SESSION_HELP)
@common
def memory_get(url: str | None, project: str | None, as_json: bool, key: str, session: str | None) -> None:
    """Print KEY's value (strings as they are, anything else as JSON). Exit 3 if there is none."""
    with store(url, project) as s:
        found = s.memories.get(key, session=session)
    if found is None:
        raise errors.NotFound(f"no memory {key!r}" + (f" in session {session!r}" if session else ""))
    if as_json:
        print_json(found)
    else:
        click.echo(plain(found.content))


def _memory_table(console: Console, found: list[Memory]) -> None:
    table = new_table("key", "session", "type", "tags", "value", "version", "updated", box=None)
    for m in found:
        text = plain(m.content)
        table.add_row(escape(m.key), escape(m.session or ""), m.type, ", ".join(m.tags),
                      escape(text if len(text) <= 60 else text[:57] + "..."), str(m.version),
                      f"{m.updated_at:%Y-%m-%d %H:%M:%S}")
    console.print(table if found else "no memories")


@memory.command("list")
@click.option("--type", "type_", help="Only this type.")
@click.option("--tag", "tags_any", multiple=True, help="Only with this tag (repeat: any of them).")
@click.option("--all-tags", "tags_all", multiple=True, help="Only with this tag (repeat: all of them).")
@click.option("--session", help="Only this session's memories.")
@click.option("--agent", help="Only this agent's.")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@click.option("--cursor", help="The cursor a previous page printed, for the next page.")
@common
def memory_list(url: str | None, project: str | None, as_json: bool, type_: str | None, tags_any: tuple[str, ...],
                tags_all: tuple[str, ...], session: str | None, agent: str | None, limit: int,
                cursor: str | None) -> None:
    """List memories, newest write first."""
    with store(url, project) as s:
        page = s.memories.list(type=type_, tags_any=list(tags_any) or None, tags_all=list(tags_all) or None,
                               session=session, agent=agent, limit=limit, cursor=cursor)

    def human(console: Console) -> None:
        _memory_table(console, page.items)
        if page.cursor:
            console.print(f"more: --cursor {page.cursor}")

    emit(as_json, {"memories": page.items, "cursor": page.cursor}, human)


@memory.command("rm")
@click.argument("key")
@click.option("--session", help=SESSION_HELP)
@click.option("--if-version", type=int, help="Only if it is at this version.")
@common
def memory_rm(url: str | None, project: str | None, as_json: bool, key: str, session: str | None,
              if_version: int | None) -> None:
    """Delete KEY. Exit 3 if there is none (or it is at another version)."""
    with store(url, project) as s:
        if not s.memories.delete(key, session=session, expected_version=if_version):
            raise errors.NotFound(f"no memory {key!r}" + (f" in session {session!r}" if session else ""))
    emit(as_json, {"key": key, "deleted": True}, lambda c: c.print(f"deleted {escape(key)}"))


@click.command("observe")
@click.argument("agent")
@click.argument("text")
@click.option("--kind", help="A name for the kind of observation.")
@click.option("--session", help="The session it belongs to.")
@common
def observe(url: str | None, project: str | None, as_json: bool, agent: str, text: str, kind: str | None,
            session: str | None) -> None:
    """Record an observation by AGENT (TEXT - reads standard input); prints its id."""
    content = value_arg(text, False)
    with store(url, project) as s:
        made = s.observations.add(agent, content, kind=kind, session=session)
    if as_json:
        print_json(made)
    else:
        click.echo(made.id)


@click.group()
def observation() -> None:
    """Observations agents made (kept for observation_retention_days, at most
    observation_max_per_agent per agent)."""


def _observation_table(console: Console, found: list[Observation]) -> None:
    table = new_table("id", "agent", "kind", "session", "text", "at", box=None)
    for o in found:
        table.add_row(str(o.id), escape(o.agent), o.kind or "", escape(o.session or ""), escape(o.content),
                      f"{o.created_at:%Y-%m-%d %H:%M:%S}")
    console.print(table if found else "no observations")


@observation.command("list")
@click.option("--agent", help="Only this agent's.")
@click.option("--session", help="Only this session's.")
@click.option("--kind", help="Only this kind.")
@click.option("--limit", type=int, default=20, show_default=True, help="At most this many.")
@click.option("--max-chars", type=int, help="Stop before the texts together pass this many characters.")
@common
def observation_list(url: str | None, project: str | None, as_json: bool, agent: str | None, session: str | None,
                     kind: str | None, limit: int, max_chars: int | None) -> None:
    """List the newest observations, newest first."""
    with store(url, project) as s:
        found = s.observations.recent(agent, limit=limit, max_chars=max_chars, session=session, kind=kind)
    emit(as_json, {"observations": found}, lambda c: _observation_table(c, found))


@observation.command("cleanup")
@click.option("--days", type=float, help="Older than this many days; default observation_retention_days.")
@common
def observation_cleanup(url: str | None, project: str | None, as_json: bool, days: float | None) -> None:
    """Delete observations past the retention."""
    with store(url, project) as s:
        removed = s.observations.cleanup(days)
    emit(as_json, {"removed": removed}, lambda c: c.print(f"removed {removed} observation(s)"))
