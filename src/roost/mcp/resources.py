"""Read-only views an agent may attach as MCP resources: the signals, the ready tasks, a document
as Markdown, and a session's transcript."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from roost import errors
from roost.mcp.macros import ready_tasks
from roost.store import Store

TRANSCRIPT_ENTRIES = 200
"""How many of a session's latest transcript entries its resource shows."""

Run = Callable[[Callable[[], Any]], Awaitable[Any]]


def _json(value: object) -> str:
    def default(x: object) -> object:
        if isinstance(x, datetime):
            return x.isoformat()
        raise TypeError(f"not JSON: {type(x).__name__}")

    return json.dumps(value, default=default, ensure_ascii=False, indent=1)


def register(server: MCPServer[Any], store: Store, run: Run) -> None:
    """Add the resources to ``server``; ``run`` runs a sync read off the event loop."""

    async def read(fn: Callable[[], Any]) -> Any:
        try:
            return await run(fn)
        except errors.NotFound as exc:
            raise ResourceNotFoundError(exc.message) from None
        except errors.RoostError as exc:
            raise ResourceError(f"{type(exc).__name__} ({exc.kind}): {exc.message}") from None

    @server.resource("roost://signals", name="signals", mime_type="application/json",
                     description="Every signal that is set: key, value, version, expiry (JSON).")
    async def signals() -> str:
        return _json([asdict(s) for s in await read(lambda: store.signals.list(limit=1000))])

    @server.resource("roost://tasks/ready", name="ready-tasks", mime_type="application/json",
                     description="The tasks that could be claimed now, by id (JSON; at most 200).")
    async def tasks_ready() -> str:
        return _json([asdict(t) for t in await read(lambda: ready_tasks(store, 200))])

    @server.resource("roost://doc/{collection}/{key}", name="document", mime_type="text/markdown",
                     description="A document rendered as Markdown.")
    async def document(collection: str, key: str) -> str:
        return str(await read(lambda: store.documents.render(collection, key, "markdown")))

    @server.resource("roost://session/{id}/transcript", name="transcript", mime_type="text/markdown",
                     description=f"A session's latest {TRANSCRIPT_ENTRIES} transcript entries, oldest first.")
    async def transcript(id: str) -> str:
        def text() -> str:
            session = store.sessions.get(id)
            if session is None:
                raise errors.SessionNotFound(f"no session with id {id!r}")
            page = store.transcripts.latest(id, limit=TRANSCRIPT_ENTRIES)
            lines = [f"# {session.title}", ""]
            for e in page.items:
                who = f"{e.role}" + (f" ({e.agent})" if e.agent else "")
                lines += [f"## {e.position}. {who} — {e.created_at.isoformat(timespec='seconds')}", "", e.content, ""]
            return "\n".join(lines)

        return str(await read(text))
