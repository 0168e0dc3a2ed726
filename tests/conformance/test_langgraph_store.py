"""RoostLangGraphStore: the same answers as LangGraph's own InMemoryStore for random sequences of
operations (hypothesis), namespaces matched by whole labels, TTL, ranked queries, bad input, and
the async face, on every backend."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.base import InvalidNamespaceError
from langgraph.store.memory import InMemoryStore

import roost
from roost.integrations.langgraph import RoostLangGraphStore
from roost.integrations.langgraph.store import UnsupportedFilter

LABELS = ["acme", "acme-corp", "a", "b", "users", "u-1"]
namespaces = st.lists(st.sampled_from(LABELS), min_size=1, max_size=3).map(tuple)
values = st.fixed_dictionaries({"n": st.integers(0, 5), "tag": st.sampled_from(["red", "blue"]),
                                "deep": st.fixed_dictionaries({"k": st.sampled_from(["x", "y"])})})
filters = st.one_of(
    st.fixed_dictionaries({"tag": st.sampled_from(["red", "blue"])}),
    st.fixed_dictionaries({"n": st.dictionaries(st.sampled_from(["$gt", "$gte", "$lt", "$lte", "$eq", "$ne"]),
                                                st.integers(0, 5), min_size=1, max_size=2)}),
    st.fixed_dictionaries({"deep": st.fixed_dictionaries({"k": st.sampled_from(["x", "y"])})}),
)
operations = st.lists(st.one_of(
    st.tuples(st.just("put"), namespaces, st.sampled_from(["k1", "k2", "k3"]), values),
    st.tuples(st.just("delete"), namespaces, st.sampled_from(["k1", "k2", "k3"])),
    st.tuples(st.just("get"), namespaces, st.sampled_from(["k1", "k2", "k3"])),
    st.tuples(st.just("search"), st.lists(st.sampled_from(LABELS), max_size=2).map(tuple), st.none() | filters),
    st.tuples(st.just("list"), st.none() | st.lists(st.sampled_from([*LABELS, "*"]), min_size=1, max_size=2).map(tuple),
              st.none() | st.lists(st.sampled_from([*LABELS, "*"]), min_size=1, max_size=2).map(tuple),
              st.none() | st.integers(1, 3)),
), max_size=25)


def apply(store: Any, op: tuple[Any, ...]) -> Any:
    kind = op[0]
    if kind == "put":
        return store.put(op[1], op[2], op[3])
    if kind == "delete":
        return store.delete(op[1], op[2])
    if kind == "get":
        item = store.get(op[1], op[2])
        return None if item is None else (item.namespace, item.key, item.value)
    if kind == "search":  # (as a set: the stores order hits differently, and LangGraph promises no order)
        return sorted((h.namespace, h.key, repr(h.value)) for h in store.search(op[1], filter=op[2], limit=1000))
    if isinstance(store, InMemoryStore):
        # InMemoryStore keeps an empty namespace after its last item is deleted (or merely read),
        # and lists it; a namespace is listed here only while it holds an item (as LangGraph's
        # PostgreSQL store lists them), so the reference forgets its empty ones first.
        for empty in [ns for ns, items in store._data.items() if not items]:
            del store._data[empty]
    return store.list_namespaces(prefix=op[1], suffix=op[2], max_depth=op[3], limit=1000)


def isolated(url: str) -> str:
    """A fresh database for memory:// (one per example); elsewhere a fresh project (see open_for)."""
    return f"memory://lg{uuid.uuid4().hex[:12]}" if url.startswith("memory://") else url


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=operations)
def test_random_operations_give_what_langgraphs_in_memory_store_gives(url, sequence):
    reference = InMemoryStore()
    with roost.connect(isolated(url), project=f"p{uuid.uuid4().hex[:10]}") as db:
        ours = RoostLangGraphStore(db)
        for op in sequence:
            assert apply(ours, op) == apply(reference, op), op


