"""The event log on every backend: publish, query, subscriptions, durable consumers, the buffered
publisher, built-in events written with the change they report, retention and bad input."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

import roost
from roost import errors
from roost.events import START


def _topics(events):
    return [e.topic for e in events]


def _next(sub, timeout=2.0):
    event = sub.get(timeout)
    assert event is not None, "no event arrived"
    return event


def test_publish_query_and_page_by_cursor(url):
    with roost.connect(url) as store:
        published = [store.events.publish("build.step", {"n": i}, refs={"task": i % 3}) for i in range(7)]
        assert [e.payload for e in published] == [{"n": i} for i in range(7)]
        everything = store.events.query(after="start", limit=100)
        assert [e.cursor for e in everything] == [e.cursor for e in published]
        first = store.events.query(limit=3)
        rest = store.events.query(after=first[-1].cursor, limit=100)
        assert [e.payload["n"] for e in first + rest] == list(range(7))
        assert [e.payload["n"] for e in store.events.query(refs={"task": 1})] == [1, 4]
        assert store.events.query(refs={"task": "1"}) == []  # refs compare with their type
        assert store.events.latest(limit=2) == published[-2:]
        assert store.events.query(after="now") == []


def test_topic_filters_exact_and_patterns(url):
    with roost.connect(url) as store:
        for t in ("build.started", "build.step.one", "buildx.started", "qa.passed"):
            store.events.publish(t)
        assert _topics(store.events.query("build.*")) == ["build.started", "build.step.one"]
        assert _topics(store.events.query(["qa.passed", "buildx.*"])) == ["buildx.started", "qa.passed"]
        assert len(store.events.query("*")) == 4


def test_since_until(url):
    with roost.connect(url) as store:
        store.events.publish("a.old")
        time.sleep(0.05)
        middle = store.now()
        time.sleep(0.05)
        store.events.publish("a.new")
        assert _topics(store.events.query(since=middle)) == ["a.new"]
        assert _topics(store.events.query(until=middle)) == ["a.old"]
        assert _topics(store.events.query(since=middle - timedelta(hours=1), until=middle + timedelta(hours=1))) == [
            "a.old", "a.new"]


def test_dedupe_key_publishes_once(url):
    with roost.connect(url) as store:
        first = store.events.publish("deploy.done", {"v": 1}, dedupe_key="deploy-42")
        again = store.events.publish("deploy.done", {"v": 2}, dedupe_key="deploy-42")
        assert again == first and len(store.events.query("deploy.done")) == 1


def test_publish_many_is_all_or_nothing(url):
    with roost.connect(url) as store:
        made = store.events.publish_many([("a.one", 1), {"topic": "a.two", "payload": 2, "refs": {"agent": "x"}}])
        assert [e.topic for e in made] == ["a.one", "a.two"]
        with pytest.raises(errors.InvalidArgument, match="topic"):
            store.events.publish_many([("a.three", 3), ("not a topic", 4)])
        assert _topics(store.events.query("a.*")) == ["a.one", "a.two"]


def test_publish_many_keeps_the_given_order(url):
    with roost.connect(url) as store:
        made = store.events.publish_many([("b.n", {"i": i, "s": "\u0000x"}) for i in range(300)])
        assert [e.payload["i"] for e in made] == list(range(300))
        assert [e.position for e in made] == sorted(e.position for e in made)
        assert store.events.query(limit=1000) == made


def test_publish_many_dedupes_within_and_across_batches(url):
    with roost.connect(url) as store:
        store.events.publish("x.once", dedupe_key="k1")
        made = store.events.publish_many([{"topic": "x.once", "dedupe_key": "k1"}, ("x.other", None)])
        assert [e.topic for e in made] == ["x.once", "x.other"] and len(store.events.query("x.once")) == 1


def test_rolled_back_transaction_publishes_nothing(url):
    with roost.connect(url) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.events.publish("pay.charged", {"amount": 5})
            store.tasks.enqueue("refund")
            store.signals.set("PAID", True)
            raise RuntimeError("boom")
        assert store.events.query() == []
        with store.transaction():
            store.events.publish("pay.charged", {"amount": 5})
            store.tasks.enqueue("receipt")
        assert _topics(store.events.query()) == ["pay.charged", "task.enqueued"]


def test_task_life_is_reported_in_the_same_transaction(url):
    with roost.connect(url) as store:
        a = store.tasks.enqueue("a", max_attempts=1)
        b = store.tasks.enqueue("b", depends_on=[a])
        c = store.tasks.enqueue("c")
        claim = store.tasks.claim("w1")[0]
        assert claim.id == a
        store.tasks.fail(claim.token, "broke")  # dead: b is cancelled
        claim = store.tasks.claim("w1", lease=1)[0]
        assert claim.id == c
        store.tasks.release(claim.token)
        claim = store.tasks.claim("w2", lease=1)[0]
        time.sleep(1.1)
        again = store.tasks.claim("w3")[0]  # the expired lease is reclaimed
        store.tasks.complete(again.token, {"ok": True})
        seen = [(e.topic, e.refs.get("task"), e.refs.get("agent")) for e in store.events.query("task.*")]
        assert seen == [
            ("task.enqueued", a, None), ("task.enqueued", b, None), ("task.enqueued", c, None),
            ("task.claimed", a, "w1"), ("task.dead", a, "w1"), ("task.cancelled", b, None),
            ("task.claimed", c, "w1"), ("task.released", c, "w1"),
            ("task.claimed", c, "w2"), ("task.expired", c, "w2"), ("task.claimed", c, "w3"),
            ("task.completed", c, "w3"),
        ]
        dead = store.events.query("task.dead")[0]
        assert dead.payload["error"] == "broke" and dead.payload["kind"] == "a"


def test_signal_lock_and_agent_events(url):
    with roost.connect(url) as store:
        store.signals.set("PHASE", {"name": "qa"}, owner="mgr")
        store.signals.delete("PHASE")
        lease = store.locks.acquire("src/a.py", owner="coder", ttl=0.2)
        assert lease is not None
        time.sleep(0.3)
        taker = store.locks.acquire("src/a.py", owner="other", ttl=30)
        assert taker is not None
        store.locks.release(taker)
        store.locks.acquire("src/b.py", owner="coder")
        store.locks.force_release("src/b.py", privileged=True, actor="mgr")
        store.agents.register("coder", kind="coder")
        store.agents.heartbeat("coder")  # no status change: no event
        store.agents.set_status("coder", "busy")
        store.agents.deregister("coder")
        seen = [(e.topic, e.payload) for e in store.events.query()]
    assert seen[0] == ("signal.set", {"key": "PHASE", "version": 1, "value": {"name": "qa"}, "by": "mgr"})
    assert seen[1][0] == "signal.cleared" and seen[1][1]["version"] == 2
    topics = [t for t, _ in seen[2:]]
    assert topics == ["lock.acquired", "lock.taken_over", "lock.acquired", "lock.released", "lock.acquired",
                      "lock.force_released", "agent.online", "agent.status", "agent.offline"]
    assert seen[2][1] == {"name": "src/a.py", "owner": "coder", "token": lease.token, "mode": "exclusive"}
    assert seen[5][1]["owner"] == "other"
    assert seen[9][1] == {"name": "coder", "status": "busy", "previous": "idle"}


def test_subscription_delivers_what_others_commit_in_order(url):
    with roost.connect(url) as store, roost.connect(url) as other:
        store.events.publish("old.news")
        with store.events.subscribe("news.*") as sub:
            assert sub.get(timeout=0.2) is None

            def publish() -> None:
                for i in range(50):
                    other.events.publish("news.item", {"i": i})
                other.events.publish("other.topic")

            thread = threading.Thread(target=publish)
            thread.start()
            got = [_next(sub, 10) for _ in range(50)]
            thread.join()
            assert [e.payload["i"] for e in got] == list(range(50))
            assert sub.get(timeout=0.3) is None  # the other topic is filtered out
            assert sub.cursor == got[-1].cursor


def test_subscription_from_start_and_from_a_cursor(url):
    with roost.connect(url) as store:
        made = [store.events.publish("t.x", i) for i in range(5)]
        with store.events.subscribe(after="start") as sub:
            assert [_next(sub).payload for _ in range(5)] == list(range(5))
        with store.events.subscribe(after=made[2].cursor) as sub:
            assert [_next(sub).payload for _ in range(2)] == [3, 4]


def test_async_iteration(url):
    async def main() -> list[int]:
        async with roost.connect_async(url) as store:
            await store.events.publish("a.b", 1)
            sub = await store.events.subscribe("a.b", after="start")
            seen = []
            async with sub:
                await store.events.publish("a.b", 2)
                async for event in sub:
                    seen.append(event.payload)
                    if len(seen) == 2:
                        break
            return seen

    assert asyncio.run(main()) == [1, 2]


def test_durable_consumer_resumes_where_it_acknowledged(url):
    with roost.connect(url) as store:
        for i in range(3):
            store.events.publish("job.done", i)
        with store.events.subscribe("job.done", consumer="reporter", after="start") as sub:
            first = sub.get(1)
            assert first is not None and first.payload == 0
            sub.ack()
            assert _next(sub).payload == 1  # delivered but not acknowledged
        assert store.events.consumer("reporter") == first.cursor
    with roost.connect(url) as store:  # a restarted agent
        with store.events.subscribe("job.done", consumer="reporter") as sub:
            assert [_next(sub).payload for _ in range(2)] == [1, 2]
            sub.ack()
        assert store.events.forget_consumer("reporter") is True
        assert store.events.consumer("reporter") is None
        with pytest.raises(errors.InvalidArgument, match="durable"):
            store.events.subscribe().ack()


def test_buffered_publisher_flushes_by_size_time_and_close(url):
    with roost.connect(url) as store:
        with store.events.buffered(max_events=10, max_delay=0.05) as buf:
            for i in range(25):
                buf.publish("log.line", i)
            deadline = time.monotonic() + 5
            while len(store.events.query("log.line", limit=100)) < 25 and time.monotonic() < deadline:
                time.sleep(0.02)  # 20 by size at once, the last 5 after max_delay
            assert len(store.events.query("log.line", limit=100)) == 25
            buf.publish("log.line", 25)
            with pytest.raises(errors.InvalidArgument, match="topic"):
                buf.publish("bad topic", 0)
        assert [e.payload for e in store.events.query("log.line", limit=100)] == list(range(26))
        with pytest.raises(errors.InvalidArgument, match="closed"):
            buf.publish("log.line", 99)


def test_buffered_publisher_retries_a_failed_flush(tmp_path):
    url = f"sqlite:///{tmp_path}/busy.db"
    with roost.connect(url, sqlite_busy_timeout=0.05) as store, roost.connect(url) as holder:
        buf = store.events.buffered(max_events=5, max_delay=0.01)
        with holder.transaction():
            holder.events.publish("hold.on")  # the write lock is held: flushes fail with DatabaseLocked
            for i in range(12):
                buf.publish("log.line", i)
            deadline = time.monotonic() + 10  # a locked write gives up after its busy retries (about 1 s)
            while buf.error is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert buf.error is not None and buf.published == 0 and len(buf.unwritten) == 12
        buf.close()
        assert [e.payload for e in store.events.query("log.line", limit=100)] == list(range(12))


def test_cleanup_removes_old_events_and_their_cursors(url):
    with roost.connect(url) as store:
        old = store.events.publish("a.old")
        time.sleep(0.3)
        store.events.publish("a.new")
        assert store.events.cleanup(age=0.2) == 1
        assert _topics(store.events.query()) == ["a.new"]
        with pytest.raises(errors.NotFound, match="removed by cleanup"):
            store.events.query(after=old.cursor)
        assert store.events.cleanup() == 0  # the default age is a week


def test_cleanup_keeps_the_newest_event_so_positions_are_never_reused(url):
    with roost.connect(url) as store:
        made = [store.events.publish("a.x", i) for i in range(3)]
        time.sleep(0.1)
        assert store.events.cleanup(age=0) == 2
        assert store.events.query() == made[-1:]
        later = store.events.publish("a.x", 3)
        assert later.position > made[-1].position
        assert [e.payload for e in store.events.query(after=made[-1].cursor)] == [3]


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: s.events.publish(""), "empty"),
    (lambda s: s.events.publish("a..b"), "not a valid topic"),
    (lambda s: s.events.publish("a.b*"), "not a valid topic"),
    (lambda s: s.events.publish("x" * 201), "limit is 200"),
    (lambda s: s.events.publish("a.b", "x" * 300_000), "limit is 262,144"),
    (lambda s: s.events.publish("a.b", {1, 2}), "cannot be stored as JSON"),
    (lambda s: s.events.publish("a.b", float("nan")), "cannot be stored as JSON"),
    (lambda s: s.events.publish("a.b", refs={"Task": 1}), "ref name"),
    (lambda s: s.events.publish("a.b", refs={"task": 1.5}), "string or an integer"),
    (lambda s: s.events.publish("a.b", refs={"task": "\x00"}), "control character"),
    (lambda s: s.events.publish("a.b", refs=[("task", 1)]), "mapping"),
    (lambda s: s.events.publish("a.b", dedupe_key=""), "empty"),
    (lambda s: s.events.query(after="12"), "not valid"),
    (lambda s: s.events.query(after="0:999"), "not in the event log"),
    (lambda s: s.events.query(limit=0), "out of range"),
    (lambda s: s.events.query(since=datetime(2026, 1, 1)), "timezone-aware"),
    (lambda s: s.events.subscribe(poll=0), "out of range"),
    (lambda s: s.events.subscribe(after="1:2:3"), "not valid"),
    (lambda s: s.events.publish_many([42]), "mapping or a"),
    (lambda s: s.events.publish_many([("a.b",)]), "not 1 items"),
    (lambda s: s.events.publish_many([{"topic": "a.b", "colour": 1}]), "unknown event field"),
    (lambda s: s.events.latest(10), "topics must be"),
    (lambda s: s.events.query(topics=7), "topics must be"),
])
def test_bad_input_is_refused_and_nothing_is_published(url, call, message):
    with roost.connect(url) as store:
        with pytest.raises((errors.InvalidArgument, errors.NotFound), match=message):
            call(store)
        assert store.events.query() == []


def test_odd_unicode_round_trips(url):
    with roost.connect(url) as store:
        payload = {"text": "naïve ☃ 𝄞 \u200b", "nul": "a\u0000b", "rtl": "\u202eabc"}
        store.signals.set("ODD", payload)  # the signal.set event embeds the value
        event = store.events.publish("u.text", payload, refs={"agent": "кодер-1"})
        assert store.events.query(refs={"agent": "кодер-1"}) == [event]
        assert store.events.query("signal.set")[0].payload["value"] == payload


def test_events_are_scoped_by_project(url):
    with roost.connect(url, project="one") as one, roost.connect(url, project="two") as two:
        one.events.publish("p.x")
        assert two.events.query() == []
        assert two.events.resolve("now") == START or two.events.query(after=two.events.resolve("now")) == []


def test_times_are_utc(url):
    with roost.connect(url) as store:
        event = store.events.publish("t.now")
        assert event.created_at.tzinfo is UTC
        assert abs((event.created_at - store.now()).total_seconds()) < 5


def test_silent_agents_are_swept_offline_and_come_back(url):
    with roost.connect(url, agent_offline_after=1) as store:
        store.agents.register("quiet")
        store.agents.register("chatty")
        assert store.agents.sweep() == []
        time.sleep(1.2)
        store.agents.heartbeat("chatty")
        assert store.agents.sweep() == ["quiet"]
        assert store.agents.sweep() == []  # once
        assert [a.status for a in store.agents.list() if a.name == "quiet"] == ["offline"]
        store.agents.heartbeat("quiet")
        assert [a.status for a in store.agents.list() if a.name == "quiet"] == ["idle"]
        seen = [(e.topic, e.refs["agent"]) for e in store.events.query("agent.*")]
    assert seen == [("agent.online", "quiet"), ("agent.online", "chatty"), ("agent.offline", "quiet"),
                    ("agent.online", "quiet")]


def _notifications(conn, seconds: float) -> list[str]:
    """The payloads of the roost_events notifications ``conn`` gets within ``seconds``, without the
    listener's own probe (a new listener tests itself with one)."""
    return [n.payload for n in conn.notifies(timeout=seconds) if n.payload != "probe"]


def test_a_notify_is_sent_only_while_some_store_listens(pg_url):
    """Writers NOTIFY only while a listener is registered (migration 0008): a store nobody
    subscribes to pays nothing for it, and a subscriber is woken as before."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("LISTEN roost_events")
        with roost.connect(pg_url) as store:
            store.events.publish("nobody.listens")
            assert _notifications(raw, 0.5) == []
            with store.events.subscribe(after="now") as sub:
                assert sub.get(timeout=0.1) is None  # the store's listener starts with the first wait
                deadline = time.monotonic() + 10
                while not raw.execute("SELECT count(*) FROM roost.listeners").fetchone()[0]:  # type: ignore[index]
                    assert time.monotonic() < deadline, "the store's listener never registered"
                    time.sleep(0.05)
                _notifications(raw, 0.2)
                store.events.publish("someone.listens")
                assert _notifications(raw, 2.0)[:1] == [""]
                event = sub.get(timeout=5)
                assert event is not None and event.topic == "someone.listens"
        assert raw.execute("SELECT count(*) FROM roost.listeners").fetchone() == (0,)  # gone with its store
        with roost.connect(pg_url) as store:
            store.events.publish("nobody.again")
        assert _notifications(raw, 0.5) == []
