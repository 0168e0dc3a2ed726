"""Documents on every backend: declarations, put/get, every patch operation, frozen paths in every
path form, schemas and unknown fields, history trimmed (never documents), diff, queries on indexed
paths, parents with cascade and restrict, links, render, the feature-list import and bad input."""

from __future__ import annotations

import asyncio
import json

import pydantic
import pytest

import roost
from roost import errors

FEATURES = {
    "project_name": "shop",
    "features": [
        {"id": "auth", "status": "pending", "priority": 1, "steps": [{"id": "s1", "text": "login", "done": False}],
         "allowed_paths": ["src/auth/"], "depends_on": [], "x-owner": "qa"},
        {"id": "cart", "status": "in_progress", "priority": 2, "steps": [], "notes": {"k": [1, 2]}},
        {"id": "pay", "status": "pending", "priority": 3, "depends_on": ["cart"]},
    ],
}


@pytest.fixture
def store(url):
    with roost.connect(url, project="docs") as s:
        yield s


def versions(store, collection, key):
    return [v.version for v in store.documents.history(collection, key)]


def test_declare_is_idempotent_and_a_change_is_the_next_version(store):
    d = store.documents
    first = d.collection("specs", frozen=["objectives"], indexed=["status"])
    assert first.changed and first.version == 1 and first.frozen == ["objectives"]
    again = d.collection("specs", frozen=["objectives"], indexed=["status"])
    assert not again.changed and again.version == 1
    changed = d.collection("specs", frozen=["objectives", "scope"], indexed=["status"])
    assert changed.changed and changed.version == 2
    assert [c.name for c in d.collections()] == ["specs"]
    topics = [e.topic for e in store.events.query("document.collection_declared")]
    assert topics == ["document.collection_declared"] * 2


def test_put_and_get_keep_every_field_and_odd_text(store):
    d = store.documents
    d.collection("notes")
    body = {"title": "T\u00e9st \U0001f426", "nested": {"a": [1, 2.5, None, True]}, "zz": "", "aa": {"\u00e9": 1}}
    doc = d.put("notes", "n-1", body, agent="coder")
    assert doc.version == 1 and doc.agent == "coder" and doc.body == body
    got = d.get("notes", "n-1")
    assert got is not None and got.body == body and list(got.body) == list(body)  # key order kept
    assert d.get("notes", "nope") is None
    replaced = d.put("notes", "n-1", {"only": 1})
    assert replaced.version == 2 and d.get("notes", "n-1").body == {"only": 1}
    body["title"] = "changed after the put"
    assert d.get("notes", "n-1").body == {"only": 1}


def test_every_patch_operation(store):
    d = store.documents
    d.collection("plans")
    d.put("plans", "p", {"sections": {"intro": "x"}, "steps": [{"id": "a", "done": False}, {"id": 7, "done": False}],
                         "log": [1, 2], "n": 1})
    doc = d.patch("plans", "p", [
        {"op": "set", "path": "sections.deep.new", "value": {"v": 1}},
        {"op": "set", "path": "steps[id=a].done", "value": True},
        {"op": "set", "path": "steps[id=7].done", "value": "yes"},
        {"op": "set", "path": "steps[-1].note", "value": "last"},
        {"op": "merge", "path": "sections", "value": {"intro": None, "outro": "bye"}},
        {"op": "merge", "value": {"top": {"a": 1}}},
        {"op": "append", "path": "log", "value": 3, "max_len": 2},
        {"op": "append", "path": "fresh", "value": "first"},
        {"op": "increment", "path": "n", "by": 2.5},
        {"op": "increment", "path": "counter"},
        {"op": "remove", "path": "steps[0]"},
        {"op": "remove", "path": "not.there"},
        {"op": "set", "path": '["odd key"]', "value": 1},
    ], agent="qa")
    assert doc.version == 2
    assert doc.body == {
        "sections": {"deep": {"new": {"v": 1}}, "outro": "bye"},
        "steps": [{"id": 7, "done": "yes", "note": "last"}],
        "log": [2, 3], "n": 3.5, "top": {"a": 1}, "fresh": ["first"], "counter": 1, "odd key": 1,
    }
    assert d.get("plans", "p").body == doc.body
    assert d.set("plans", "p", "sections.outro", "again").body["sections"]["outro"] == "again"


