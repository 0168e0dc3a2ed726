"""``roost search`` and ``roost find``: ranked full-text search and fuzzy name lookup (docs/search.md).

People see ranked hits with their snippets, matches highlighted; ``--json`` prints one object per
hit, a line each. When there are more hits, the cursor for the next page goes to standard error, so
standard output holds only hits.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import TYPE_CHECKING

import click

from roost import errors
from roost.cli._common import common, console, escape, new_table, print_json, store
from roost.search import KINDS, LIMIT_MAX, NAME_KINDS

if TYPE_CHECKING:
    from roost.search.hits import Hit

_MARK = ("\x01", "\x02")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def moment(text: str | None, option: str) -> datetime | float | None:
    """``--since``/``--until``: a duration ago (``30m``, ``2h``, ``7d``), an ISO 8601 time with its
    zone, or epoch seconds."""
    if text is None:
        return None
    if match := _DURATION.fullmatch(text.strip()):
        return time.time() - float(match[1]) * _UNITS[match[2]]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidArgument(f"{option} {text!r} is not a duration (30m, 2h, 7d), an ISO 8601 time or "
                                     "epoch seconds") from None
    if when.tzinfo is None:
        raise errors.InvalidArgument(f"{option} {text!r} has no time zone (add one, for example +00:00)")
    return when


def _title(hit: Hit) -> str:
    if hit.kind == "transcript":
        return f"transcript {hit.session} #{hit.position} ({hit.type})"
    if hit.kind == "memory":
        return f"memory {hit.name}" + (f" in {hit.session}" if hit.session else "")
    if hit.kind == "artifact":
        return f"artifact {hit.name} v{hit.version}"
    if hit.kind == "observation":
        return f"observation {hit.id} by {hit.agent}"
    return f"session {hit.name}"


@click.command("search")
@click.argument("query")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Only this kind of record (repeat for several; default: all).")
@click.option("--session", help="Only records of this session.")
@click.option("--agent", help="Only records written by this agent.")
@click.option("--tag", "tags", multiple=True, help="Only memories with this tag (repeat: all of them).")
@click.option("--type", "type_", help="Only this role, memory type, observation kind, artifact type or status.")
@click.option("--since", help="Only records from then on: 30m, 2h, 7d ago, an ISO 8601 time or epoch seconds.")
@click.option("--until", help="Only records before then (the same forms as --since).")
@click.option("--limit", type=click.IntRange(1, LIMIT_MAX), default=20, show_default=True, help="Hits per page.")
@click.option("--order", type=click.Choice(["relevance", "recent"]), default="relevance", show_default=True,
              help="Best hits first, or newest first.")
@click.option("--cursor", help="The next page: the cursor the previous page printed.")
@click.option("--all-versions", is_flag=True, help="Old artifact versions too.")
@click.option("--raw", is_flag=True, help="QUERY is in the backend's own syntax (FTS5 or tsquery), not roost's.")
@common
def search(url: str | None, project: str | None, as_json: bool, query: str, kinds: tuple[str, ...],
           session: str | None, agent: str | None, tags: tuple[str, ...], type_: str | None, since: str | None,
           until: str | None, limit: int, order: str, cursor: str | None, all_versions: bool, raw: bool) -> None:
    """Search everything the team remembers for QUERY: words (all must match), "exact phrases",
    a OR b, -excluded, prefix*. Any other character is plain text, so no query is an error except
    an empty one. A QUERY that starts with - goes after --: roost search -- '-draft plan'."""
    with store(url, project) as s:
        results = s.search(query, kinds=list(kinds) or None, session=session, agent=agent, tags=list(tags) or None,
                           type=type_, since=moment(since, "--since"), until=moment(until, "--until"), limit=limit,
                           cursor=cursor, order=order, all_versions=all_versions, raw=raw,
                           markers=("<mark>", "</mark>") if as_json else _MARK, escape=as_json)
    if as_json:
        for hit in results.hits:
            print_json(hit.as_dict(), line=True)
    else:
        out = console()
        if not results.hits:
            out.print("no hits")
        for hit in results.hits:
            out.print(f"[bold]{escape(_title(hit))}[/bold]  [dim]{hit.score:.4g} · "
                      f"{hit.created_at:%Y-%m-%d %H:%M:%S}[/dim]")
            shown = escape(hit.snippet).replace(_MARK[0], "[bold yellow]").replace(_MARK[1], "[/bold yellow]")
            out.print(f"  {shown}", soft_wrap=True)
    if results.cursor:
        click.echo(f"more hits: --cursor {results.cursor}", err=True)


@click.command("find")
@click.argument("name")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(NAME_KINDS),
              help="Only names of this kind (repeat for several; default: all).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="The most names to show.")
@common
def find(url: str | None, project: str | None, as_json: bool, name: str, kinds: tuple[str, ...], limit: int) -> None:
    """The names closest to NAME (typos, case and separators forgiven) among agents, sessions,
    artifacts, memory keys, tags, signals and locks, best first, with their similarity."""
    with store(url, project) as s:
        found = s.find(name, kinds=list(kinds) or None, limit=limit)
    if as_json:
        print_json([m.as_dict() for m in found])
        return
    table = new_table("kind", "name", "similarity", box=None)
    for m in found:
        table.add_row(m.kind, escape(m.name), f"{m.score:.2f}")
    console().print(table if found else f"nothing close to {escape(name)!r}")
