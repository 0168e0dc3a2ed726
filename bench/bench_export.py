"""Export: rows per second of ``store.export()`` against the bare driver dumping the same tables.

The store holds 20,000 events, 5,000 tasks and 2,000 transcript entries. roost's side writes the
whole project (every table, times converted, JSON normalized, rows in primary-key order from one
snapshot). The raw side reads the same three tables with ``SELECT *`` in one transaction and writes
each row as a JSON array with ``json.dumps`` (no conversion, no order, no other tables). Both write
to an in-memory buffer. Target: >= 0.5 of the raw form.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import psycopg

import roost
from bench.bench_backup import _fill
from bench.bench_store import _raw_sqlite
from bench.harness import Target

PROJECT = "bench"
ROUNDS = 3


def export(target: Target, seconds: float) -> None:
    pg = target.raw_dsn is not None
    with roost.connect(target.url, project=PROJECT, cleanup_interval=0) as store:
        _fill(store)
        conn: Any = psycopg.connect(str(target.raw_dsn)) if pg else _raw_sqlite(target)
        prefix, mark = ("roost.", "%s") if pg else ("", "?")

        def roost_side() -> int:
            return store.export(io.StringIO()).rows

        def raw_side() -> int:
            out, rows = io.StringIO(), 0
            if not pg:
                conn.execute("BEGIN")
            for table in ("events", "tasks", "transcript_entries"):
                columns = "*" if not pg or table != "transcript_entries" else "id, project, session_id, content"
                for row in conn.execute(f"SELECT {columns} FROM {prefix}{table} WHERE project = {mark}", (PROJECT,)):
                    out.write(json.dumps([str(v) if v is not None else None for v in row]) + "\n")
                    rows += 1
            conn.rollback() if pg else conn.execute("ROLLBACK")
            return rows

        spent, rows = [0.0, 0.0], [0, 0]
        try:
            for _ in range(ROUNDS):
                for side, run in enumerate((roost_side, raw_side)):
                    began = time.perf_counter()
                    rows[side] += run()
                    spent[side] += time.perf_counter() - began
        finally:
            conn.close()
        ours, theirs = rows[0] / spent[0], rows[1] / spent[1]
        print(f"{target.backend}/export_rows_per_s\t{ours:.1f}\t{theirs:.1f}\t{ours / theirs:.2f}", flush=True)


BENCHMARKS = {"export_": export}