def _deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


DEEP_63 = _deep(63)  # fits alone (64 levels with nothing around it), not two levels down


@pytest.mark.parametrize(("ops", "message"), [
    ([{"op": "append", "path": "sections", "value": 1}], "cannot append to sections: it holds an object"),
    ([{"op": "increment", "path": "title"}], "cannot increment title: it holds a string"),
    ([{"op": "merge", "path": "steps", "value": {"a": 1}}], "cannot merge into steps: it holds an array"),
    ([{"op": "set", "path": "steps[id=zz].done", "value": 1}], "no element of steps has id = 'zz'"),
    ([{"op": "set", "path": "steps[5]", "value": 1}], "has 1 elements, no [5]"),
    ([{"op": "set", "path": "title.x", "value": 1}], "title holds a string, not an object"),
    ([{"op": "set", "path": "ok", "value": 1}, {"op": "append", "path": "title", "value": 1}], "cannot append"),
    ([{"op": "explode", "path": "x"}], "the operations are set, merge, remove, append, increment"),
    ([{"op": "set", "path": "x"}], "needs value"),
    ([{"op": "set", "path": "x", "value": 1, "extra": 2}], "does not take extra"),
    ([{"op": "append", "path": "x", "value": 1, "max_len": 0}], "max_len must be"),
    ([{"op": "increment", "path": "x", "by": "2"}], "by must be a finite number"),
    ([{"op": "set", "path": "x", "value": float("nan")}], "cannot be stored as JSON"),
    ([{"op": "set", "path": "x", "value": "\ud800"}], "lone surrogate"),
    ([{"op": "set", "path": "x", "value": {1: 2}}], "keys must be strings"),
    ([{"op": "set", "path": "x.y", "value": DEEP_63}], "levels deep"),
    ([], "at least one operation"),
    ("set title x", "a patch is a list of operations"),
    ([{"op": "set", "path": "a..b", "value": 1}], "not valid at character 3"),
    ([{"op": "set", "path": "a[id=", "value": 1}], "expected a value"),
    ([{"op": "set", "path": "[0]", "value": 1}], "expected a key"),
])
def test_a_bad_patch_is_refused_and_changes_nothing(store, ops, message):
    d = store.documents
    d.collection("plans")
    d.put("plans", "p", {"title": "t", "sections": {}, "steps": [{"id": "a"}]})
    with pytest.raises(errors.InvalidArgument, match=message.replace("[", r"\[").replace("]", r"\]")):
        d.patch("plans", "p", ops)
    got = d.get("plans", "p")
    assert got.version == 1 and got.body == {"title": "t", "sections": {}, "steps": [{"id": "a"}]}
    assert versions(store, "plans", "p") == [1]


def test_frozen_paths_in_every_form_after_create(store):
    d = store.documents
    d.collection("specs", frozen=["objectives", "scope.items[1]", "deliverables[id=d1].what", '["odd key"]'],
                 frozen_after="create")
    body = {"objectives": ["o1"], "scope": {"items": ["a", "b"]}, "deliverables": [{"id": "d1", "what": "api"}],
            "odd key": 1, "architecture": "v1"}
    d.put("specs", "s", body)
    for ops, path in [
        ([{"op": "set", "path": "objectives", "value": ["o2"]}], "objectives"),
        ([{"op": "append", "path": "objectives", "value": "o2"}], "objectives"),
        ([{"op": "set", "path": "scope.items[1]", "value": "c"}], "scope.items[1]"),
        ([{"op": "remove", "path": "scope"}], "scope.items[1]"),
        ([{"op": "set", "path": "deliverables[id=d1].what", "value": "cli"}], "deliverables[id=d1].what"),
        ([{"op": "set", "path": '["odd key"]', "value": 2}], '["odd key"]'),
        ([{"op": "set", "path": "architecture", "value": "v2"}, {"op": "remove", "path": "objectives"}], "objectives"),
    ]:
        with pytest.raises(errors.FrozenField, match=path.replace("[", r"\[").replace("]", r"\]")):
            d.patch("specs", "s", ops)
    with pytest.raises(errors.FrozenField, match="objectives"):
        d.put("specs", "s", {**body, "objectives": []})
    got = d.get("specs", "s")
    assert got.version == 1 and got.body == body  # nothing of any refused write was applied
    # writes that leave the frozen values as they are pass, and 1 is not 1.0
    assert d.patch("specs", "s", [{"op": "set", "path": "architecture", "value": "v2"},
                                  {"op": "set", "path": "objectives", "value": ["o1"]}]).version == 2
    assert d.put("specs", "s", {**body, "architecture": "v3"}).version == 3
    with pytest.raises(errors.FrozenField):
        d.patch("specs", "s", {"op": "set", "path": '["odd key"]', "value": 1.0})


