"""Acceptance tests for `roost workflow` and `roost run`: the real command in subprocesses, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json

from tests.test_cli import run


def test_the_workflow_and_run_commands(db, tmp_path):
    def roost(*args: str, stdin: str | None = None):
        return run(*args, "--url", db, cwd=tmp_path, stdin=stdin)

    defined = roost("workflow", "define", "feature", "--phase", "plan", "--phase", "build::5", "--phase",
                    "review:human", "--var", "LANG=python")
    assert (defined.returncode, defined.stdout.strip()) == (0, "1"), defined.stderr
    assert roost("workflow", "define", "feature", "--phase", "plan", "--phase", "build::5", "--phase",
                 "review:human", "--var", "LANG=python").stdout.strip() == "1 (unchanged)"
    shown = json.loads(roost("workflow", "show", "feature", "--json").stdout)
    assert [p["gate"] for p in shown["phases"]] == ["auto", "auto", "human"]
    assert shown["variables"] == {"LANG": "python"}
    assert roost("run", "start", "feature", "task:42", "--var", "TASK=auth").stdout.strip() == "1"
    assert roost("run", "phase-start", "1", "plan", "--executor", "coder").stdout.strip() == "plan running iteration=1"
    busy = roost("--json", "run", "phase-start", "1", "plan")
    assert busy.returncode == 3 and json.loads(busy.stderr)["error"]["name"] == "PhaseBusy"
    assert roost("run", "output", "1", "plan", "PLAN", "-", stdin="the plan\n").returncode == 0
    assert roost("run", "output", "1", "plan", "SPEC", '{"goals": [1]}', "--json-value").returncode == 0
    duplicate = roost("run", "output", "1", "plan", "PLAN", "another plan")
    assert duplicate.returncode == 3 and "never rewritten" in duplicate.stderr
    assert roost("run", "evaluate", "1", "plan", "1", "85", "--reviewer", "qa", "--finding",
                 '{"line": 3}').stdout.strip() == "85/100"
    assert roost("run", "evaluate", "1", "plan", "1", "101").returncode == 1
    assert roost("run", "phase-finish", "1", "plan", "--tokens", "12", "--cost", "0.5").returncode == 0
    assert roost("run", "loop", "1", "plan", "--threshold", "80", "--max-iterations", "3").stdout.startswith("passed")
    assert roost("run", "advance", "1").stdout.strip() == "advanced build"
    assert json.loads(roost("run", "outputs", "1").stdout) == {"PLAN": "the plan", "SPEC": {"goals": [1]}}
    detail = json.loads(roost("run", "show", "1", "--json").stdout)
    assert detail["phases"]["plan"]["tokens"] == 12 and detail["evaluations"][0]["findings"] == [{"line": 3}]
    assert roost("run", "phase-finish", "1", "build", "skipped", "--skip-reason", "nothing").returncode == 0
    assert roost("run", "advance", "1").stdout.strip() == "advanced review"
    assert roost("run", "phase-start", "1", "review").returncode == 0
    assert roost("run", "phase-finish", "1", "review").returncode == 0
    assert roost("run", "advance", "1").stdout.strip() == "waiting review"
    assert roost("run", "gate", "1", "review", "--approve", "--reason", "ok", "--by", "alice").stdout.strip() == (
        "approved iteration 1")
    assert roost("run", "advance", "1").stdout.strip() == "completed review"
    listed = json.loads(roost("run", "list", "--status", "completed", "--json").stdout)
    assert [r["id"] for r in listed["runs"]] == [1] and listed["cursor"] is None
    refused = roost("run", "transition", "1", "running")
    assert refused.returncode == 3 and "finished run stays so" in refused.stderr
    assert roost("run", "show", "9").returncode == 3
    assert json.loads(roost("run", "stale", "--json").stdout) == {"stale": []}
    assert "feature" in roost("workflow", "list").stdout
