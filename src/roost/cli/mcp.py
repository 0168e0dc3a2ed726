"""``roost mcp``: serve the store to agents over the Model Context Protocol (see :mod:`roost.mcp`)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import click

from roost.cli._common import Fail, cli_owner, common, store


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8765)", param_hint="--http")
    return (host or "127.0.0.1").strip("[]"), int(port)


@click.command("mcp")
@click.option("--http", "http", metavar="HOST:PORT",
              help="Serve the streamable HTTP transport at http://HOST:PORT/mcp instead of stdio (':PORT' binds "
                   "127.0.0.1). Set ROOST_MCP_TOKEN to require 'Authorization: Bearer <token>'.")
@click.option("--agent", help="The agent the server acts as: owner of its locks, claims and writes; "
              "default ROOST_AGENT, else host:PID of the process that started the server.")
@click.option("--privileged", is_flag=True, help="Allow writes to protected signals and lock_force_release.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="warning",
              show_default=True, help="What the server logs on stderr.")
@common
def mcp(url: str | None, project: str | None, as_json: bool, http: str | None, agent: str | None,
        privileged: bool, log_level: str) -> None:
    """Serve roost's tools and resources to MCP clients (Claude Code, Codex, Gemini CLI, …).

    By default over stdio, as an agent's MCP configuration launches it: add
    {"mcpServers": {"roost": {"command": "roost", "args": ["mcp"]}}} to .mcp.json. With --http, one
    server for agents in other processes or pods. Tools and errors: docs/mcp.md.
    """
    del as_json
    try:
        import anyio

        from roost.mcp import http as transport
        from roost.mcp.server import build
    except ImportError as exc:
        if exc.name is None or exc.name.split(".")[0] not in ("mcp", "anyio", "pydantic", "uvicorn", "starlette"):
            raise
        raise Fail("`roost mcp` needs the MCP SDK, which is an optional extra: pip install 'roost[mcp]'", 1) from None
    logging.basicConfig(stream=sys.stderr, level=log_level.upper(), format="roost mcp: %(levelname)s %(message)s")
    address = None if http is None else _address(http)
    token = os.environ.get(transport.TOKEN_VARIABLE) or None
    with store(url, project) as opened:
        server = build(opened, cli_owner(agent), privileged)
        if address is None:
            anyio.run(server.run_stdio_async)
        else:
            host, port = address
            click.echo(f"roost mcp: serving http://{host}:{port}/mcp as {server.caller.agent}"
                       f"{' (bearer token required)' if token else ''}", err=True)
            with contextlib.suppress(KeyboardInterrupt):
                anyio.run(transport.serve, server, host, port, token)
