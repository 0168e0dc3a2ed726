"""The event log as tools: publish, query, and wait for what comes after a cursor."""

from dataclasses import dataclass
from typing import Annotated, Any

from roost.events import Event
from roost.mcp._toolbox import MAX_WAIT, Caller, Toolbox, arg

tools = Toolbox("events")

Topics = Annotated[list[str] | None, arg("topics to match ('task.*' matches a family); null: all")]
Refs = Annotated[dict[str, Any] | None, arg("only events whose refs hold these key/value pairs")]


@dataclass(slots=True)
class EventPage:
    """Events in delivery order, and the ``cursor`` to pass as ``after`` to continue from the last
    one (unchanged when none came)."""

    events: list[Event]
    cursor: str


@tools.tool()
def event_publish(
    caller: Caller,
    topic: Annotated[str, arg("the event's topic, e.g. 'review.done'")],
    payload: Annotated[Any, arg("the event's content (any JSON)")] = None,
    refs: Annotated[dict[str, Any] | None, arg("what it refers to, for filtering (e.g. {'task': 12})")] = None,
    dedupe_key: Annotated[str | None, arg("publishing the same key again is a no-op")] = None,
) -> Event:
    """Publish an event to the team's log (the publishing agent is added to its refs)."""
    return caller.store.events.publish(topic, payload, refs={"agent": caller.agent, **(refs or {})},
                                       dedupe_key=dedupe_key)


@tools.tool(read_only=True)
def event_query(
    caller: Caller,
    topics: Topics = None,
    refs: Refs = None,
    after: Annotated[str | None, arg("only events after this cursor")] = None,
    limit: Annotated[int, arg("at most this many", ge=1, le=1000)] = 100,
) -> EventPage:
    """Read past events in delivery order."""
    found = caller.store.events.query(topics, refs=refs, after=after, limit=limit)
    return EventPage(found, found[-1].cursor if found else caller.store.events.resolve(after or "start"))


@tools.tool(read_only=True, waits=True)
def event_wait(
    caller: Caller,
    after: Annotated[str, arg("a cursor (from event_query, event_wait or event_publish), or 'now'")],
    timeout: Annotated[float, arg(f"seconds to wait for a first event, at most {MAX_WAIT:g}", ge=0, le=MAX_WAIT)],
    topics: Topics = None,
    refs: Refs = None,
    limit: Annotated[int, arg("return at most this many", ge=1, le=1000)] = 100,
) -> EventPage:
    """Wait for the next matching events after a cursor: returns as soon as one commits (with any
    others already there), or an empty page when the timeout passes. Loop on the returned cursor
    to follow the log without missing or repeating an event."""
    with caller.store.events.subscribe(topics, refs=refs, after=after, poll=0.25, batch=limit) as sub:
        first = sub.get(timeout=timeout)
        got = [] if first is None else [first]
        while got and len(got) < limit:
            more = sub.get(timeout=0)
            if more is None:
                break
            got.append(more)
        return EventPage(got, sub.cursor)