def test_pages_of_a_search_add_up_to_the_whole(url):
    with roost.connect(url) as db:
        store = RoostLangGraphStore(db)
        for i in range(23):
            store.put(("docs", f"d{i % 3}"), f"k{i}", {"i": i})
        whole = [(h.namespace, h.key) for h in store.search(("docs",), limit=100)]
        paged = [(h.namespace, h.key) for start in range(0, 30, 5)
                 for h in store.search(("docs",), limit=5, offset=start)]
        assert paged == whole and len(whole) == 23
        filtered = [h.key for h in store.search(("docs",), filter={"i": {"$gte": 10}}, limit=4, offset=2)]
        assert filtered == [h.key for h in store.search(("docs",), filter={"i": {"$gte": 10}}, limit=100)][2:6]


def test_namespaces_match_by_whole_labels(url):
    with roost.connect(url) as db:
        store = RoostLangGraphStore(db)
        store.put(("acme",), "a", {"v": 1})
        store.put(("acme", "team"), "b", {"v": 2})
        store.put(("acme-corp",), "c", {"v": 3})
        store.put(("acmeX", "team"), "d", {"v": 4})
        assert sorted(h.key for h in store.search(("acme",))) == ["a", "b"]
        assert [h.key for h in store.search(("acme-corp",))] == ["c"]
        assert store.list_namespaces(prefix=("acme",)) == [("acme",), ("acme", "team")]
        assert store.list_namespaces(suffix=("team",)) == [("acme", "team"), ("acmeX", "team")]
        assert store.list_namespaces(max_depth=1) == [("acme",), ("acme-corp",), ("acmeX",)]


@pytest.mark.parametrize("namespace", [("a.b",), ("",), ("ok", ""), ("x\x00",), ("langgraph", "x"), ()])
def test_namespaces_langgraph_forbids_are_refused_as_it_refuses_them_and_nothing_is_written(url, namespace):
    with roost.connect(url) as db:
        store = RoostLangGraphStore(db)
        with pytest.raises(InvalidNamespaceError) as ours:
            store.put(namespace, "k", {"v": 1})
        with pytest.raises(InvalidNamespaceError) as theirs:
            InMemoryStore().put(namespace, "k", {"v": 1})
        assert str(ours.value) == str(theirs.value)
        assert store.list_namespaces() == []
        if namespace and "." in namespace[0]:  # a dotted label cannot reach the namespace it spells
            store.put(("a", "b"), "k", {"v": 1})
            with pytest.raises(InvalidNamespaceError):
                store.get(("a.b",), "k")
            with pytest.raises(InvalidNamespaceError):
                store.search(("a.b",))


@pytest.mark.parametrize("value, text", [
    ({"x": float("nan")}, "JSON"), ({"x": object()}, "JSON"), ({"x": b"bytes"}, "JSON"),
    ("not a dict", "dict"), ({"x": "y" * (2 << 20)}, "limit"),
])
def test_bad_values_are_refused_and_the_batch_writes_nothing(url, value, text):
    from langgraph.store.base import PutOp

    with roost.connect(url) as db:
        store = RoostLangGraphStore(db)
        with pytest.raises(roost.errors.InvalidArgument, match=text):
            store.batch([PutOp(("ok",), "first", {"v": 1}), PutOp(("ok",), "bad", value)])
        assert store.search(("ok",)) == []


def test_deep_nesting_and_unknown_operators_are_clear_errors(url):
    with roost.connect(url) as db:
        store = RoostLangGraphStore(db)
        deep: dict[str, Any] = {}
        node = deep
        for _ in range(10_000):
            node["n"] = {}
            node = node["n"]
        with pytest.raises(roost.errors.InvalidArgument, match="deep"):
            store.put(("ok",), "deep", deep)
        store.put(("ok",), "k", {"n": 1})
        with pytest.raises(UnsupportedFilter, match=r"\$regex"):
            store.search(("ok",), filter={"n": {"$regex": "1"}})
        with pytest.raises(ValueError):
            store.search(("ok",), filter={"n": {"$regex": "1"}})
        with pytest.raises(roost.errors.InvalidArgument, match="limit"):
            store.search(("ok",), limit=-1)


