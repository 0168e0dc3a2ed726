"""Children for the memory area's multi-process tests (spawn needs importable functions)."""

from __future__ import annotations

import hashlib
import os
import resource
import time
from typing import Any

import roost


def append_entries(url: str, worker: int, sessions: list[str], total: int, batch: int, barrier: Any,
                   out: Any) -> None:
    """Child: append ``total`` entries over ``sessions`` in batches (every fifth one entry by entry),
    sending every batch twice (a retry after a lost answer) with the same message ids."""
    try:
        with roost.connect(url, sqlite_busy_timeout=60) as store:
            barrier.wait(timeout=60)
            repeated = 0
            for start in range(0, total, batch):
                items: list[dict[str, Any]] = [
                    {"session": sessions[n % len(sessions)], "role": "chunk", "content": f"w{worker} n{n}",
                     "agent": f"w{worker}", "iteration": n, "message_id": f"w{worker}-{n}"}
                    for n in range(start, min(start + batch, total))]
                if start % (batch * 5) == 0:  # some batches as single appends: the one-statement path
                    first = [store.transcripts.append(**item) for item in items]
                    again = [store.transcripts.append(**item) for item in items]
                else:
                    first = store.transcripts.append_many(items)
                    again = store.transcripts.append_many(items)
                assert [e.id for e in again] == [e.id for e in first]
                repeated += len(again)
                # the session's other counters, under the same concurrency: overwrites, new keys, versions
                session = sessions[(start // batch) % len(sessions)]
                store.memories.put(f"w{worker}-{start % 3}", start, session=session)
                store.observations.add(f"w{worker}", f"batch {start}", session=session)
                if start % (batch * 4) == 0:
                    store.artifacts.put(f"w{worker}.log", f"batch {start}", session=session)
        out.put(("ok", repeated))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def add_observations(url: str, agent: str, count: int, barrier: Any, out: Any) -> None:
    """Child: add ``count`` observations for ``agent``, reading the agent's observations after each;
    reports the most it ever saw."""
    try:
        with roost.connect(url, sqlite_busy_timeout=60, observation_max_per_agent=25) as store:
            barrier.wait(timeout=60)
            most = 0
            for i in range(count):
                store.observations.add(agent, f"{os.getpid()} {i}")
                most = max(most, len(store.observations.recent(agent, limit=1000)))
        out.put(("ok", most))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def stream_artifact(url: str, source: str, target: str, out: Any) -> None:
    """Child: put the file ``source`` as an artifact, stream it back into ``target``; report the
    sha256 of what was stored and this process's peak RSS before and after."""
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with roost.connect(url, artifact_max_bytes=2**30) as store:
            with open(source, "rb") as handle:
                stored = store.artifacts.put("big.bin", handle, type="build")
            with open(target, "wb") as handle:
                written = store.artifacts.open("big.bin").copy_to(handle)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out.put(("ok", stored.sha256, stored.size, written, before * 1024, peak * 1024))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def put_slowly(url: str, out: Any) -> None:
    """Child: put an artifact whose chunks come slowly, saying after each one; killed mid-put."""

    def chunks() -> Any:
        for i in range(1000):
            yield bytes([i % 256]) * (1 << 20)
            out.put(("chunk", i))
            time.sleep(0.05)

    with roost.connect(url) as store:
        store.artifacts.put("doomed.bin", chunks())
    out.put(("finished", None))


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def churn_memories(url: str, worker: int, rounds: int, barrier: Any, out: Any) -> None:
    """Child: put, retag and delete memories over a small shared pool of keys and tags, searching
    as it goes; reports the puts it made and the searches' errors (there should be none)."""
    import random

    try:
        rnd = random.Random(worker)
        keys, tags = [f"shared-key-{i}" for i in range(12)], [f"tag-{c}" for c in "abcdef"]
        with roost.connect(url, sqlite_busy_timeout=30) as store:
            barrier.wait(timeout=60)
            for i in range(rounds):
                key = rnd.choice(keys)
                if rnd.random() < 0.2:
                    store.memories.delete(key)
                else:
                    store.memories.put(key, f"churned by worker {worker} round {i}", tags=rnd.sample(tags, 2))
                if i % 10 == 0:
                    store.search("churned worker", limit=5)
                    store.find("shared_key", kinds=["memory", "tag"])
        out.put(("ok", worker))
    except BaseException as exc:
        out.put(("error", repr(exc)))
