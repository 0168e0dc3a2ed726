"""Reliability at the edges: a full pool, answers lost after a commit, and SQLite writers killed
mid-transaction. Each error has the kind a caller's retry decision depends on, and nothing is
written twice or half."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import threading
import time

import pytest

import roost
from roost import errors
from roost.tasks import TaskSpec
from tests.helpers import sqlite_batch_writer, sqlite_rows


def test_a_full_pool_is_a_pool_timeout_that_names_the_settings(url):
    """Every pooled connection held by another call: PoolTimeout (not a lost connection), with a
    message naming pool_max_size and acquire_timeout, on every backend."""
    with roost.connect(url, pool_max_size=1, acquire_timeout=1) as store:
        outcome: list[BaseException] = []
        with store.transaction():  # holds the only connection
            def other() -> None:
                try:
                    store.get_project()
                except BaseException as exc:
                    outcome.append(exc)

            thread = threading.Thread(target=other)
            started = time.monotonic()
            thread.start()
            thread.join(30)
            waited = time.monotonic() - started
        assert len(outcome) == 1 and type(outcome[0]) is errors.PoolTimeout, outcome
        assert "pool_max_size" in str(outcome[0]) and "acquire_timeout = 1 s" in str(outcome[0])
        assert waited >= 0.9
        assert store.get_project() is not None  # free again


def _lose_next_answers(store, count=1):
    store._backend.lose_answers = count


def _answers_to_lose(store):
    return store._backend.lose_answers


def test_settles_whose_answer_was_lost_are_repeated_once(pg_url):
    """complete, fail and release commit, lose their answer, and are repeated by roost: each
    succeeds, ends its claim once, and a second call by the caller succeeds the same way."""
    with roost.connect(pg_url) as store:
        ids = store.tasks.enqueue_many([TaskSpec(k, max_attempts=1) for k in ("done", "dead", "back")])
        claims = {c.id: c for c in store.tasks.claim("w", n=3)}
        done, dead, back = (claims[i] for i in ids)

        _lose_next_answers(store)
        store.tasks.complete(done.token, {"ok": True})
        store.tasks.complete(done.token, {"ok": True})  # the caller's own retry: also a success
        _lose_next_answers(store)
        assert store.tasks.fail(dead.token, "broken", retry=False) == "dead"
        assert store.tasks.fail(dead.token, "broken", retry=False) == "dead"
        _lose_next_answers(store)
        store.tasks.release(back.token)
        store.tasks.release(back.token)
        assert _answers_to_lose(store) == 0  # every fault was used

        assert [r.outcome for r in store.tasks.history(ids[0])] == ["done"]
        assert [r.outcome for r in store.tasks.history(ids[1])] == ["failed"]
        assert [r.outcome for r in store.tasks.history(ids[2])] == ["released"]
        got = store.tasks.get(ids[0])
        assert got is not None and got.result == {"ok": True}
        assert len(store.events.query("task.completed")) == 1


def test_enqueues_and_publishes_whose_answer_was_lost_are_repeated_once(pg_url):
    """Writes without an idempotency or dedupe key carry a request key, so roost repeats them
    after a lost answer and the caller gets the ids and events of the first, committed run."""
    with roost.connect(pg_url) as store:
        _lose_next_answers(store)
        first = store.tasks.enqueue("one")
        before = store.tasks.enqueue("before", idempotency_key="seen")
        _lose_next_answers(store)
        batch = store.tasks.enqueue_many([
            TaskSpec("a", ref="a"), TaskSpec("b", depends_on=["a"]),
            TaskSpec("again", idempotency_key="seen"), TaskSpec("c", idempotency_key="fresh"),
        ])
        _lose_next_answers(store)
        plain = store.tasks.enqueue_many([TaskSpec("p1"), TaskSpec("p2"), TaskSpec("p3")])  # one statement
        tasks = store.tasks.list()
        assert [t.kind for t in tasks] == ["one", "before", "a", "b", "c", "p1", "p2", "p3"]
        assert batch == [tasks[2].id, tasks[3].id, before, tasks[4].id]
        assert plain == [t.id for t in tasks[5:]]
        assert first == tasks[0].id
        assert store.tasks.get(batch[1]).depends_on == [batch[0]]  # type: ignore[union-attr]

        _lose_next_answers(store)
        event = store.events.publish("deploy.done", {"v": 1})
        _lose_next_answers(store)
        events = store.events.publish_many([("build.a", 1), {"topic": "build.b", "dedupe_key": "b"}, ("build.c", 3)])
        assert _answers_to_lose(store) == 0
        logged = store.events.query(["deploy.done", "build.*"])
        assert [(e.topic, e.payload) for e in logged] == [("deploy.done", {"v": 1}), ("build.a", 1),
                                                            ("build.b", None), ("build.c", 3)]
        assert [event, *events] == logged
        assert len(store.events.query("task.enqueued")) == 8


def test_a_buffered_batch_whose_answer_was_lost_is_written_once(pg_url):
    with roost.connect(pg_url) as store:
        with store.events.buffered(max_events=10, max_delay=30) as buffer:
            for i in range(10):
                buffer.publish("load.x", i)
            _lose_next_answers(store, 3)  # the write and two repeats inside roost lose their answer
            buffer.flush()
        assert [e.payload for e in store.events.query("load.x")] == list(range(10))


def test_a_write_that_is_not_repeatable_still_reports_the_lost_connection(pg_url):
    """Writes roost cannot repeat safely (a signal set without compare-and-set) say so."""
    with roost.connect(pg_url) as store:
        _lose_next_answers(store)
        with pytest.raises(errors.ConnectionLost, match="lost"):
            store.signals.set("K", 1)


@pytest.mark.slow
def test_sqlite_writers_killed_mid_transaction_leave_whole_transactions(tmp_path):
    """100 times: a writer committing batches of 20 tasks is SIGKILLed at a random moment. After
    every kill the file passes PRAGMA integrity_check and every batch is there whole or not at all."""
    path = tmp_path / "kills.db"
    url = f"sqlite:///{path}"
    roost.connect(url).close()
    ctx = mp.get_context("forkserver")  # forked from one server that imported roost once: fast, no threads
    ctx.set_forkserver_preload(["tests.helpers"])
    rng = random.Random(17)
    kills = 0
    for round_ in range(100):
        ready = ctx.Event()
        proc = ctx.Process(target=sqlite_batch_writer, args=(url, round_, ready))
        proc.start()
        assert ready.wait(30), "the writer did not start"
        time.sleep(rng.uniform(0, 0.03))
        if proc.is_alive():
            os.kill(proc.pid or 0, signal.SIGKILL)
            kills += 1
        proc.join(30)
        assert sqlite_rows(path, "PRAGMA integrity_check") == [("ok",)]
        partial = sqlite_rows(path, "SELECT json_extract(payload, '$.batch'), count(*) FROM tasks "
                                    "GROUP BY 1 HAVING count(*) <> 20")
        assert partial == [], f"partial batches after kill {round_}: {partial}"
    assert kills >= 90, f"only {kills} writers were killed mid-run"
    batches = sqlite_rows(path, "SELECT count(DISTINCT json_extract(payload, '$.batch')), count(*) FROM tasks")
    assert batches[0][0] >= 50 and batches[0][1] == 20 * batches[0][0], batches
