"""The agent registry as tools: who is on the team, what each can do, who is alive."""

from typing import Annotated, Any

from roost.agents import Agent
from roost.mcp._toolbox import Caller, Toolbox, arg

tools = Toolbox("agents")


@tools.tool(idempotent=True)
def agent_register(
    caller: Caller,
    kind: Annotated[str, arg("what sort of agent: 'coder', 'reviewer', 'qa', …")] = "agent",
    capabilities: Annotated[list[str] | None, arg("what it can do; tasks may require one")] = None,
    max_concurrent: Annotated[int, arg("how many tasks it runs at once", ge=1)] = 1,
    metadata: Annotated[dict[str, Any] | None, arg("anything else to record (JSON object)")] = None,
    status: Annotated[str, arg("its status: 'idle', 'busy', …")] = "idle",
) -> Agent:
    """Register (or update) this agent, under the name the server runs as."""
    return caller.store.agents.register(caller.agent, kind=kind, capabilities=capabilities or (),
                                        max_concurrent=max_concurrent, metadata=metadata, status=status)


@tools.tool(idempotent=True)
def agent_heartbeat(
    caller: Caller,
    status: Annotated[str | None, arg("a new status, or null to keep it")] = None,
) -> Agent:
    """Tell the team this agent is alive (and optionally its status)."""
    return caller.store.agents.heartbeat(caller.agent, status)


@tools.tool(read_only=True)
def agent_list(
    caller: Caller,
    online: Annotated[bool | None, arg("true: only agents with a recent heartbeat; false: only the others")] = None,
) -> list[Agent]:
    """List the registered agents."""
    return caller.store.agents.list(online=online)
