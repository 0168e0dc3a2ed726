"""``roost events``: read the event log, follow it live, and publish to it from the shell.

``tail --json`` prints one JSON object per line, so a program can read events as they come; plain
output is one readable line per event. A bad topic, ref or cursor exits 1 and publishes nothing.
"""

from __future__ import annotations

import dataclasses
import json

import click

from roost import _validate
from roost.cli._common import common, emit, print_json, read_json, store
from roost.errors import InvalidArgument
from roost.events import Event


@click.group()
def events() -> None:
    """The event log: tail it (live with --follow) and publish to it."""


_REF_RULE = "a value of digits is an integer id, anything else (1.5, 0x1f, a name) a string."


def _refs(pairs: tuple[str, ...]) -> dict[str, str | int]:
    found: dict[str, str | int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InvalidArgument(f"--ref {pair!r} must look like name=value (for example task=12)")
        found[name] = int(value) if value.lstrip("-").isdigit() and len(value) < 19 else value
    return found


def _line(event: Event) -> str:
    refs = " ".join(f"{k}={v}" for k, v in event.refs.items())
    payload = json.dumps(event.payload, ensure_ascii=False)
    return f"{event.cursor}  {event.created_at:%H:%M:%S.%f}"[:-3] + f"  {event.topic}  {payload}" + (
        f"  [{refs}]" if refs else "")


@events.command("tail")
@click.option("--topic", "topics", multiple=True, help="A topic, or a pattern like task.* (repeatable; default all).")
@click.option("--ref", "refs", multiple=True,
              help="Only events with this ref, as name=value (repeatable); " + _REF_RULE)
@click.option("--after", help="Start after this cursor ('start' for the whole log).")
@click.option("--limit", type=int, default=20, show_default=True,
              help="Without --after: how many of the newest events to show first.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing events as they are committed (Ctrl-C stops).")
@common
def events_tail(url: str | None, project: str | None, as_json: bool, topics: tuple[str, ...],
                refs: tuple[str, ...], after: str | None, limit: int, follow: bool) -> None:
    """Print events in delivery order; with --follow, keep printing as they come."""
    ref_filter = _refs(refs)
    _validate.integer(limit, "--limit", 1, 10_000)

    def show(event: Event) -> None:
        if as_json:
            print_json(dataclasses.asdict(event), line=True)
        else:
            click.echo(_line(event))

    with store(url, project) as s:
        if after is None:
            start = s.events.resolve("now")
            for event in s.events.latest(list(topics) or None, refs=ref_filter, limit=limit):
                show(event)
                start = event.cursor  # what matched is shown; following goes on from the last of it
        else:
            start = s.events.resolve(after)
            for event in s.events.query(list(topics) or None, refs=ref_filter, after=start, limit=10_000):
                show(event)
                start = event.cursor
        if not follow:
            return
        with s.events.subscribe(list(topics) or None, refs=ref_filter, after=start) as sub:
            for event in sub:
                show(event)


@events.command("cleanup")
@click.option("--age", type=float, help="Seconds; default the event_max_age setting (7 days).")
@common
def events_cleanup(url: str | None, project: str | None, as_json: bool, age: float | None) -> None:
    """Delete events older than --age (the newest event is always kept, so cursors stay valid)."""
    with store(url, project) as s:
        removed = s.events.cleanup(age)
    emit(as_json, {"removed": removed}, lambda c: c.print(f"removed {removed} event(s)"))


@events.command("publish")
@click.argument("topic")
@click.argument("payload", required=False)
@click.option("--ref", "refs", multiple=True,
              help="A ref to another record, as name=value (repeatable); " + _REF_RULE)
@click.option("--dedupe-key", help="Publishing twice with one key publishes once.")
@common
def events_publish(url: str | None, project: str | None, as_json: bool, topic: str, payload: str | None,
                   refs: tuple[str, ...], dedupe_key: str | None) -> None:
    """Publish an event of TOPIC with a JSON PAYLOAD (- reads standard input, @PATH a file); prints
    its cursor."""
    data = read_json(payload, "PAYLOAD")
    with store(url, project) as s:
        event = s.events.publish(topic, data, refs=_refs(refs), dedupe_key=dedupe_key)
    if as_json:
        print_json(dataclasses.asdict(event))
    else:
        click.echo(event.cursor)


GROUPS = [events]
