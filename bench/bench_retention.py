"""Retention: rows removed per second by a cleanup pass, against one raw ``DELETE``.

Each round fills a backlog of 50,000 events made a year old (untimed), then times its removal:
roost's side is ``store.cleanup(["events"])`` (the cleanup lock taken and given back, batches of
``cleanup_batch`` = 1000 rows, each its own statement, a pause between batches so that writers go
first); the raw side is the bare driver's single ``DELETE FROM events WHERE project = ? AND
created_at <= ?``, which holds the write lock (SQLite) or every row lock (PostgreSQL) until all
50,000 are gone. Both sides fire the same triggers. Rounds alternate between the sides.

The line shows what short batches cost in throughput. What they buy is shown by a second line: a
writer in another store sets a signal in a loop beside each removal, and its waits are printed
(p50/p99/max in milliseconds); on SQLite an unbatched delete holds the one write lock until it is
done, so the writer's worst wait grows with the backlog, while beside a pass it stays near one
batch. On PostgreSQL the backlog is analyzed before each round, as autovacuum
analyzes a table that grew: without statistics the planner may sort every candidate row for each
batch. Target: >= 0.5 of the raw form.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg

import roost
from bench.bench_store import _raw_sqlite
from bench.harness import Target

PROJECT = "bench"
BACKLOG, ROUNDS = 50_000, 3
YEAR = 400 * 86400.0


def _backlog(store: roost.Store, conn: Any, pg: bool) -> None:
    for start in range(0, BACKLOG, 5000):
        store.events.publish_many([{"topic": "bench.old", "payload": n} for n in range(start, start + 5000)])
    if pg:
        conn.execute("UPDATE roost.events SET created_at = created_at - interval '400 days' WHERE topic = 'bench.old'")
        conn.execute("ANALYZE roost.events")  # (as autovacuum keeps a table that grows; see the docstring)
    else:
        conn.execute(f"UPDATE events SET created_at = created_at - {YEAR} WHERE topic = 'bench.old'")
        conn.commit()
    store.events.publish("bench.fresh")  # the newest event of the database stays on both sides


def retention(target: Target, seconds: float) -> None:
    pg = target.raw_dsn is not None
    with roost.connect(target.url, project=PROJECT, cleanup_interval=0) as store:
        conn: Any = psycopg.connect(str(target.raw_dsn), autocommit=True) if pg else _raw_sqlite(target)
        raw_sql = ("DELETE FROM roost.events WHERE project = %s AND created_at <= now() - interval '7 days' "
                   "AND position < (SELECT max(position) FROM roost.events)" if pg else
                   "DELETE FROM events WHERE project = ? AND created_at <= (julianday('now') - 2440587.5) * 86400.0 "
                   "- 604800 AND position < (SELECT max(position) FROM events)")

        def roost_side() -> int:
            return store.cleanup(["events"]).by_kind()["events"]

        def raw_side() -> int:
            removed = conn.execute(raw_sql, (PROJECT,)).rowcount
            if not pg:
                conn.commit()
            return int(removed)

        spent, rows = [0.0, 0.0], [0, 0]
        waits: list[list[float]] = [[], []]
        try:
            for _ in range(ROUNDS):
                for side, remove in enumerate((roost_side, raw_side)):
                    _backlog(store, conn, pg)
                    with _writer(target.url, waits[side]):
                        began = time.perf_counter()
                        rows[side] += remove()
                        spent[side] += time.perf_counter() - began
        finally:
            conn.close()
        assert rows == [BACKLOG * ROUNDS] * 2, rows
        ours, theirs = rows[0] / spent[0], rows[1] / spent[1]
        print(f"{target.backend}/cleanup_events_rows\t{ours:.1f}\t{theirs:.1f}\t{ours / theirs:.2f}", flush=True)
        print(f"# {target.backend}/cleanup_writer_wait_ms (a signal write beside the removal) p50/p99/max: "
              f"roost {_spread(waits[0])}, raw {_spread(waits[1])}", flush=True)


@contextlib.contextmanager
def _writer(url: str, waits: list[float]) -> Iterator[None]:
    """A second store writing a signal in a loop while the block runs, timing each write."""
    stop = threading.Event()

    def loop() -> None:
        with roost.connect(url, project=PROJECT, cleanup_interval=0, sqlite_busy_timeout=60) as other:
            while not stop.is_set():
                began = time.perf_counter()
                other.signals.set("bench.writer", began)
                waits.append((time.perf_counter() - began) * 1000)
                time.sleep(0.001)

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.05)
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "-"
    return (f"{ordered[len(ordered) // 2]:.1f}/{ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]:.1f}/"
            f"{ordered[-1]:.1f}")


BENCHMARKS = {"cleanup_": retention}
