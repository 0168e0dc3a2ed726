"""The async face: generated, typed exactly like the sync face, and well-behaved on the event loop.

The behaviour of every method is checked by the conformance suite run through the async face
(tests/async_through.py); here: that the generated face is current and has the sync signatures
(as Python and as mypy sees them), that the loop stays responsive while calls run, and that a
cancelled call inside a transaction rolls back and leaves its connection clean.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

import roost
from roost import _async_areas
from roost._async_areas import AsyncStoreFace

ROOT = Path(__file__).resolve().parents[1]
AREAS = [name for name, attr in vars(AsyncStoreFace).items() if isinstance(attr, property) and name != "sync"]
HAND_WRITTEN = {"transaction", "listener", "close"}
ASYNC_OBJECTS = {("locks", "hold"), ("artifacts", "open")}
"""Written by hand: their async forms give an ``async with`` block and an ``async for`` stream."""


def _pairs() -> list[tuple[str, str]]:
    """(area or "", method) for every public method of the sync store and its areas."""
    pairs = [("", name) for name, fn in vars(roost.Store).items()
             if inspect.isfunction(fn) and not name.startswith("_") and name not in HAND_WRITTEN]
    with roost.connect("memory://pairs") as store:
        for area in AREAS:
            sync_area = getattr(store, area)
            for name in dir(type(sync_area)):
                attr = getattr(type(sync_area), name)
                if not name.startswith("_") and inspect.isfunction(attr):
                    pairs.append((area, name))
    return pairs


def test_the_generated_face_is_current():
    done = subprocess.run([sys.executable, "tools/gen_async.py", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_method_has_the_sync_parameters_and_is_a_coroutine():
    async def main() -> None:
        async with roost.connect_async("memory://signatures") as face:
            for area, name in _pairs():
                sync_owner = getattr(face.sync, area) if area else face.sync
                async_owner = getattr(face, area) if area else face
                sync_fn, async_fn = getattr(sync_owner, name), getattr(async_owner, name)
                if name == "hold":
                    assert hasattr(async_fn(name="x"), "__aenter__")  # (an async context manager)
                    continue
                assert inspect.iscoroutinefunction(async_fn), f"{area}.{name} is not async"
                ours = inspect.signature(async_fn).parameters
                theirs = inspect.signature(sync_fn).parameters
                assert [(p.name, p.kind) for p in ours.values()] == [(p.name, p.kind) for p in theirs.values()], \
                    f"{area}.{name}"
                for p in theirs.values():
                    expected = p.default if p.default is p.empty or _literal(p.default) else _async_areas._DEFAULT
                    assert ours[p.name].default == expected, f"{area}.{name}({p.name})"

    asyncio.run(main())


def _literal(value: object) -> bool:
    return isinstance(value, str | int | float | bool | tuple | type(None))


def test_mypy_sees_the_sync_types_on_every_async_method(tmp_path):
    """mypy's own view of each pair: the async method's type is the sync one's, returning a coroutine."""
    lines = ["import roost", "", "", "async def check(store: roost.AsyncStore) -> None:"]
    pairs = [pair for pair in _pairs() if pair not in ASYNC_OBJECTS]
    for area, name in pairs:
        path = f".{area}" if area else ""
        lines += [f"    reveal_type(store.sync{path}.{name})", f"    reveal_type(store{path}.{name})"]
    probe = tmp_path / "probe.py"
    probe.write_text("\n".join(lines) + "\n")
    from mypy import api

    out, err, _ = api.run([str(probe), "--strict", "--no-error-summary", "--cache-dir", str(ROOT / ".mypy_cache"),
                           "--python-version", "3.11"])
    revealed = re.findall(r'Revealed type is "(.*)"', out)
    assert len(revealed) == 2 * len(pairs), out + err
    for (area, name), sync, face in zip(pairs, revealed[::2], revealed[1::2], strict=True):
        assert "Any" not in face.replace("typing.Coroutine[Any, Any,", "") or "Any" in sync, f"{area}.{name}: {face}"
        head, result = _split(sync)
        assert face == f"{head} -> typing.Coroutine[Any, Any, {result}]", f"{area}.{name}:\n {sync}\n {face}"