def test_frozen_after_first_set(store):
    d = store.documents
    d.collection("specs", frozen=["objectives", "owner"], frozen_after="first_set")
    d.put("specs", "s", {"objectives": None, "draft": True})
    d.patch("specs", "s", {"op": "set", "path": "objectives", "value": ["o1"]})  # null: not yet set
    d.patch("specs", "s", {"op": "set", "path": "owner", "value": "pm"})  # absent: not yet set
    with pytest.raises(errors.FrozenField, match="objectives is frozen \\(once it was set\\)"):
        d.patch("specs", "s", {"op": "set", "path": "objectives", "value": ["o2"]})
    with pytest.raises(errors.FrozenField, match="owner"):
        d.patch("specs", "s", {"op": "remove", "path": "owner"})
    assert d.get("specs", "s").body == {"objectives": ["o1"], "draft": True, "owner": "pm"}


SPEC_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "steps": {"type": "array", "items": {"type": "object", "properties": {"done": {"type": "boolean"}},
                                             "required": ["done"]}},
    },
    "required": ["title"],
}


def test_a_schema_is_checked_on_every_write_naming_the_path(store):
    d = store.documents
    d.collection("specs", SPEC_SCHEMA)
    d.put("specs", "s", {"title": "t", "steps": [{"done": False}], "extra": {"kept": True}})
    with pytest.raises(errors.SchemaViolation, match=r"specs/s: steps\[0\].done: 'no' is not of type 'boolean'"):
        d.patch("specs", "s", {"op": "set", "path": "steps[0].done", "value": "no"})
    with pytest.raises(errors.SchemaViolation, match="'title' is a required property"):
        d.put("specs", "s2", {"steps": []})
    assert d.get("specs", "s2") is None
    assert d.get("specs", "s").body["extra"] == {"kept": True}  # unknown fields are kept
    d.collection("strict", SPEC_SCHEMA, unknown="reject")
    with pytest.raises(errors.SchemaViolation, match="unknown='reject'"):
        d.put("strict", "s", {"title": "t", "surprise": 1})
    with pytest.raises(errors.InvalidArgument, match="not a valid JSON Schema"):
        d.collection("broken", {"type": "no-such-type"})
    with pytest.raises(errors.InvalidArgument, match="needs a schema"):
        d.collection("loose", unknown="reject")


class Feature(pydantic.BaseModel):
    id: str
    status: str = "pending"
    priority: int = 0


def test_a_model_class_validates_and_comes_back_as_instances(store, url):
    d = store.documents
    d.collection("features", Feature, indexed=["status"])
    doc = d.put("features", "auth", Feature(id="auth", priority=2))
    assert isinstance(doc.model, Feature) and doc.model.priority == 2
    d.put("features", "raw", {"id": "raw", "owner": "qa"})  # a dict passes through the same schema
    got = d.get("features", "raw")
    assert isinstance(got.model, Feature) and got.body["owner"] == "qa"
    with pytest.raises(errors.SchemaViolation, match="priority"):
        d.patch("features", "auth", {"op": "set", "path": "priority", "value": "high"})
    assert [x.model.id for x in d.query("features", {"status": "pending"})] == ["auth"]  # (stored, not defaults)
    assert [x.model.status for x in d.query("features")] == ["pending", "pending"]
    class Narrower(pydantic.BaseModel):
        id: str
        priority: str  # (another process's idea of the model: stored bodies do not fit it)

    d.collection("features", Narrower, indexed=["status"])
    assert d.get("features", "auth").model is None  # a read does not fail on a body the class refuses
    d.collection("features", Feature, indexed=["status"])
    with roost.connect(url, project="docs") as other:  # a process without the model validates the same way
        with pytest.raises(errors.SchemaViolation):
            other.documents.put("features", "bad", {"id": 5})
        theirs = other.documents.get("features", "auth")
        assert theirs is not None and theirs.model is None


