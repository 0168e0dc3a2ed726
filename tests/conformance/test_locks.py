"""Leased locks on every backend: modes, fencing tokens, renew, release, takeover, force release, hold."""

from __future__ import annotations

import threading
import time

import pytest

import roost
from roost import errors
from tests.helpers import backdate


def test_exclusive_excludes_and_release_frees(url):
    with roost.connect(url) as store:
        first = store.locks.acquire("src/app.py", owner="coder", ttl=30)
        assert first is not None and first.mode == "exclusive" and first.owner == "coder"
        assert 29 < (first.expires_at - first.acquired_at).total_seconds() <= 30.001
        assert store.locks.acquire("src/app.py", owner="reviewer") is None
        assert store.locks.acquire("src/app.py", owner="coder") is None  # not re-entrant either
        assert store.locks.acquire("src/app.py", owner="qa", mode="shared") is None
        assert store.locks.acquire("src/other.py", owner="reviewer") is not None  # names are independent
        store.locks.release(first)
        second = store.locks.acquire("src/app.py", owner="reviewer")
        assert second is not None and second.token > first.token


def test_shared_admits_shared_and_excludes_exclusive(url):
    with roost.connect(url) as store:
        a = store.locks.acquire("db", owner="a", mode="shared")
        b = store.locks.acquire("db", owner="b", mode="shared")
        assert a is not None and b is not None and b.token > a.token
        assert store.locks.acquire("db", owner="c") is None
        assert [(h.owner, h.mode) for h in store.locks.list("db")] == [("a", "shared"), ("b", "shared")]
        store.locks.release(a)
        assert store.locks.acquire("db", owner="c") is None  # b still holds it
        store.locks.release(b)
        c = store.locks.acquire("db", owner="c")
        assert c is not None
        assert store.locks.acquire("db", owner="d", mode="shared") is None


def test_tokens_strictly_increase_across_expiry_release_and_cleanup(url):
    with roost.connect(url) as store:
        tokens = []
        for i in range(3):
            lease = store.locks.acquire("x", owner=f"o{i}", ttl=0.2)
            assert lease is not None
            tokens.append(lease.token)
            if i == 1:
                store.locks.release(lease)
            else:
                time.sleep(0.3)  # let it expire: the next acquire takes it over
        backdate(store, "locks", ["expires_at", "changed_at"], 2 * 86400)
        backdate(store, "lock_holders", ["expires_at"], 2 * 86400)
        holders, rows = store.locks.cleanup()
        assert rows == 1 and holders >= 1
        after = store.locks.acquire("x", owner="late")
        assert after is not None
        tokens.append(after.token)
        assert tokens == sorted(set(tokens)), tokens


def test_renew_extends_and_expired_lease_is_lost(url):
    with roost.connect(url) as store:
        lease = store.locks.acquire("r", owner="me", ttl=0.5)
        assert lease is not None
        renewed = store.locks.renew(lease, ttl=30)
        assert renewed.token == lease.token and renewed.owner == "me" and renewed.mode == "exclusive"
        assert renewed.expires_at > lease.expires_at
        time.sleep(0.7)
        assert store.locks.acquire("r", owner="other") is None  # the renewal holds
        short = store.locks.renew("r", lease.token, ttl=0.2)
        time.sleep(0.4)
        with pytest.raises(errors.LeaseLost, match="expired"):
            store.locks.renew(short)
        taker = store.locks.acquire("r", owner="other")
        assert taker is not None and taker.token > lease.token
        for call in (lambda: store.locks.renew(lease), lambda: store.locks.release(lease)):
            with pytest.raises(errors.LeaseLost, match="taken over or force-released"):
                call()
        assert [h.owner for h in store.locks.list()] == ["other"]


def test_release_checks_token_and_owner_and_changes_nothing_when_refused(url):
    with roost.connect(url) as store:
        lease = store.locks.acquire("f", owner="alice")
        assert lease is not None
        with pytest.raises(errors.LeaseLost, match="belongs to 'alice', not 'bob'"):
            store.locks.release("f", lease.token, owner="bob")
        with pytest.raises(errors.LeaseLost, match="never issued"):
            store.locks.release("f", lease.token + 1000)
        with pytest.raises(errors.LeaseLost, match="no such lock"):
            store.locks.release("nothing-here", 1)
        with pytest.raises(errors.LeaseLost, match="never issued"):
            store.locks.renew("f", lease.token + 1000)
        assert [(h.owner, h.token) for h in store.locks.list()] == [("alice", lease.token)]
        assert store.locks.acquire("f", owner="bob") is None
        store.locks.release("f", lease.token, owner="alice")
        with pytest.raises(errors.LeaseLost, match="already released"):
            store.locks.release(lease)


