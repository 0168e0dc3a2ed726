"""Many processes writing one store at once: nothing lost, no "database is locked"."""

from __future__ import annotations

import pytest

import roost
from tests.helpers import register_many, run_processes


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
