"""roost as an MCP server (``roost mcp``): the store's areas as tools and resources for agents.

Needs the optional extra ``roost[mcp]`` (the official ``mcp`` SDK). One module per area holds that
area's tools (``signals.py``, ``tasks.py``, …); ``server.py`` puts them together; ``http.py`` is the
streamable HTTP transport. ``docs/mcp.md`` describes the tools, errors and limits.
"""
