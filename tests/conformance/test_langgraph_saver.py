"""RoostSaver against LangGraph's own checkpointer conformance suite (langgraph-checkpoint-conformance,
pinned), on every backend: once on the saver's async methods (native through the async face) and
once through a shim that routes each async method to its sync counterpart. The suite's summary can
claim success when nothing ran, so the exact number of passed tests is asserted."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport
from langgraph.checkpoint.conformance.test_utils import generate_checkpoint, generate_metadata

import roost
from roost.integrations.langgraph import RoostSaver

BASE, EXTENDED = 58, 23
"""The tests of the pinned suite (0.0.2): put 17, put_writes 10, get_tuple 10, list 16, delete_thread 5;
delete_for_runs 7, copy_thread 8, prune 8."""


class SyncShim(RoostSaver):
    """Every async method runs the sync one, so the suite checks the sync methods too."""

    async def aget_tuple(self, config: Any) -> Any:
        return self.get_tuple(config)

    async def alist(self, config: Any, *, filter: Any = None, before: Any = None,
                    limit: Any = None) -> AsyncIterator[Any]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Sequence[Any], task_id: str, task_path: str = "") -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.prune(thread_ids, strategy=strategy)


def failures(report: CapabilityReport) -> list[str]:
    return [f for result in report.results.values() for f in result.failures]


def run_suite(url: str, kind: type[RoostSaver]) -> CapabilityReport:
    async def main() -> CapabilityReport:
        async with roost.connect_async(url) as face:

            @checkpointer_test(name=f"{kind.__name__}-{face.backend}")
            async def saver() -> AsyncIterator[RoostSaver]:
                yield kind(face)

            return await validate(saver)

    return asyncio.run(main())


@pytest.mark.parametrize("kind", [RoostSaver, SyncShim], ids=["async", "sync"])
def test_the_conformance_suite_passes_every_test(url, kind):
    report = run_suite(url, kind)
    assert not failures(report), "\n".join(failures(report))
    passed = {name: result.tests_passed for name, result in report.results.items()}
    assert sum(passed.values()) == BASE + EXTENDED, passed
    assert all(result.detected and result.passed for result in report.results.values()), passed


def rows(store: roost.Store) -> dict[str, int]:
    """How many rows each LangGraph table holds (the export's header counts them)."""
    out = io.StringIO()
    store.export(out)
    tables = json.loads(out.getvalue().splitlines()[0])["tables"]
    return {name: tables[name]["rows"] for name in ("lg_checkpoints", "lg_blobs", "lg_writes")}


def put(saver: RoostSaver, thread: str, parent: Any, values: dict[str, Any], versions: Any,
        new: dict[str, int], **metadata: Any) -> Any:
    config: dict[str, Any] = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    if parent is not None:
        config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    checkpoint = generate_checkpoint(channel_values=values, channel_versions=versions)
    return saver.put(config, checkpoint, generate_metadata(**metadata), new)  # type: ignore[arg-type]


def test_a_channel_unchanged_since_an_earlier_checkpoint_is_not_stored_again(url):
    with roost.connect(url) as store:
        saver = RoostSaver(store)
        first = put(saver, "t", None, {"big": "x" * 1000, "n": [1], "step": 1}, {"big": 1, "n": 1, "step": 1},
                    {"big": 1, "n": 1, "step": 1})
        second = put(saver, "t", first, {"big": "x" * 1000, "n": [2], "step": 2}, {"big": 1, "n": 2, "step": 2},
                     {"n": 2, "step": 2})
        third = put(saver, "t", second, {"big": "x" * 1000, "n": [3], "step": 3}, {"big": 1, "n": 3, "step": 3},
                    {"n": 3, "step": 3})
        # "big" once, "n" at each version; "step", a small number, inside each checkpoint
        assert rows(store) == {"lg_checkpoints": 3, "lg_blobs": 4, "lg_writes": 0}
        for config, n in ((first, 1), (second, 2), (third, 3)):
            loaded = saver.get_tuple(config)
            assert loaded is not None
            assert loaded.checkpoint["channel_values"] == {"big": "x" * 1000, "n": [n], "step": n}


def test_missing_thread_ids_unknown_checkpoints_and_unencodable_values_write_nothing(url):
    from langgraph.checkpoint.memory import InMemorySaver

    with roost.connect(url) as store:
        saver = RoostSaver(store)
        checkpoint = generate_checkpoint(channel_values={"a": 1}, channel_versions={"a": 1})
        no_thread: Any = {"configurable": {"checkpoint_ns": ""}}
        for call in (lambda s: s.put(no_thread, checkpoint, generate_metadata(), {"a": 1}),
                     lambda s: s.get_tuple({"configurable": {}}),
                     lambda s: list(s.list({"configurable": {"checkpoint_ns": ""}}))):
            with pytest.raises(KeyError) as raised:
                call(saver)
            with pytest.raises(KeyError):
                call(InMemorySaver())
            assert isinstance(raised.value, roost.errors.InvalidArgument) and "thread_id" in str(raised.value)
        assert saver.get_tuple({"configurable": {"thread_id": "none", "checkpoint_id": "nope"}}) is None
        assert list(saver.list({"configurable": {"thread_id": "none", "checkpoint_id": "nope"}})) == []

        bad = generate_checkpoint(channel_values={"a": 1, "b": object()}, channel_versions={"a": 1, "b": 1})
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        with pytest.raises(Exception) as ours:
            saver.put(config, bad, generate_metadata(), {"a": 1, "b": 1})  # type: ignore[arg-type]
        with pytest.raises(Exception) as theirs:
            InMemorySaver().put(config, bad, generate_metadata(), {"a": 1, "b": 1})  # type: ignore[arg-type]
        assert type(ours.value) is type(theirs.value)
        good = put(saver, "t", None, {"a": [1]}, {"a": 1}, {"a": 1})
        with pytest.raises(type(theirs.value)):
            saver.put_writes(good, [("ok", 1), ("bad", object())], "task")
        with pytest.raises(roost.errors.InvalidArgument, match="checkpoint_id"):
            saver.put_writes(config, [("ok", 1)], "task")  # type: ignore[arg-type]
        assert rows(store) == {"lg_checkpoints": 1, "lg_blobs": 1, "lg_writes": 0}
        with pytest.raises(ValueError, match="strategy"):
            saver.prune(["t"], strategy="everything")
        with pytest.raises(TypeError):
            saver.prune("t")


def test_cleanup_keeps_the_newest_checkpoints_and_every_value_they_need(url):
    with roost.connect(url, checkpoints_kept=2) as store:
        saver = RoostSaver(store)
        parent = None
        for step in range(5):  # "big" is written once, at step 0; "n" at every step
            parent = put(saver, "t", parent, {"big": "B" * 100, "n": [step]}, {"big": 1, "n": step + 1},
                         {"big": 1, "n": step + 1} if step == 0 else {"n": step + 1}, step=step)
            saver.put_writes(parent, [("w", step)], f"task{step}")
        other = put(saver, "other", None, {"n": [0]}, {"n": 1}, {"n": 1})
        assert rows(store) == {"lg_checkpoints": 6, "lg_blobs": 7, "lg_writes": 5}
        report = store.cleanup(kinds=["checkpoints"])
        assert report.by_kind()["checkpoints"] == 3 + 3  # three checkpoints, and the three values only they used
        kept = list(saver.list({"configurable": {"thread_id": "t"}}))
        assert [t.metadata["step"] for t in kept] == [4, 3]
        assert [t.checkpoint["channel_values"] for t in kept] == [{"big": "B" * 100, "n": [4]},
                                                                  {"big": "B" * 100, "n": [3]}]
        assert [[w[2] for w in t.pending_writes or []] for t in kept] == [[4], [3]]
        assert rows(store) == {"lg_checkpoints": 3, "lg_blobs": 4, "lg_writes": 2}
        assert saver.get_tuple(other) is not None


def test_threads_idle_past_their_age_go_whole(url):
    with roost.connect(url, checkpoint_thread_max_age=0.2, checkpoints_kept=0) as store:
        saver = RoostSaver(store)
        old = put(saver, "old", None, {"n": [1]}, {"n": 1}, {"n": 1})
        saver.put_writes(old, [("w", 1)], "task")
        time.sleep(0.4)
        fresh = put(saver, "fresh", None, {"n": [1]}, {"n": 1}, {"n": 1})
        store.cleanup(kinds=["checkpoints"])
        assert saver.get_tuple(old) is None and saver.get_tuple(fresh) is not None
        assert rows(store) == {"lg_checkpoints": 1, "lg_blobs": 1, "lg_writes": 0}


def test_threads_using_a_delta_channel_are_not_pruned_to_their_latest(url):
    with roost.connect(url, checkpoints_kept=1) as store:
        saver = RoostSaver(store)
        first = put(saver, "delta", None, {"n": 1}, {"n": 1}, {"n": 1}, counters_since_delta_snapshot={"n": [1, 1]})
        put(saver, "delta", first, {"n": 2}, {"n": 2}, {"n": 2})
        with pytest.raises(NotImplementedError, match="DeltaChannel"):
            saver.prune(["delta"])
        store.cleanup(kinds=["checkpoints"])
        assert len(list(saver.list({"configurable": {"thread_id": "delta"}}))) == 2
        saver.prune(["delta"], strategy="delete")
        assert rows(store) == {"lg_checkpoints": 0, "lg_blobs": 0, "lg_writes": 0}


def test_calls_do_not_wait_for_each_other(shared_url, tmp_path):
    """No lock of the saver's own: while one put waits for a row another connection holds, a get
    on the same saver (the same async face) finishes. A saver with an instance-wide lock, as
    LangGraph's async PostgreSQL saver has, would hold the get behind the put."""
    import sqlite3

    import psycopg

    async def main() -> None:
        async with roost.connect_async(shared_url, sqlite_busy_timeout=30) as face:
            saver = RoostSaver(face)
            blocked = await saver.aput(*args_for("blocked"))
            free = await saver.aput(*args_for("free"))
            hold: Any
            if face.backend == "postgresql":
                hold = psycopg.connect(shared_url)
                hold.execute("SELECT 1 FROM roost.lg_checkpoints WHERE thread_id = 'blocked' FOR UPDATE")
            else:
                hold = sqlite3.connect(shared_url.removeprefix("sqlite:///"), isolation_level=None)
                hold.execute("BEGIN IMMEDIATE")  # the database's one writer, for now
            try:
                config, checkpoint, metadata, versions = args_for("blocked")
                checkpoint["id"] = blocked["configurable"]["checkpoint_id"]  # (the held row)
                put = asyncio.ensure_future(saver.aput(config, checkpoint, metadata, versions))
                await asyncio.sleep(0.3)
                assert not put.done(), "the put should be waiting for the held row"
                got = await asyncio.wait_for(saver.aget_tuple(free), timeout=5)
                assert got is not None and not put.done()
            finally:
                hold.rollback() if face.backend == "postgresql" else hold.execute("ROLLBACK")
                hold.close()
            await asyncio.wait_for(put, timeout=30)

    asyncio.run(main())


def args_for(thread: str) -> tuple[Any, Any, Any, Any]:
    checkpoint = generate_checkpoint(channel_values={"n": [1]}, channel_versions={"n": 1})
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}, checkpoint, generate_metadata(), {"n": 1}


