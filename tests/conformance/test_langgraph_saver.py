"""RoostSaver against LangGraph's own checkpointer conformance suite (langgraph-checkpoint-conformance,
pinned), on every backend: once on the saver's async methods (native through the async face) and
once through a shim that routes each async method to its sync counterpart. The suite's summary can
claim success when nothing ran, so the exact number of passed tests is asserted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport

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
