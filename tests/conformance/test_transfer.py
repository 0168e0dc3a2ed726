"""Transfer between the backends, and loads that fail halfway: SQLite to PostgreSQL and back gives
the same export line for line, with every project, and fencing tokens keep growing; a transfer
taken while agents write to the source copies one snapshot and verifies; a target that holds the
project is refused; an import stopped by a full disk or a kill resumes when run again, and
changes nothing it should not. All through real processes and the real CLI."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import roost
from roost import errors
from tests.conformance.test_export import PROJECT, fill
from tests.conformance.test_import import export_text
from tests.helpers import CheckTable

ROOST = [sys.executable, "-m", "roost"]


def cli(*args: str, timeout: float = 300, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """``roost ARGS`` in a process of its own; ``limit``: the largest file it may write (bytes)."""

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # (a write past the limit then fails instead of killing)
        assert limit is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([*ROOST, *args], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limited if limit is not None else None)


def filled(url: str) -> None:
    with roost.connect(url, project=PROJECT) as store:
        fill(store)
    with roost.connect(url, project="second") as store:
        store.signals.set("only-here", {"n": 1})
        store.tasks.enqueue("second-task")


def test_sqlite_to_postgresql_and_back_gives_the_same_records_and_tokens_keep_growing(pg_url, tmp_path):
    first, last = f"sqlite:///{tmp_path / 'first.db'}", f"sqlite:///{tmp_path / 'last.db'}"
    filled(first)
    done = roost.transfer(first, pg_url)
    assert [d.project for d in done] == ["exported", "second"] and all(d.verified for d in done)
    back = cli("transfer", "--from", pg_url, "--to", last, "--json")
    assert back.returncode == 0, back.stderr
    report = json.loads(back.stdout)
    assert [r["project"] for r in report] == ["exported", "second"] and all(r["verified"] for r in report)
    for project in ("exported", "second"):
        exports = []
        for url in (first, pg_url, last):
            with roost.connect(url, project=project) as store:
                exports.append(export_text(store))
        assert exports[0] == exports[1] == exports[2], project
    for url in (pg_url, last):
        with roost.connect(url, project=PROJECT) as store:
            # (held by coder-1 for ten minutes: the lock travels held)
            assert store.locks.acquire("file.py", owner="coder-9", ttl=60) is None
            (evicted,) = store.locks.force_release("file.py", privileged=True)
            lease = store.locks.acquire("file.py", owner="coder-9", ttl=60)
            assert lease is not None and lease.token > evicted[1]
            fresh = store.locks.acquire("new-name", owner="coder-9", ttl=60)
            assert fresh is not None and fresh.token > evicted[1]
            store.tasks.enqueue("after-move")
            (claim,) = store.tasks.claim("coder-9", lease=60)
            assert claim.token > 1


def test_a_target_that_holds_the_project_is_refused_unless_replaced(pg_url, tmp_path):
    source = f"sqlite:///{tmp_path / 'source.db'}"
    filled(source)
    with roost.connect(pg_url, project="second") as store:
        store.signals.set("already", True)
    refused = cli("transfer", "--from", source, "--to", pg_url, "--project", "second")
    assert refused.returncode == 3 and "already holds records of project 'second'" in refused.stderr
    assert "Traceback" not in refused.stderr
    with roost.connect(pg_url, project="second") as store:
        assert store.signals.get("already") is not None and store.signals.get("only-here") is None
    (info,) = roost.transfer(source, pg_url, "second", replace=True)
    assert info.verified and info.replaced
    with roost.connect(pg_url, project="second") as store:
        assert store.signals.get("already") is None and store.signals.get("only-here") is not None
    missing = cli("transfer", "--from", source, "--to", pg_url, "--project", "typo")
    assert missing.returncode == 3 and "has no project 'typo'" in missing.stderr
    unreachable = cli("transfer", "--from", "postgresql://nobody@127.0.0.1:1/none", "--to", pg_url)
    assert unreachable.returncode == 1 and "cannot reach PostgreSQL" in unreachable.stderr
    with pytest.raises(errors.InvalidArgument, match="same store"):
        roost.transfer(source, source)


WRITER = """
import sys, roost
with roost.connect(sys.argv[1], project="exported") as store:
    n = 0
    while True:
        store.events.publish("busy", {"n": n})
        n += 1
