"""``python -m bench.bench_mcp [--calls N] [--postgres]``: the MCP tool-call round trip over stdio
against the same calls on the Python API, in one run, with the per-call overhead.

The server is a real ``roost mcp`` subprocess and the client the SDK's ``ClientSession``; each
operation alternates between the two sides in slices, so machine noise falls on both. Lines:
``backend/operation  api p50/p99 ms  mcp p50/p99 ms  overhead p50 ms``. Not part of ``python -m
bench`` (whose lines are ops/s ratios), because a round trip's latency, not its throughput, is what
an agent waits for.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.mcp_helpers import mcp_agent

import roost
from bench.harness import postgres_target, sqlite_target


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _measure(backend: str, url: str, calls: int) -> None:
    with roost.connect(url, create=True) as store:
        store.signals.set("bench.key", {"v": 1})
        for i in range(50):
            store.memories.put(f"m{i}", f"the parser splits tokens for module {i}", tags=["bench"])
        async with mcp_agent(url, "bench") as agent:

            async def mcp_get() -> None:
                await agent.call("signal_get", key="bench.key")

            def api_get() -> None:
                store.signals.get("bench.key")

            async def mcp_search() -> None:
                await agent.call("search", query="parser tokens", limit=10)

            def api_search() -> None:
                store.search("parser tokens", limit=10)

            async def mcp_claim_complete() -> None:
                claim = (await agent.call("task_claim"))[0]
                await agent.call("task_complete", token=claim["token"], result=1)

            def api_claim_complete() -> None:
                claim = store.tasks.claim("bench")[0]
                store.tasks.complete(claim.token, 1)

            def refill() -> None:
                store.tasks.enqueue_many([{"kind": "k"} for _ in range(20)])

            ops: list[tuple[str, Callable[[], Awaitable[None]], Callable[[], None], Callable[[], None] | None]] = [
                ("signal_get", mcp_get, api_get, None),
                ("task_claim+task_complete", mcp_claim_complete, api_claim_complete, refill),
                ("search", mcp_search, api_search, None),
            ]
            for name, mcp_op, api_op, setup in ops:
                mcp_t: list[float] = []
                api_t: list[float] = []
                for _ in range(calls // 20):
                    for side in ("mcp", "api"):
                        if setup:
                            setup()
                        for _ in range(20):
                            start = time.perf_counter()
                            if side == "mcp":
                                await mcp_op()
                                mcp_t.append(time.perf_counter() - start)
                            else:
                                api_op()
                                api_t.append(time.perf_counter() - start)
                overhead = statistics.median(mcp_t) * 1000 - statistics.median(api_t) * 1000
                print(f"{backend}/{name}\tapi p50 {_pct(api_t, .5):.3f} p99 {_pct(api_t, .99):.3f} ms\t"
                      f"mcp p50 {_pct(mcp_t, .5):.3f} p99 {_pct(mcp_t, .99):.3f} ms\t"
                      f"overhead p50 {overhead:.3f} ms", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000, help="calls per operation and side")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args(argv)
    print(f"# python {sys.version.split()[0]}; {args.calls} calls per operation and side", flush=True)
    openers: list[Any] = [sqlite_target] + ([postgres_target] if args.postgres else [])
    for opener in openers:
        with opener() as target:
            if target is not None:
                asyncio.run(_measure(target.backend, target.url, args.calls))


if __name__ == "__main__":
    main()
