"""``python -m bench [--filter TEXT] [--seconds N]``: run every benchmark on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import platform
import sqlite3

from bench import (
    bench_backup,
    bench_cli,
    bench_coordination,
    bench_documents,
    bench_events,
    bench_export,
    bench_memory,
    bench_queue,
    bench_retention,
    bench_search,
    bench_store,
    bench_transfer,
    bench_workflows,
)
from bench.harness import postgres_target, sqlite_target

SUITES = [bench_store.BENCHMARKS, bench_coordination.BENCHMARKS, bench_queue.BENCHMARKS, bench_events.BENCHMARKS,
          bench_memory.BENCHMARKS, bench_search.BENCHMARKS, bench_documents.BENCHMARKS, bench_workflows.BENCHMARKS,
          bench_retention.BENCHMARKS, bench_backup.BENCHMARKS,
          bench_export.BENCHMARKS, bench_transfer.BENCHMARKS, bench_cli.BENCHMARKS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--filter", default="", help="run only measurements whose backend/name contains this")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement, split between sides")
    args = parser.parse_args()
    print(f"# python {platform.python_version()}, sqlite {sqlite3.sqlite_version}", flush=True)
    print("# backend/operation\troost ops/s\traw ops/s\tratio", flush=True)
    for opener in (sqlite_target, postgres_target):
        with opener() as target:
            if target is None:
                continue
            for suite in SUITES:
                for name, bench in suite.items():
                    if args.filter in f"{target.backend}/{name}":
                        bench(target, args.seconds)


if __name__ == "__main__":
    main()
