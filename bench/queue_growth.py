"""How the queue's cost grows with the backlog: ``python -m bench.queue_growth [--seconds N]``.

For 1,000, 10,000 and 100,000 pending tasks, one worker's claim+complete rate, roost beside the
raw SKIP LOCKED pair of ``bench_queue`` (the same load, the same alternation), on SQLite and on
PostgreSQL. With every lookup done through an index, the rates should barely move as the backlog
grows tenfold; a rate that falls with the backlog is a scan. Quoted in docs/performance.md.
"""

from __future__ import annotations

import argparse

from bench.bench_queue import _load, _raw_worker, _roost_worker, _round
from bench.harness import postgres_target, sqlite_target

SIZES = (1_000, 10_000, 100_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per side and size")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per side")
    args = parser.parse_args()
    print("# backend/backlog\troost jobs/s\traw jobs/s\tratio", flush=True)
    for opener in (sqlite_target, postgres_target):
        with opener() as target:
            if target is None:
                continue
            for size in SIZES:
                _load(target, size)
                roost_rate, _ = _round(_roost_worker, [(target.url, w, 1, False) for w in range(args.workers)],
                                       args.seconds)
                raw_rate, _ = _round(_raw_worker, [(target.url, target.raw_dsn, w, 1, False)
                                                   for w in range(args.workers)], args.seconds)
                print(f"{target.backend}/claim_complete_w{args.workers}_backlog_{size}\t{roost_rate:.1f}\t"
                      f"{raw_rate:.1f}\t{roost_rate / raw_rate:.2f}", flush=True)


if __name__ == "__main__":
    main()