"""


def test_a_transfer_while_agents_write_copies_one_snapshot_and_verifies(shared_url, tmp_path):
    """Source on either backend, written by two processes the whole time; the target is SQLite."""
    with roost.connect(shared_url, project=PROJECT) as store:
        fill(store)
        for start in (0, 10_000):
            store.events.publish_many([("seed", {"i": i}) for i in range(start, start + 10_000)])
    check = CheckTable(shared_url)
    events = f"SELECT count(*) FROM {'roost.' if check.pg else ''}events"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, shared_url]) for _ in range(2)]
    try:
        time.sleep(1.0)
        before = check.run(events).fetchone()[0]
        (info,) = roost.transfer(shared_url, f"sqlite:///{tmp_path / 'copy.db'}", PROJECT)
        after = check.run(events).fetchone()[0]
    finally:
        for w in writers:
            w.kill()
            w.wait()
        check.close()
    assert info.verified
    assert before <= info.written["events"] < after, (before, info.written["events"], after)
    with roost.connect(f"sqlite:///{tmp_path / 'copy.db'}", project=PROJECT) as copy:
        assert len(export_text(copy)) - 1 == info.rows


def big_export(tmp_path: Path, events: int) -> Path:
    """An SQLite store with every kind, ``events`` more events and a 3 MB artifact, exported."""
    url = f"sqlite:///{tmp_path / 'big.db'}"
    with roost.connect(url, project=PROJECT) as store:
        fill(store)
        for start in range(0, events, 10_000):
            store.events.publish_many([("bulk", {"i": i, "text": "x" * 40}) for i in range(start, start + 10_000)])
        store.artifacts.put("big.bin", os.urandom(3 << 20))
    path = tmp_path / "big.jsonl"
    done = cli("export", "--url", url, "--project", PROJECT, "-o", str(path))
    assert done.returncode == 0, done.stderr
    return path


def test_an_import_stopped_by_a_full_disk_resumes_when_run_again(tmp_path):
    """The target's file system is simulated full with a file-size limit on the importing process."""
    path = big_export(tmp_path, 20_000)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    cli("init", "--url", target, "--project", PROJECT)
    size = os.path.getsize(tmp_path / "target.db")
    full = cli("import", str(path), "--url", target, limit=size + (1 << 20))
    assert full.returncode != 0 and "Traceback" not in full.stderr
    assert "full" in full.stderr.lower() or "disk" in full.stderr.lower() or "large" in full.stderr.lower(), \
        full.stderr
    check = CheckTable(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        assert check.run("PRAGMA integrity_check").fetchone()[0] == "ok"
        partial = check.run("SELECT count(*) FROM events").fetchone()[0]
    finally:
        check.close()
    again = cli("import", str(path), "--url", target, "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["verified"] and report["resumed"] == (partial > 0)
    with roost.connect(target, project=PROJECT) as store:
        lines = export_text(store)
    assert lines[1:] == path.read_text(encoding="utf-8").splitlines()[1:]


def test_an_import_killed_halfway_resumes_when_run_again(pg_url, tmp_path):
    path = big_export(tmp_path, 120_000)
    total = len(path.read_text(encoding="utf-8").splitlines()) - 1
    worker = subprocess.Popen([*ROOST, "import", str(path), "--url", pg_url], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    check = CheckTable(pg_url)
    try:
        deadline = time.monotonic() + 120
        seen = 0
        while time.monotonic() < deadline and worker.poll() is None:
            try:
                seen = check.run("SELECT count(*) FROM roost.events").fetchone()[0]
            except Exception:  # (the schema is not there yet)
                seen = 0
            if seen > 0:
                break
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        stored = check.run("SELECT count(*) FROM roost.events").fetchone()[0]
    finally:
        check.close()
    assert 0 < stored < 120_000, f"killed after {stored} events: not halfway"
    again = cli("import", str(path), "--url", pg_url, "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["verified"] and report["resumed"] and report["already_present"] >= stored
    assert report["rows"] + report["already_present"] == total
    with roost.connect(pg_url, project=PROJECT) as store:
        assert export_text(store)[1:] == path.read_text(encoding="utf-8").splitlines()[1:]
