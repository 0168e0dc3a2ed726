"""The agent registry on every backend: register, heartbeat, status, offline detection, deregister."""

from __future__ import annotations

import time

import pytest

import roost
from roost import errors


def test_register_heartbeat_status_and_list(url):
    with roost.connect(url) as store:
        coder = store.agents.register("coder-1", kind="coder", command="claude --role coder",
                                      capabilities=["python", "tests"], max_concurrent=2,
                                      metadata={"model": "big", "tags": ["a"]})
        assert coder.online and coder.state == "idle" and coder.capabilities == ("python", "tests")
        assert coder.metadata == {"model": "big", "tags": ["a"]} and coder.max_concurrent == 2
        store.agents.register("qa", kind="qa")
        busy = store.agents.set_status("coder-1", "busy")
        assert busy.status == "busy" and busy.heartbeat_at >= coder.heartbeat_at
        assert store.agents.heartbeat("coder-1").status == "busy"  # a heartbeat keeps the status
        again = store.agents.register("coder-1", kind="coder", capabilities=["python"])
        assert again.registered_at == coder.registered_at and again.capabilities == ("python",)
        assert [a.name for a in store.agents.list()] == ["coder-1", "qa"]
        got = store.agents.get("qa")
        assert got is not None and got.kind == "qa"
        assert store.agents.get("nobody") is None
        with pytest.raises(errors.AgentNotFound):
            store.agents.heartbeat("nobody")


def test_silent_agent_reads_offline_and_its_locks_can_be_released(url):
    with roost.connect(url, agent_offline_after=1) as store:
        store.agents.register("ghost")
        store.agents.register("alive")
        assert store.locks.acquire("a.py", owner="ghost") is not None
        assert store.locks.acquire("b.py", owner="ghost", mode="shared") is not None
        assert store.locks.acquire("c.py", owner="alive") is not None
        time.sleep(1.3)
        store.agents.heartbeat("alive")
        offline = store.agents.list(online=False)
        assert [(a.name, a.state) for a in offline] == [("ghost", "offline")]
        assert offline[0].heartbeat_age >= 1
        assert [a.name for a in store.agents.list(online=True)] == ["alive"]
        assert store.agents.release_offline_locks() == {"ghost": 2}
        assert [h.name for h in store.locks.list()] == ["c.py"]


def test_deregister_releases_locks_unless_told_not_to(url):
    with roost.connect(url) as store:
        store.agents.register("a")
        store.agents.register("b")
        store.locks.acquire("x", owner="a")
        store.locks.acquire("y", owner="b")
        assert store.agents.deregister("a") is True
        assert store.agents.deregister("a") is False
        assert store.agents.deregister("b", release_locks=False) is True
        assert [h.owner for h in store.locks.list()] == ["b"]
        assert store.agents.list() == []
