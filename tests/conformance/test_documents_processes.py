"""Documents under real processes: eight agents patching different features of one document at
once (the lost-update scenario: every change is kept), eight racing compare-and-set on one field
(exactly the right number of successes), and the query plans at 50,000 documents."""

from __future__ import annotations

import pytest

import roost
from tests.document_helpers import PROJECT, compare_and_set, declare_and_put, patch_my_feature
from tests.helpers import run_processes

pytestmark = pytest.mark.slow

WORKERS, TIMES = 8, 200


def test_eight_processes_patch_different_features_of_one_document_and_keep_every_change(shared_url):
    with roost.connect(shared_url, project=PROJECT) as store:
        store.documents.collection("lists", history=5)
        store.documents.put("lists", "shared", {"project_name": "p", "features": [
            {"id": f"f{i}", "count": 0, "log": [], "status": "new", "untouched": {"keep": i}} for i in range(WORKERS)]})
    results = run_processes(patch_my_feature, [(shared_url, i, TIMES) for i in range(WORKERS)], timeout=600)
    assert all(r[0] == "ok" for r in results), results
    with roost.connect(shared_url, project=PROJECT) as store:
        doc = store.documents.get("lists", "shared")
        assert doc is not None
        assert doc.version == 1 + WORKERS * TIMES
        for i, feature in enumerate(doc.body["features"]):
            assert feature == {"id": f"f{i}", "count": TIMES, "log": list(range(TIMES)), "status": f"step-{TIMES - 1}",
                               "untouched": {"keep": i}}, f"feature f{i} lost an update"
        assert [v.version for v in store.documents.history("lists", "shared")] == list(
            range(1 + WORKERS * TIMES, WORKERS * TIMES - 5, -1))


def test_eight_processes_racing_compare_and_set_succeed_exactly_once_per_version(shared_url):
    wins = 25
    with roost.connect(shared_url, project=PROJECT) as store:
        store.documents.collection("c", history=0)
        store.documents.put("c", "counter", {"n": 0})
    results = run_processes(compare_and_set, [(shared_url, i, wins) for i in range(WORKERS)], timeout=600)
    assert all(r[0] == "ok" for r in results), results
    with roost.connect(shared_url, project=PROJECT) as store:
        doc = store.documents.get("c", "counter")
        assert doc is not None and doc.body == {"n": WORKERS * wins} and doc.version == 1 + WORKERS * wins
    assert sum(r[1] for r in results) > 0, "the processes never raced (the test proved nothing)"


@pytest.mark.parametrize("if_absent", [False, True])
def test_eight_processes_declaring_and_creating_one_document_at_once(shared_url, if_absent):
    """No row exists to lock before the first put: every put still succeeds (each replacing the
    last), or with expected_version=0 exactly one does; the declaration is made once."""
    results = run_processes(declare_and_put, [(shared_url, i, if_absent) for i in range(WORKERS)], timeout=120)
    assert all(r[0] == "ok" for r in results), results
    outcomes = sorted(str(r[1]) for r in results)
    if if_absent:
        assert outcomes == ["1"] + ["conflict"] * (WORKERS - 1)
    else:
        assert outcomes == sorted(str(v) for v in range(1, WORKERS + 1))
    with roost.connect(shared_url, project=PROJECT) as store:
        declared = store.documents.get_collection("race")
        doc = store.documents.get("race", "same")
        assert declared is not None and declared.version == 1
        assert doc is not None and doc.version == (1 if if_absent else WORKERS)
        assert [d.key for d in store.documents.query("race", {"by": doc.body["by"]})] == ["same"]
        assert len(store.documents.history("race", "same")) == doc.version


PLAN_DOCS = 50_000
STATUSES = ("pending", "in_progress", "done", "review", "blocked")


