"""Correctness at the edges, as a demanding new user found them: poisoned JSON, passwords in URL
errors, waits that gave up on short outages. The real CLI in subprocesses where a user would use it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time

import psycopg
import pytest

import roost
from roost import errors
from roost._op import Script
from tests.conftest import cluster, local_cluster
from tests.helpers import sqlite_rows
from tests.test_cli import ROOST, run


def _deep(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_json_nests_at_most_64_levels_on_every_write(url):
    with roost.connect(url) as store:
        store.signals.set("ok", _deep(64))
        for write in (
            lambda value: store.signals.set("K", value),
            lambda value: store.tasks.enqueue("job", value),
            lambda value: store.events.publish("a.b", value),
            lambda value: store.agents.register("a1", metadata={"m": value}),
        ):
            for value in (_deep(65), _deep(5000), {"a": [{"b": _deep(70)}]}):
                with pytest.raises(errors.InvalidArgument, match="deep"):
                    write(value)
        claim = store.tasks.claim("w")
        assert claim == []  # nothing was enqueued
        assert store.signals.get("K") is None and store.events.query("a.b") == []


def test_non_string_keys_are_refused_not_silently_rewritten(url):
    with roost.connect(url) as store:
        for value in ({1: "a", "1": "b"}, {None: 1}, [{"x": {2.5: 1}}]):
            with pytest.raises(errors.InvalidArgument, match="keys must be strings"):
                store.signals.set("K", value)
            with pytest.raises(errors.InvalidArgument, match="keys must be strings"):
                store.tasks.enqueue("job", value)
            with pytest.raises(errors.InvalidArgument, match="keys must be strings"):
                store.events.publish("a.b", value)
        assert store.signals.get("K") is None and store.tasks.list() == []


def _poison(store, table: str, column: str, text: str) -> None:
    name = f"roost.{table}" if store.backend == "postgresql" else table

    def op():
        yield Script(text=f"UPDATE {name} SET {column} = '{text}' WHERE project = '{store.project}'")

    store._execute(op)


def test_json_stored_too_deep_before_the_limit_reads_as_a_marked_value(url):
    """Values written by an older roost can nest deeper than Python decodes: every read path
    returns them as a marked object with the stored text, instead of raising RecursionError."""
    deep = "[" * 990 + "]" * 990  # stored before the limit, as the landed code allowed
    with roost.connect(url) as store:
        store.signals.set("P", 1)
        task_id = store.tasks.enqueue("job", 1)
        with store.events.subscribe("poison.x", consumer="c") as sub:
            store.events.publish("poison.x", 1)
            _poison(store, "signals", "value", deep)
            _poison(store, "tasks", "payload", deep)
            _poison(store, "events", "payload", deep)
            got = sub.get(timeout=5)
            assert got is not None and got.payload["json"] == deep
        for value in (store.signals.get("P").value, store.signals.list()[0].value,  # type: ignore[union-attr]
                      store.tasks.get(task_id).payload, store.events.query("poison.x")[0].payload):  # type: ignore[union-attr]
            assert "roost_unreadable" in value and value["json"] == deep
        assert store.tasks.claim("w")[0].payload["json"] == deep


def test_deep_json_on_the_cli_is_one_clear_line(tmp_path):
    db = f"sqlite:///{tmp_path}/x.db"
    assert run("init", "--url", db, cwd=tmp_path).returncode == 0
    for text in ("[" * 980 + "]" * 980, "[" * 60_000 + "]" * 60_000):
        out = run("signal", "set", "P", text, "--json-value", "--url", db, cwd=tmp_path)
        assert out.returncode == 1 and "deep" in out.stderr and len(out.stderr.splitlines()) == 1, out.stderr[-300:]
    assert run("signal", "get", "P", "--url", db, cwd=tmp_path).returncode == 3


BAD_URLS = [
    "postgresql://u:SECRET PW@127.0.0.1/x",
    "postgresql://u:SE%ZZCRET@127.0.0.1/x",
    "postgresql://u:SECRETPW@127.0.0.1/x?host=%00",
    "postgresql://u@127.0.0.1/x?password=SECRET%ZZ",
]


@pytest.mark.parametrize("bad", BAD_URLS)
def test_malformed_urls_give_one_masked_error(bad, tmp_path):
    with pytest.raises(errors.InvalidURL) as info:
        roost.connect(bad)
    assert "SECRET" not in str(info.value) and "***" in str(info.value)
    for command in (["info"], ["doctor"], ["init"], ["signal", "get", "K"]):
        out = run(*command, "--url", bad, cwd=tmp_path)
        assert out.returncode == 1, (command, out.stderr)
        assert "SECRET" not in out.stdout + out.stderr and "internal error" not in out.stderr, out.stderr


@pytest.mark.slow
def test_a_long_signal_wait_outlives_a_server_restart(pg_url, tmp_path):
    if local_cluster("restart") is None:
        cluster("restart")  # says why this test cannot run
    roost.connect(pg_url, project="p").close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    waiter = subprocess.Popen([*ROOST, "signal", "wait", "QA_PASSED", "--timeout", "120", "--url", pg_url,
                               "--project", "p", "--json"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    cluster("restart")
    time.sleep(3)
    assert waiter.poll() is None, waiter.communicate()
    with roost.connect(pg_url, project="p") as store:
        store.signals.set("QA_PASSED", True)
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    assert json.loads(out)["value"] is True
    assert "discarding" not in err and "error connecting" not in err  # the pool's warnings stay quiet


def test_read_commands_never_create_a_database(tmp_path):
    new = tmp_path / "brandnew.db"
    for command in (["signal", "get", "X"], ["task", "list"], ["info"], ["doctor"], ["migrate", "--status"],
                    ["lock", "acquire", "L"], ["work", "--once", "--", "true"]):
        out = run(*command, "--url", f"sqlite:///{new}", cwd=tmp_path)
        assert out.returncode == 1, (command, out.stdout, out.stderr)
        assert "roost init" in out.stderr + out.stdout and not new.exists(), command
    assert run("init", "--url", f"sqlite:///{new}", cwd=tmp_path).returncode == 0
    assert run("signal", "get", "X", "--url", f"sqlite:///{new}", cwd=tmp_path).returncode == 3


def test_another_applications_sqlite_file_is_left_alone(tmp_path):
    path = tmp_path / "theirs.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    url = f"sqlite:///{path}"
    out = run("signal", "set", "K", "v", "--url", url, cwd=tmp_path)
    assert out.returncode == 1 and "no roost schema" in out.stderr
    with pytest.raises(errors.NoStore, match="another application"):
        roost.connect(url)
    assert sqlite_rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("invoices",)]
    with roost.connect(url, create=True) as store:  # asked for: roost's tables beside theirs
        store.signals.set("K", 1)
    assert ("invoices",) in sqlite_rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")


def test_a_url_from_the_environment_must_name_an_existing_store(tmp_path, monkeypatch):
    """A typo in ROOST_URL fails instead of opening a new, empty store no other agent uses."""
    typo = tmp_path / "rost.db"
    monkeypatch.setenv("ROOST_URL", f"sqlite:///{typo}")
    with pytest.raises(errors.NoStore, match="ROOST_URL") as info:
        roost.connect()
    assert "roost init" in str(info.value) and not typo.exists()
    roost.connect(create=True).close()
    roost.connect().close()  # exists now
    with roost.connect(f"memory://{tmp_path.name}") as store:  # memory:// and URLs in code: created
        assert store.get_project() is not None


def test_read_commands_do_not_install_roost_into_a_postgresql_database(pg_url, tmp_path):
    for command in (["signal", "get", "X"], ["info"], ["events", "tail"]):
        out = run(*command, "--url", pg_url, cwd=tmp_path)
        assert out.returncode == 1 and "no roost schema" in out.stderr and "roost init" in out.stderr, out.stderr
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'roost'").fetchone() == (0,)
        conn.execute("CREATE TABLE public.orders (id int)")
        conn.commit()
    with pytest.raises(errors.NoStore, match="another application"):
        roost.connect(pg_url)
    assert run("init", "--url", pg_url, cwd=tmp_path).returncode == 0  # init may: beside their table
    assert run("signal", "get", "X", "--url", pg_url, cwd=tmp_path).returncode == 3


def _cli(db: str, tmp_path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run(*args, "--url", db, "--project", "p", cwd=tmp_path, stdin=stdin)


def test_values_from_stdin_and_files(db, tmp_path):
    big = {"blob": "x" * 300_000}  # too big for one argument of an argument list
    (tmp_path / "payload.json").write_text(json.dumps(big))
    task = _cli(db, tmp_path, "task", "add", "big", "--payload", f"@{tmp_path / 'payload.json'}")
    assert task.returncode == 0, task.stderr
    cursor = _cli(db, tmp_path, "events", "publish", "big.one", "-", stdin=json.dumps({"n": 240_000 * "y"}))
    assert cursor.returncode == 0, cursor.stderr
    assert _cli(db, tmp_path, "signal", "set", "NOTE", "-", stdin="from stdin\n").returncode == 0
    missing = _cli(db, tmp_path, "task", "add", "x", "--payload", "@/no/such/file.json")
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    with roost.connect(db, project="p") as store:
        got = store.tasks.get(int(task.stdout))
        assert got is not None and got.payload == big
        assert store.events.query("big.one")[0].payload["n"] == 240_000 * "y"
        assert store.signals.get("NOTE").value == "from stdin"  # type: ignore[union-attr]


def test_retry_agent_get_cleanup_status_and_completion(db, tmp_path):
    with roost.connect(db, project="p") as store:
        dead = store.tasks.enqueue("flaky", max_attempts=1)
        claim = store.tasks.claim("w")[0]
        store.tasks.fail(claim.token, "broke")
        store.agents.register("coder-1", kind="coder", capabilities=["python"])
        store.signals.set("PHASE", {"name": "qa"})
    assert _cli(db, tmp_path, "task", "retry", str(dead)).stdout.strip() == "pending"
    assert _cli(db, tmp_path, "task", "retry", str(dead)).returncode == 3  # pending now: nothing to retry
    assert _cli(db, tmp_path, "task", "retry", "999999").returncode == 3
    with roost.connect(db, project="p") as store:
        task = store.tasks.get(dead)
        assert task is not None and (task.status, task.attempts) == ("pending", 0)
        assert store.tasks.claim("w")[0].id == dead
    agent = json.loads(_cli(db, tmp_path, "agent", "get", "coder-1", "--json").stdout)
    assert agent["kind"] == "coder" and agent["capabilities"] == ["python"] and agent["state"] in ("idle", "online")
    assert _cli(db, tmp_path, "agent", "get", "nobody").returncode == 3
    for command in (["task", "cleanup"], ["lock", "cleanup"], ["events", "cleanup"], ["signal", "cleanup"]):
        out = _cli(db, tmp_path, *command, "--json")
        assert out.returncode == 0 and isinstance(json.loads(out.stdout), dict), (command, out.stderr)
    overview = json.loads(_cli(db, tmp_path, "status", "--json").stdout)
    assert {"queues", "running", "locks", "agents", "signals", "events"} <= overview.keys()
    assert overview["running"][0]["id"] == dead and overview["signals"][0]["value"] == {"name": "qa"}
    people = _cli(db, tmp_path, "status")
    assert people.returncode == 0 and "coder-1" in people.stdout and "PHASE" in people.stdout
    script = run("completion", "bash", cwd=tmp_path)
    assert script.returncode == 0 and "_ROOST_COMPLETE" in script.stdout


def test_global_options_json_errors_and_closed_pipes(db, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_") and k != "DATABASE_URL"}
    before = run("--url", db, "--project", "p", "--json", "task", "get", "424242", cwd=tmp_path)
    assert before.returncode == 3
    error = json.loads(before.stderr)["error"]
    assert error == {"name": "NotFound", "message": "no task 424242", "exit_code": 3}
    with roost.connect(db, project="p") as store:
        store.events.publish_many([("x.y", i) for i in range(2000)])
    tail = subprocess.run(f"{' '.join(ROOST)} events tail --limit 2000 --json --url '{db}' --project p | head -1",
                          shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert tail.returncode == 0 and json.loads(tail.stdout)["topic"] == "x.y"
    assert "BrokenPipe" not in tail.stderr and "Traceback" not in tail.stderr, tail.stderr
    wide = _cli(db, tmp_path, "signal", "set", "K" * 200, "v")
    listed = _cli(db, tmp_path, "signal", "list")
    assert wide.returncode == 0 and "K" * 200 in listed.stdout  # no wrapping at 80 columns on a pipe


def test_listings_give_depends_on_like_get(db, tmp_path):
    with roost.connect(db, project="p") as store:
        first = store.tasks.enqueue("first")
        second = store.tasks.enqueue("second", depends_on=[first])
    tasks = json.loads(_cli(db, tmp_path, "task", "list", "--json").stdout)["tasks"]
    listed = {t["id"]: t["depends_on"] for t in tasks}
    got = json.loads(_cli(db, tmp_path, "task", "get", str(second), "--json").stdout)["task"]["depends_on"]
    assert listed == {first: [], second: [first]} and got == [first]


def test_a_bad_setting_in_the_environment_is_refused_even_when_overridden(db, tmp_path):
    out = run("info", "--url", db, cwd=tmp_path, env={"ROOST_AUTO_MIGRATE": "maybe"})
    assert out.returncode == 1 and "auto_migrate = 'maybe' (from ROOST_AUTO_MIGRATE)" in out.stderr