def test_history_is_trimmed_and_documents_never_are(store):
    d = store.documents
    d.collection("loops", history=2)
    d.put("loops", "a", {"n": 0})
    d.put("loops", "b", {"n": 0})
    for _ in range(10):
        d.patch("loops", "a", {"op": "increment", "path": "n"}, agent="looper")
    assert versions(store, "loops", "a") == [11, 10, 9]
    hist = store.documents.history("loops", "a")
    assert hist[0].op == "patch" and hist[0].agent == "looper"
    assert hist[0].change == [{"op": "increment", "path": "n", "by": 1}]
    assert d.get("loops", "a", version=9).body == {"n": 8}
    assert d.get("loops", "a", version=8) is None
    assert d.get("loops", "b").body == {"n": 0} and versions(store, "loops", "b") == [1]
    d.collection("loops", history=0)
    d.patch("loops", "a", {"op": "increment", "path": "n"})
    assert versions(store, "loops", "a") == [12]


def test_diff_names_each_changed_path(store):
    d = store.documents
    d.collection("plans")
    d.put("plans", "p", {"a": 1, "steps": [{"id": "x", "done": False}, {"id": "y"}], "gone": True, "list": [1, 2]})
    d.patch("plans", "p", [{"op": "set", "path": "steps[id=x].done", "value": True},
                           {"op": "remove", "path": "gone"}, {"op": "set", "path": "new", "value": {"k": 1}},
                           {"op": "append", "path": "list", "value": 3}, {"op": "remove", "path": "steps[id=y]"}])
    changes = [(c.path, c.kind, c.before, c.after) for c in d.diff("plans", "p", 1, 2)]
    assert changes == [("steps[id=x].done", "changed", False, True), ("steps[id=y]", "removed", {"id": "y"}, None),
                       ("gone", "removed", True, None), ("list[2]", "added", None, 3), ("new", "added", None, {"k": 1})]
    assert d.diff("plans", "p", 2, 2) == []
    with pytest.raises(errors.DocumentNotFound, match="no version 9"):
        d.diff("plans", "p", 1, 9)


