"""Acceptance tests for `roost events`: the real command in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import time

from tests.test_cli import ROOST, run


def test_publish_tail_and_errors(db, tmp_path):
    def roost_cli(*args: str):
        return run(*args, "--url", db, cwd=tmp_path)

    first = roost_cli("events", "publish", "build.started", '{"n": 1}', "--ref", "task=7")
    assert first.returncode == 0, first.stderr
    cursor = first.stdout.strip()
    assert roost_cli("events", "publish", "build.done", "--ref", "agent=coder-1").returncode == 0
    lines = roost_cli("events", "tail", "--json").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["topic"], e["payload"], e["refs"]) for e in events] == [
        ("build.started", {"n": 1}, {"task": 7}), ("build.done", None, {"agent": "coder-1"})]
    after = roost_cli("events", "tail", "--after", cursor, "--json").stdout.splitlines()
    assert [json.loads(line)["topic"] for line in after] == ["build.done"]
    plain = roost_cli("events", "tail", "--ref", "task=7").stdout
    assert "build.started" in plain and "build.done" not in plain
    for bad, code, text in [
        (("events", "publish", "no spaces allowed"), 1, "not a valid topic"),
        (("events", "publish", "a.b", "{nope"), 1, "not valid JSON"),
        (("events", "publish", "a.b", "--ref", "task"), 1, "name=value"),
        (("events", "tail", "--after", "nonsense"), 1, "not valid"),
        (("events", "tail", "--after", "0:999999"), 3, "not in the event log"),
    ]:
        out = roost_cli(*bad)
        assert out.returncode == code and text in out.stderr and "Traceback" not in out.stderr, (bad, out.stderr)
    assert len(roost_cli("events", "tail", "--json", "--limit", "100").stdout.splitlines()) == 2  # nothing added


def test_tail_follow_prints_events_as_they_commit(db, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_") and k != "DATABASE_URL"}
    assert run("events", "publish", "old.one", "--url", db, cwd=tmp_path).returncode == 0
    follower = subprocess.Popen([*ROOST, "events", "tail", "--follow", "--json", "--topic", "live.*", "--url", db],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.0)  # let it start and subscribe
        for i in range(3):
            assert run("events", "publish", "live.tick", str(i), "--url", db, cwd=tmp_path).returncode == 0
        assert follower.stdout is not None
        got = [json.loads(follower.stdout.readline()) for _ in range(3)]
        assert [(e["topic"], e["payload"]) for e in got] == [("live.tick", 0), ("live.tick", 1), ("live.tick", 2)]
    finally:
        follower.terminate()
        follower.communicate(timeout=10)
