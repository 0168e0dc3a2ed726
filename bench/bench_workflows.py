"""Workflow runs: a phase started and finished, an evaluation recorded, and 200 runs of 8 phases
loaded whole.

Both sides work on roost's own tables (so the triggers that write the built-in events fire for
both), the raw side with the bare driver:

- phase start + finish: the two single-statement forms, ``UPDATE run_phases SET status =
  'running', iteration = iteration + 1 … WHERE … AND status <> 'running'`` and ``UPDATE … SET
  status = 'completed' … WHERE … AND status = 'running'``. roost's forms also check the run's state
  and the claim in the statement, read the run first (for the phase's limits from its workflow
  version), and move the run's current phase;
- evaluate: the raw ``INSERT INTO evaluations … VALUES``; roost inserts from the phase's row (so
  the iteration must have been reached) after reading the run;
- load (measured first, before the evaluations above add reviewers): 200 runs x 8 phases (with
  a decision, an evaluation and an output per phase) by the same five queries roost sends (runs,
  phases, decisions, latest evaluations, latest outputs), taken from roost's SQL files and run
  with the bare driver, rows fetched but not made into objects.

Targets >= 0.7 on each line against the raw form.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import psycopg

import roost
from bench.bench_store import _raw_sqlite
from bench.harness import Target, compare
from roost._sql import queries

PROJECT = "bench"
RUNS, PHASES = 200, 8


def _fill(store: roost.Store) -> list[int]:
    store.workflows.define("bench", [{"id": f"p{i}", "max_iterations": 1000} for i in range(PHASES)])
    ids = []
    with store.transaction():
        for n in range(RUNS):
            run = store.runs.start("bench", {"task": n}, variables={"N": n})
            for i in range(PHASES):
                phase = f"p{i}"
                store.runs.phase_start(run.id, phase, executor="bench")
                store.runs.output(run.id, phase, f"OUT_{i}", f"output of {phase} in run {n}")
                store.runs.evaluate(run.id, phase, 1, "qa", 80, feedback="fine")
                store.runs.decide(run.id, phase, True, "ok", decided_by="lead")
                store.runs.phase_finish(run.id, phase, tokens=100, cost=0.01)
            ids.append(run.id)
    return ids


def workflows(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT) as store:
        ids = _fill(store)
        pg = target.raw_dsn is not None
        conn: Any = psycopg.connect(str(target.raw_dsn), autocommit=True) if pg else _raw_sqlite(target)
        m, t = ("%s", "roost.") if pg else ("?", "")
        now = "now()" if pg else "(julianday('now') - 2440587.5) * 86400.0"
        phases = itertools.cycle([(r, f"p{i}") for r in ids for i in range(PHASES)])
        start_sql = (f"UPDATE {t}run_phases SET status = 'running', iteration = iteration + 1, executor = {m}, "
                     f"started_at = {now}, finished_at = NULL, heartbeat_at = {now} "
                     f"WHERE run_id = {m} AND phase = {m} AND status <> 'running'")
        finish_sql = (f"UPDATE {t}run_phases SET status = 'completed', tokens = tokens + {m}, cost = cost + {m}, "
                      f"finished_at = {now}, heartbeat_at = {now} "
                      f"WHERE run_id = {m} AND phase = {m} AND status = 'running'")

        def raw_cycle() -> None:
            run, phase = next(phases)
            conn.execute(start_sql, ("bench", run, phase))
            conn.execute(finish_sql, (10, 0.001, run, phase))

        def roost_cycle() -> None:
            run, phase = next(phases)
            store.runs.phase_start(run, phase, executor="bench")
            store.runs.phase_finish(run, phase, tokens=10, cost=0.001)

        reviewers = itertools.count()
        evaluate_sql = (f"INSERT INTO {t}evaluations (run_id, phase, iteration, reviewer, score, max_score, blockers, "
                        f"feedback, findings, created_at) VALUES ({m}, {m}, 1, {m}, {m}, 100, '[]', {m}, '[]', {now})")

        def raw_evaluate() -> None:
            run, phase = next(phases)
            conn.execute(evaluate_sql, (run, phase, f"r{next(reviewers)}", 75.0, "fine"))

        def roost_evaluate() -> None:
            run, phase = next(phases)
            store.runs.evaluate(run, phase, 1, f"r{next(reviewers)}", 75, feedback="fine")

        sql = queries("postgresql" if pg else "sqlite")
        load_params = {"project": PROJECT, "workflow": None, "statuses": None, "subject_kind": None,
                       "subject_ref": None, "since": None, "ids": None, "limit": RUNS + 1, "before": 2**62}

        def raw_load() -> int:
            runs = conn.execute(sql["run_list"], load_params).fetchall()
            picked = json.dumps([r[0] for r in runs])
            rows = 0
            for name in ("run_load_phases", "run_load_decisions", "run_load_evaluations", "run_load_outputs"):
                rows += len(conn.execute(sql[name], {"ids": picked}).fetchall())
            return rows

        def roost_load() -> int:
            return len(store.runs.load(limit=RUNS))

        assert roost_load() == RUNS and raw_load() == RUNS * PHASES * 4
        try:
            compare(f"{target.backend}/run_load_200x8", roost_load, raw_load, seconds, warmup=3)
            compare(f"{target.backend}/run_phase_start_finish", roost_cycle, raw_cycle, seconds)
            compare(f"{target.backend}/run_evaluate", roost_evaluate, raw_evaluate, seconds)
        finally:
            conn.close()


BENCHMARKS = {"run_": workflows}
