"""The CLI as agents use it: every call a new process, timed whole (start, imports, open, work, exit).

Each line compares the median wall time of the real ``roost`` command with that of a minimal
Python script that does the same work with the bare driver (``sqlite3`` or ``psycopg``): it
connects, runs the very statements roost ran for that operation (recorded from a roost call in
this process, so the SQL is the same), prints the rows as JSON and exits. ``python -c pass`` is
the floor under both. The two sides alternate, run by run. ``ratio`` is raw time / roost time (as
elsewhere, roost's speed as a fraction of raw). ``lock_acquire_release`` is two processes on each
side (acquire prints the token, release uses it).

Packages installed by pip are byte-compiled at install; an editable checkout is not, and this
machine sets PYTHONDONTWRITEBYTECODE, so the benchmark compiles roost's modules first, as pip would.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import roost
from bench.harness import Target
from roost._op import Query, Step

PROJECT = "bench"
ROOST = [sys.executable, "-m", "roost"]

RAW_SQLITE = """
import json, sqlite3, sys
statements, params = json.loads(sys.argv[1]), json.loads(sys.argv[2])
conn = sqlite3.connect(sys.argv[3], isolation_level=None, timeout=5)
conn.execute("PRAGMA busy_timeout=5000")
many = len(statements) > 1
if many:
    conn.execute("BEGIN IMMEDIATE")
rows = []
for statement in statements:
    rows = conn.execute(statement, params).fetchall()
if many:
    conn.execute("COMMIT")
print(json.dumps(rows))
"""

RAW_POSTGRES = """
import json, sys
import psycopg
statements, params = json.loads(sys.argv[1]), json.loads(sys.argv[2])
with psycopg.connect(sys.argv[3], autocommit=True) as conn:
    with conn.transaction() if len(statements) > 1 else conn.cursor():
        for statement in statements:
            cur = conn.execute(statement, params)
            rows = cur.fetchall() if cur.description else []
print(json.dumps(rows, default=str))
"""


def _recorded(store: Any, call: Callable[[], object]) -> tuple[list[str], dict[str, Any]]:
    """The SQL statements and parameters roost ran for ``call`` (bench-only: it wraps the backend's
    private statement runner). A named SQLite block is its statements; parameters are merged."""
    backend = store._backend
    steps: list[Step] = []
    original = backend._run

    def spy(conn: Any, step: Step) -> Any:
        steps.append(step)
        return original(conn, step)

    backend._run = spy
    try:
        call()
    finally:
        del backend._run
    statements: list[str] = []
    params: dict[str, Any] = {}
    for step in steps:
        assert isinstance(step, Query)
        plan = backend._plans[step.name] if store.backend == "sqlite" else backend._sql[step.name]
        statements.extend([plan] if isinstance(plan, str) else plan)
        params.update(step.params or {})
    return statements, params


def _time(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    spent = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])}… failed ({done.returncode}): {done.stderr.strip()}")
    return spent * 1000, done.stdout


class Side:
    """One way of doing an operation: a function that runs it once and returns the ms it took."""

    def __init__(self, run: Callable[[], float]) -> None:
        self.run = run
        self.times: list[float] = []


def _alternate(roost_side: Side, raw_side: Side, seconds: float) -> tuple[float, float]:
    for side in (roost_side, raw_side):  # warm-up: the page cache, the server's backends
        side.run()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(raw_side.times) < 7:
        roost_side.times.append(roost_side.run())
        raw_side.times.append(raw_side.run())
    return statistics.median(roost_side.times), statistics.median(raw_side.times)


def cli(target: Target, seconds: float) -> None:
    package = Path(roost.__file__).parent
    compileall.compile_dir(str(package), quiet=1)
    with tempfile.TemporaryDirectory(prefix="roost-bench-cli-") as folder:
        cwd = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_") and k != "DATABASE_URL"}
        env |= {"ROOST_URL": target.url, "ROOST_PROJECT": PROJECT, "ROOST_AGENT": "bench-cli"}
        _time([*ROOST, "init"], cwd, env)
        raw_script = RAW_POSTGRES if target.raw_dsn else RAW_SQLITE
        raw_db = target.raw_dsn or str(target.raw_path)

        def raw(statements: list[str], params: dict[str, Any]) -> float:
            return _time([sys.executable, "-c", raw_script, json.dumps(statements), json.dumps(params), raw_db],
                         cwd, env)[0]

        floor = statistics.median(_time([sys.executable, "-c", "pass"], cwd, env)[0] for _ in range(15))
        note = f"python -c pass {floor:.1f} ms"
        with roost.connect(target.url, project=PROJECT) as store:
            store.signals.set("k", "v" * 64)
            get_sql = _recorded(store, lambda: store.signals.get("k"))
            leases: list[Any] = []
            acquire_sql = _recorded(store, lambda: leases.append(store.locks.acquire("raw-lock", owner="bench-raw")))
            release_sql = _recorded(store, lambda: store.locks.release("raw-lock", leases[0].token, owner="bench-raw"))
            store.tasks.enqueue_many([{"kind": "job"}] * 2000)
            claim_sql = _recorded(store, lambda: store.tasks.claim("bench-raw"))
            publish_sql = _recorded(store, lambda: store.events.publish("bench.cli", {"n": 1}))

        def lock_pair_roost() -> float:
            spent, out = _time([*ROOST, "lock", "acquire", "cli-lock"], cwd, env)
            return spent + _time([*ROOST, "lock", "release", "cli-lock", "--token", out.strip()], cwd, env)[0]

        def lock_pair_raw() -> float:
            statements, params = acquire_sql
            spent, out = _time([sys.executable, "-c", raw_script, json.dumps(statements), json.dumps(params), raw_db],
                               cwd, env)
            token = json.loads(out)[0][0]
            return spent + raw(release_sql[0], {**release_sql[1], "token": token})

        def fresh(params: dict[str, Any]) -> dict[str, Any]:
            """A publish carries a request key on PostgreSQL; each raw run gets its own."""
            return {**params, "request_key": os.urandom(8).hex()} if "request_key" in params else params

        measurements: list[tuple[str, Side, Side]] = [
            ("signal_get", Side(lambda: _time([*ROOST, "signal", "get", "k"], cwd, env)[0]),
             Side(lambda: raw(*get_sql))),
            ("lock_acquire_release", Side(lock_pair_roost), Side(lock_pair_raw)),
            ("task_claim_json", Side(lambda: _time([*ROOST, "task", "claim", "--json"], cwd, env)[0]),
             Side(lambda: raw(*claim_sql))),
            ("events_publish", Side(lambda: _time([*ROOST, "events", "publish", "bench.cli", '{"n": 1}'], cwd, env)[0]),
             Side(lambda: raw(publish_sql[0], fresh(publish_sql[1])))),
        ]
        for name, roost_side, raw_side in measurements:
            roost_ms, raw_ms = _alternate(roost_side, raw_side, seconds)
            per = " per command" if name == "lock_acquire_release" else ""
            goal = "" if target.raw_dsn else f"; target <= {80 if name == 'signal_get' else 120} ms{per}"
            print(f"{target.backend}/cli_{name}_ms\troost {roost_ms:.1f}\traw {raw_ms:.1f}\t{raw_ms / roost_ms:.2f}\t"
                  f"# medians of {len(roost_side.times)} runs; {note}; roost / raw {roost_ms / raw_ms:.2f}{goal}",
                  flush=True)


BENCHMARKS = {"cli": cli}
