"""The roost MCP server: every area's tools and the resources, over stdio or streamable HTTP.

Tools run on worker threads (the store is synchronous) under two capacity limiters: one sized to
the connection pool for ordinary calls, one for the calls that wait (signal_wait, event_wait, a lock
acquire with a wait), so a few agents waiting cannot hold up everyone else's calls.
"""

import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.context import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

import roost
from roost.mcp import agents, documents, events, locks, macros, memory, resources, runs, search, signals, tasks
from roost.mcp._toolbox import Caller, Toolbox, annotations_of, bind, error_result, internal_error
from roost.store import Store

log = logging.getLogger("roost.mcp")

AREAS: tuple[Toolbox, ...] = (signals.tools, locks.tools, agents.tools, tasks.tools, events.tools, memory.tools,
                              search.tools, documents.tools, runs.tools, macros.tools)
"""Every area's toolbox, in the order list_tools shows them. A new area adds its module here."""

WAITERS = 32
"""How many waiting tool calls may wait at once (each holds a worker thread, not a connection)."""

INSTRUCTIONS = """\
roost is this agent team's shared state. Tools are named verb_noun by area: signal_*, lock_*,
agent_*, task_*, event_*, session_*, transcript_*, memory_*, observation_*, artifact_*, search,
find, doc_*, run_*, phase_*, gate_decide. Start with session_start; take work with task_next (or
task_claim) and finish it with task_complete or task_fail, passing the claim's token. Locks and
claims are leases: renew or heartbeat them while you work. A failed call returns an error whose
structured content says error.kind (not_found, not_acquired, conflict, lease_lost, invalid_input,
not_permitted, timed_out, unavailable) and error.retryable."""


class RoostServer(MCPServer[Any]):
    """The SDK's server, with its own errors (an unknown tool, arguments that fail the schema)
    reported in the same structured form as roost's."""

    def __init__(self, store: Store, caller: Caller) -> None:
        super().__init__("roost", version=roost.__version__, instructions=INSTRUCTIONS, log_level="WARNING")
        self.store = store
        self.caller = caller
        self.names: set[str] = set()
        calls = anyio.CapacityLimiter(max(2, store.settings.pool_max_size))
        waits = anyio.CapacityLimiter(WAITERS)
        for box in AREAS:
            for spec in box.specs:
                fn = bind(spec, caller, waits if spec.waits else calls)
                self.add_tool(fn, name=spec.name, description=fn.__doc__, annotations=annotations_of(spec),
                              structured_output=True)
                self.names.add(spec.name)

        async def run(fn: Callable[[], Any]) -> Any:
            return await anyio.to_thread.run_sync(fn, limiter=calls)

        resources.register(self, store, run)

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context[Any, Any] | None = None) -> CallToolResult | InputRequiredResult:
        if name not in self.names:
            return error_result("UnknownTool", "not_found", f"there is no tool named {name!r}; list_tools names them",
                                False)
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            return internal_error(name, exc.__cause__ or exc)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                return error_result("InvalidArgument", "invalid_input", _describe(exc.__cause__), False)
            return error_result("ToolError", "error", str(exc), False)


def _describe(error: ValidationError) -> str:
    """What is wrong with the arguments, by name, without echoing their values (which may be large
    or private)."""
    parts = []
    for item in error.errors()[:10]:
        where = ".".join(str(p) for p in item["loc"]) or "arguments"
        parts.append(f"{where}: {item['msg']}")
    more = len(error.errors()) - 10
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def build(store: Store, agent: str, privileged: bool = False) -> RoostServer:
    """A server over ``store`` acting as ``agent``."""
    return RoostServer(store, Caller(store, agent, privileged))
