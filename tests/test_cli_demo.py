"""`roost demo` in a subprocess: its summary, and the same facts read back from the store."""

from __future__ import annotations

import json

import pytest

import roost
from tests.test_cli import run


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "as_json"), [("sqlite", False), ("postgresql", True)],
                         ids=["sqlite-piped", "postgresql-json"])
def test_demo_completes_every_task_once_and_checks_it(backend, as_json, tmp_path, request):
    cli_url = f"sqlite:///{tmp_path}/demo.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    project = "demo-test"
    args = ["demo", "--dir", str(tmp_path / "run"), "--url", cli_url, "--project", project]
    out = run(*args, *(["--json"] if as_json else []), cwd=tmp_path)
    assert out.returncode == 0, out.stderr + out.stdout
    summary = json.loads(out.stdout)  # not a terminal: JSON even without --json
    assert summary["ok"] is True
    assert all(c["ok"] for c in summary["checks"]) and len(summary["checks"]) == 10
    assert summary["tasks"] == {"planned": 12, "done": 12, "completed_once": 12}
    assert summary["locks_held"] == 0 and summary["signals"] == {"QA_PASSED": True, "COMPLETED": True}
    killed = summary["killed"]
    assert killed["task"] == "api" and killed["first_claim_ended"] == "expired"
    assert killed["finished_by"] != killed["agent"] and killed["late_complete"].startswith("refused")
    assert summary["seconds"] < 60

    # Read it back independently of the demo's own checks.
    with roost.connect(cli_url, project=project, auto_migrate=False) as store:
        tasks = store.tasks.list(queue="demo")
        assert len(tasks) == 12 and {t.status for t in tasks} == {"done"}
        for t in tasks:
            outcomes = [r.outcome for r in store.tasks.history(t.id)]
            assert outcomes.count("done") == 1, (t.kind, outcomes)
            if t.kind == "api":
                assert outcomes[0] == "expired" and outcomes[-1] == "done"
        assert store.locks.list() == []
        assert store.signals.get("COMPLETED") is not None
        entries = [e for e in store.transcripts.page("plan", limit=100) if e.role == "response"]
        assert sorted(e.message_id or "" for e in entries) == sorted(f"task-{t.id}" for t in tasks)
        reports = store.artifacts.list(session="plan", all_versions=True, limit=100)
        assert sorted(a.task or 0 for a in reports) == sorted(t.id for t in tasks)  # one version each
        assert summary["session"]["entries"] == 13 and summary["session"]["artifacts"] == 12


def test_demo_refuses_bad_arguments_before_starting_anything(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    out = run("demo", "--dir", str(not_a_dir), cwd=tmp_path)
    assert out.returncode == 2 and "is a file" in out.stderr and "Traceback" not in out.stderr
    out = run("demo", "--dir", str(tmp_path / "d"), "--url", "mysql://x/y", cwd=tmp_path)
    assert out.returncode == 1 and "mysql" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "d" / "agents.log").exists()


def test_demo_refuses_a_project_that_already_holds_a_run(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    with roost.connect(url, project="taken") as store:
        store.tasks.enqueue("spec", queue="demo")
    out = run("demo", "--dir", str(tmp_path), "--url", url, "--project", "taken", cwd=tmp_path)
    assert out.returncode == 1 and "already holds a demo run" in out.stderr
