"""The benchmark harness: targets (backends), side-by-side timing, and the output format.

Each measurement prints one line: ``backend/operation<TAB>roost ops/s<TAB>raw ops/s<TAB>ratio``.
roost and raw run in alternating slices of the same run, so machine noise falls on both sides.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ADMIN_URL = (
    os.environ.get("ROOST_BENCH_POSTGRES_URL")
    or os.environ.get("ROOST_TEST_POSTGRES_URL")
    or "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Target:
    """A backend to benchmark: a roost URL and the raw driver's way to open the same database."""

    backend: str
    url: str
    raw_path: Path | None = None
    raw_dsn: str | None = None


@contextlib.contextmanager
def sqlite_target() -> Iterator[Target]:
    with tempfile.TemporaryDirectory(prefix="roost-bench-") as folder:
        path = Path(folder) / "bench.db"
        yield Target("sqlite", f"sqlite:///{path}", raw_path=path)


@contextlib.contextmanager
def postgres_target() -> Iterator[Target | None]:
    """A throwaway database on the server, dropped afterwards; None when no server answers."""
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        print(f"# postgresql skipped: {str(exc).strip().splitlines()[0]}", flush=True)
        yield None
        return
    name = f"roost_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(ADMIN_URL)._replace(path="/" + name))
    try:
        yield Target("postgresql", dsn, raw_dsn=dsn)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def compare(name: str, roost_op: Callable[[], object], raw_op: Callable[[], object], seconds: float, *,
            scale: float = 1.0, warmup: int = 20) -> None:
    """Time both callables in alternating slices and print the line for ``name``; rates are per
    second, times ``scale`` (bytes per call, say, for a line in MB/s)."""
    for fn in (roost_op, raw_op):  # warm-up: caches, prepared statements, pools
        for _ in range(warmup):
            fn()
    counts, spent = [0, 0], [0.0, 0.0]
    slices = 6
    for i in range(slices * 2):
        side = i % 2
        fn = (roost_op, raw_op)[side]
        deadline = time.perf_counter() + seconds / slices
        start = time.perf_counter()
        n = 0
        while time.perf_counter() < deadline:
            fn()
            n += 1
        spent[side] += time.perf_counter() - start
        counts[side] += n
    roost_rate, raw_rate = counts[0] / spent[0] * scale, counts[1] / spent[1] * scale
    print(f"{name}\t{roost_rate:.1f}\t{raw_rate:.1f}\t{roost_rate / raw_rate:.2f}", flush=True)
