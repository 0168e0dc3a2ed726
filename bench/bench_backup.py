"""Backup: megabytes per second of ``store.backup()`` against the bare tool on the same store.

The store holds 20,000 events, 5,000 tasks and 2,000 transcript entries (about 20 MB on SQLite).
The raw side is what a person would type: on SQLite, ``sqlite3.Connection.backup`` into a new file
(no integrity check, no temporary name); on PostgreSQL, ``pg_dump --format=custom --schema=roost``
(no ``pg_restore --list``). roost's side also checks the copy and renames it into place, which is
where the difference goes. Target: >= 0.5 of the raw form.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import roost
from bench.harness import Target

PROJECT = "bench"
ROUNDS = 3


def _fill(store: roost.Store) -> None:
    for start in range(0, 20_000, 5000):
        store.events.publish_many([{"topic": "bench.event", "payload": {"n": n, "text": "x" * 400}}
                                   for n in range(start, start + 5000)])
    store.tasks.enqueue_many([{"kind": "bench", "payload": {"n": n, "text": "y" * 200}} for n in range(5000)])
    session = store.sessions.create("bench").id
    store.transcripts.append_many([{"session": session, "role": "user", "content": f"line {n} " + "z" * 300}
                                   for n in range(2000)])


def backup(target: Target, seconds: float) -> None:
    pg = target.raw_dsn is not None
    if pg and shutil.which("pg_dump") is None:
        print("# postgresql/backup skipped: pg_dump is not installed", flush=True)
        return
    with roost.connect(target.url, project=PROJECT, cleanup_interval=0) as store, \
            tempfile.TemporaryDirectory(prefix="roost-bench-backup-") as folder:
        _fill(store)
        out = Path(folder)

        def roost_side(n: int) -> int:
            return store.backup(out / f"roost-{n}.bak").bytes

        def raw_side(n: int) -> int:
            path = out / f"raw-{n}.bak"
            if pg:
                subprocess.run(["pg_dump", "--format=custom", "--schema=roost", "--no-owner", f"--file={path}",
                                f"--dbname={target.raw_dsn}"], check=True, capture_output=True)
            else:
                source = sqlite3.connect(target.raw_path or ":memory:")
                dest = sqlite3.connect(path)
                source.backup(dest)
                dest.close()
                source.close()
            return path.stat().st_size

        spent, sizes = [0.0, 0.0], [0, 0]
        for n in range(ROUNDS):
            for side, run in enumerate((roost_side, raw_side)):
                began = time.perf_counter()
                sizes[side] += run(n)
                spent[side] += time.perf_counter() - began
        ours, theirs = sizes[0] / spent[0] / 1e6, sizes[1] / spent[1] / 1e6
        print(f"{target.backend}/backup_mb_per_s\t{ours:.1f}\t{theirs:.1f}\t{ours / theirs:.2f}", flush=True)


BENCHMARKS = {"backup_": backup}
