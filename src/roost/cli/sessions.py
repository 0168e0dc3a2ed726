"""``roost session`` and ``roost transcript``: sessions and what was said in them, from a shell.

Plain output is what a script wants (an id, a position, the content); ``--json`` gives the records.
Exit 3 when a session or entry does not exist, or an id is taken.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from roost import errors
from roost.cli._common import Fail, common, emit, escape, new_table, print_json, read_input, read_json, store

if TYPE_CHECKING:
    from rich.console import Console

    from roost.memory.sessions import Session
    from roost.memory.transcripts import Entry

@click.group()
def session() -> None:
    """Sessions: the unit of work an agent team remembers things in."""


@session.command("create")
@click.argument("title")
@click.option("--id", "id_", help="The session's id (default: a new, time-ordered one).")
@click.option("--participant", "participants", multiple=True, help="A participant (repeat for several).")
@click.option("--metadata", help="A JSON object (- reads standard input, @PATH a file).")
@common
def session_create(url: str | None, project: str | None, as_json: bool, title: str, id_: str | None,
                   participants: tuple[str, ...], metadata: str | None) -> None:
    """Create a session titled TITLE; prints its id. Exit 3 if --id is taken."""
    with store(url, project) as s:
        made = s.sessions.create(title, participants=list(participants), metadata=read_json(metadata, "--metadata"),
                                 id=id_)
    if as_json:
        print_json(made)
    else:
        click.echo(made.id)


def _session_table(console: Console, found: list[Session]) -> None:
    table = new_table("id", "title", "status", "participants", "entries", "memories", "artifacts", "last activity",
                      box=None)
    for ses in found:
        table.add_row(escape(ses.id), escape(ses.title), ses.status, escape(", ".join(ses.participants)),
                      str(ses.entry_count), str(ses.memory_count), str(ses.artifact_count),
                      f"{ses.last_activity:%Y-%m-%d %H:%M:%S}")
    console.print(table if found else "no sessions")


@session.command("list")
@click.option("--status", type=click.Choice(["active", "paused", "completed", "archived"]), help="Only these.")
@click.option("--participant", help="Only sessions with this participant.")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@click.option("--cursor", help="The cursor a previous page printed, for the next page.")
@common
def session_list(url: str | None, project: str | None, as_json: bool, status: str | None, participant: str | None,
                 limit: int, cursor: str | None) -> None:
    """List sessions, newest first."""
    with store(url, project) as s:
        page = s.sessions.list(status=status, participant=participant, limit=limit, cursor=cursor)

    def human(console: Console) -> None:
        _session_table(console, page.items)
        if page.cursor:
            console.print(f"more: --cursor {page.cursor}")

    emit(as_json, {"sessions": page.items, "cursor": page.cursor}, human)


@session.command("show")
@click.argument("id_", metavar="ID")
@click.option("--entries", type=int, default=5, show_default=True, help="How many of the latest entries.")
@common
def session_show(url: str | None, project: str | None, as_json: bool, id_: str, entries: int) -> None:
    """Show a session: counts, participants, activity and its latest transcript entries."""
    with store(url, project) as s:
        summary = s.sessions.summary(id_, entries=entries)

    def human(console: Console) -> None:
        ses = summary.session
        console.print(f"[bold]{escape(ses.title)}[/] ({escape(ses.id)}) — {ses.status}")
        console.print(f"participants: {escape(', '.join(ses.participants)) or '-'}")
        console.print(f"entries {ses.entry_count}, memories {ses.memory_count}, artifacts {ses.artifact_count}, "
                      f"observations {ses.observation_count}")
        console.print(f"created {ses.created_at:%Y-%m-%d %H:%M:%S}, "
                      f"last activity {ses.last_activity:%Y-%m-%d %H:%M:%S}")
        for entry in summary.latest_entries:
            console.print(f"  #{entry.position} {entry.role}: {escape(_short(entry.content))}")

    emit(as_json, {"session": summary.session, "latest_entries": summary.latest_entries}, human)


@session.command("status")
@click.argument("id_", metavar="ID")
@click.argument("status", type=click.Choice(["active", "paused", "completed", "archived"]))
@common
def session_status(url: str | None, project: str | None, as_json: bool, id_: str, status: str) -> None:
    """Set a session's status."""
    with store(url, project) as s:
        changed = s.sessions.set_status(id_, status)
    emit(as_json, changed, lambda c: c.print(f"{escape(changed.id)} is {changed.status}"))


