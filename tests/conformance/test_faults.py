"""Real faults: a killed PostgreSQL connection, and an SQLite writer that never lets go."""

from __future__ import annotations

import psycopg
import pytest

import roost
from roost import diagnostics, errors


def test_killed_connection_is_reported_then_replaced(pg_url):
    with roost.connect(pg_url, pool_min_size=1, pool_max_size=1) as store:
        assert store.get_project() is not None
        with psycopg.connect(pg_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'roost'"
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        with pytest.raises(errors.ConnectionLost, match="lost"):
            store.get_project()
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