@pytest.mark.parametrize("direction", ["sqlite-to-postgresql", "postgresql-to-sqlite"])
def test_a_transfer_carries_graphs_and_memories_between_backends(direction, pg_url, tmp_path):
    """A transfer either way gives the same graph state and the same items."""
    from roost.integrations.langgraph import RoostLangGraphStore

    lite = f"sqlite:///{tmp_path / 'lg.db'}"
    url, target_url = (lite, pg_url) if direction == "sqlite-to-postgresql" else (pg_url, lite)
    with roost.connect(url, create=True) as store:
        saver, items = RoostSaver(store), RoostLangGraphStore(store)
        parent: Any = None
        for step in range(3):
            parent = put(saver, "t", parent, {"doc": "d" * 100, "n": [step]}, {"doc": 1, "n": step + 1},
                         {"doc": 1, "n": step + 1} if step == 0 else {"n": step + 1}, step=step)
        saver.put_writes(parent, [("w", {"x": 1})], "task")
        items.put(("team", "notes"), "k", {"text": "hello"}, ttl=60)
        before = [(t.config, t.checkpoint["channel_values"], t.metadata, t.pending_writes)
                  for t in saver.list({"configurable": {"thread_id": "t"}})]
    roost.transfer(url, target_url)
    with roost.connect(target_url) as target:
        saver, items = RoostSaver(target), RoostLangGraphStore(target)
        after = [(t.config, t.checkpoint["channel_values"], t.metadata, t.pending_writes)
                 for t in saver.list({"configurable": {"thread_id": "t"}})]
        assert after == before and len(after) == 3
        item = items.get(("team", "notes"), "k")
        assert item is not None and item.value == {"text": "hello"}
