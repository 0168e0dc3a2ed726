"""Search under real processes: writers putting, retagging and deleting memories over shared keys
and tags while they search; afterwards the index and the names table agree exactly with the rows."""

from __future__ import annotations

from collections import Counter

import pytest

import roost
from tests.helpers import CheckTable, run_processes
from tests.memory_helpers import churn_memories

pytestmark = pytest.mark.slow


def test_four_writers_churning_shared_keys_and_tags_leave_index_and_names_exact(shared_url):
    results = run_processes(churn_memories, [(shared_url, w, 150) for w in range(4)], timeout=300)
    assert all(r[0] == "ok" for r in results), results
    check = CheckTable(shared_url)
    r = "roost." if check.pg else ""
    try:
        rows = check.run(f"SELECT key, tags FROM {r}memories").fetchall()
        names = check.run(f"SELECT kind, name, uses FROM {r}search_names WHERE kind IN ('memory', 'tag')").fetchall()
    finally:
        check.close()
    import json

    tags = Counter(t for _, ts in rows for t in (ts if isinstance(ts, list) else json.loads(ts)))
    expected = {("memory", k): 1 for k, _ in rows} | {("tag", t): n for t, n in tags.items()}
    assert {(k, n): int(u) for k, n, u in names} == expected
    with roost.connect(shared_url) as store:
        found = {h.name for h in store.search("churned", kinds=["memory"], limit=200).hits}
        assert found == {k for k, _ in rows}  # every live memory is found, and no deleted one
        assert len(store.search("churned", limit=200).hits) == len(rows)
