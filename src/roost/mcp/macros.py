"""Tools that do a common sequence in one call, to save an agent round trips (and tokens)."""

from dataclasses import dataclass, field
from typing import Annotated

from roost.agents import Agent
from roost.mcp._toolbox import Caller, Toolbox, arg
from roost.memory.observations import Observation
from roost.memory.sessions import Session
from roost.memory.transcripts import Entry
from roost.store import Store
from roost.tasks import Claim, Task

tools = Toolbox("macros")


def ready_tasks(store: Store, limit: int) -> list[Task]:
    """Pending tasks that could be claimed now (not delayed, not waiting for a dependency), by id."""
    now = store.now()
    pending = store.tasks.list(status="pending", limit=1000)
    return [t for t in pending if t.blocked_by == 0 and t.run_after <= now][:limit]


@dataclass(slots=True)
class Briefing:
    """What an agent needs to start work: itself as registered, the session it joined, its recent
    observations, the session's latest transcript entries, the tasks it holds and the tasks ready
    to claim."""

    agent: Agent
    session: Session
    observations: list[Observation] = field(default_factory=list)
    transcript: list[Entry] = field(default_factory=list)
    my_tasks: list[Task] = field(default_factory=list)
    ready_tasks: list[Task] = field(default_factory=list)


@tools.tool()
def session_start(
    caller: Caller,
    session: Annotated[str | None, arg("the id of a session to join; null: create one (then title is used)")]
    = None,
    title: Annotated[str | None, arg("the new session's title (when session is null)")] = None,
    kind: Annotated[str, arg("what sort of agent this is: 'coder', 'reviewer', …")] = "agent",
    capabilities: Annotated[list[str] | None, arg("what this agent can do")] = None,
    observations: Annotated[int, arg("how many recent observations to include", ge=0, le=200)] = 10,
    entries: Annotated[int, arg("how many latest transcript entries to include", ge=0, le=200)] = 10,
    tasks: Annotated[int, arg("how many ready tasks to include", ge=0, le=200)] = 10,
) -> Briefing:
    """Start work in one call: register this agent (status 'busy'), join the session (or create
    it), and read this agent's recent observations, the session's latest entries, the tasks it
    holds and the tasks waiting to be claimed."""
    store = caller.store
    agent = store.agents.register(caller.agent, kind=kind, capabilities=capabilities or (), status="busy")
    if session is None:
        joined = store.sessions.create(title or f"session of {caller.agent}", participants=[caller.agent])
    else:
        joined = store.sessions.join(session, caller.agent)
    brief = Briefing(agent, joined)
    if observations:
        brief.observations = store.observations.recent(caller.agent, limit=observations)
    if entries:
        brief.transcript = store.transcripts.latest(joined.id, limit=entries).items
    brief.my_tasks = store.tasks.list(status="running", agent=caller.agent, limit=100)
    if tasks:
        brief.ready_tasks = ready_tasks(store, tasks)
    return brief


@tools.tool()
def task_next(
    caller: Caller,
    queues: Annotated[list[str] | None, arg("the queues to claim from (default: ['default'])")] = None,
    capabilities: Annotated[list[str] | None, arg("this agent's capabilities")] = None,
    lease: Annotated[float, arg("seconds the claim lasts unless heartbeated", gt=0)] = 300.0,
) -> Claim | None:
    """Claim the next task for this agent and mark it busy; null (and status 'idle') when nothing
    is ready. Keep the claim's token to heartbeat, complete or fail it."""
    store = caller.store
    claims = store.tasks.claim(caller.agent, queues=queues or ("default",), capabilities=capabilities or (), n=1,
                               lease=lease)
    if store.agents.get(caller.agent) is not None:
        store.agents.heartbeat(caller.agent, "busy" if claims else "idle")
    return claims[0] if claims else None
