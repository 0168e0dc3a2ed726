"""What each queue guarantee costs: ``python -m bench.queue_costs [--seconds N] [--workers 1,4,16]``.

Runs roost's claim+complete workers (the same as ``claim_complete_wN`` in ``python -m bench``) on a
throwaway PostgreSQL database, first as shipped and then with one guarantee switched off at a
time, by altering that database only: the NOTIFY that wakes event subscribers, the task events
written in the same transaction as each transition (which also removes their NOTIFY), and the
per-task history of claims. It prints jobs/s for each variant beside the raw SKIP LOCKED pair of
``bench_queue``. This is analysis, not a supported configuration: with a guarantee off, roost is
not correct (subscribers miss wake-ups, the event log misses transitions, fencing loses its audit).
The figures are quoted in docs/performance.md.
"""

from __future__ import annotations

import argparse
import re

import psycopg

from bench.bench_queue import BACKLOG, _load, _raw_worker, _roost_worker, _round
from bench.harness import Target, postgres_target

VARIANTS: list[tuple[str, list[str]]] = [
    ("as shipped", []),
    ("without NOTIFY", ["ALTER TABLE roost.events DISABLE TRIGGER events_notify"]),
    ("without task events", ["ALTER TABLE roost.tasks DISABLE TRIGGER tasks_changed"]),
    ("without events or history", ["ALTER TABLE roost.tasks DISABLE TRIGGER tasks_changed", "HISTORY OFF"]),
]


HISTORY = {"task_claim": r"\), old_runs AS \(.*?\n\)\nSELECT", "task_complete": r"\), run AS \(.*?\n\)\nSELECT"}


def _source(conn: psycopg.Connection[tuple[object, ...]], name: str) -> str:
    row = conn.execute(f"SELECT pg_get_functiondef('roost.{name}'::regproc)").fetchone()
    assert row is not None
    return str(row[0])


def _without_history(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Redefine the claim and completion functions of this database without their task_runs
    statements (the claim's history row, the completion's closing of it)."""
    for name, cut in HISTORY.items():
        lean, found = re.subn(cut, ")\nSELECT", _source(conn, name), flags=re.DOTALL)
        assert found == 1, f"roost.{name} no longer has the expected shape"
        conn.execute(lean)


def run(target: Target, seconds: float, workers: list[int], batch: int) -> None:
    assert target.raw_dsn is not None
    for count in workers:
        _load(target, BACKLOG["postgresql"])
        raw, _ = _round(_raw_worker, [(target.url, target.raw_dsn, w, batch, False) for w in range(count)], seconds)
        for name, statements in VARIANTS:
            _load(target, BACKLOG["postgresql"])
            with psycopg.connect(target.raw_dsn, autocommit=True) as conn:
                shipped = [_source(conn, name) for name in HISTORY]
                for statement in statements:
                    if statement == "HISTORY OFF":
                        _without_history(conn)
                    else:
                        conn.execute(statement)
            rate, _ = _round(_roost_worker, [(target.url, w, batch, False) for w in range(count)], seconds)
            with psycopg.connect(target.raw_dsn, autocommit=True) as conn:  # back as shipped
                for source in shipped:
                    conn.execute(source)
                conn.execute("ALTER TABLE roost.tasks ENABLE TRIGGER ALL")
                conn.execute("ALTER TABLE roost.events ENABLE TRIGGER ALL")
            print(f"postgresql/claim{batch if batch > 1 else ''}_complete_w{count} {name}\t{rate:.1f}\t{raw:.1f}\t"
                  f"{rate / raw:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per measurement")
    parser.add_argument("--workers", default="1,4,16", help="comma-separated worker counts")
    parser.add_argument("--batch", type=int, default=1, help="tasks per claim")
    args = parser.parse_args()
    print("# variant\troost jobs/s\traw jobs/s\tratio", flush=True)
    with postgres_target() as target:
        if target is None:
            raise SystemExit("no PostgreSQL server answered")
        run(target, args.seconds, [int(w) for w in args.workers.split(",")], args.batch)


if __name__ == "__main__":
    main()
