"""``python -m bench.bench_langgraph [--seconds S] [--sqlite-only]``: RoostSaver beside the savers
LangGraph ships, in one run, in alternating slices so that machine noise falls on both.

- ``put+get``: store a checkpoint (three channels, one of them new) and load it back, single
  threaded, sync and async; and with 16 concurrent asyncio tasks (each on its own thread).
  SQLite: ``SqliteSaver`` / ``AsyncSqliteSaver`` (aiosqlite); PostgreSQL: ``PostgresSaver`` on one
  connection / ``AsyncPostgresSaver`` on an ``AsyncConnectionPool`` of 16 (roost's pool is 16 too).
- ``alist``: list a thread of 100 checkpoints, whole.
- ``bytes``: bytes stored per checkpoint by a 50-step graph whose message list grows each step
  (every column of every row of the saver's tables, for that thread).

Lines: ``backend/measure  roost  shipped  roost/shipped`` (rates per second; bytes per checkpoint,
where smaller is better and the ratio is shipped/roost so that above 1 is better there too).
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import psycopg_pool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from psycopg.rows import dict_row
from typing_extensions import TypedDict

import roost
from bench.harness import compare, postgres_target, sqlite_target
from roost.integrations.langgraph import RoostSaver

TASKS = 16
MESSAGES = [f"message {i}: " + "words " * 20 for i in range(10)]


class Writer:
    """Puts checkpoints on one thread, each the child of the last, and loads each back."""

    def __init__(self, saver: BaseCheckpointSaver[Any], thread: str) -> None:
        self.saver, self.thread, self.step = saver, thread, 0
        self.parent: Any = None
        self.versions: dict[str, Any] = {}

    def _next(self) -> tuple[Any, Any, Any, Any]:
        self.step += 1
        new = {"step": self.saver.get_next_version(self.versions.get("step"), None)}
        if self.step == 1:
            new.update(messages=self.saver.get_next_version(None, None), doc=self.saver.get_next_version(None, None))
        self.versions.update(new)
        values = {"messages": MESSAGES, "doc": "x" * 200, "step": self.step}
        checkpoint = {"v": 4, "id": str(uuid6(clock_seq=self.step)), "ts": datetime.now(UTC).isoformat(),
                      "channel_values": values, "channel_versions": dict(self.versions), "versions_seen": {},
                      "pending_sends": [], "updated_channels": None}
        config: dict[str, Any] = {"configurable": {"thread_id": self.thread, "checkpoint_ns": ""}}
        if self.parent is not None:
            config["configurable"]["checkpoint_id"] = self.parent["configurable"]["checkpoint_id"]
        return config, checkpoint, {"source": "loop", "step": self.step, "parents": {}}, new

    def put_get(self) -> None:
        self.parent = self.saver.put(*self._next())
        assert self.saver.get_tuple(self.parent) is not None

    async def aput_get(self) -> None:
        self.parent = await self.saver.aput(*self._next())
        assert await self.saver.aget_tuple(self.parent) is not None


async def _arate(fn: Callable[[int], Awaitable[None]], tasks: int, seconds: float) -> tuple[int, float]:
    deadline = time.perf_counter() + seconds
    counts = [0] * tasks

    async def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            await fn(i)
            counts[i] += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(tasks)))
    return sum(counts), time.perf_counter() - start


async def _acompare(name: str, ours: Callable[[int], Awaitable[None]], theirs: Callable[[int], Awaitable[None]],
                    tasks: int, seconds: float) -> None:
    for fn in (ours, theirs):
        await _arate(fn, tasks, 0.3)
    totals, spent = [0, 0], [0.0, 0.0]
    for i in range(6):
        n, took = await _arate((ours, theirs)[i % 2], tasks, seconds / 6)
        totals[i % 2] += n
        spent[i % 2] += took
    a, b = totals[0] / spent[0], totals[1] / spent[1]
    print(f"{name}\t{a:.1f}\t{b:.1f}\t{a / b:.2f}", flush=True)


def _fill(saver: BaseCheckpointSaver[Any], thread: str, n: int) -> Any:
    writer = Writer(saver, thread)
    for _ in range(n):
        writer.parent = saver.put(*writer._next())
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


class State(TypedDict):
    messages: Annotated[list[str], operator.add]


def _talk(state: State) -> dict[str, Any]:
    return {"messages": [f"turn {len(state['messages'])}: " + "a sentence of the conversation " * 3]}


def _graph_bytes(saver: BaseCheckpointSaver[Any], thread: str, measure: Callable[[str], int]) -> float:
    graph = StateGraph(State)
    graph.add_node("talk", _talk)
    graph.add_edge(START, "talk")
    graph.add_conditional_edges("talk", lambda s: END if len(s["messages"]) >= 50 else "talk")
    config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": 200}
    start: Any = {"messages": []}
    graph.compile(checkpointer=saver).invoke(start, config)
    count = len(list(saver.list(config)))
    return measure(thread) / count


def _sqlite_bytes(conn: sqlite3.Connection, tables: list[str], thread: str) -> int:
    total = 0
    for table in tables:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        expr = " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)" for c in columns)
        total += int(conn.execute(f"SELECT coalesce(sum({expr}), 0) FROM {table} WHERE thread_id = ?",
                                  (thread,)).fetchone()[0])
    return total


def _pg_bytes(dsn: str, tables: list[str], thread: str) -> int:
    total = 0
    with psycopg.connect(dsn) as conn:
        for table in tables:
            row = conn.execute(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t WHERE thread_id = %s",
                               (thread,)).fetchone()
            total += int(row[0]) if row else 0
    return total


def run_sqlite(seconds: float) -> None:
    with sqlite_target() as target, ExitStack() as stack:
        assert target.raw_path is not None
        store = stack.enter_context(roost.connect(target.url, create=True))
        theirs_path = str(target.raw_path) + ".langgraph"
        conn = sqlite3.connect(theirs_path, check_same_thread=False)
        stack.callback(conn.close)
        shipped = SqliteSaver(conn)
        shipped.setup()
        ours = RoostSaver(store)
        a, b = Writer(ours, "put"), Writer(shipped, "put")
        compare("sqlite/put+get sync", a.put_get, b.put_get, seconds)
        listed_a, listed_b = _fill(ours, "list", 100), _fill(shipped, "list", 100)
        compare("sqlite/alist 100 sync", lambda: list(ours.list(listed_a)), lambda: list(shipped.list(listed_b)),
                seconds, warmup=3)
        lite = sqlite3.connect(str(target.raw_path))  # (roost's file, read beside it)
        stack.callback(lite.close)
        ours_bytes = _graph_bytes(ours, "bytes", lambda t: _sqlite_bytes(lite, ["lg_checkpoints", "lg_blobs",
                                                                                 "lg_writes"], t))
        theirs_bytes = _graph_bytes(shipped, "bytes", lambda t: _sqlite_bytes(conn, ["checkpoints", "writes"], t))
        print(f"sqlite/bytes per checkpoint (50-step graph)\t{ours_bytes:.0f}\t{theirs_bytes:.0f}\t"
              f"{theirs_bytes / ours_bytes:.2f}", flush=True)
        asyncio.run(_sqlite_async(target.url, theirs_path, seconds))


async def _sqlite_async(url: str, theirs_path: str, seconds: float) -> None:
    async with roost.connect_async(url, pool_max_size=TASKS) as face, \
            AsyncSqliteSaver.from_conn_string(theirs_path) as shipped:
        ours = RoostSaver(face)
        a, b = Writer(ours, "aput"), Writer(shipped, "aput")
        await _acompare("sqlite/put+get async 1 task", lambda i: a.aput_get(), lambda i: b.aput_get(), 1, seconds)
        mine = [Writer(ours, f"c{i}") for i in range(TASKS)]
        yours = [Writer(shipped, f"c{i}") for i in range(TASKS)]
        await _acompare(f"sqlite/put+get async {TASKS} tasks", lambda i: mine[i].aput_get(),
                        lambda i: yours[i].aput_get(), TASKS, seconds)


def run_postgres(seconds: float) -> None:
    with postgres_target() as target, ExitStack() as stack:
        if target is None:
            return
        assert target.raw_dsn is not None
        store = stack.enter_context(roost.connect(target.url, create=True, pool_max_size=TASKS))
        conn = stack.enter_context(psycopg.connect(target.raw_dsn, autocommit=True, prepare_threshold=0,
                                                   row_factory=dict_row))
        shipped = PostgresSaver(conn)
        shipped.setup()
        ours = RoostSaver(store)
        a, b = Writer(ours, "put"), Writer(shipped, "put")
        compare("postgresql/put+get sync", a.put_get, b.put_get, seconds)
        listed_a, listed_b = _fill(ours, "list", 100), _fill(shipped, "list", 100)
        compare("postgresql/alist 100 sync", lambda: list(ours.list(listed_a)), lambda: list(shipped.list(listed_b)),
                seconds, warmup=3)
        ours_bytes = _graph_bytes(ours, "bytes", lambda t: _pg_bytes(
            target.raw_dsn or "", ["roost.lg_checkpoints", "roost.lg_blobs", "roost.lg_writes"], t))
        theirs_bytes = _graph_bytes(shipped, "bytes", lambda t: _pg_bytes(
            target.raw_dsn or "", ["checkpoints", "checkpoint_blobs", "checkpoint_writes"], t))
        print(f"postgresql/bytes per checkpoint (50-step graph)\t{ours_bytes:.0f}\t{theirs_bytes:.0f}\t"
              f"{theirs_bytes / ours_bytes:.2f}", flush=True)
        asyncio.run(_postgres_async(target.url, target.raw_dsn, seconds))


async def _postgres_async(url: str, dsn: str, seconds: float) -> None:
    async with AsyncExitStack() as stack:
        face = await stack.enter_async_context(roost.connect_async(url, pool_max_size=TASKS))
        pool = psycopg_pool.AsyncConnectionPool(dsn, min_size=TASKS, max_size=TASKS, open=False, kwargs={
            "autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})
        await pool.open(wait=True)
        stack.push_async_callback(pool.close)
        shipped = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        ours = RoostSaver(face)
        a, b = Writer(ours, "aput"), Writer(shipped, "aput")
        await _acompare("postgresql/put+get async 1 task", lambda i: a.aput_get(), lambda i: b.aput_get(), 1, seconds)
        listed_a: Any = {"configurable": {"thread_id": "list", "checkpoint_ns": ""}}

        async def alist(saver: BaseCheckpointSaver[Any]) -> None:
            assert len([t async for t in saver.alist(listed_a)]) == 100

        await _acompare("postgresql/alist 100 async", lambda i: alist(ours), lambda i: alist(shipped), 1, seconds)
        mine = [Writer(ours, f"c{i}-{uuid.uuid4().hex[:6]}") for i in range(TASKS)]
        yours = [Writer(shipped, f"c{i}-{uuid.uuid4().hex[:6]}") for i in range(TASKS)]
        await _acompare(f"postgresql/put+get async {TASKS} tasks", lambda i: mine[i].aput_get(),
                        lambda i: yours[i].aput_get(), TASKS, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measure and side")
    parser.add_argument("--sqlite-only", action="store_true", help="leave PostgreSQL out")
    args = parser.parse_args()
    print("measure\troost\tshipped\troost/shipped", flush=True)
    run_sqlite(args.seconds)
    if not args.sqlite_only:
        run_postgres(args.seconds)


if __name__ == "__main__":
    main()
