"""Transfer: rows per second of ``roost.transfer()`` from an SQLite store against a bare copy.

The source is an SQLite store of ``ROOST_BENCH_TRANSFER_ROWS`` rows (default 1,000,000): events,
tasks (each writes its task.enqueued event too), a session's transcript entries. roost's side
copies the whole project into the target (SQLite or PostgreSQL): every table, from one snapshot,
values converted, batches with the record-keeping triggers quiet, COPY on PostgreSQL, sequences and
token counters raised, search vectors computed on PostgreSQL, and then every row read back and
checksummed against the source. The raw side reads the same tables with ``SELECT *`` and writes
them in one transaction into plain tables of the same columns and keys (no triggers, no search
index, no check): ``executemany`` into SQLite, COPY into PostgreSQL (times converted, which COPY
needs). Target: >= 0.5 of the raw form.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

import roost
from bench.harness import Target

PROJECT = "bench"
ROWS = int(os.environ.get("ROOST_BENCH_TRANSFER_ROWS", "1000000"))
TABLES = ("sessions", "events", "tasks", "transcript_entries")


def _fill(url: str, rows: int) -> None:
    """0.4 of the rows as events, 0.2 as tasks (and as many task.enqueued events), 0.2 transcript."""
    with roost.connect(url, project=PROJECT, cleanup_interval=0) as store:
        for start in range(0, rows * 2 // 5, 10_000):
            store.events.publish_many([{"topic": "bench.event", "payload": {"n": n, "text": "x" * 200}}
                                       for n in range(start, start + 10_000)])
        for start in range(0, rows // 5, 10_000):
            store.tasks.enqueue_many([{"kind": "bench", "payload": {"n": n}} for n in range(start, start + 10_000)])
        session = store.sessions.create("bench").id
        for start in range(0, rows // 5, 5_000):
            store.transcripts.append_many([{"session": session, "role": "user", "content": f"line {n} " + "z" * 200}
                                           for n in range(start, start + 5_000)])


def _raw_sqlite(source: Path, target: Path) -> int:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, isolation_level=None)
    copied = 0
    try:
        dst.execute("PRAGMA journal_mode=WAL")
        dst.execute("PRAGMA synchronous=NORMAL")
        dst.execute("BEGIN")
        for table in TABLES:
            (ddl,) = src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
            dst.execute(ddl)
            cur = src.execute(f"SELECT * FROM {table}")
            marks = ", ".join("?" for _ in cur.description)
            before = dst.total_changes
            dst.executemany(f"INSERT INTO {table} VALUES ({marks})", cur)
            copied += dst.total_changes - before
        dst.execute("COMMIT")
    finally:
        src.close()
        dst.close()
    return copied


def _raw_postgres(source: Path, dsn: str) -> int:
    src = sqlite3.connect(source)
    copied = 0
    try:
        with psycopg.connect(dsn) as dst:
            dst.execute("DROP SCHEMA IF EXISTS rawcopy CASCADE")
            dst.execute("CREATE SCHEMA rawcopy")
            for table in TABLES:
                dst.execute(f"CREATE TABLE rawcopy.{table} (LIKE roost.{table} INCLUDING DEFAULTS INCLUDING INDEXES)")
                found = dst.execute("SELECT column_name, data_type FROM information_schema.columns "
                                    "WHERE table_schema = 'roost' AND table_name = %s", (table,)).fetchall()
                types: dict[str, str] = dict(found)
                cur = src.execute(f"SELECT * FROM {table}")
                names = [d[0] for d in cur.description if d[0] in types]
                at = [i for i, d in enumerate(cur.description) if d[0] in types]
                times = {i for i in at if types[cur.description[i][0]] == "timestamp with time zone"}
                with dst.cursor().copy(f"COPY rawcopy.{table} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in cur:
                        copy.write_row([datetime.fromtimestamp(row[i], UTC) if i in times and row[i] is not None
                                        else row[i] for i in at])
                        copied += 1
            dst.commit()
    finally:
        src.close()
    return copied


def transfer(target: Target, seconds: float) -> None:
    pg = target.raw_dsn is not None
    with tempfile.TemporaryDirectory(prefix="roost-bench-transfer-") as folder:
        source = Path(folder) / "source.db"
        began = time.perf_counter()
        _fill(f"sqlite:///{source}", ROWS)
        print(f"# transfer: an SQLite source of {ROWS:,} rows built in {time.perf_counter() - began:.0f} s", flush=True)
        began = time.perf_counter()
        (info,) = roost.transfer(f"sqlite:///{source}", target.url, PROJECT, cleanup_interval=0)
        ours_seconds = time.perf_counter() - began
        assert info.verified
        began = time.perf_counter()
        raw_rows = _raw_postgres(source, str(target.raw_dsn)) if pg else _raw_sqlite(source, Path(folder) / "raw.db")
        raw_seconds = time.perf_counter() - began
    ours, theirs = info.rows / ours_seconds, raw_rows / raw_seconds
    print(f"# transfer: roost copied and verified {info.rows:,} rows in {ours_seconds:.1f} s "
          f"(of which {info.verify_seconds:.1f} s reading them back to verify), "
          f"the raw copy {raw_rows:,} rows in {raw_seconds:.1f} s", flush=True)
    copy_only = info.rows / (ours_seconds - info.verify_seconds)
    print(f"{target.backend}/transfer_unverified_rows_per_s\t{copy_only:.1f}\t{theirs:.1f}\t{copy_only / theirs:.2f}",
          flush=True)
    print(f"{target.backend}/transfer_rows_per_s\t{ours:.1f}\t{theirs:.1f}\t{ours / theirs:.2f}", flush=True)


BENCHMARKS: dict[str, Any] = {"transfer_": transfer}
