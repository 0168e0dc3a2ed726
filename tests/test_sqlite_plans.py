"""The hot statements' SQLite plans: each finds its rows by key, never by walking a table (nor, for
LangGraph's, all of a project's rows).

SQLite plans each statement from the table statistics it has, and it has none until someone runs
ANALYZE (or ``PRAGMA optimize``), when a table that is small at that moment (no dependencies yet,
a short claim history) can flip a join into a scan of every task on every completion: a queue that
slows down as it grows. Each hot statement's plan is checked as a new store gets it and after
ANALYZE, on a store with a claim history and on one with only a backlog (ANALYZE after a bulk
enqueue, before the first claim), neither with dependencies. (PostgreSQL's plans are checked by
the queue's own tests with auto_explain.)
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

import roost
from roost.backends.sqlite import _plans

HOT = ("signal_get", "signal_set", "signal_replace", "signal_clear", "lock_acquire", "lock_renew", "lock_release",
       "task_insert", "task_claim", "task_heartbeat", "task_complete", "task_complete_many", "task_fail",
       "task_release", "task_lease_state", "event_insert",
       "session_get", "transcript_append", "transcript_reserve", "transcript_known", "transcript_ids",
       "transcript_commit", "transcript_after", "memory_upsert", "memory_replace", "memory_get", "memory_delete",
       "observation_add", "observation_list_agent", "blob_touch", "chunk_put", "chunk_get", "artifact_get",
       "artifact_next_version", "artifact_insert",
       "lg_checkpoint_put", "lg_get", "lg_latest", "lg_page_ns", "lg_values", "lg_pending", "lg_items_get",
       "lg_items_match")
TABLES = {"tasks", "task_runs", "task_deps", "signals", "locks", "lock_holders", "events", "t", "r", "d",
          "sessions", "transcript_entries", "memories", "observations", "observation_agents", "artifact_blobs",
          "artifact_chunks", "artifact_names", "artifacts", "a", "b", "x", "lg_checkpoints", "lg_blobs", "lg_writes",
          "lg_items"}
LISTS = {"queues", "capabilities", "ids", "rows", "refs", "message_ids", "keys"}


@pytest.fixture(scope="module", params=["history", "backlog"])
def busy_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 tasks: with a claim history (3,000 done, 20 running) or all waiting; no dependencies."""
    path = tmp_path_factory.mktemp("plans") / "plans.db"
    with roost.connect(f"sqlite:///{path}", project="p") as store:
        store.tasks.enqueue_many([{"kind": "job"}] * 5000)
        if request.param == "history":
            for _ in range(30):
                for claim in store.tasks.claim("w", n=100, lease=60):
                    store.tasks.complete(claim.token)
            store.tasks.claim("w", n=20, lease=60)
        store.signals.set("k", 1)
        store.events.publish("t.e", {"n": 1})
        for i in range(20):
            session = store.sessions.create(f"s{i}").id
            store.transcripts.append_many([{"session": session, "role": "chunk", "content": "x"}] * 50)
            store.memories.put(f"m{i}", i, session=session)
            store.observations.add(f"agent{i % 3}", "seen", session=session)
            store.artifacts.put(f"a{i}", f"content {i}", session=session)
    return path


def scans(conn: sqlite3.Connection, name: str) -> list[str]:
    """The table scans in the plans of the named query's statements."""
    plan = _plans()[name]
    found = []
    for statement in [plan] if isinstance(plan, str) else plan:
        params = {k: "[]" if k in LISTS else None for k in re.findall(r":([a-z_0-9]+)", statement)}
        for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params):
            words = row[3].split()
            # (LangGraph's lookups by key must not walk all of a project's rows either; the
            # queue's claim walks its ready index in order, and stops at the first rows it takes)
            whole = name.startswith("lg_") and words[0] == "SEARCH" and row[3].endswith("(project=?)")
            if (words[0] == "SCAN" or whole) and words[1] in TABLES:
                found.append(f"{row[3]}  <- {' '.join(statement.split())[:100]}")
    return found


@pytest.mark.parametrize("analyzed", [False, True], ids=["new", "analyzed"])
def test_hot_statements_never_scan_a_table(busy_store: Path, analyzed: bool) -> None:
    conn = sqlite3.connect(busy_store, isolation_level=None)
    try:
        if analyzed:
            conn.execute("ANALYZE")
        else:
            conn.execute("DROP TABLE IF EXISTS sqlite_stat1")
            conn.execute("DROP TABLE IF EXISTS sqlite_stat4")
        conn.execute("ANALYZE sqlite_schema")  # reload the (now absent or fresh) statistics
        found = {name: s for name in HOT if (s := scans(conn, name))}
    finally:
        conn.close()
    assert not found, found
