"""Acceptance tests for `roost cleanup`, `roost backup` and `roost restore`: the real commands in
subprocesses, on both backends."""

from __future__ import annotations

import json

import roost
from roost.maintenance import cleanup
from roost.urls import mask
from tests.conformance.test_backup import empty_target
from tests.helpers import backdate, dialect_of
from tests.test_cli import run


def test_cleanup_counts_removes_and_refuses(db, tmp_path):
    def roost_cli(*args: str):
        return run(*args, "--url", db, cwd=tmp_path)

    with roost.connect(db, project="cli") as store:
        store.events.publish_many([{"topic": "old.one", "payload": i} for i in range(3)])
        backdate(store, "events", ["created_at"], 400 * 86400.0)
        store.events.publish("fresh.event")
    dry = roost_cli("cleanup", "--project", "cli", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] and report["removed"] == 3 and report["batches"] == 0
    assert [k["kind"] for k in report["kinds"]][:2] == ["signals", "locks"]
    assert {k["kind"]: k["policy"] for k in report["kinds"]}["events"] == "event_max_age = 7 d"
    done = roost_cli("cleanup", "--project", "cli", "--kind", "events")
    assert done.returncode == 0, done.stderr
    assert "removed 3 rows" in done.stdout and "event_max_age = 7 d" in done.stdout
    again = json.loads(roost_cli("cleanup", "--project", "cli", "--json").stdout)
    assert again["removed"] == 0 and again["complete"] and again["passes"] == 1

    bad = roost_cli("cleanup", "--kind", "nonsense")
    assert bad.returncode == 2 and "nonsense" in bad.stderr and "Traceback" not in bad.stderr
    with roost.connect(db, project="cli") as store:
        lease = store.locks.acquire(cleanup.LOCK, owner="night-job")
        busy = roost_cli("cleanup", "--project", "cli")
        assert busy.returncode == 3 and "another process is cleaning" in busy.stderr and "night-job" in busy.stderr
        assert lease is not None
        store.locks.release(lease)
    doctor = json.loads(roost_cli("doctor", "--project", "cli", "--json").stdout)
    (line,) = [c for c in doctor["checks"] if c["name"] == "cleanup"]
    assert line["level"] == "ok" and "last pass" in line["value"] and "removed 0 rows" in line["value"]


def test_backup_and_restore_from_the_shell(db, tmp_path):
    def roost_cli(*args: str, url: str = db):
        return run(*args, "--url", url, cwd=tmp_path)

    with roost.connect(db, project="cli") as store:
        store.signals.set("kept", {"a": 1})
    done = roost_cli("backup", "copy.bak", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["backend"] == dialect_of(db) and info["bytes"] > 0 and info["schema_version"] >= 15
    again = roost_cli("backup", "copy.bak")
    assert again.returncode == 3 and "--overwrite" in again.stderr
    assert roost_cli("backup", "copy.bak", "--overwrite").returncode == 0
    with empty_target(db, tmp_path) as target:
        restored = roost_cli("restore", "copy.bak", url=target)
        assert restored.returncode == 0, restored.stderr
        assert "restored copy.bak" in restored.stdout and "***" not in restored.stdout.replace(mask(target), "")
        got = run("signal", "get", "kept", "--project", "cli", "--url", target, cwd=tmp_path)
        assert got.returncode == 0 and json.loads(got.stdout) == {"a": 1}, got.stderr
        refused = roost_cli("restore", "copy.bak", url=target)
        assert refused.returncode == 3 and "restore into" in refused.stderr
    junk = tmp_path / "junk.bak"
    junk.write_text("nope")
    with empty_target(db, tmp_path) as target:
        bad = roost_cli("restore", str(junk), url=target)
        assert bad.returncode == 1 and "not" in bad.stderr and "Traceback" not in bad.stderr
