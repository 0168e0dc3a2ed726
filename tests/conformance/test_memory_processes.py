"""Memory under real processes: concurrent transcript appends (each batch sent twice), the
observation cap under concurrent writers, a 200 MB artifact streamed through put and open with the
real peak RSS measured, a writer SIGKILLed mid-put, and appends whose answer was lost."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal

import pytest

import roost
from roost import errors
from tests.conformance.test_memory import assert_counters_exact, count_rows
from tests.helpers import CheckTable, run_processes
from tests.memory_helpers import add_observations, append_entries, put_slowly, sha256_of, stream_artifact

pytestmark = pytest.mark.slow


def test_eight_processes_append_to_four_sessions_exactly_once(shared_url):
    workers, per_worker, batch = 8, 2000, 100
    with roost.connect(shared_url) as store:
        sessions = [store.sessions.create(f"s{i}").id for i in range(4)]
    results = run_processes(append_entries, [(shared_url, w, sessions, per_worker, batch) for w in range(workers)],
                            timeout=600)
    assert all(r[0] == "ok" for r in results), results
    check = CheckTable(shared_url)
    prefix = "roost." if check.pg else ""
    try:
        rows = check.run(f"SELECT session_id, position, message_id, iteration, agent FROM {prefix}transcript_entries"
                         ).fetchall()
    finally:
        check.close()
    assert len(rows) == workers * per_worker, "an entry was lost or stored twice"
    assert len({r[2] for r in rows}) == workers * per_worker
    with roost.connect(shared_url) as store:
        for session in sessions:
            mine = sorted((r for r in rows if r[0] == session), key=lambda r: r[1])
            assert [r[1] for r in mine] == list(range(1, len(mine) + 1)), "positions are not dense and rising"
            for worker in range(workers):  # each writer's entries keep its order
                own = [r[3] for r in mine if r[4] == f"w{worker}"]
                assert own == sorted(own)
            assert_counters_exact(store, session)
            assert store.sessions.get(session).entry_count == len(mine)  # type: ignore[union-attr]
        appended = [e for e in store.events.query(topics=["transcript.appended"], limit=10_000)]
        assert sum(e.payload["count"] for e in appended) == workers * per_worker
        singles = workers * (per_worker // (batch * 5)) * batch  # entries appended one by one
        batches = workers * (per_worker // batch - per_worker // (batch * 5))
        assert len(appended) <= singles + batches * 4, "more than one event per session and batch"


def test_observation_cap_holds_under_four_writers(shared_url):
    results = run_processes(add_observations, [(shared_url, "coder", 150) for _ in range(4)], timeout=300)
    assert all(r[0] == "ok" for r in results), results
    assert max(r[1] for r in results) <= 25, results
    with roost.connect(shared_url) as store:
        assert store.observations.count("coder") == 25
        assert len(store.observations.recent("coder", limit=1000)) == 25
        check = CheckTable(shared_url)
        prefix = "roost." if check.pg else ""
        try:
            assert check.run(f"SELECT count(*) FROM {prefix}observations").fetchone()[0] == 25
        finally:
            check.close()


def test_two_hundred_megabytes_stream_through_put_and_open(shared_url, tmp_path):
    size = 200 * 2**20
    source, target = tmp_path / "in.bin", tmp_path / "out.bin"
    with open(source, "wb") as handle:
        for _ in range(size // 2**20):
            handle.write(os.urandom(2**20))
    with roost.connect(shared_url):
        pass  # the schema, made before the child measures itself
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=stream_artifact, args=(shared_url, str(source), str(target), out))
    child.start()
    result = out.get(timeout=600)
    child.join(timeout=60)
    assert result[0] == "ok", result
    _, sha, stored, written, rss_before, rss_peak = result
    assert stored == written == size
    assert sha == sha256_of(str(source)) == sha256_of(str(target)), "the content came back different"
    assert rss_peak < 80 * 2**20 + rss_before, f"peak RSS grew by {(rss_peak - rss_before) / 2**20:.0f} MB"


def test_a_put_killed_half_way_leaves_no_version(shared_url):
    with roost.connect(shared_url):
        pass
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=put_slowly, args=(shared_url, out))
    child.start()
    try:
        while True:
            kind, n = out.get(timeout=120)
            assert kind == "chunk"
            if n >= 5:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(timeout=30)
    with roost.connect(shared_url) as store:
        with pytest.raises(errors.ArtifactNotFound):
            store.artifacts.info("doomed.bin")
        assert store.artifacts.list().items == []
        assert store.artifacts.cleanup() == 0  # a fresh upload is left alone: its writer may be alive
        assert store.artifacts.cleanup(upload_age=0) == 1
        prefix = "roost." if store.backend == "postgresql" else ""
        check = CheckTable(shared_url)
        try:
            assert check.run(f"SELECT count(*) FROM {prefix}artifact_chunks").fetchone()[0] == 0
            assert check.run(f"SELECT count(*) FROM {prefix}artifact_blobs").fetchone()[0] == 0
        finally:
            check.close()


def test_counting_helper_counts(shared_url):
    """The COUNT(*) the counter checks compare with is a real count (so they can fail)."""
    with roost.connect(shared_url) as store:
        s = store.sessions.create("c").id
        store.transcripts.append_many([{"session": s, "role": "chunk", "content": str(i)} for i in range(3)])
        assert count_rows(store, "transcript_entries", s) == 3


def test_appends_whose_answer_was_lost(pg_url):
    """An append that commits and loses its answer: with message ids roost repeats it and adds
    nothing twice; without them the caller learns that it may have committed."""
    with roost.connect(pg_url) as store:
        s = store.sessions.create("lost").id
        store._backend.lose_answers = 1  # type: ignore[attr-defined]
        keyed = store.transcripts.append_many([{"session": s, "role": "chunk", "content": str(i),
                                                "message_id": f"k{i}"} for i in range(5)])
        store._backend.lose_answers = 1  # type: ignore[attr-defined]
        single = store.transcripts.append(s, "chunk", "one", message_id="one")
        assert [e.position for e in keyed] == [1, 2, 3, 4, 5] and single.position == 6
        store._backend.lose_answers = 1  # type: ignore[attr-defined]
        with pytest.raises(errors.ConnectionLost):
            store.transcripts.append_many([{"session": s, "role": "chunk", "content": "no id"}])
        assert store._backend.lose_answers == 0  # type: ignore[attr-defined]
        assert store.sessions.get(s).entry_count == 7  # type: ignore[union-attr]
        assert_counters_exact(store, s)
        assert len(store.events.query("transcript.appended")) == 3


def test_memory_through_pgbouncer_transaction_mode(pgbouncer_url):
    """COPY batches, single appends, the observation cap and a streamed artifact behind a
    transaction pooler, from several threads at once: nothing relies on session state."""
    import threading

    failures: list[BaseException] = []
    with roost.connect(pgbouncer_url, pg_prepare=False, observation_max_per_agent=10) as store:
        s = store.sessions.create("bounced").id

        def work(n: int) -> None:
            try:
                for i in range(20):
                    store.transcripts.append_many([{"session": s, "role": "chunk", "content": f"{n}-{i}-{k}",
                                                    "message_id": f"{n}-{i}-{k}"} for k in range(50)])
                    store.transcripts.append(s, "tool", f"single {n}-{i}")
                    store.observations.add("coder", f"{n}-{i}")
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        data = os.urandom(3 * 2**20 + 5)
        store.artifacts.put("bounced.bin", iter([data[:2**20], data[2**20:]]))
        for t in threads:
            t.join(120)
        assert not failures, failures
        assert b"".join(store.artifacts.open("bounced.bin")) == data
        entries = store.transcripts.page(s, limit=1000)
        assert store.sessions.get(s).entry_count == 4 * 20 * 51  # type: ignore[union-attr]
        assert len(entries) == 1000 and entries.cursor == "1000"
        assert store.observations.count("coder") == 10
        assert_counters_exact(store, s)


def test_the_same_content_put_at_once_is_stored_once(shared_url):
    """Puts of one new content from several threads at once (a race for its hash, which the
    database's unique index settles): every put succeeds, and the content is stored once."""
    import threading

    data = os.urandom(2 * 2**20 + 3)
    failures: list[BaseException] = []
    with roost.connect(shared_url, pool_max_size=8) as store:
        barrier = threading.Barrier(6)

        def put(n: int) -> None:
            try:
                barrier.wait(30)
                store.artifacts.put(f"copy-{n}", data if n % 2 else iter([data[:2**20], data[2**20:]]))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=put, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures, failures
        found = store.artifacts.list()
        assert len(found) == 6 and len({a._blob for a in found}) == 1
        assert store.artifacts.cleanup(upload_age=0) == 0  # the losers' uploads were dropped
        check = CheckTable(shared_url)
        prefix = "roost." if check.pg else ""
        try:
            assert check.run(f"SELECT count(*) FROM {prefix}artifact_blobs").fetchone()[0] == 1
        finally:
            check.close()
