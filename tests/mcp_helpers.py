"""A real MCP client session against ``roost mcp`` started as a subprocess (the SDK's own
``stdio_client`` and ``ClientSession``), and small helpers to call tools and check the answers."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


def server_env(**extra: str) -> dict[str, str]:
    """The server's environment: the client passes only a safe few variables on, so the ones a roost
    process reads (cleanup off, as in every test) are given here."""
    env = {"ROOST_CLEANUP_INTERVAL": "0", "PYTHONPATH": os.pathsep.join(sys.path)}
    env.update(extra)
    return env


@dataclass
class Agent:
    """One agent's connection: ``call`` expects success, ``error`` expects a tool error."""

    session: ClientSession
    log: Any

    async def call(self, tool: str, **arguments: Any) -> Any:
        result = await self.session.call_tool(tool, arguments)
        assert not result.is_error, (tool, result.content)
        content = result.structured_content
        assert isinstance(content, dict), (tool, content)
        return content.get("result", content) if set(content) == {"result"} else content

    async def error(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.session.call_tool(tool, arguments)
        assert result.is_error, (tool, result.structured_content)
        assert result.structured_content is not None, (tool, result.content)
        err = result.structured_content["error"]
        assert isinstance(err, dict)
        text = result.content[0].text  # type: ignore[union-attr]
        assert err["message"] in text and "Traceback" not in text
        return err

    def server_log(self) -> str:
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()


@asynccontextmanager
async def mcp_agent(url: str, agent: str, *options: str, env: dict[str, str] | None = None) -> AsyncIterator[Agent]:
    """``roost mcp --url URL --agent AGENT`` as a subprocess, and an initialized client session."""
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "roost", "mcp", "--url", url, "--agent", agent, *options],
                                   env=server_env(**(env or {})))
    with tempfile.NamedTemporaryFile("w+", prefix="roost-mcp-", suffix=".log") as log:
        async with stdio_client(params, errlog=log) as (read, write), ClientSession(read, write) as session:  # type: ignore[arg-type]
            await session.initialize()
            yield Agent(session, log)
