"""``roost status``: one look at the whole team.

Status reads each area once (queues, running tasks, locks, agents, signals, latest events); it is
a snapshot of reads, not one transaction, so a change between two reads may show in one part only.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table

from roost.cli._common import common, emit, store

SHOWN = 20
"""Rows shown per part for people; --json has the same limits."""


@click.command("status")
@common
def status(url: str | None, project: str | None, as_json: bool) -> None:
    """One overview: queues, running tasks, locks, agents, signals and the latest events."""
    with store(url, project) as s:
        data: dict[str, Any] = {
            "project": s.project,
            "url": s.url,
            "queues": s.tasks.stats(),
            "running": s.tasks.list(status="running", limit=SHOWN),
            "locks": s.locks.list()[:SHOWN],
            "agents": s.agents.list()[:SHOWN],
            "signals": s.signals.list(limit=SHOWN),
            "events": s.events.latest(limit=SHOWN),
        }
        states = {a.name: a.state for a in data["agents"]}

    def human(console: Console) -> None:
        console.print(f"[bold]{escape(data['project'])}[/] at {escape(data['url'])}")
        parts: list[Any] = []
        queues = Table("queue", "pending", "ready", "running", "done", "failed", "dead", "cancelled", box=None,
                       title="queues", title_justify="left")
        for q in data["queues"]:
            queues.add_row(escape(q.queue), *(str(n) for n in (q.pending, q.ready, q.running, q.done, q.failed,
                                                               q.dead, q.cancelled)))
        parts.append(queues if data["queues"] else "queues: no tasks")
        running = Table("id", "kind", "agent", "attempt", "lease until", box=None, title="running",
                        title_justify="left")
        for t in data["running"]:
            until = f"{t.lease_expires_at:%H:%M:%S}" if t.lease_expires_at else ""
            running.add_row(str(t.id), escape(t.kind), escape(t.claimed_by or ""), str(t.attempts), until)
        parts.append(running if data["running"] else "running: nothing")
        locks = Table("lock", "owner", "mode", "token", box=None, title="locks", title_justify="left")
        for h in data["locks"]:
            locks.add_row(escape(h.name), escape(h.owner), h.mode, str(h.token))
        parts.append(locks if data["locks"] else "locks: none held")
        agents = Table("agent", "kind", "status", "state", box=None, title="agents", title_justify="left")
        for a in data["agents"]:
            agents.add_row(escape(a.name), escape(a.kind), escape(a.status), states[a.name])
        parts.append(agents if data["agents"] else "agents: none registered")
        signals = Table("signal", "value", "version", box=None, title="signals", title_justify="left")
        for sig in data["signals"]:
            text = sig.value if isinstance(sig.value, str) else json.dumps(sig.value, ensure_ascii=False)
            signals.add_row(escape(sig.key), escape(text if len(text) <= 60 else text[:57] + "..."), str(sig.version))
        parts.append(signals if data["signals"] else "signals: none set")
        events = Table("at", "topic", "payload", box=None, title="latest events", title_justify="left")
        for e in data["events"]:
            text = json.dumps(e.payload, ensure_ascii=False)
            events.add_row(f"{e.created_at:%H:%M:%S}", escape(e.topic), escape(text if len(text) <= 70 else
                                                                                  text[:67] + "..."))
        parts.append(events if data["events"] else "latest events: none")
        console.print(Group(*parts))

    if as_json:
        data["agents"] = [{**_fields(a), "state": states[a.name]} for a in data["agents"]]
    emit(as_json, data, human)


def _fields(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)
