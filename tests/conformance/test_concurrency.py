"""Many processes writing one store at once: nothing lost, no "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

import roost
from tests.helpers import register_many, run_processes, sqlite_rows


@pytest.mark.slow
def test_six_writer_processes_lose_nothing(shared_url):
    with roost.connect(shared_url):
        pass  # create the schema first, so the writers race on data, not on migrations
    per_process = 150
    results = run_processes(register_many, [(shared_url, f"w{i}", per_process) for i in range(6)])
    assert [r for r in results if r[0] != "ok"] == []

    with roost.connect(shared_url) as store:
        found = sum(
            store._execute(roost.diagnostics.project_get, f"w{i}-{j}") is not None
            for i in range(6) for j in range(per_process)
        )
    assert found == 6 * per_process


def test_opening_a_new_file_another_process_is_still_creating_waits_for_it(tmp_path):
    """Switching a new file to WAL while another connection holds its write lock (still in the
    rollback journal mode every new file starts in) is refused by SQLite at once, not after the
    busy timeout. Six processes creating one new database hit this; opening must wait and retry."""
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE theirs (a)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO theirs VALUES (1)")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        with roost.connect(f"sqlite:///{path}", create=True) as store:  # beside their table: asked for
            waited = time.monotonic() - started
            assert store.doctor()
        assert waited >= 0.25  # it did wait for the other writer, and then opened
        assert sqlite_rows(path, "PRAGMA journal_mode") == [("wal",)]
        assert sqlite_rows(path, "SELECT a FROM theirs") == [(1,)]
    finally:
        release.join()
        other.close()
