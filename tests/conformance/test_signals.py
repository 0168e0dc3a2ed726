"""Signals on every backend: versions, compare-and-set, TTL, critical, protected keys, wait, cleanup."""

from __future__ import annotations

import threading
import time

import pytest

import roost
from roost import errors
from tests.helpers import backdate


def test_set_get_versions_and_values(url):
    with roost.connect(url, project="p") as store:
        assert store.signals.get("PHASE") is None
        assert store.signals.set("PHASE", "design") == 1
        assert store.signals.set("PHASE", {"name": "build", "step": 2}, owner="manager") == 2
        found = store.signals.get("PHASE")
        assert found is not None
        assert (found.value, found.version, found.updated_by) == ({"name": "build", "step": 2}, 2, "manager")
        assert found.expires_at is None and not found.critical
        assert store.signals.set("n", 0) == 1 and store.signals.get("n").value == 0  # type: ignore[union-attr]
        assert store.signals.set("u", "ünïcødé ✓ 🚀") == 1
        assert store.signals.get("u").value == "ünïcødé ✓ 🚀"  # type: ignore[union-attr]
    with roost.connect(url, project="other") as other:
        assert other.signals.get("PHASE") is None  # projects are separate


def test_compare_and_set_and_set_if_absent(url):
    with roost.connect(url) as store:
        assert store.signals.set("k", "a", if_absent=True) == 1
        with pytest.raises(errors.VersionConflict, match="expected to be absent, but it is at version 1"):
            store.signals.set("k", "b", if_absent=True)
        with pytest.raises(errors.VersionConflict, match="at version 5"):
            store.signals.set("k", "b", expected_version=5)
        assert store.signals.set("k", "b", expected_version=1) == 2
        with pytest.raises(errors.VersionConflict):
            store.signals.set("k", "c", expected_version=1)  # a stale version is refused
        assert store.signals.get("k").value == "b"  # type: ignore[union-attr]
        with pytest.raises(errors.VersionConflict, match="it is not set"):
            store.signals.set("missing", 1, expected_version=3)
        assert store.signals.get("missing") is None
        assert store.signals.set("z", 1, expected_version=0) == 1  # version 0 means "only if absent"


def test_clear_keeps_counting_versions(url):
    with roost.connect(url) as store:
        store.signals.set("k", 1)
        store.signals.set("k", 2)
        assert store.signals.delete("k") is True
        assert store.signals.get("k") is None
        assert store.signals.delete("k") is False
        # a reader that saw version 2 cannot overwrite the value written after the clear
        assert store.signals.set("k", 3, if_absent=True) == 4
        with pytest.raises(errors.VersionConflict):
            store.signals.set("k", 9, expected_version=2)
        with pytest.raises(errors.VersionConflict):
            store.signals.delete("k", expected_version=2)
        assert store.signals.delete("k", expected_version=4) is True


def test_ttl_reads_as_absent_at_once(url):
    with roost.connect(url) as store:
        store.signals.set("short", "x", ttl=0.3)
        store.signals.set("long", "y", ttl=3600)
        assert store.signals.get("short") is not None
        time.sleep(0.5)
        assert store.signals.get("short") is None
        assert [s.key for s in store.signals.list()] == ["long"]
        expires = store.signals.get("long").expires_at  # type: ignore[union-attr]
        assert expires is not None and 3500 < (expires - store.now()).total_seconds() <= 3600
        # an expired signal counts as absent for set-if-absent, and its versions go on
        assert store.signals.set("short", "again", if_absent=True) == 2


def test_cleanup_removes_expired_and_aged_but_keeps_critical(url):
    with roost.connect(url) as store:
        store.signals.set("COMPLETED", True, critical=True)
        store.signals.set("QA_PASSED", True, critical=True, ttl=0.1)
        store.signals.set("progress", 40)
        store.signals.set("fresh", 1)
        store.signals.delete("fresh")  # a tombstone
        time.sleep(0.3)
        assert store.signals.cleanup(age=3600) == 1  # only the expired critical one
        backdate(store, "signals", ["updated_at"], 3 * 3600)
        assert store.signals.cleanup() == 0  # younger than the default age of 24 h
        backdate(store, "signals", ["updated_at"], 2 * 86400)
        assert store.signals.cleanup() == 2  # the non-critical one and the tombstone
        assert [s.key for s in store.signals.list()] == ["COMPLETED"]


def test_list_by_prefix_is_literal(url):
    with roost.connect(url) as store:
        for key in ("task/1", "task/2", "task_3", "task%x", "tasks", "other"):
            store.signals.set(key, key)
        assert [s.key for s in store.signals.list("task/")] == ["task/1", "task/2"]
        assert [s.key for s in store.signals.list("task%")] == ["task%x"]
        assert [s.key for s in store.signals.list("task_")] == ["task_3"]
        assert len(store.signals.list()) == 6
        assert len(store.signals.list(limit=2)) == 2


def test_protected_keys_need_the_privileged_flag(url):
    with roost.connect(url) as store:
        with pytest.raises(errors.NotPermitted, match=r"PROJECT_SIGNED_OFF.*protected"):
            store.signals.set("PROJECT_SIGNED_OFF", True)
        assert store.signals.get("PROJECT_SIGNED_OFF") is None
        assert store.signals.set("PROJECT_SIGNED_OFF", True, privileged=True, owner="manager") == 1
        with pytest.raises(errors.NotPermitted):
            store.signals.delete("PROJECT_SIGNED_OFF")
        assert store.signals.get("PROJECT_SIGNED_OFF") is not None
        assert store.signals.delete("PROJECT_SIGNED_OFF", privileged=True, owner="manager")
        actions = [(e.action, e.subject, e.actor) for e in store.audit_log()]
        assert actions == [("signal.clear", "PROJECT_SIGNED_OFF", "manager"),
                           ("signal.set", "PROJECT_SIGNED_OFF", "manager")]
    with roost.connect(url, protected_signals=["DEPLOY"]) as custom:
        custom.signals.set("TRIGGER_QA", 1)  # no longer protected
        with pytest.raises(errors.NotPermitted):
            custom.signals.set("DEPLOY", 1)


def test_wait_returns_when_set_or_on_timeout(url):
    with roost.connect(url) as store:
        assert store.signals.wait("never", timeout=0.2) is None

        def later() -> None:
            time.sleep(0.3)
            store.signals.set("READY", "no")
            time.sleep(0.2)
            store.signals.set("READY", "yes")

        thread = threading.Thread(target=later)
        thread.start()
        try:
            first = store.signals.wait("READY", timeout=20)
            assert first is not None and first.value == "no"
            wanted = store.signals.wait("READY", timeout=20, value="yes")
            assert wanted is not None and wanted.value == "yes" and wanted.version == 2
        finally:
            thread.join()


def test_async_signals(url):
    import asyncio

    async def main() -> None:
        async with roost.connect_async(url) as store:
            assert await store.signals.set("a", [1, 2]) == 1
            found = await store.signals.get("a")
            assert found is not None and found.value == [1, 2]
            assert [s.key for s in await store.signals.list()] == ["a"]

    asyncio.run(main())