def _fill(store: roost.Store, url: str) -> dict[str, int]:
    """50,000 documents with their index keys, written with the raw driver in one statement each
    (through roost this would be 50,000 transactions); returns the collection's id."""
    store.documents.collection("features", indexed=["status", "priority"])
    collection = store.documents.get_collection("features")
    assert collection is not None
    from roost.documents.keys import encode

    rare = encode("blocked")
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("""INSERT INTO roost.documents (collection_id, key, body, version, created_at, updated_at)
                            SELECT %s, 'f' || lpad(i::text, 6, '0'), '{}', 1, now(), now()
                            FROM generate_series(1, %s) i""", (collection.id, PLAN_DOCS))
            conn.execute("""INSERT INTO roost.document_keys (document_id, collection_id, path, key, doc_key)
                            SELECT id, collection_id, 'status', CASE WHEN id %% 1000 = 0 THEN %s
                                                                     ELSE '3pending' END, key
                            FROM roost.documents WHERE collection_id = %s""", (rare, collection.id))
            conn.execute("ANALYZE roost.documents")
            conn.execute("ANALYZE roost.document_keys")
    else:
        import sqlite3

        lite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            lite.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                            INSERT INTO documents (collection_id, key, body, version, created_at, updated_at)
                            SELECT ?, printf('f%06d', i), '{}', 1, 0, 0 FROM n""", (PLAN_DOCS, collection.id))
            lite.execute("""INSERT INTO document_keys (document_id, collection_id, path, key, doc_key)
                            SELECT id, collection_id, 'status', CASE WHEN id % 1000 = 0 THEN ? ELSE '3pending' END,
                                   key
                            FROM documents WHERE collection_id = ?""", (rare, collection.id))
            lite.execute("ANALYZE")
        finally:
            lite.close()
    return {"collection": collection.id}


def _plan(url: str, name: str, params: dict[str, object]) -> str:
    if url.startswith("postgres"):
        import psycopg

        from roost._sql import queries

        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute("EXPLAIN " + queries("postgresql")[name], params).fetchall()
        return "\n".join(r[0] for r in rows)
    import sqlite3

    from roost.backends.sqlite import _plans

    sql = _plans()[name]
    assert isinstance(sql, str)
    lite = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return "\n".join(str(r[3]) for r in lite.execute("EXPLAIN QUERY PLAN " + sql, params))
    finally:
        lite.close()


def test_queries_on_indexed_paths_use_the_key_index_at_50000_documents(shared_url):
    from roost.documents.keys import encode

    with roost.connect(shared_url, project=PROJECT) as store:
        ids = _fill(store, shared_url)
        blocked = store.documents.query("features", {"status": "blocked"}, limit=1000)
        assert len(blocked) == PLAN_DOCS // 1000  # (the query itself, through roost)
        both = store.documents.query("features", {"status": {"$in": ["blocked", "review"]}}, limit=1000)
        assert len(both) == PLAN_DOCS // 1000
    common = {**ids, "collection_name": "features", "after": "", "parent": None, "limit": 101, "rest": "[]",
              "nots": "[]", "path": "status"}
    rare = encode("blocked")
    plans = {
        "doc_query_eq": _plan(shared_url, "doc_query_eq", {**common, "lo": rare}),
        "doc_query_range": _plan(shared_url, "doc_query_range", {**common, "lo": rare, "hi": rare, "lo_x": "",
                                                                 "hi_x": ""}),
        "doc_query_ordered": _plan(shared_url, "doc_query_ordered", {**common, "order_path": "status",
                                                                     "after_key": "", "after_doc": ""}),
        "doc_query_in": _plan(shared_url, "doc_query_in", {**common, "keys": f'["{rare}", "3review"]',
                                                           "key_list": [rare, "3review"]}),
    }
    for name, plan in plans.items():
        assert "document_keys_lookup" in plan, f"{name} does not use the key index:\n{plan}"
        scans = [line for line in plan.splitlines() if "Seq Scan on documents" in line or line.strip() == "SCAN d"]
        assert not scans, f"{name} reads every document:\n{plan}"


def test_documents_through_pgbouncer_transaction_mode(pgbouncer_url):
    """Locked patches from several threads behind a transaction pooler: every change kept, nothing
    relies on session state."""
    import threading

    failures: list[BaseException] = []
    with roost.connect(pgbouncer_url, project=PROJECT, pg_prepare=False) as store:
        store.documents.collection("lists", indexed=["state"])
        store.documents.put("lists", "shared", {"state": "open", "features": [{"id": f"f{i}", "count": 0}
                                                                              for i in range(4)]})

        def work(n: int) -> None:
            try:
                for _ in range(50):
                    store.documents.patch("lists", "shared", {"op": "increment", "path": f"features[id=f{n}].count"})
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures, failures
        doc = store.documents.get("lists", "shared")
        assert doc is not None and [f["count"] for f in doc.body["features"]] == [50] * 4 and doc.version == 201
        assert [x.key for x in store.documents.query("lists", {"state": "open"})] == ["shared"]
