"""Events: publish→delivery latency across processes, and publish throughput.

Latency: a subscriber in another process receives events the parent publishes about every 10 ms,
each carrying its send time; the line gives p50 and p99 in milliseconds. On PostgreSQL the raw side
is a bare ``NOTIFY`` with the send time as its payload, received by a ``LISTEN`` process: the
smallest round trip any NOTIFY-based design can have. On SQLite there is no raw wake-up to compare
with; the targets are p50 ≤ 20 ms and p99 ≤ 100 ms. Throughput compares ``publish`` and
``publish_many`` (100) with plain INSERTs into a bare table.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from typing import Any

import psycopg

import roost
from bench.bench_store import _raw_sqlite
from bench.harness import Target, compare

PROJECT = "bench"
PINGS = 300
INTERVAL = 0.01


def _roost_listener(url: str, count: int, ready: Any, out: Any) -> None:
    delays: list[float] = []
    with roost.connect(url, project=PROJECT) as store, store.events.subscribe("lat.ping") as sub:
        sub.get(timeout=0.01)  # open (and, on PostgreSQL, test) the listener before the first ping
        ready.set()
        while len(delays) < count:
            event = sub.get(timeout=30)
            if event is None:
                break
            delays.append(time.time() - event.payload["sent"])
    out.put(delays)


def _raw_listener(dsn: str, count: int, ready: Any, out: Any) -> None:
    delays: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("LISTEN rb_ping")
        ready.set()
        for note in conn.notifies(timeout=30, stop_after=count):
            delays.append(time.time() - float(note.payload))
    out.put(delays)


def _percentiles(delays: list[float]) -> tuple[float, float]:
    ordered = sorted(delays)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def _measure(listener: Any, args: tuple[Any, ...], send: Any) -> list[float]:
    ctx = mp.get_context("spawn")
    ready, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=listener, args=(*args, PINGS, ready, out))
    proc.start()
    ready.wait(60)
    time.sleep(0.2)
    for _ in range(PINGS):
        send()
        time.sleep(INTERVAL)
    delays: list[float] = out.get(timeout=60)
    proc.join(timeout=30)
    if len(delays) < PINGS:
        raise RuntimeError(f"the listener received {len(delays)} of {PINGS} pings")
    return delays


def latency(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT) as store:
        roost_delays = _measure(_roost_listener, (target.url,),
                                lambda: store.events.publish("lat.ping", {"sent": time.time()}))
    p50, p99 = _percentiles(roost_delays)
    if target.raw_dsn is None:
        print(f"{target.backend}/event_latency_ms\tp50 {p50:.2f}\tp99 {p99:.2f}\t# targets: p50 <= 20, p99 <= 100",
              flush=True)
        return
    with psycopg.connect(target.raw_dsn, autocommit=True) as conn:
        raw_delays = _measure(_raw_listener, (target.raw_dsn,),
                              lambda: conn.execute("SELECT pg_notify('rb_ping', %s)", (repr(time.time()),)))
    r50, r99 = _percentiles(raw_delays)
    print(f"{target.backend}/event_latency_ms\tp50 {p50:.2f}\tp99 {p99:.2f}\t"
          f"# raw NOTIFY p50 {r50:.2f} p99 {r99:.2f}; p50 difference {p50 - r50:.2f} (target <= 2)", flush=True)


def publish(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT) as store:
        raw: Any = psycopg.connect(target.raw_dsn, autocommit=True) if target.raw_dsn else _raw_sqlite(target)
        mark = "%s" if target.raw_dsn else "?"
        raw.execute("DROP TABLE IF EXISTS rb_events")
        raw.execute("CREATE TABLE rb_events (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, project text, "
                    "topic text, payload text, created_at timestamptz DEFAULT now())" if target.raw_dsn else
                    "CREATE TABLE rb_events (position INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT, topic TEXT, "
                    "payload TEXT, created_at REAL DEFAULT (julianday('now')))")
        insert = f"INSERT INTO rb_events (project, topic, payload) VALUES ({mark}, {mark}, {mark})"
        rows = [(PROJECT, "bench.e", '{"n":1}')] * 100
        batch = [("bench.e", {"n": 1})] * 100

        def raw_one() -> None:
            raw.execute(insert + " RETURNING position", rows[0]).fetchone()

        def raw_batch() -> None:
            if target.raw_dsn:
                with raw.transaction(), raw.cursor() as cur:
                    cur.executemany(insert, rows)
            else:
                raw.execute("BEGIN IMMEDIATE")
                raw.executemany(insert, rows)
                raw.execute("COMMIT")

        try:
            compare(f"{target.backend}/event_publish", lambda: store.events.publish("bench.e", {"n": 1}), raw_one,
                    seconds)
            compare(f"{target.backend}/event_publish_batch100", lambda: store.events.publish_many(batch), raw_batch,
                    seconds)
        finally:
            raw.close()


BENCHMARKS = {"event_latency": latency, "event_publish": publish}
