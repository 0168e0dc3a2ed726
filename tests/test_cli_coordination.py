"""Acceptance tests for `roost signal|lock|agent`: the real command in subprocesses, real databases."""

from __future__ import annotations

import json
import threading
import time

from tests.test_cli import run


def test_lock_commands_and_exit_codes(db, tmp_path):
    def roost(*args: str, env: dict[str, str] | None = None):
        return run(*args, "--url", db, cwd=tmp_path, env=env)

    first = roost("lock", "acquire", "src/app.py", "--ttl", "30", env={"ROOST_AGENT": "coder"})
    assert first.returncode == 0, first.stderr
    token = int(first.stdout)
    busy = roost("lock", "acquire", "src/app.py", "--owner", "reviewer")
    assert busy.returncode == 3 and "is held by 'coder'" in busy.stderr
    again = roost("lock", "acquire", "src/app.py", env={"ROOST_AGENT": "coder"})
    assert again.returncode == 3 and f"already held by this owner ('coder', token {token})" in again.stderr
    listed = json.loads(roost("lock", "list", "--json").stdout)["locks"]
    assert [(h["name"], h["owner"], h["token"]) for h in listed] == [("src/app.py", "coder", token)]
    renewed = json.loads(roost("lock", "renew", "src/app.py", "--token", str(token), "--ttl", "60", "--json").stdout)
    assert renewed["token"] == token and renewed["owner"] == "coder"
    wrong = roost("lock", "release", "src/app.py", "--token", str(token), "--owner", "reviewer")
    assert wrong.returncode == 4 and "belongs to 'coder'" in wrong.stderr
    never = roost("lock", "release", "src/app.py", "--token", str(token + 999))
    assert never.returncode == 4 and "never issued" in never.stderr
    ok = roost("lock", "release", "src/app.py", "--token", str(token), env={"ROOST_AGENT": "coder"})
    assert ok.returncode == 0, ok.stderr
    again = roost("lock", "renew", "src/app.py", "--token", str(token))
    assert again.returncode == 4
    shared = [roost("lock", "acquire", "docs", "--shared", "--owner", o) for o in ("a", "b")]
    assert all(r.returncode == 0 for r in shared)
    assert roost("lock", "release-all", "--owner", "a").stdout.strip() == "1"
    forced = roost("lock", "force-release", "docs", "--json")
    assert forced.returncode == 1 and "privileged" in forced.stderr
    forced = json.loads(roost("lock", "force-release", "docs", "--privileged", "--reason", "test", "--json").stdout)
    assert [e["owner"] for e in forced["evicted"]] == ["b"]
    assert roost("lock", "acquire", "x", "--ttl", "-5").returncode == 1
    assert roost("lock", "acquire", "x", "--ttl", "abc").returncode == 2


def test_lock_acquire_waits(db, tmp_path):
    token = int(run("lock", "acquire", "w", "--owner", "a", "--url", db, cwd=tmp_path).stdout)
    releaser = threading.Timer(1.0, lambda: run("lock", "release", "w", "--token", str(token), "--url", db,
                                                cwd=tmp_path))
    releaser.start()
    try:
        waited = run("lock", "acquire", "w", "--owner", "b", "--wait", "30", "--url", db, cwd=tmp_path)
    finally:
        releaser.join()
    assert waited.returncode == 0 and int(waited.stdout) > token


def test_signal_commands_and_exit_codes(db, tmp_path):
    def roost(*args: str):
        return run(*args, "--url", db, cwd=tmp_path)

    assert roost("signal", "get", "PHASE").returncode == 3
    assert roost("signal", "set", "PHASE", "build").stdout.strip() == "1"
    assert roost("signal", "get", "PHASE").stdout.strip() == "build"
    assert roost("signal", "set", "PHASE", '{"step": 2}', "--json-value").stdout.strip() == "2"
    assert json.loads(roost("signal", "get", "PHASE").stdout) == {"step": 2}
    record = json.loads(roost("signal", "get", "PHASE", "--json").stdout)
    assert record["version"] == 2 and record["value"] == {"step": 2}
    conflict = roost("signal", "set", "PHASE", "x", "--if-version", "1")
    assert conflict.returncode == 3 and "version 2" in conflict.stderr
    assert roost("signal", "set", "PHASE", "x", "--if-version", "2").returncode == 0
    assert roost("signal", "set", "PHASE", "y", "--if-absent").returncode == 3
    bad = roost("signal", "set", "K", "{nope", "--json-value")
    assert bad.returncode == 1 and "not valid JSON" in bad.stderr and "Traceback" not in bad.stderr
    protected = roost("signal", "set", "PROJECT_SIGNED_OFF", "yes")
    assert protected.returncode == 1 and "protected" in protected.stderr
    assert roost("signal", "set", "PROJECT_SIGNED_OFF", "yes", "--privileged", "--critical").returncode == 0
    listed = json.loads(roost("signal", "list", "--json").stdout)["signals"]
    assert [s["key"] for s in listed] == ["PHASE", "PROJECT_SIGNED_OFF"]
    assert "PHASE" in roost("signal", "list").stdout
    assert roost("signal", "clear", "PHASE").returncode == 0
    assert roost("signal", "clear", "PHASE").returncode == 3
    timed_out = roost("signal", "wait", "NEVER", "--timeout", "0.3")
    assert timed_out.returncode == 3 and "within 0.3 s" in timed_out.stderr


def test_signal_wait_wakes_on_set(db, tmp_path):
    run("signal", "set", "QA", "pending", "--url", db, cwd=tmp_path)
    setter = threading.Timer(1.0, lambda: run("signal", "set", "QA", "passed", "--url", db, cwd=tmp_path))
    setter.start()
    started = time.monotonic()
    try:
        waited = run("signal", "wait", "QA", "--value", "passed", "--timeout", "30", "--url", db, cwd=tmp_path)
    finally:
        setter.join()
    assert waited.returncode == 0 and waited.stdout.strip() == "passed"
    assert time.monotonic() - started < 30


def test_agent_commands(db, tmp_path):
    def roost(*args: str):
        return run(*args, "--url", db, cwd=tmp_path)

    reg = roost("agent", "register", "coder", "--kind", "coder", "--capability", "python", "--capability", "git",
                "--max-concurrent", "2", "--metadata", '{"model": "m"}', "--json")
    assert reg.returncode == 0, reg.stderr
    data = json.loads(reg.stdout)
    assert data["capabilities"] == ["python", "git"] and data["metadata"] == {"model": "m"}
    assert roost("agent", "heartbeat", "coder", "--status", "busy").stdout.strip() == "coder: busy"
    assert roost("agent", "heartbeat", "ghost").returncode == 3
    agents = json.loads(roost("agent", "list", "--json").stdout)["agents"]
    assert [(a["name"], a["state"], a["online"]) for a in agents] == [("coder", "busy", True)]
    assert "coder" in roost("agent", "list").stdout
    assert roost("agent", "register", "x", "--metadata", "[1]").returncode == 1
    assert roost("agent", "deregister", "coder").returncode == 0
    assert roost("agent", "deregister", "coder").returncode == 3
