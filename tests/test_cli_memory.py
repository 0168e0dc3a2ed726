"""Acceptance tests for `roost session|transcript|memory|observe|observation|artifact`: the real
command in subprocesses, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess

from tests.test_cli import ROOST, run


def test_sessions_and_transcripts(db, tmp_path):
    def roost(*args: str, stdin: str | None = None):
        return run(*args, "--url", db, cwd=tmp_path, stdin=stdin)

    made = roost("session", "create", "Parser", "--participant", "manager", "--metadata", '{"ticket": 7}')
    assert made.returncode == 0, made.stderr
    sid = made.stdout.strip()
    assert roost("session", "create", "Again", "--id", sid).returncode == 3
    assert roost("transcript", "add", sid, "prompt", "write the parser", "--agent", "manager").stdout.strip() == "1"
    assert roost("transcript", "add", sid, "response", "-", "--message-id", "r1", stdin="done\n").stdout.strip() == "2"
    assert roost("transcript", "add", sid, "response", "--message-id", "r1", stdin="done\n").stdout.strip() == "2"
    (tmp_path / "long.txt").write_text("line one\nline two\n")
    assert roost("transcript", "add", sid, "tool", "--file", str(tmp_path / "long.txt")).stdout.strip() == "3"
    entries = json.loads(roost("transcript", "list", sid, "--json").stdout)["entries"]
    assert [e["content"] for e in entries] == ["write the parser", "done", "line one\nline two\n"]
    assert json.loads(roost("transcript", "list", sid, "--last", "1", "--json").stdout)["entries"][0]["position"] == 3
    shown = json.loads(roost("session", "show", sid, "--json").stdout)
    assert shown["session"]["entry_count"] == 3 and shown["session"]["metadata"] == {"ticket": 7}
    assert "write the parser" in roost("session", "show", sid).stdout
    assert roost("session", "join", sid, "qa").stdout.strip() == "manager, qa"
    assert roost("session", "status", sid, "completed").returncode == 0
    listed = json.loads(roost("session", "list", "--status", "completed", "--json").stdout)
    assert [s["id"] for s in listed["sessions"]] == [sid]
    missing = roost("transcript", "add", "nope", "prompt", "x", "--json")
    assert missing.returncode == 3 and json.loads(missing.stderr)["error"]["name"] == "SessionNotFound"
    bad = roost("transcript", "add", sid, "not a role", "x")
    assert bad.returncode == 1 and "role" in bad.stderr
    assert roost("session", "rm", sid).returncode == 0
    assert roost("session", "rm", sid).returncode == 3


def test_memories_and_observations(db, tmp_path):
    def roost(*args: str, stdin: str | None = None):
        return run(*args, "--url", db, cwd=tmp_path, stdin=stdin)

    assert roost("memory", "put", "plan", '{"steps": [1]}', "--json-value", "--type", "decision",
                 "--tag", "parser").stdout.strip() == "1"
    assert roost("memory", "put", "plan", "two", "--if-version", "1").stdout.strip() == "2"
    conflict = roost("memory", "put", "plan", "three", "--if-version", "1")
    assert conflict.returncode == 3 and "version 2" in conflict.stderr
    assert roost("memory", "get", "plan").stdout.strip() == "two"
    assert roost("memory", "get", "nope").returncode == 3
    bad = roost("memory", "put", "k", "{not json", "--json-value")
    assert bad.returncode == 1 and "not valid JSON" in bad.stderr
    listed = json.loads(roost("memory", "list", "--json").stdout)
    assert [m["key"] for m in listed["memories"]] == ["plan"] and listed["cursor"] is None
    assert roost("memory", "rm", "plan").returncode == 0
    assert roost("memory", "rm", "plan").returncode == 3
    assert roost("observe", "coder", "tests are green", "--kind", "test").returncode == 0
    assert roost("observe", "coder", "-", stdin="from stdin\n").returncode == 0
    found = json.loads(roost("observation", "list", "--agent", "coder", "--json").stdout)["observations"]
    assert [o["content"] for o in found] == ["from stdin", "tests are green"]
    assert "tests are green" in roost("observation", "list").stdout
    assert json.loads(roost("observation", "cleanup", "--json").stdout) == {"removed": 0}


def test_artifacts_are_binary_safe(db, tmp_path):
    def roost(*args: str):
        return run(*args, "--url", db, cwd=tmp_path)

    data = os.urandom(3 * 2**20 + 11) + b"\x00\r\n\xff"
    (tmp_path / "build.bin").write_bytes(data)
    assert roost("artifact", "put", "build.bin", str(tmp_path / "build.bin"), "--type", "build").stdout.strip() == "1"
    piped = subprocess.run([*ROOST, "artifact", "put", "build.bin", "-", "--url", db], cwd=tmp_path, input=data,
                           capture_output=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout.strip() == b"2"
    out = subprocess.run([*ROOST, "artifact", "get", "build.bin", "--url", db], cwd=tmp_path, capture_output=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout == data
    assert roost("artifact", "get", "build.bin", "--version", "1", "-o", str(tmp_path / "out.bin")).returncode == 0
    assert (tmp_path / "out.bin").read_bytes() == data
    record = json.loads(roost("artifact", "get", "build.bin", "--json").stdout)
    assert record["version"] == 2 and record["size"] == len(data) and not record["is_text"]
    assert roost("artifact", "put", "notes.md", "-", "--text").returncode == 0  # empty stdin: an empty text
    listed = json.loads(roost("artifact", "list", "--all-versions", "--json").stdout)["artifacts"]
    assert [(a["name"], a["version"]) for a in listed] == [("build.bin", 2), ("build.bin", 1), ("notes.md", 1)]
    assert roost("artifact", "get", "nope").returncode == 3
    assert roost("artifact", "put", "x", str(tmp_path / "missing.bin")).returncode == 1
    assert roost("artifact", "rm", "build.bin").stdout.strip() == "deleted 2 version(s)"
    assert roost("artifact", "rm", "build.bin").returncode == 3
    assert json.loads(roost("artifact", "cleanup", "--json").stdout) == {"removed": 1}
