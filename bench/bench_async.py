"""``python -m bench.bench_async [--seconds S] [--sqlite]``: the async face under concurrency.

On PostgreSQL, 1 and 64 concurrent asyncio tasks run ``signal_get``, ``signal_set`` and
claim+complete three ways in one run, in alternating slices so that machine noise falls on all:

- ``face``: ``roost.connect_async()``, the async face (psycopg's async pool, no thread per call);
- ``raw``: psycopg's ``AsyncConnection`` from an ``AsyncConnectionPool`` of the same size, running
  roost's own SQL text with the parameters roost sends (captured from a real call), so the two
  differ only by what roost adds;
- ``thread``: the face roost had before, each sync call sent to the loop's default executor with
  ``asyncio.to_thread`` (what most libraries' async wrappers do).

Lines: ``backend/operation tasks=N  face ops/s  raw ops/s  thread ops/s  face/raw  face/thread``.
``--sqlite`` adds the same on an SQLite file (no raw async driver there: raw is left out).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg_pool

import roost
from bench.harness import postgres_target, sqlite_target
from roost._sql import queries
from roost.backends.postgres import connection_options
from roost.config import resolve

Op = Callable[[int], Awaitable[object]]


async def _rate(op: Op, tasks: int, seconds: float) -> int:
    """How many calls ``tasks`` concurrent tasks complete in ``seconds``."""
    deadline = time.perf_counter() + seconds
    counts = [0] * tasks

    async def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            await op(i)
            counts[i] += 1

    await asyncio.gather(*(worker(i) for i in range(tasks)))
    return sum(counts)


async def _compare(name: str, sides: dict[str, Op], tasks: int, seconds: float,
                   refill: Callable[[], Awaitable[None]] | None = None) -> None:
    for op in sides.values():  # warm-up: pools filled, statements prepared
        if refill is not None:
            await refill()
        await _rate(op, tasks, 0.3)
    totals = dict.fromkeys(sides, 0)
    slices = 3
    for _ in range(slices):
        for side, op in sides.items():
            if refill is not None:
                await refill()
            totals[side] += await _rate(op, tasks, seconds / slices)
    rates = {side: n / seconds for side, n in totals.items()}
    line = f"{name:<34} tasks={tasks:<3} " + "  ".join(f"{side} {rate:8.0f} ops/s" for side, rate in rates.items())
    if "raw" in rates:
        line += f"  face/raw {rates['face'] / rates['raw']:.2f}"
    line += f"  face/thread {rates['face'] / rates['thread']:.2f}"
    print(line, flush=True)


async def _run(backend: str, url: str, seconds: float) -> None:
    roost.connect(url, create=True).close()
    async with roost.connect_async(url) as face:
        sync = roost.connect(url)
        try:
            await _suite(backend, url, face, sync, seconds)
        finally:
            sync.close()


async def _suite(backend: str, url: str, face: roost.AsyncStore, sync: roost.Store, seconds: float) -> None:
    settings = resolve(url)
    await face.signals.set("bench.key", {"v": 1})
    pool: psycopg_pool.AsyncConnectionPool[Any] | None = None
    sql = queries("postgresql")
    if backend == "postgresql":
        pool = psycopg_pool.AsyncConnectionPool(url, min_size=settings.pool_min_size, max_size=settings.pool_max_size,
                                                kwargs=connection_options(settings), open=False)
        await pool.open(wait=True)
    project = face.project

    async def raw(name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        assert pool is not None
        async with pool.connection() as conn:
            cur = await conn.execute(sql[name], params)
            return await cur.fetchall() if cur.description else []

    async def refill() -> None:
        await face.tasks.enqueue_many([{"kind": "bench", "queue": "bench"} for _ in range(3000)])

    try:
        for tasks in (1, 64):
            get: dict[str, Op] = {
                "face": lambda i: face.signals.get("bench.key"),
                "thread": lambda i: asyncio.to_thread(sync.signals.get, "bench.key"),
            }
            put: dict[str, Op] = {
                "face": lambda i: face.signals.set(f"bench.w{i}", i, owner="bench"),
                "thread": lambda i: asyncio.to_thread(sync.signals.set, f"bench.w{i}", i, owner="bench"),
            }

            async def face_claim(i: int) -> None:
                for claim in await face.tasks.claim(f"a{i}", queues=["bench"]):
                    await face.tasks.complete(claim.token, 1)

            def thread_claim_sync(i: int) -> None:
                for claim in sync.tasks.claim(f"t{i}", queues=["bench"]):
                    sync.tasks.complete(claim.token, 1)

            claim: dict[str, Op] = {"face": face_claim, "thread": lambda i: asyncio.to_thread(thread_claim_sync, i)}
            if pool is not None:
                get["raw"] = lambda i: raw("signal_get", {"project": project, "key": "bench.key"})
                put["raw"] = lambda i: raw("signal_set", {
                    "project": project, "key": f"bench.w{i}", "value": str(i), "ttl": None, "critical": False,
                    "if_absent": False, "owner": "bench", "expected": None})

                async def raw_claim(i: int) -> None:
                    rows = await raw("task_claim", {
                        "project": project, "agent": f"r{i}", "queues": ["bench"], "capabilities": [], "n": 1,
                        "lease": 60.0, "host": "bench", "pid": 1})
                    for row in rows:
                        await raw("task_complete", {"token": int(row[1]), "result": "1"})

                claim["raw"] = raw_claim
            order = ["face", "raw", "thread"]
            for op_name, sides in (("signal_get", get), ("signal_set", put), ("task_claim+complete", claim)):
                ordered = {side: sides[side] for side in order if side in sides}
                await _compare(f"{backend}/{op_name}", ordered, tasks, seconds,
                               refill if op_name.startswith("task") else None)
    finally:
        if pool is not None:
            await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per line and side")
    parser.add_argument("--sqlite", action="store_true", help="also measure an SQLite file")
    args = parser.parse_args()
    with postgres_target() as target:
        if target is not None:
            asyncio.run(_run("postgresql", target.url, args.seconds))
    if args.sqlite:
        with sqlite_target() as sqlite:
            asyncio.run(_run("sqlite", sqlite.url, args.seconds))


if __name__ == "__main__":
    main()
