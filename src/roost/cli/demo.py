"""``roost demo``: the README's first command. The run itself lives in :mod:`roost.demo`."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from roost import demo as team
from roost.cli._common import Fail, common, print_json
from roost.urls import parse_url


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the demo's database and agent log (default: a new temporary folder, kept).")
@common
def demo(url: str | None, project: str | None, as_json: bool, directory: Path | None) -> None:
    """Watch a manager and three workers run a small project plan on one store, then check it.

    Workers claim tasks, lock the files they edit and heartbeat; one is killed mid-task and its
    task is reclaimed after its lease. At the end every task must be completed exactly once and no
    lock left held; exit 1 otherwise. The demo uses SQLite in --dir unless --url is given (it
    ignores ROOST_URL, so it never writes to your real store). With --json, or when stdout is not
    a terminal, only the summary is printed, as JSON.
    """
    if url:
        parse_url(url)  # a clear error before anything is created or started
    directory = directory or Path(tempfile.mkdtemp(prefix="roost-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    target = url or f"sqlite:///{directory.resolve() / 'roost.db'}"
    live = not as_json and sys.stdout.isatty()
    name = project or team.default_project()
    if live:
        console = Console(highlight=False)
        with Live(console=console, refresh_per_second=8, transient=False) as view:
            summary = team.run(target, name, directory, lambda snap: view.update(_render(snap)))
        _print_summary(console, summary)
    else:
        summary = team.run(target, name, directory)
        print_json(summary)
    if not summary["ok"]:
        raise Fail(None)


def _table(title: str, *columns: str) -> Table:
    table = Table(box=None, title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True)
    return table


def _render(snap: team.Snapshot) -> Any:
    s = snap.stats
    queue = (f"[bold]{s['done']}[/]/{sum(s.values())} done   running {s['running']}   pending {s['pending']}   "
             f"failed {s['failed']}   dead {s['dead']}")
    running = _table("running tasks", "task", "agent", "try", "for", "lease")
    for r in snap.running:
        left = f"{r['lease_left']:.1f}s"
        running.add_row(escape(r["task"]), escape(r["agent"]), str(r["attempt"]), f"{r['for']:.1f}s",
                        f"[red]{left}[/]" if r["lease_left"] < 0 else left)
    locks = _table("file locks", "file", "holder", "token", "expires")
    for h in snap.locks:
        locks.add_row(escape(h["name"]), escape(h["owner"]), str(h["token"]), f"{h['left']:.1f}s")
    agents = _table("agents", "agent", "state", "seen")
    for a in snap.agents:
        colour = "red" if a["state"] == "offline" else "dim" if a["state"] in ("idle", "done") else "green"
        agents.add_row(escape(a["name"]), f"[{colour}]{escape(a['state'])}[/]", f"{a['seen']:.1f}s ago")
    signals = escape("   ".join(f"{k}={v}" for k, v in sorted(snap.signals.items())) or "none yet")
    body = Table.grid(padding=(0, 4))
    body.add_row(Group(running, "", locks), Group(agents, "", *(escape(line) for line in snap.log)))
    return Panel(Group(queue, f"signals: {signals}", "", body),
                 title=f"roost demo  {snap.elapsed:.1f}s", title_align="left")


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    verdict = "[green]all checks passed[/]" if summary["ok"] else "[red]some checks failed[/]"
    console.print(f"\n{verdict} in {summary['seconds']}s on {summary['backend']} ({summary['url']}, "
                  f"project {summary['project']})")
    for c in summary["checks"]:
        mark = "[green]ok[/]  " if c["ok"] else "[red]FAIL[/]"
        console.print(f"  {mark} {escape(c['name'])}: {escape(c['detail'])}")
    by = ", ".join(f"{agent} {n}" for agent, n in summary["completed_by"].items())
    console.print(f"  tasks completed by: {by}")
    console.print(f"\nLook around: roost task list --url {summary['url']} --project {summary['project']} --queue "
                  f"{team.QUEUE}\n(the agents' output is in {summary['agents_log']})")
