"""Two agents, each with its own ``roost mcp`` server process, coordinating through one store;
and the streamable HTTP transport with the SDK's HTTP client, refused without the bearer token."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import roost
from tests.mcp_helpers import mcp_agent, server_env

pytestmark = pytest.mark.slow


def test_two_agents_coordinate_through_one_store(shared_url):
    roost.connect(shared_url, create=True).close()
    asyncio.run(_two_agents(shared_url))


async def _two_agents(url: str) -> None:
    async with mcp_agent(url, "alice") as alice, mcp_agent(url, "bob") as bob:
        # a lock one holds, the other is refused and then gets after the release
        held = await alice.call("lock_acquire", name="repo:main")
        assert held["acquired"] is True
        refused = await bob.call("lock_acquire", name="repo:main")
        assert refused["acquired"] is False and [h["owner"] for h in refused["holders"]] == ["alice"]
        assert await alice.call("lock_release", name="repo:main", token=held["lease"]["token"]) is True
        taken = await bob.call("lock_acquire", name="repo:main")
        assert taken["acquired"] is True and taken["lease"]["owner"] == "bob"

        # one enqueues, the other claims and completes; the first reads the result
        task = (await alice.call("task_enqueue", kind="review", payload={"pr": 7}))["id"]
        claim = await bob.call("task_next")
        assert claim["id"] == task and claim["payload"] == {"pr": 7}
        assert await bob.call("task_complete", token=claim["token"], result="approved") is True
        done = await alice.call("task_get", task_id=task)
        assert (done["status"], done["result"], done["claimed_by"]) == ("done", "approved", "bob")

        # a waiting call returns the other's event
        cursor = (await alice.call("event_query", topics=["review.*"]))["cursor"]
        waiting = asyncio.create_task(alice.call("event_wait", after=cursor, timeout=30, topics=["review.*"]))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        published = await bob.call("event_publish", topic="review.done", payload={"pr": 7})
        got = await asyncio.wait_for(waiting, 30)
        assert [e["cursor"] for e in got["events"]] == [published["cursor"]]
        assert got["events"][0]["refs"]["agent"] == "bob"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_http_transport_requires_the_token(tmp_path):
    url = f"sqlite:///{tmp_path}/roost.db"
    roost.connect(url, create=True).close()
    port, token = _free_port(), "s3cret-token-value"
    log = tmp_path / "server.log"
    with open(log, "w") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "roost", "mcp", "--url", url, "--agent", "remote", "--http", f"127.0.0.1:{port}"],
            env={**os.environ, **server_env(ROOST_MCP_TOKEN=token)}, stdout=subprocess.DEVNULL, stderr=errors)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}/mcp"
        refused = httpx2.post(endpoint, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401
        wrong = httpx2.post(endpoint, json={}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        asyncio.run(_over_http(endpoint, token))
        with roost.connect(url) as store:
            signal = store.signals.get("from.http")
            assert signal is not None and (signal.value, signal.updated_by) == ("hello", "remote")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "no Authorization header" in text and "wrong bearer token" in text
    assert token not in text and "nope" not in text


async def _over_http(endpoint: str, token: str) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http, \
            streamable_http_client(endpoint, http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        assert len((await session.list_tools()).tools) == 60
        result = await session.call_tool("signal_set", {"key": "from.http", "value": "hello"})
        assert not result.is_error and result.structured_content == {"key": "from.http", "version": 1}


def test_without_the_extra_roost_mcp_says_how_to_install_it():
    hide = "import sys; sys.modules['mcp'] = None; from roost.cli import main; main(['mcp', '--url', 'memory://x'])"
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "pip install 'roost[mcp]'" in done.stderr and "Traceback" not in done.stderr
