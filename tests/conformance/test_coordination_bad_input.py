"""Bad input to signals, locks and agents: a clear error naming the problem, and nothing changed."""

from __future__ import annotations

import pytest

import roost
from roost import errors


def _bad_names(limit: int) -> list[object]:
    return ["", "x" * (limit + 1), "a\x00b", "tab\there", " padded", "lone \ud800 surrogate", 42, None, b"bytes"]


@pytest.mark.parametrize("key", _bad_names(256))
def test_bad_signal_keys(url, key):
    with roost.connect(url) as store:
        with pytest.raises(errors.InvalidArgument, match="signal key"):
            store.signals.set(key, 1)
        with pytest.raises(errors.InvalidArgument, match="signal key"):
            store.signals.get(key)
        assert store.signals.list() == []


def test_bad_signal_values_and_options(url):
    with roost.connect(url) as store:
        store.signals.set("k", "original")
        cases = [
            (dict(value=object()), "cannot be stored as JSON"),
            (dict(value=float("nan")), "cannot be stored as JSON"),
            (dict(value={1: {2: set()}}), "keys must be strings"),
            (dict(value="\ud800"), "not valid Unicode"),
            (dict(value="x" * 70_000), "limit is 65,536"),
            (dict(value=1, ttl=-1), "ttl = -1 is out of range"),
            (dict(value=1, ttl=0), "ttl = 0 is out of range"),
            (dict(value=1, ttl=1e12), "out of range"),
            (dict(value=1, ttl=float("inf")), "out of range"),
            (dict(value=1, ttl=True), "must be a number"),
            (dict(value=1, ttl="10"), "must be a number"),
            (dict(value=1, expected_version=-1), "expected_version"),
            (dict(value=1, expected_version="1"), "expected_version"),
            (dict(value=1, expected_version=3, if_absent=True), "contradict"),
            (dict(value=1, owner=""), "owner must not be empty"),
        ]
        for kwargs, message in cases:
            with pytest.raises(errors.InvalidArgument, match=message):
                store.signals.set("k", **kwargs)  # type: ignore[arg-type]
        found = store.signals.get("k")
        assert found is not None and (found.value, found.version) == ("original", 1)
        with pytest.raises(errors.InvalidArgument, match="timeout"):
            store.signals.wait("k", timeout=-1)
        with pytest.raises(errors.InvalidArgument, match="limit"):
            store.signals.list(limit=0)
        with pytest.raises(errors.InvalidArgument, match="prefix"):
            store.signals.list("\x00")
        with pytest.raises(errors.InvalidArgument, match="age"):
            store.signals.cleanup(age=-5)
        assert store.signals.get("k") == found


def test_odd_but_valid_unicode_round_trips(url):
    with roost.connect(url) as store:
        for key in ("ключ", "鍵/子", "e\u0301", "🔒 lock", "a'b\"c;--", "%_*?"):
            store.signals.set(key, {"v": key, "nul": "\x00 inside JSON is escaped"})
            lease = store.locks.acquire(key, owner=key)
            assert lease is not None and lease.owner == key
            assert store.signals.get(key).value["v"] == key  # type: ignore[union-attr]
        assert len(store.locks.list()) == 6


@pytest.mark.parametrize("name", _bad_names(512))
def test_bad_lock_names(url, name):
    with roost.connect(url) as store:
        with pytest.raises(errors.InvalidArgument, match="lock name"):
            store.locks.acquire(name)
        assert store.locks.list() == []


def test_bad_lock_arguments_change_nothing(url):
    with roost.connect(url) as store:
        lease = store.locks.acquire("f", owner="me", ttl=60)
        assert lease is not None
        for kwargs, message in [
            (dict(ttl=-1), "ttl"), (dict(ttl=0.01), "ttl"), (dict(ttl=10**9), "ttl"), (dict(ttl=float("nan")), "ttl"),
            (dict(mode="write"), "mode"), (dict(wait=-1), "wait"), (dict(wait=10**9), "wait"),
            (dict(owner="x" * 300), "owner"),
        ]:
            with pytest.raises(errors.InvalidArgument, match=message):
                store.locks.acquire("g", **kwargs)  # type: ignore[arg-type]
        for token in (0, -3, 2**63, "1", 1.5, None):
            with pytest.raises(errors.InvalidArgument, match="token"):
                store.locks.release("f", token)  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidArgument, match="ttl"):
            store.locks.renew(lease, ttl=-1)
        with pytest.raises(errors.InvalidArgument, match="idle"):
            store.locks.cleanup(idle=10)
        with pytest.raises(errors.InvalidArgument, match="not a Lease and another token"):
            store.locks.release(lease, lease.token + 1)
        assert [(h.name, h.token, h.owner) for h in store.locks.list()] == [("f", lease.token, "me")]
        assert store.locks.renew(lease).expires_at >= lease.expires_at


def test_bad_agent_registrations(url):
    with roost.connect(url) as store:
        for kwargs, message in [
            (dict(name=""), "agent name"), (dict(name="x" * 129), "agent name"),
            (dict(name="a", capabilities="python"), "list of names"),
            (dict(name="a", capabilities=["ok", ""]), "capability"),
            (dict(name="a", capabilities=["c"] * 65), "at most 64"),
            (dict(name="a", max_concurrent=0), "max_concurrent"),
            (dict(name="a", max_concurrent=10**6), "max_concurrent"),
            (dict(name="a", metadata=[1, 2]), "JSON object"),
            (dict(name="a", metadata={"x": object()}), "metadata cannot be stored as JSON"),
            (dict(name="a", command="run\x00it"), "NUL"),
            (dict(name="a", kind=""), "kind"),
            (dict(name="a", status="s" * 65), "status"),
        ]:
            with pytest.raises(errors.InvalidArgument, match=message):
                store.agents.register(**kwargs)  # type: ignore[arg-type]
        assert store.agents.list() == []


def test_bad_settings_for_coordination(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    with pytest.raises(errors.InvalidSetting, match="agent_offline_after"):
        roost.connect(url, agent_offline_after=0)
    with pytest.raises(errors.InvalidSetting, match="protected_signals"):
        roost.connect(url, protected_signals=[1, 2])
    with roost.connect(url, protected_signals="A, B,,") as store:
        assert store.settings.protected_signals == ("A", "B")