def test_queries_on_indexed_paths(store):
    d = store.documents
    d.collection("lists")
    d.collection("features", parent="lists", indexed=["status", "priority", "tags"])
    d.put("lists", "L", {})
    d.put("lists", "M", {})
    rows = [("a", "pending", 1, ["x"]), ("b", "done", 2, ["x", "y"]), ("c", "pending", 3, []),
            ("d", "blocked", 2.5, ["y"]), ("e", "pending", None, "x"), ("f", "done", True, None)]
    for key, status, priority, tags in rows:
        d.put("features", key, {"status": status, "priority": priority, "tags": tags}, parent="L" if key < "e" else "M")

    def keys(where=None, **options):
        return [x.key for x in d.query("features", where, **options)]

    assert keys({"status": "pending"}) == ["a", "c", "e"]
    assert keys({"priority": {"$gt": 1}}) == ["b", "c", "d"]  # numbers only: True and None are other types
    assert keys({"priority": {"$gte": 2, "$lt": 3}}) == ["b", "d"]
    assert keys({"priority": {"$lte": 2}}) == ["a", "b"]
    assert keys({"priority": None}) == ["e"]
    assert keys({"priority": {"$lt": None}}) == [] and keys({"priority": {"$lte": None}}) == ["e"]
    assert keys({"priority": True}) == ["f"]
    assert keys({"status": {"$in": ["done", "blocked"]}}) == ["b", "d", "f"]
    assert keys({"status": {"$ne": "pending"}}) == ["b", "d", "f"]
    assert keys({"status": {"$nin": ["pending", "done"]}}) == ["d"]
    assert keys({"status": "pending", "priority": {"$gt": 1}}) == ["c"]
    assert keys({"tags": "x"}) == ["a", "b", "e"]  # an array's elements, or the value itself
    assert keys({"tags": "y", "status": {"$in": ["done"]}}) == ["b"]
    assert keys(parent="M") == ["e", "f"]
    assert keys({"status": "pending"}, parent="L") == ["a", "c"]
    assert keys(parent="nobody") == []
    first = d.query("features", limit=4)
    assert [x.key for x in first] == ["a", "b", "c", "d"] and first.cursor == "d"
    assert keys(cursor=first.cursor) == ["e", "f"]
    # order_by an indexed path: null < true < numbers; an array by its smallest (or largest) element
    assert keys(order_by="priority") == ["e", "f", "a", "b", "d", "c"]
    assert keys(order_by="-priority") == ["c", "d", "b", "a", "f", "e"]
    assert keys({"status": "pending"}, order_by="priority") == ["e", "a", "c"]
    assert keys(order_by="tags") == ["f", "a", "b", "e", "d"] and keys(order_by="-tags") == ["d", "b", "e", "a", "f"]
    pages, cursor = [], None
    while True:
        page = d.query("features", order_by="-priority", limit=2, cursor=cursor)
        pages.append([x.key for x in page])
        if page.cursor is None:
            break
        cursor = page.cursor
    assert pages == [["c", "d"], ["b", "a"], ["f", "e"]]
    with pytest.raises(errors.InvalidArgument, match="order_by: owner is not an indexed path"):
        keys(order_by="owner")
    with pytest.raises(errors.InvalidArgument, match="cursor is not one"):
        keys(order_by="priority", cursor="d")
    # a patch moves a document between results at once
    d.patch("features", "a", {"op": "set", "path": "status", "value": "done"})
    assert keys({"status": "pending"}) == ["c", "e"]
    with pytest.raises(errors.InvalidArgument, match="owner is not an indexed path"):
        keys({"owner": "qa"})
    with pytest.raises(errors.InvalidArgument, match="the operators are"):
        keys({"status": {"$regex": "p.*"}})
    with pytest.raises(errors.InvalidArgument, match="not an object"):
        keys({"status": {"$in": [{"a": 1}]}})
    # declaring a new indexed path indexes the documents already there
    d.put("features", "g", {"status": "pending", "owner": "qa"})
    d.collection("features", parent="lists", indexed=["status", "owner"])
    assert keys({"owner": "qa"}) == ["g"]


def test_delete_cascades_and_restrict_refuses(store):
    d = store.documents
    d.collection("initiatives")
    d.collection("tasks", parent="initiatives", on_parent_delete="cascade")
    d.collection("comments", parent="tasks", on_parent_delete="restrict")
    d.put("initiatives", "i1", {"title": "one"})
    d.put("tasks", "t1", {"n": 1}, parent="i1")
    d.put("tasks", "t2", {"n": 2}, parent="i1")
    d.put("comments", "c1", {"text": "hi"}, parent="t2")
    d.link(("initiatives", "i1"), "tracks", ("tasks", "t1"))
    with pytest.raises(errors.DeleteRestricted, match="comments/c1"):
        d.delete("initiatives", "i1")
    assert d.get("tasks", "t2") is not None and d.get("initiatives", "i1") is not None
    assert d.delete("comments", "c1") == 1
    assert d.delete("initiatives", "i1") == 3
    assert d.get("tasks", "t1") is None and d.get("tasks", "t2") is None
    assert d.delete("initiatives", "i1") == 0
    d.put("tasks", "t3", {})
    assert d.links(("tasks", "t3")) == []
    with pytest.raises(errors.DocumentNotFound, match="parent document initiatives/i9"):
        d.put("tasks", "t4", {}, parent="i9")
    with pytest.raises(errors.InvalidArgument, match="has no parent collection"):
        d.put("initiatives", "i2", {}, parent="i1")


