"""The task queue: claim+complete throughput with several worker processes, and enqueue.

Throughput lines run roost workers, then raw workers, each for the same time, in two alternating
rounds, and print jobs/s for each side. The raw side is the hand-written queue of
../shared/bench/raw_baseline.py: one ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`` (or,
on SQLite, an ``UPDATE … RETURNING`` inside ``BEGIN IMMEDIATE``) and one ``UPDATE`` to finish,
with no lease, token, history or dependencies. roost's claim also reclaims expired leases and
records the claim. ``claim10`` claims ten tasks per statement. Enqueue lines use the single-process
alternating comparison of the harness against plain INSERTs.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3
import time
from typing import Any

import psycopg

import roost
from bench.bench_store import _raw_sqlite
from bench.harness import Target, compare
from roost.tasks import TaskSpec

PROJECT = "bench"
BACKLOG = {"sqlite": 150_000, "postgresql": 60_000}


def _load(target: Target, count: int) -> None:
    """Fill roost's task table and the raw jobs table with ``count`` pending rows each."""
    roost.connect(target.url, project=PROJECT).close()
    if target.raw_dsn:
        with psycopg.connect(target.raw_dsn, autocommit=True) as c:
            c.execute("TRUNCATE roost.tasks CASCADE")
            c.execute("INSERT INTO roost.tasks (project, queue, kind, payload, priority, status, run_after, "
                      "max_attempts, created_at, updated_at) SELECT %s, 'default', 'job', '\"v\"', mod(i, 10), "
                      "'pending', now(), 3, now(), now() FROM generate_series(1, %s) AS i", (PROJECT, count))
            c.execute("DROP TABLE IF EXISTS rb_jobs")
            c.execute("CREATE TABLE rb_jobs (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'pending', "
                      "priority int NOT NULL DEFAULT 0, payload text NOT NULL, claimed_by text, claimed_at "
                      "timestamptz, finished_at timestamptz, attempts int NOT NULL DEFAULT 0)")
            c.execute("INSERT INTO rb_jobs (priority, payload) SELECT mod(i, 10), 'v' FROM generate_series(1, %s) i",
                      (count,))
            c.execute("CREATE INDEX rb_jobs_pending ON rb_jobs (priority DESC, id) WHERE status = 'pending'")
            c.execute("VACUUM ANALYZE rb_jobs")
            c.execute("VACUUM ANALYZE roost.tasks")
        return
    conn = _raw_sqlite(target)
    conn.execute("DELETE FROM tasks")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO tasks (project, queue, kind, payload, priority, status, run_after, max_attempts, created_at, "
        "updated_at) VALUES (?, 'default', 'job', '\"v\"', ?, 'pending', 0, 3, 0, 0)",
        ((PROJECT, i % 10) for i in range(count)))
    conn.execute("DROP TABLE IF EXISTS rb_jobs")
    conn.execute("CREATE TABLE rb_jobs (id INTEGER PRIMARY KEY, status TEXT NOT NULL DEFAULT 'pending', "
                 "priority INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL, claimed_by TEXT, claimed_at REAL, "
                 "finished_at REAL, attempts INTEGER NOT NULL DEFAULT 0)")
    conn.executemany("INSERT INTO rb_jobs (priority, payload) VALUES (?, 'v')", ((i % 10,) for i in range(count)))
    conn.execute("CREATE INDEX rb_jobs_pending ON rb_jobs (priority DESC, id) WHERE status = 'pending'")
    conn.execute("COMMIT")
    conn.close()


def _roost_worker(url: str, wid: int, batch: int, many: bool, seconds: float, barrier: Any, out: Any) -> None:
    try:
        with roost.connect(url, project=PROJECT, sqlite_busy_timeout=30) as store:
            agent = f"w{wid}"
            barrier.wait()
            done, locked = 0, 0
            started = time.perf_counter()
            deadline = started + seconds
            while time.perf_counter() < deadline:
                try:
                    claims = store.tasks.claim(agent, n=batch, lease=60)
                    if many:
                        store.tasks.complete_many([(claim.token, None) for claim in claims])
                    else:
                        for claim in claims:
                            store.tasks.complete(claim.token, None)
                except roost.errors.DatabaseLocked:
                    locked += 1
                    continue
                if not claims:
                    break
                done += len(claims)
        out.put((done, locked, time.perf_counter() - started, None))
    except Exception as exc:
        out.put((0, 0, 0.0, repr(exc)))