def _split(revealed: str) -> tuple[str, str]:
    """``def (params) -> result`` as its ``def (params)`` and result (mypy leaves out ``-> None``)."""
    depth = 0
    for i, char in enumerate(revealed):
        depth += 1 if char in "([" else -1 if char in ")]" else 0
        if char == ")" and depth == 0:
            rest = revealed[i + 1:]
            return revealed[:i + 1], rest.removeprefix(" -> ") if rest else "None"
    raise AssertionError(revealed)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_loop_keeps_ticking_while_64_calls_run(kind, request, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db" if kind == "sqlite" else request.getfixturevalue("pg_url")

    async def main() -> tuple[float, int]:
        async with roost.connect_async(url) as store:
            await store.tasks.enqueue("q", {"n": 0})
            gaps: list[float] = []
            stop = asyncio.Event()

            async def heartbeat() -> None:
                last = time.monotonic()
                while not stop.is_set():
                    await asyncio.sleep(0.01)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            async def work(i: int) -> None:
                for _ in range(5):
                    await store.signals.set(f"s{i}", i)
                    await store.signals.get(f"s{i}")
                    for claim in await store.tasks.claim(f"w{i}", queues=["q"]):
                        await store.tasks.complete(claim.token)
                await store.signals.wait("never", 0.3)  # a waiter holds no thread and blocks nobody

            ticker = asyncio.create_task(heartbeat())
            await asyncio.sleep(0.05)
            await asyncio.gather(*(work(i) for i in range(64)))
            stop.set()
            await ticker
            return max(gaps), len(gaps)

    worst, ticks = asyncio.run(main())
    assert ticks > 10
    assert worst < 0.05, f"the loop stalled for {worst * 1000:.0f} ms"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_cancelled_call_rolls_its_transaction_back_and_frees_the_connection(kind, request, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db" if kind == "sqlite" else request.getfixturevalue("pg_url")

    async def main() -> None:
        async with roost.connect_async(url, pool_max_size=2) as store:
            await store.signals.set("a", "before")
            entered = asyncio.Event()

            async def doomed() -> None:
                async with store.transaction():
                    await store.signals.set("a", "inside")
                    await store.signals.set("b", "inside")
                    entered.set()
                    await store.signals.wait("never", 30)  # cancelled while it waits, inside the transaction

            task = asyncio.create_task(doomed())
            await asyncio.wait_for(entered.wait(), 10)
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            found = await store.signals.get("a")
            assert found is not None and found.value == "before"
            assert await store.signals.get("b") is None
            # the connection is back and clean: every pooled connection takes a write now
            await asyncio.gather(*(store.signals.set(f"c{i}", i) for i in range(4)))
            assert len(await store.signals.list("c")) == 4
            if kind == "postgresql":
                stats = store._backend.stats()  # type: ignore[union-attr]
                assert stats.get("requests_waiting", 0) == 0

    asyncio.run(main())


def test_a_statement_cancelled_on_postgresql_is_rolled_back_and_the_connection_is_clean(pg_url):
    """Cancelled while the server runs its statement (blocked on a row lock another session holds)."""
    roost.connect(pg_url).close()

    async def main() -> None:
        async with roost.connect_async(pg_url, pool_max_size=1) as store:
            await store.signals.set("a", "before")
            with psycopg.connect(pg_url) as other:
                other.execute("SELECT 1 FROM roost.signals WHERE key = 'a' FOR UPDATE")

                async def doomed() -> None:
                    async with store.transaction():
                        await store.signals.set("b", "inside")
                        await store.signals.set("a", "inside")  # waits for the row lock

                task = asyncio.create_task(doomed())
                await asyncio.sleep(0.5)
                assert not task.done()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)
                other.rollback()
            # the one pooled connection is back, idle, with nothing of the cancelled transaction
            found = await store.signals.get("a")
            assert found is not None and found.value == "before"
            assert await store.signals.get("b") is None
            assert await store.signals.set("a", "after") == 2

    asyncio.run(main())