def test_links(store):
    d = store.documents
    d.collection("specs")
    d.collection("loops")
    d.put("specs", "s", {})
    d.put("loops", "l1", {})
    d.put("loops", "l2", {})
    assert d.link(("specs", "s"), "refined_by", ("loops", "l1"))
    assert not d.link(("specs", "s"), "refined_by", ("loops", "l1"))
    d.link(("specs", "s"), "refined_by", ("loops", "l2"))
    d.link(("loops", "l2"), "blocks", ("specs", "s"))
    assert [(x.rel, x.direction, x.key) for x in d.links(("specs", "s"))] == [
        ("refined_by", "out", "l1"), ("refined_by", "out", "l2"), ("blocks", "in", "l2")]
    assert [x.key for x in d.links(("specs", "s"), "refined_by", direction="out")] == ["l1", "l2"]
    assert d.unlink(("specs", "s"), "refined_by", ("loops", "l1"))
    assert d.delete("loops", "l2") == 1
    assert d.links(("specs", "s")) == []
    with pytest.raises(errors.DocumentNotFound):
        d.link(("specs", "s"), "x", ("loops", "nope"))


def test_render_markdown_and_json(store):
    d = store.documents
    d.collection("specs", {"type": "object", "properties": {"title": {"type": "string"},
                                                            "objectives": {"type": "array", "title": "Goals"},
                                                            "scope": {"type": "object"}}})
    d.put("specs", "s", {"zeta": "last | field", "scope": {"in": ["a"], "out": "b"}, "title": "Login",
                         "objectives": ["fast", "safe"], "steps": [{"id": 1, "text": "a|b"}, {"id": 2, "extra": True}]})
    text = d.render("specs", "s")
    assert text.startswith("# Login\n\n*specs/s, version 1*\n\n## Goals\n\n- fast\n- safe\n\n## Scope\n")
    assert "| id | text | extra |\n|---|---|---|\n| 1 | a\\|b |  |\n| 2 |  | true |" in text
    assert text.index("## Scope") < text.index("## Zeta") < text.index("## Steps")
    assert json.loads(d.render("specs", "s", "json"))["title"] == "Login"
    with pytest.raises(errors.InvalidArgument, match="format"):
        d.render("specs", "s", "html")


def test_import_a_feature_list(store):
    d = store.documents
    result = d.import_features(FEATURES)
    assert result.list_key == "shop" and result.created == ["shop", "auth", "cart", "pay"]
    auth = d.get("features", "auth")
    assert auth.parent == "shop" and auth.body["x-owner"] == "qa" and auth.body["steps"][0]["text"] == "login"
    assert d.get("feature_lists", "shop").body == {"project_name": "shop"}
    assert [x.key for x in d.query("features", {"status": "pending"}, parent="shop")] == ["auth", "pay"]
    again = d.import_features(FEATURES)
    assert again.created == [] and again.updated == [] and len(again.unchanged) == 4
    other = {"project_name": "other", "features": [{"id": "auth"}]}
    with pytest.raises(errors.InvalidArgument, match="prefix"):
        d.import_features(other)
    assert d.get("feature_lists", "other") is None  # nothing of a refused import
    assert d.import_features(other, prefix="other-").created == ["other", "other-auth"]
    with pytest.raises(errors.InvalidArgument, match=r"features\[1\] repeats the id"):
        d.import_features({"project_name": "x", "features": [{"id": 1}, {"id": 1}]})


def test_compare_and_set(store):
    d = store.documents
    d.collection("c")
    d.put("c", "k", {"v": 1}, expected_version=0)
    with pytest.raises(errors.VersionConflict, match="expected to be absent, but it is at version 1"):
        d.put("c", "k", {"v": 2}, expected_version=0)
    with pytest.raises(errors.VersionConflict, match="expected at version 5"):
        d.patch("c", "k", {"op": "set", "path": "v", "value": 3}, expected_version=5)
    assert d.patch("c", "k", {"op": "set", "path": "v", "value": 3}, expected_version=1).version == 2
    with pytest.raises(errors.VersionConflict):
        d.delete("c", "k", expected_version=1)
    assert d.delete("c", "k", expected_version=2) == 1


