"""Acceptance tests for `roost task` and `roost work`: the real command in subprocesses."""

from __future__ import annotations

import json
import sys

import roost
from tests.test_cli import run


def test_task_lifecycle_and_exit_codes(db, tmp_path):
    def roost_cli(*args: str):
        return run(*args, "--url", db, cwd=tmp_path)

    plan = int(roost_cli("task", "add", "plan", "--payload", '{"goal": "ship"}', "--priority", "5").stdout)
    build = int(roost_cli("task", "add", "build", "--depends-on", str(plan)).stdout)
    assert roost_cli("task", "add", "x", "--payload", "{nope").returncode == 1
    assert roost_cli("task", "add", "x", "--priority", "5000").returncode == 1
    assert roost_cli("task", "add", "x", "--depends-on", "999999").returncode == 1
    stats = json.loads(roost_cli("task", "stats", "--json").stdout)["queues"]
    assert (stats[0]["pending"], stats[0]["ready"]) == (2, 1)
    claimed = json.loads(roost_cli("task", "claim", "--agent", "coder", "--json").stdout)["claims"]
    assert [(c["id"], c["payload"]) for c in claimed] == [(plan, {"goal": "ship"})]
    token = claimed[0]["token"]
    assert roost_cli("task", "claim", "--agent", "coder").returncode == 3  # build waits for plan
    assert roost_cli("task", "heartbeat", str(plan), "--token", str(token)).returncode == 0
    assert roost_cli("task", "done", str(plan), "--token", str(token), "--result", '{"steps": 3}').returncode == 0
    assert roost_cli("task", "done", str(plan), "--token", str(token), "--result", '{"steps": 3}').returncode == 0
    assert roost_cli("task", "done", str(plan), "--token", str(token)).returncode == 4  # another result
    assert roost_cli("task", "done", str(token)).returncode == 2  # the token alone is a usage error
    line = roost_cli("task", "claim", "--agent", "coder").stdout.split()
    assert int(line[0]) == build and line[2] == "build"
    mixed = roost_cli("task", "fail", str(plan), "--token", line[1], "--error", "x")  # build's token, plan's id
    assert mixed.returncode == 1 and f"is a claim of task {build}, not of task {plan}" in mixed.stderr
    assert roost_cli("task", "done", str(build), "--token", "987654").returncode == 3  # never issued
    assert roost_cli("task", "fail", str(build), "--token", line[1], "--error", "flaky", "--backoff", "0"
                     ).stdout.strip() == "failed"
    got = json.loads(roost_cli("task", "get", str(build), "--json").stdout)
    assert got["task"]["status"] == "failed" and [r["outcome"] for r in got["history"]] == ["failed"]
    assert roost_cli("task", "cancel", str(build)).returncode == 0
    assert roost_cli("task", "cancel", str(build)).returncode == 3
    assert roost_cli("task", "get", "999999").returncode == 3
    listed = json.loads(roost_cli("task", "list", "--json").stdout)["tasks"]
    assert [(t["id"], t["status"]) for t in listed] == [(plan, "done"), (build, "cancelled")]


def test_work_runs_the_command_and_records_the_outcome(db, tmp_path):
    script = tmp_path / "job.py"
    script.write_text(
        "import json, os, sys\n"
        "payload = json.load(sys.stdin)\n"
        "if payload.get('fail'):\n"
        "    print('it broke', file=sys.stderr); sys.exit(3)\n"
        "print(json.dumps({'id': int(os.environ['ROOST_TASK_ID']), 'kind': os.environ['ROOST_TASK_KIND'],\n"
        "                  'double': payload['n'] * 2, 'agent': os.environ['ROOST_AGENT']}))\n"
    )
    with roost.connect(db, project="p") as store:
        good = store.tasks.enqueue("double", {"n": 21})
        bad = store.tasks.enqueue("double", {"n": 1, "fail": True}, max_attempts=1)
    first = run("work", "--agent", "w1", "--once", "--url", db, "--project", "p", "--", sys.executable, str(script),
                cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run("work", "--agent", "w1", "--once", "--json", "--url", db, "--project", "p", "--", sys.executable,
                 str(script), cwd=tmp_path)
    events = [json.loads(line) for line in second.stdout.splitlines()]
    assert [e.get("event") for e in events[:-1]] == ["started", "failed"] and events[-1]["summary"]["failed"] == 1
    assert run("work", "--once", "--url", db, "--project", "p", "--", "true", cwd=tmp_path).returncode == 3
    with roost.connect(db, project="p") as store:
        done, dead = store.tasks.get(good), store.tasks.get(bad)
    assert done is not None and done.status == "done"
    assert done.result == {"id": good, "kind": "double", "double": 42, "agent": "w1"}
    assert dead is not None and dead.status == "dead" and "it broke" in (dead.error or "")


def test_work_python_api_stops_a_command_whose_lease_was_lost(url, tmp_path):
    import threading
    import time

    from roost import worker

    with roost.connect(url) as store:
        task_id = store.tasks.enqueue("sleepy")
        events: list[str] = []

        def cancel_soon() -> None:
            time.sleep(1.0)
            store.tasks.cancel(task_id)

        canceller = threading.Thread(target=cancel_soon)
        canceller.start()
        started = time.monotonic()
        summary = worker.run(store, "w", [sys.executable, "-c", "import time; time.sleep(30)"], lease=1.2, once=True,
                             report=lambda event, claim, detail: events.append(event))
        canceller.join()
        assert summary.lost == 1 and events == ["started", "lost"]
        assert time.monotonic() - started < 20  # the command was stopped, not waited for