@session.command("join")
@click.argument("id_", metavar="ID")
@click.argument("participant")
@common
def session_join(url: str | None, project: str | None, as_json: bool, id_: str, participant: str) -> None:
    """Add PARTICIPANT to a session."""
    with store(url, project) as s:
        changed = s.sessions.join(id_, participant)
    emit(as_json, changed, lambda c: c.print(", ".join(changed.participants)))


@session.command("leave")
@click.argument("id_", metavar="ID")
@click.argument("participant")
@common
def session_leave(url: str | None, project: str | None, as_json: bool, id_: str, participant: str) -> None:
    """Remove PARTICIPANT from a session."""
    with store(url, project) as s:
        changed = s.sessions.leave(id_, participant)
    emit(as_json, changed, lambda c: c.print(", ".join(changed.participants) or "no participants"))


@session.command("rm")
@click.argument("id_", metavar="ID")
@common
def session_rm(url: str | None, project: str | None, as_json: bool, id_: str) -> None:
    """Delete a session and everything that belongs to it. Exit 3 if there is none."""
    with store(url, project) as s:
        if not s.sessions.delete(id_):
            raise errors.SessionNotFound(f"no session {id_!r} in project {s.project!r}")
    emit(as_json, {"id": id_, "deleted": True}, lambda c: c.print(f"deleted {escape(id_)}"))


@click.group()
def transcript() -> None:
    """A session's transcript: entries in order, appended by agents."""


@transcript.command("add")
@click.argument("session_id", metavar="SESSION")
@click.argument("role")
@click.argument("content", required=False)
@click.option("--file", "path", type=click.Path(dir_okay=False), help="Read the content from this file.")
@click.option("--agent", help="The agent that said it.")
@click.option("--phase", help="The workflow phase (a name).")
@click.option("--iteration", type=int, help="The iteration number.")
@click.option("--message-id", help="Makes the add idempotent: adding it again adds nothing.")
@click.option("--metadata", help="A JSON object (@PATH reads a file).")
@common
def transcript_add(url: str | None, project: str | None, as_json: bool, session_id: str, role: str,
                   content: str | None, path: str | None, agent: str | None, phase: str | None,
                   iteration: int | None, message_id: str | None, metadata: str | None) -> None:
    """Append an entry to SESSION; prints its position. CONTENT is an argument, --file (kept exactly),
    or standard input (CONTENT - or none; one trailing newline dropped)."""
    if path is not None and content is not None:
        raise Fail("give CONTENT or --file, not both", 2)
    text = _content(content, path)
    with store(url, project) as s:
        entry = s.transcripts.append(session_id, role, text, agent=agent, phase=phase, iteration=iteration,
                                     message_id=message_id, metadata=read_json(metadata, "--metadata"))
    if as_json:
        print_json(entry)
    else:
        click.echo(entry.position)


def _content(content: str | None, path: str | None) -> str:
    if path is not None:
        return read_input(f"@{path}", "--file")
    if content is None or content == "-":
        if content is None and sys.stdin.isatty():
            raise Fail("no CONTENT: give it as an argument, with --file, or on standard input", 2)
        return read_input("-", "CONTENT", files=False).removesuffix("\n")
    return content


def _short(text: str) -> str:
    line = text.replace("\n", " ")
    return line if len(line) <= 100 else line[:97] + "..."


def _entry_table(console: Console, found: list[Entry]) -> None:
    table = new_table("#", "role", "agent", "phase", "content", "at", box=None)
    for e in found:
        table.add_row(str(e.position), e.role, escape(e.agent or ""), e.phase or "", escape(_short(e.content)),
                      f"{e.created_at:%H:%M:%S}")
    console.print(table if found else "no entries")


@transcript.command("list")
@click.argument("session_id", metavar="SESSION")
@click.option("--after", type=int, help="Entries after this position (pages forward).")
@click.option("--before", type=int, help="Entries before this position (pages back).")
@click.option("--last", "last", type=int, help="Only the last N entries.")
@click.option("--phase", help="Only entries of this phase.")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@common
def transcript_list(url: str | None, project: str | None, as_json: bool, session_id: str, after: int | None,
                    before: int | None, last: int | None, phase: str | None, limit: int) -> None:
    """List SESSION's entries in order."""
    with store(url, project) as s:
        if last is not None:
            page = s.transcripts.latest(session_id, limit=last, phase=phase)
        else:
            page = s.transcripts.page(session_id, after=after, before=before, phase=phase, limit=limit)
    data: dict[str, Any] = {"entries": page.items, "cursor": page.cursor}
    emit(as_json, data, lambda c: _entry_table(c, page.items))
