"""The queue under real worker processes: every task completed exactly once, also while workers
are SIGKILLed; and, on PostgreSQL, a claim that reads an index instead of the backlog."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import time

import psycopg

import roost
from roost.tasks import TaskSpec
from tests.helpers import CheckTable, create_completions, queue_worker, run_processes


def _exactly_once(url: str, total: int, require_record: bool) -> None:
    check = CheckTable(url)
    try:
        prefix = "roost." if check.pg else ""
        per_task = dict(check.run(f"SELECT task_id, count(*) FROM {prefix}task_runs WHERE outcome = 'done' "
                                  "GROUP BY task_id").fetchall())
        assert len(per_task) == total and set(per_task.values()) == {1}, "a task was completed twice or never"
        statuses = dict(check.run(f"SELECT status, count(*) FROM {prefix}tasks GROUP BY status").fetchall())
        assert statuses == {"done": total}, statuses
        recorded = check.run("SELECT task_id, count(*) FROM completions GROUP BY task_id").fetchall()
        assert all(n == 1 for _, n in recorded), "a completion was accepted twice"
        if require_record:
            assert len(recorded) == total
    finally:
        check.close()


def test_ten_thousand_tasks_eight_workers_each_done_once(shared_url):
    total, workers = 10_000, 8
    with roost.connect(shared_url) as store:
        store.tasks.enqueue_many([TaskSpec("job", {"n": i}, priority=i % 3) for i in range(total)])
    create_completions(shared_url)
    results = run_processes(queue_worker, [(shared_url, f"worker-{i}", 0.0) for i in range(workers)], timeout=600)
    assert all(r[0] == "ok" for r in results), results
    assert sum(r[1] for r in results) == total
    _exactly_once(shared_url, total, require_record=True)


def test_sigkilled_workers_lose_nothing_and_do_nothing_twice(shared_url):
    total = 600
    with roost.connect(shared_url) as store:
        store.tasks.enqueue_many([TaskSpec("job", {"n": i}) for i in range(total)])
    create_completions(shared_url)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = []

    def spawn(name: str) -> None:
        proc = ctx.Process(target=queue_worker, args=(shared_url, name, 0.01, None, out))
        proc.start()
        procs.append(proc)

    for i in range(3):
        spawn(f"w{i}")
    kills = 0
    for round_ in range(4):
        time.sleep(1.0)
        alive = [p for p in procs if p.is_alive()]
        if not alive:
            break
        victim = random.choice(alive)
        os.kill(victim.pid or 0, signal.SIGKILL)
        victim.join(timeout=30)
        kills += 1
        spawn(f"replacement-{round_}")
    deadline = time.monotonic() + 300
    for proc in procs:
        proc.join(timeout=max(1, deadline - time.monotonic()))
    assert kills >= 1 and all(not p.is_alive() for p in procs)
    results = [out.get(timeout=10) for p in procs if p.exitcode == 0]
    assert all(r[0] == "ok" for r in results), results
    _exactly_once(shared_url, total, require_record=False)
    check = CheckTable(shared_url)
    try:
        prefix = "roost." if check.pg else ""
        expired = check.run(f"SELECT count(*) FROM {prefix}task_runs WHERE outcome = 'expired'").fetchone()[0]
    finally:
        check.close()
    assert expired >= 1, "no killed worker held a task: the test did not exercise reclaiming"


def test_claim_uses_an_index_not_the_backlog(pg_url):
    """The claim runs inside roost.task_claim with a cached generic plan; auto_explain shows that
    plan as it runs (nested statements included), so the check sees exactly what workers run."""
    with roost.connect(pg_url, project="big") as store:
        store.tasks.enqueue("seed")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO roost.tasks (project, queue, kind, payload, priority, status, run_after, max_attempts, "
            "created_at, updated_at) SELECT 'big', 'default', 'job', '{}', (i % 7) - 3, 'pending', now(), 3, now(), "
            "now() FROM generate_series(1, 50000) AS i")
        conn.execute("ANALYZE roost.tasks")
        plans: list[str] = []
        conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
        for setting in ("auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on",
                        "auto_explain.log_analyze = on", "client_min_messages = log"):
            conn.execute(f"SET {setting}")
        conn.execute("LOAD 'auto_explain'")
        sql = roost._sql.queries("postgresql")["task_claim"]
        params = {"project": "big", "queues": ["default"], "agent": "w", "capabilities": [], "n": 1, "lease": 30.0,
                  "host": "h", "pid": 1}
        with conn.transaction():  # claim twice (the second run uses the cached plan), then roll back
            for _ in range(2):
                assert len(conn.execute(sql, params).fetchall()) == 1
            raise psycopg.Rollback()
    inner = [p for p in plans if "tasks_ready" in p or "Seq Scan on tasks" in p]
    assert len(inner) >= 2, plans
    for plan in inner:
        assert "Index Scan using tasks_ready" in plan and "Seq Scan on tasks" not in plan, plan
        scanned = [int(line.split("rows=")[2].split()[0]) for line in plan.splitlines()
                   if "Index Scan using tasks_ready" in line and "actual" in line]
        assert scanned and max(scanned) <= 10, plan


def test_claim_and_complete_plans_stay_keyed_as_the_history_grows(pg_url):
    """A worker's session plans the claim once, maybe while task_runs is empty. Rows closed by a
    claim or a completion must still be found by key after hundreds of claims, not by reading the
    history (which is what a plan made from empty-table statistics did)."""
    with roost.connect(pg_url, project="hist") as store:
        store.tasks.enqueue_many([TaskSpec("job") for _ in range(400)])
    sql = roost._sql.queries("postgresql")
    params = {"project": "hist", "queues": ["default"], "agent": "w", "capabilities": [], "n": 1, "lease": 30.0,
              "host": "h", "pid": 1}
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE roost.task_runs")  # empty: the planner now believes it stays so
        conn.execute("VACUUM ANALYZE roost.task_deps")
        for _ in range(300):
            token = conn.execute(sql["task_claim"], params).fetchone()[1]  # type: ignore[index]
            conn.execute(sql["task_complete"], {"token": token, "result": None})
        plans: list[str] = []
        conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        for setting in ("auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on",
                        "auto_explain.log_analyze = on", "client_min_messages = log"):
            conn.execute(f"SET {setting}")
        token = conn.execute(sql["task_claim"], params).fetchone()[1]  # type: ignore[index]
        conn.execute(sql["task_complete"], {"token": token, "result": None})
    history_reads = [line for plan in plans for line in plan.splitlines()
                     if ("on task_runs" in line or "on task_deps" in line) and "actual time" in line]
    assert history_reads, plans
    for line in history_reads:
        assert int(line.split("rows=")[2].split()[0]) <= 2, "\n".join(plans)


def test_nothing_inside_the_queue_functions_is_jit_compiled(pg_url):
    """The queue functions plan with enable_seqscan = off, and so do the triggers they fire. A
    statement there that can only scan gets a plan cost past jit_above_cost, and PostgreSQL then
    JIT-compiles it on every run: the NOTIFY check of migration 0008 cost 20 ms per event that way
    until it got an index. auto_explain shows every nested plan; none may carry a JIT section."""
    with roost.connect(pg_url, project="jit") as store:
        store.tasks.enqueue_many([TaskSpec("job") for _ in range(3)])
    sql = roost._sql.queries("postgresql")
    params = {"project": "jit", "queues": ["default"], "agent": "w", "capabilities": [], "n": 2, "lease": 30.0,
              "host": "h", "pid": 1}
    with psycopg.connect(pg_url, autocommit=True) as conn:
        plans: list[str] = []
        conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
        for setting in ("auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on",
                        "auto_explain.log_analyze = on", "client_min_messages = log", "jit = on"):
            conn.execute(f"SET {setting}")
        conn.execute("LOAD 'auto_explain'")
        claimed = conn.execute(sql["task_claim"], params).fetchall()
        conn.execute(sql["task_complete"], {"token": claimed[0][1], "result": "null"}).fetchall()
        conn.execute(sql["task_complete_many"], {"items": json.dumps([[claimed[1][1], "null"]])}).fetchall()
    assert any("listeners" in p for p in plans), plans  # the NOTIFY check ran, and was explained
    jitted = [p for p in plans if "JIT:" in p]
    assert not jitted, jitted