def _raw_worker(url: str, dsn: str | None, wid: int, batch: int, many: bool, seconds: float, barrier: Any,
                out: Any) -> None:
    try:
        me = f"w{wid}"
        done, locked = 0, 0
        if dsn:
            conn: Any = psycopg.connect(dsn, autocommit=True)
            claim = ("UPDATE rb_jobs SET status = 'running', claimed_by = %s, claimed_at = now(), attempts = "
                     "attempts + 1 WHERE id IN (SELECT id FROM rb_jobs WHERE status = 'pending' ORDER BY priority "
                     "DESC, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id")
            finish = "UPDATE rb_jobs SET status = 'done', finished_at = now() WHERE id = %s AND claimed_by = %s"
            finish_all = ("UPDATE rb_jobs SET status = 'done', finished_at = now() WHERE id = ANY(%s) AND "
                          "claimed_by = %s")
        else:
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")  # as roost sets it
            claim = ("UPDATE rb_jobs SET status = 'running', claimed_by = ?, claimed_at = unixepoch(), attempts = "
                     "attempts + 1 WHERE id IN (SELECT id FROM rb_jobs WHERE status = 'pending' ORDER BY priority "
                     "DESC, id LIMIT ?) RETURNING id")
            finish = "UPDATE rb_jobs SET status = 'done', finished_at = unixepoch() WHERE id = ? AND claimed_by = ?"
            finish_all = ("UPDATE rb_jobs SET status = 'done', finished_at = unixepoch() WHERE id IN (SELECT value "
                          "FROM json_each(?)) AND claimed_by = ?")
        barrier.wait()
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            try:
                if dsn:
                    rows = conn.execute(claim, (me, batch)).fetchall()
                else:
                    conn.execute("BEGIN IMMEDIATE")
                    rows = conn.execute(claim, (me, batch)).fetchall()
                    conn.execute("COMMIT")
                if many and rows:
                    ids = [jid for (jid,) in rows]
                    conn.execute(finish_all, (ids if dsn else json.dumps(ids), me))
                elif not many:
                    for (jid,) in rows:
                        conn.execute(finish, (jid, me))
            except sqlite3.OperationalError:
                locked += 1
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                continue
            if not rows:
                break
            done += len(rows)
        conn.close()
        out.put((done, locked, time.perf_counter() - started, None))
    except Exception as exc:
        out.put((0, 0, 0.0, repr(exc)))


def _round(target: Any, args: list[tuple[Any, ...]], seconds: float) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(args))
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, seconds, barrier, out)) for a in args]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    for *_, error in results:
        if error:
            raise RuntimeError(f"bench worker failed: {error}")
    elapsed = max(r[2] for r in results) or seconds  # less than seconds if the backlog ran out
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


def claim_complete(target: Target, seconds: float) -> None:
    """claim+complete with 1, 4 (and on PostgreSQL 16) workers; batches of ten claimed at once and
    completed one by one (``claim10_complete``) or in one statement (``claim10_complete_many``,
    beside the raw form that finishes its ten with one UPDATE, and compared with the raw single
    pair of the same run: the stretch target is three times that rate)."""
    workers = (1, 4, 16) if target.raw_dsn else (1, 4)
    single_raw: dict[int, float] = {}
    for batch, many, counts in ((1, False, workers), (10, False, (4,)), (10, True, (4,))):
        for count in counts:
            _load(target, BACKLOG[target.backend])
            rates = [0.0, 0.0]
            locked = [0, 0]
            for _ in range(2):
                for side in (0, 1):
                    if side == 0:
                        rate, lk = _round(_roost_worker, [(target.url, w, batch, many) for w in range(count)],
                                          seconds / 2)
                    else:
                        rate, lk = _round(_raw_worker, [(target.url, target.raw_dsn, w, batch, many)
                                                        for w in range(count)], seconds / 2)
                    rates[side] += rate / 2
                    locked[side] += lk
            if batch == 1:
                single_raw[count] = rates[1]
            name = f"{target.backend}/claim{batch if batch > 1 else ''}_complete{'_many' if many else ''}_w{count}"
            notes = [f"locked errors: roost {locked[0]}, raw {locked[1]}"] if not target.raw_dsn else []
            if many and count in single_raw:
                notes.append(f"{rates[0] / single_raw[count]:.2f}x the raw single pair rate (stretch target 3x)")
            print(f"{name}\t{rates[0]:.1f}\t{rates[1]:.1f}\t{rates[0] / rates[1]:.2f}"
                  + (f"\t# {'; '.join(notes)}" if notes else ""), flush=True)


def enqueue(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT) as store:
        raw: Any = psycopg.connect(target.raw_dsn, autocommit=True) if target.raw_dsn else _raw_sqlite(target)
        table = "roost.tasks" if target.raw_dsn else "tasks"
        mark = "%s" if target.raw_dsn else "?"
        now = "now()" if target.raw_dsn else "0"
        insert = (f"INSERT INTO {table} (project, queue, kind, payload, priority, status, run_after, max_attempts, "
                  f"created_at, updated_at) VALUES ({mark}, 'default', 'job', {mark}, 0, 'pending', {now}, 3, {now}, "
                  f"{now}) RETURNING id")

        def raw_one() -> None:
            raw.execute(insert, (PROJECT, '{"n": 1}')).fetchone()

        def raw_batch() -> None:
            if target.raw_dsn:
                with raw.transaction(), raw.cursor() as cur:
                    cur.executemany(insert.replace(" RETURNING id", ""), [(PROJECT, '{"n": 1}')] * 100)
            else:
                raw.execute("BEGIN IMMEDIATE")
                raw.executemany(insert.replace(" RETURNING id", ""), [(PROJECT, '{"n": 1}')] * 100)
                raw.execute("COMMIT")

        specs = [TaskSpec("job", {"n": 1}) for _ in range(100)]
        try:
            compare(f"{target.backend}/enqueue", lambda: store.tasks.enqueue("job", {"n": 1}), raw_one, seconds)
            compare(f"{target.backend}/enqueue_batch100", lambda: store.tasks.enqueue_many(specs), raw_batch, seconds)
        finally:
            raw.close()


BENCHMARKS = {"claim_complete": claim_complete, "enqueue": enqueue}
