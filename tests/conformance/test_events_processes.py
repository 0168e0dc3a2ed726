"""Events across real processes and real faults: every subscriber sees every event once, in order,
also across concurrent long and short transactions, a killed listener, a server restart, and
PgBouncer in transaction mode (where NOTIFY cannot work and polling must deliver everything)."""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import threading
import time
from typing import Any

import psycopg
import pytest

import roost
from tests.conftest import cannot_run, cluster, local_cluster
from tests.helpers import event_publisher, event_subscriber

pytestmark = pytest.mark.slow


def test_four_publishers_three_subscribers_every_event_once_in_order(shared_url):
    publishers, subscribers, each = 4, 3, 5000
    roost.connect(shared_url).close()  # migrate once, before the children race to
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(publishers + subscribers), ctx.Queue()
    procs = [ctx.Process(target=event_subscriber, args=(shared_url, publishers * each, barrier, out))
             for _ in range(subscribers)]
    procs += [ctx.Process(target=event_publisher, args=(shared_url, i, each, barrier, out)) for i in range(publishers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=400) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(r[0] == "ok" for r in results), results
    seen = [r for r in results if len(r) == 6]
    assert len(seen) == subscribers
    for _, distinct, duplicates, in_order, rising, nothing_more in seen:
        assert (distinct, duplicates) == (publishers * each, 0)
        assert in_order and rising and nothing_more


def _collector(url: str, topic: str, project: str = "p") -> tuple[threading.Thread, list[Any], threading.Event]:
    """A subscriber on a thread of this process, started from now; returns what it collects."""
    got: list[Any] = []
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        with roost.connect(url, project=project) as store, store.events.subscribe(topic, poll=0.2) as sub:
            ready.set()
            while not stop.is_set():
                event = sub.get(timeout=0.2)
                if event is not None:
                    got.append(event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30)
    return thread, got, stop


def _wait_for(got: list[Any], count: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while len(got) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def _cursor(event: Any) -> tuple[int, int]:
    a, b = event.cursor.split(":")
    return int(a), int(b)


def test_an_earlier_transaction_that_commits_later_is_not_skipped(pg_url):
    """Y inserts first (lower position) and commits last; X's transaction id is older than Y's. A
    reader by position alone would deliver X's event and then never Y's."""
    roost.connect(pg_url, project="p").close()
    thread, got, stop = _collector(pg_url, "order.*")
    insert = "INSERT INTO roost.events (project, topic, payload) VALUES ('p', %s, 'null') RETURNING position"
    with psycopg.connect(pg_url) as x, psycopg.connect(pg_url) as y:
        x.execute("SELECT pg_current_xact_id()")  # X now holds the older transaction id
        y_position = y.execute(insert, ("order.y",)).fetchone()
        x_position = x.execute(insert, ("order.x",)).fetchone()
        assert y_position and x_position and y_position[0] < x_position[0]
        x.commit()
        _wait_for(got, 1, 10)
        y.commit()
    _wait_for(got, 2, 10)
    stop.set()
    thread.join()
    assert [e.topic for e in got] == ["order.x", "order.y"]
    assert _cursor(got[0]) < _cursor(got[1])


def test_concurrent_long_and_short_transactions_lose_nothing(pg_url):
    roost.connect(pg_url, project="p").close()
    thread, got, stop = _collector(pg_url, "mix.*")
    errors: list[BaseException] = []

    def long_ones(n: int) -> None:
        try:
            with roost.connect(pg_url, project="p") as store:
                for i in range(n):
                    with store.transaction():
                        store.events.publish("mix.long", {"i": i})
                        time.sleep(0.3)  # short ones commit meanwhile, with later positions
        except BaseException as exc:
            errors.append(exc)

    def short_ones(name: str, n: int) -> None:
        try:
            with roost.connect(pg_url, project="p") as store:
                for i in range(n):
                    store.events.publish("mix.short", {"who": name, "i": i})
                    time.sleep(0.005)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=long_ones, args=(5,))]
    workers += [threading.Thread(target=short_ones, args=(f"s{k}", 100)) for k in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    _wait_for(got, 305, 30)
    stop.set()
    thread.join()
    assert not errors, errors
    assert len(got) == 305 and len({e.cursor for e in got}) == 305
    assert all(a < b for a, b in itertools.pairwise(map(_cursor, got)))


def _terminate_roost_connections(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND application_name = 'roost'").fetchone()
    return int(row[0]) if row else 0


def test_publishers_and_subscribers_survive_killed_connections_and_a_restart(pg_url):
    """The four-by-5,000 run again, on PostgreSQL, while every roost connection (listeners
    included) is killed and then the server restarts. Half the publishers use dedupe keys and retry
    what still fails; the other half use neither and rely on the request key roost gives every
    publish, so that the publish is repeated inside roost without being done twice."""
    if local_cluster("restart") is None:
        cannot_run("the PostgreSQL server is not a local Debian cluster this test may restart (as root)")
    publishers, subscribers, each = 4, 3, 5000
    roost.connect(pg_url).close()
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(publishers + subscribers + 1), ctx.Queue()
    procs = [ctx.Process(target=event_subscriber, args=(pg_url, publishers * each, barrier, out))
             for _ in range(subscribers)]
    procs += [ctx.Process(target=event_publisher, args=(pg_url, i, each, barrier, out, i % 2 == 0))
              for i in range(publishers)]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    time.sleep(2.0)
    killed = _terminate_roost_connections(pg_url)
    time.sleep(1.5)
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(*) FROM roost.events").fetchone()
    published_before_restart = int(row[0]) if row else 0
    cluster("restart")
    results = [out.get(timeout=400) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(r[0] == "ok" for r in results), results
    assert killed >= publishers + subscribers, f"only {killed} connections were killed"
    assert 0 < published_before_restart < publishers * each, "the restart did not come mid-run"
    seen = [r for r in results if len(r) == 6]
    assert len(seen) == subscribers
    for _, distinct, duplicates, in_order, rising, nothing_more in seen:
        assert (distinct, duplicates) == (publishers * each, 0)
        assert in_order and rising and nothing_more
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT payload), count(DISTINCT dedupe_key) FROM roost.events"
                           ).fetchone()
    assert row == (publishers * each, publishers * each, publishers // 2 * each)  # each event once


def test_through_pgbouncer_transaction_mode_polling_delivers_everything(pgbouncer_url, caplog):
    caplog.set_level(logging.WARNING, logger="roost.events")
    options = {"pg_prepare": False}
    with (
        roost.connect(pgbouncer_url, **options) as store,
        roost.connect(pgbouncer_url, **options) as publisher,
        store.events.subscribe("pool.*", poll=0.1) as sub,
    ):
        first = sub.get(timeout=0.1)  # opens the listener and tests it
        assert first is None
        for i in range(200):
            publisher.events.publish("pool.e", {"i": i})
        got: list[int] = []
        deadline = time.monotonic() + 30
        while len(got) < 200 and time.monotonic() < deadline:
            event = sub.get(timeout=0.5)
            if event is not None:
                got.append(event.payload["i"])
    assert got == list(range(200))
    warnings = [r.getMessage() for r in caplog.records if "not delivering" in r.getMessage()]
    assert len(warnings) == 1, caplog.records