def test_items_expire_reads_refresh_them_and_cleanup_removes_them(url):
    with roost.connect(url) as db:
        store = RoostLangGraphStore(db)
        store.put(("t",), "brief", {"v": 1}, ttl=0.01)  # 0.6 s
        store.put(("t",), "kept", {"v": 2}, ttl=0.01)
        store.put(("t",), "forever", {"v": 3})
        for _ in range(4):
            time.sleep(0.3)
            assert store.get(("t",), "kept") is not None  # each read starts its 0.6 s again
        assert store.get(("t",), "brief") is None
        assert [h.key for h in store.search(("t",))] == ["forever", "kept"]  # (most recently updated first)
        time.sleep(0.4)
        assert store.get(("t",), "kept", refresh_ttl=False) is not None
        time.sleep(0.5)
        assert store.get(("t",), "kept") is None
        report = db.cleanup(kinds=["store_items"])
        assert report.by_kind()["store_items"] == 2
        assert [h.key for h in store.search(("t",))] == ["forever"]


def test_a_default_ttl_applies_to_puts_that_give_none(url):
    with roost.connect(url) as db:
        store = RoostLangGraphStore(db, ttl={"default_ttl": 0.003, "refresh_on_read": False})
        store.put(("t",), "k", {"v": 1})
        store.put(("t",), "pinned", {"v": 2}, ttl=None)
        time.sleep(0.3)
        assert store.get(("t",), "k") is None
        assert store.get(("t",), "pinned") is not None


def test_a_query_ranks_by_full_text_and_never_fails_on_operators(url):
    with roost.connect(url) as db:
        store = RoostLangGraphStore(db)
        store.put(("notes",), "a", {"text": "deploy the api gateway on friday"})
        store.put(("notes",), "b", {"text": "deploy deploy deploy: the rollout plan"})
        store.put(("notes",), "c", {"text": "lunch menu"})
        hits = store.search(("notes",), query="deploy")
        assert [h.key for h in hits] == ["b", "a"]
        assert hits[0].score is not None and hits[0].score > hits[1].score  # type: ignore[operator]
        assert [h.key for h in store.search(("notes",), query="deploy -gateway")] == ["b"]
        assert [h.key for h in store.search(("notes",), query='"api gateway" OR lunch')] == ["a", "c"] or \
            [h.key for h in store.search(("notes",), query='"api gateway" OR lunch')] == ["c", "a"]
        assert [h.key for h in store.search(("notes",), query="roll*")] == ["b"]
        store.put(("notes", "old"), "d", {"text": "deploy", "team": "ops"})
        store.put(("other",), "e", {"text": "deploy"})
        assert [h.key for h in store.search(("notes",), query="deploy", filter={"team": "ops"})] == ["d"]
        assert [h.key for h in store.search(("notes",), query="deploy", limit=1, offset=1)] == \
            [h.key for h in store.search(("notes",), query="deploy")][1:2]
        store.put(("notes",), "b", {"text": "lunch again"})  # (the index follows the update)
        assert sorted(h.key for h in store.search(("notes",), query="deploy")) == ["a", "d"]
        store.delete(("notes",), "a")
        assert [h.key for h in store.search(("notes",), query="gateway")] == []
        for nasty in ["-", "\"", "AND OR NOT", "*", "a-b-c", "(((", "NEAR(", "'; DROP TABLE x; --", "\x00"]:
            assert isinstance(store.search(("notes",), query=nasty), list)


def test_the_async_face_runs_batches_natively(url):
    async def main() -> None:
        async with roost.connect_async(url) as face:
            store = RoostLangGraphStore(face)
            await store.aput(("a",), "k", {"v": 1})
            await asyncio.gather(*(store.aput(("a",), f"k{i}", {"v": i}) for i in range(20)))
            item = await store.aget(("a",), "k")
            assert item is not None and item.value == {"v": 1}
            assert len(await store.asearch(("a",), limit=100)) == 21
            assert await store.alist_namespaces() == [("a",)]

    asyncio.run(main())
