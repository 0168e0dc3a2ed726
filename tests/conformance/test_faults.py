"""Real faults: a killed PostgreSQL connection, and an SQLite writer that never lets go."""

from __future__ import annotations

import psycopg
import pytest

import roost
from roost import diagnostics, errors


def test_killed_connection_is_reported_then_replaced(pg_url):
    """A write that may have committed reports the lost connection; the pool replaces it."""
    with roost.connect(pg_url, pool_min_size=1, pool_max_size=1) as store:
        assert store.get_project() is not None
        with psycopg.connect(pg_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'roost'"
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        with pytest.raises(errors.ConnectionLost, match="lost"):
            store.signals.set("K", 1)
        # the broken connection was dropped from the pool; the next call gets a fresh one
        project = store.get_project()
        assert project is not None and project.name == store.project


def test_writer_blocked_past_busy_timeout_gets_database_locked(tmp_path):
    url = f"sqlite:///{tmp_path}/locked.db"
    with roost.connect(url) as holder, roost.connect(url, sqlite_busy_timeout=0.1) as waiter:
        with holder.transaction():
            holder._execute(diagnostics.project_ensure, "held")
            with pytest.raises(errors.DatabaseLocked, match="busy timeout"):
                waiter._execute(diagnostics.project_ensure, "blocked")
            assert waiter.get_project() is not None  # readers are not blocked by the writer (WAL)
        waiter._execute(diagnostics.project_ensure, "after")  # the lock is free again
        assert waiter._execute(diagnostics.project_get, "after") is not None
        assert waiter._execute(diagnostics.project_get, "blocked") is None


def _terminate_roost_connections(pg_url: str) -> int:
    with psycopg.connect(pg_url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'roost'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_held_lock_survives_a_killed_connection(pg_url):
    """A renewal that meets a dead connection is retried; the lease is kept, not reported lost."""
    import time

    with roost.connect(pg_url, pool_min_size=1, pool_max_size=2) as store:
        with store.locks.hold("survivor", owner="me", ttl=3, renew_every=0.2) as held:
            assert _terminate_roost_connections(pg_url) >= 1
            time.sleep(1.5)  # several renewals, the first of which may meet the dead connection
            assert not held.lost, held.error
            assert store.locks.acquire("survivor", owner="other") is None
        assert store.locks.list() == []


def test_lease_is_lost_when_renewals_fail_past_expiry(tmp_path):
    """If no renewal can succeed before the lease runs out, the holder is told."""
    import time

    url = f"sqlite:///{tmp_path}/held.db"
    with (
        roost.connect(url) as store,
        roost.connect(url, sqlite_busy_timeout=0.05) as holder_store,
        pytest.raises(errors.LeaseLost, match="could not be renewed"),
        holder_store.locks.hold("x", owner="me", ttl=0.6, renew_every=0.1) as held,
    ):
        with store.transaction():  # a writer that keeps the database locked
            store._execute(diagnostics.project_ensure, "blocker")
            deadline = time.monotonic() + 10
            while not held.lost and time.monotonic() < deadline:
                time.sleep(0.05)
        assert held.lost


def test_queue_calls_survive_a_killed_connection_and_other_writes_report_it(pg_url):
    """Claims, heartbeats and reads run again on a fresh connection; complete and fail first ask how
    the claim ended, then finish it; a plain write says the connection was lost (it may have committed)."""
    with roost.connect(pg_url, pool_min_size=1, pool_max_size=1) as store:
        first, second = store.tasks.enqueue("a"), store.tasks.enqueue("b")
        assert _terminate_roost_connections(pg_url) >= 1
        claims = store.tasks.claim("w", n=2, lease=30)
        assert [c.id for c in claims] == [first, second]
        assert _terminate_roost_connections(pg_url) >= 1
        store.tasks.heartbeat(claims[0].token)
        assert _terminate_roost_connections(pg_url) >= 1
        store.tasks.complete(claims[0].token, "ok")
        assert _terminate_roost_connections(pg_url) >= 1
        assert store.tasks.fail(claims[1].token, "broke", retry=False) == "dead"
        assert [r.outcome for r in store.tasks.history(first)] == ["done"]
        assert [r.outcome for r in store.tasks.history(second)] == ["failed"]
        assert _terminate_roost_connections(pg_url) >= 1
        with pytest.raises(errors.ConnectionLost):
            store.signals.set("K", 1)
        store.signals.get("K")  # the pool has a live connection again
        with pytest.raises(errors.ConnectionLost), store.transaction():
            assert store.tasks.get(first) is not None
            assert _terminate_roost_connections(pg_url) >= 1
            store.tasks.get(first)  # never repeated inside a transaction: its earlier work is gone