def test_release_all_and_list(url):
    with roost.connect(url) as store:
        for name in ("a", "b", "c"):
            assert store.locks.acquire(name, owner="worker-1", ttl=60) is not None
        assert store.locks.acquire("d", owner="worker-2", mode="shared") is not None
        held = store.locks.list()
        assert [(h.name, h.owner) for h in held] == [("a", "worker-1"), ("b", "worker-1"), ("c", "worker-1"),
                                                     ("d", "worker-2")]
        assert all(0 <= h.age < 5 and 55 < h.remaining <= 60 for h in held)
        assert [h.name for h in store.locks.list(owner="worker-2")] == ["d"]
        assert store.locks.release_all("worker-1") == 3
        assert store.locks.release_all("worker-1") == 0
        assert [h.name for h in store.locks.list()] == ["d"]
        assert store.locks.acquire("b", owner="worker-2") is not None


def test_force_release_is_privileged_audited_and_fences_the_old_token(url):
    with roost.connect(url) as store:
        lease = store.locks.acquire("deploy", owner="stuck-agent")
        assert lease is not None
        with pytest.raises(errors.NotPermitted):
            store.locks.force_release("deploy")
        assert store.locks.acquire("deploy", owner="manager") is None
        evicted = store.locks.force_release("deploy", privileged=True, actor="manager", reason="agent hung")
        assert evicted == [("stuck-agent", lease.token, "exclusive")]
        with pytest.raises(errors.LeaseLost):
            store.locks.renew(lease)
        taken = store.locks.acquire("deploy", owner="manager")
        assert taken is not None and taken.token > lease.token
        entry = store.audit_log()[0]
        assert (entry.action, entry.subject, entry.actor) == ("lock.force_release", "deploy", "manager")
        assert entry.detail == {"evicted": [{"owner": "stuck-agent", "token": lease.token, "mode": "exclusive"}],
                                "reason": "agent hung"}


def test_acquire_waits_for_a_release(url):
    with roost.connect(url) as store:
        lease = store.locks.acquire("w", owner="first")
        assert lease is not None
        timer = threading.Timer(0.3, store.locks.release, args=(lease,))
        timer.start()
        try:
            waited = store.locks.acquire("w", owner="second", wait=20)
        finally:
            timer.join()
        assert waited is not None and waited.owner == "second"
        assert store.locks.acquire("w", owner="third", wait=0.2) is None  # and gives up in time


def test_hold_renews_in_the_background_and_releases(url):
    with roost.connect(url) as store:
        with store.locks.hold("h", owner="me", ttl=0.6) as held:
            time.sleep(1.5)  # more than twice the ttl: only the renewals keep it
            assert not held.lost
            assert store.locks.acquire("h", owner="other") is None
            held.check()
        assert store.locks.list() == []
        assert store.locks.acquire("h", owner="other") is not None
        with pytest.raises(errors.LockNotAcquired):
            store.locks.hold("h", owner="me", wait=0.1)


def test_hold_makes_a_lost_lease_visible(url):
    with roost.connect(url) as store:
        seen: list[errors.LeaseLost] = []
        with pytest.raises(errors.LeaseLost), store.locks.hold("h", owner="me", ttl=0.6, on_lost=seen.append) as held:
            store.locks.force_release("h", privileged=True)
            deadline = time.monotonic() + 10
            while not held.lost and time.monotonic() < deadline:
                time.sleep(0.05)
            assert held.lost and seen
            with pytest.raises(errors.LeaseLost):
                held.check()


def test_async_hold(url):
    import asyncio

    async def main() -> None:
        async with roost.connect_async(url) as store:
            async with store.locks.hold("a", owner="me", ttl=5) as held:
                assert held.token >= 1
                assert await store.locks.acquire("a", owner="other") is None
            assert await store.locks.list() == []

    asyncio.run(main())