def test_events_commit_with_the_writes(store):
    d = store.documents
    d.collection("c")
    d.put("c", "k", {})
    d.patch("c", "k", {"op": "set", "path": "a", "value": 1})
    with pytest.raises(errors.InvalidArgument):
        d.patch("c", "k", {"op": "append", "path": "a", "value": 1})
    d.delete("c", "k")
    events = store.events.query(["document.put", "document.patched", "document.deleted"])
    assert [(e.topic, e.payload["version"]) for e in events] == [
        ("document.put", 1), ("document.patched", 2), ("document.deleted", 2)]


def test_bad_input_is_refused_clearly(store):
    d = store.documents
    with pytest.raises(errors.CollectionNotFound, match="declare it first"):
        d.put("nowhere", "k", {})
    with pytest.raises(errors.CollectionNotFound):
        d.get("nowhere", "k")
    with pytest.raises(errors.CollectionNotFound):
        d.query("nowhere")
    d.collection("c")
    for bad, message in [
        ([1, 2], "must be a JSON object"),
        ({"a": float("nan")}, "cannot be stored as JSON"),
        ({"a": "x" * (2**20 + 1)}, "the limit is 1,048,576"),
        ({1: "a"}, "JSON object keys must be strings"),
    ]:
        with pytest.raises(errors.InvalidArgument, match=message):
            d.put("c", "k", bad)
    deep: dict[str, object] = {}
    node = deep
    for _ in range(100):
        node["a"] = {}
        node = node["a"]  # type: ignore[assignment]
    with pytest.raises(errors.InvalidArgument, match="levels deep"):
        d.put("c", "k", deep)
    for key in ["", " k", "a\x00b", "x" * 600]:
        with pytest.raises(errors.InvalidArgument):
            d.put("c", key, {})
    with pytest.raises(errors.InvalidArgument, match="collection name"):
        d.collection("has/slash")
    with pytest.raises(errors.InvalidArgument, match="frozen_after"):
        d.collection("c2", frozen_after="later")
    with pytest.raises(errors.CollectionNotFound):
        d.collection("c3", parent="missing")
    with pytest.raises(errors.DocumentNotFound):
        d.patch("c", "absent", {"op": "set", "path": "a", "value": 1})
    d.put("c", "k", {"a": 1})
    with pytest.raises(errors.InvalidArgument, match="the limit is 1,048,576"):
        d.patch("c", "k", {"op": "set", "path": "big", "value": "x" * 2**20})
    assert d.get("c", "k").body == {"a": 1} and d.get("c", "k").version == 1


def test_the_async_face(url):
    async def main() -> None:
        async with roost.connect_async(url, project="docs") as s:
            await s.documents.collection("c")
            await s.documents.put("c", "k", {"a": 1})
            doc = await s.documents.patch("c", "k", {"op": "increment", "path": "a"})
            assert doc.body == {"a": 2}
    asyncio.run(main())


def test_a_query_follows_a_declaration_changed_by_another_store(url):
    """Queries remember the declaration; one changed by another process is noticed at once."""
    with roost.connect(url, project="docs") as mine, roost.connect(url, project="docs") as theirs:
        mine.documents.collection("c", indexed=["a"])
        mine.documents.put("c", "k1", {"a": 1, "b": 2})
        assert [d.key for d in mine.documents.query("c", {"a": 1})] == ["k1"]  # (remembered now)
        theirs.documents.collection("c", indexed=["b"])
        assert [d.key for d in mine.documents.query("c", {"b": 2})] == ["k1"]
        with pytest.raises(errors.InvalidArgument, match="a is not an indexed path"):
            mine.documents.query("c", {"a": 1})
        theirs.documents.collection("c", indexed=["a", "b"])
        assert [d.key for d in mine.documents.query("c", {"a": 1})] == ["k1"]
        assert [d.key for d in mine.documents.query("c", {"a": 5})] == []
