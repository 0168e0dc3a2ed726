"""The queue through PostgreSQL faults: workers' connections killed again and again, and a server
restart mid-run. Workers recover on their own, and every task still ends completed exactly once."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any

import psycopg
import pytest

import roost
from roost.tasks import TaskSpec
from tests.conformance.test_tasks_processes import _exactly_once
from tests.conftest import cannot_run, cluster, local_cluster
from tests.helpers import create_completions, queue_worker

pytestmark = pytest.mark.slow
TOTAL, WORKERS = 3000, 4
KILL_EVERY, KILLED_TOTAL = 0.1, 1500
"""Kills this often leave connections idle in a pool dead within a retry's backoff: repeats that
took them (and not fresh ones) gave up after ``connect_timeout`` before the pool was tested first."""


def _start_workers(url: str) -> tuple[list[Any], Any]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(WORKERS + 1), ctx.Queue()
    procs = [ctx.Process(target=queue_worker, args=(url, f"w{i}", 0.002, barrier, out)) for i in range(WORKERS)]
    for p in procs:
        p.start()
    barrier.wait(timeout=60)  # every worker has its store open
    return procs, out


def _finish(url: str, procs: list[Any], out: Any, total: int = TOTAL) -> int:
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    failed = [r[1] for r in results if r[0] != "ok"]
    assert not failed, "a worker failed:\n" + "\n".join(map(str, failed))
    _exactly_once(url, total, require_record=True)
    return sum(r[2] for r in results)


def _seed(url: str, total: int = TOTAL) -> None:
    with roost.connect(url) as store:
        store.tasks.enqueue_many([TaskSpec("job", {"n": i}) for i in range(total)])
    create_completions(url)


def test_workers_recover_from_killed_connections(pg_url):
    _seed(pg_url, KILLED_TOTAL)
    procs, out = _start_workers(pg_url)
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            while not stop.wait(KILL_EVERY):
                row = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND application_name = 'roost'").fetchone()
                killed.append(int(row[0]) if row else 0)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        _finish(pg_url, procs, out, KILLED_TOTAL)
    finally:
        stop.set()
        thread.join()
    assert sum(killed) >= 10, f"only {sum(killed)} connections were killed: the test exercised too little"


def test_workers_recover_from_a_server_restart(pg_url):
    if local_cluster("restart") is None:
        cannot_run("the PostgreSQL server is not a local Debian cluster this test may restart (as root)")
    _seed(pg_url)

    def started() -> object:
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
        return row[0] if row else None

    before = started()
    procs, out = _start_workers(pg_url)
    time.sleep(1.0)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM roost.tasks WHERE status = 'done'").fetchone()
    done_before = int(row[0]) if row else 0
    cluster("restart")
    _finish(pg_url, procs, out)
    assert started() != before, "the server did not restart"
    assert 0 < done_before < TOTAL, f"the restart came at {done_before} of {TOTAL} tasks: not mid-run"
