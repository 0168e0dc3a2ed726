"""The streamable HTTP transport, for agents in other pods: the SDK's ASGI app behind an optional
bearer token, served by uvicorn."""

import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from roost.mcp.server import RoostServer

log = logging.getLogger("roost.mcp")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_VARIABLE = "ROOST_MCP_TOKEN"
"""The environment variable whose value, when set, every HTTP request must carry as
``Authorization: Bearer <token>``."""


class BearerToken:
    """ASGI middleware: refuse a request without the token with 401, and log the refusal (the
    client's address and what was wrong, never the token or what was sent instead)."""

    def __init__(self, app: App, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization")
        if given is not None and hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("?", 0)
        log.warning("refused an MCP request from %s:%s: %s", client[0], client[1],
                    "no Authorization header" if given is None else "wrong bearer token")
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": b"a valid bearer token is required\n"})


async def serve(server: RoostServer, host: str, port: int, token: str | None) -> None:
    """Serve until cancelled (Ctrl-C)."""
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    # The SDK guards against DNS rebinding by checking Host against the bound address; a server bound
    # to all interfaces for other pods must accept the names they use, and relies on the token instead.
    local = host in ("127.0.0.1", "localhost", "::1")
    security = None if local else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app: App = server.streamable_http_app(host=host, transport_security=security)
    if token:
        app = BearerToken(app, token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
