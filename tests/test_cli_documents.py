"""Acceptance tests for `roost doc`: the real command in subprocesses, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from roost.cli.documents import loose_value, split_assignment
from tests.test_cli import run

FEATURES = {"project_name": "shop", "features": [
    {"id": "auth", "status": "pending", "priority": 1, "steps": [{"id": "s1", "text": "login", "done": False}],
     "x-notes": "kept"},
    {"id": "cart", "status": "pending", "priority": 2},
]}


def test_the_document_commands(db, tmp_path):
    def roost(*args: str, stdin: str | None = None):
        return run(*args, "--url", db, cwd=tmp_path, stdin=stdin)

    assert roost("doc", "declare", "feature_lists").stdout.strip() == "1"
    declared = roost("doc", "declare", "features", "--parent", "feature_lists", "--index", "status", "--index",
                     "priority", "--frozen", "id", "--history", "5")
    assert declared.returncode == 0 and declared.stdout.strip() == "1", declared.stderr
    again = roost("doc", "declare", "features", "--parent", "feature_lists", "--index", "status", "--index",
                  "priority", "--frozen", "id", "--history", "5")
    assert again.stdout.strip() == "1 (unchanged)"
    (tmp_path / "features.json").write_text(json.dumps(FEATURES))
    assert roost("doc", "import", "features.json").stdout.strip() == "shop: 3 created, 0 updated, 0 unchanged"
    patched = roost("doc", "patch", "features", "auth", "--set", "status=done", "--set", "steps[id=s1].done=true",
                    "--increment", "tries", "--append", "log=first", "--agent", "qa")
    assert patched.returncode == 0 and patched.stdout.strip() == "2", patched.stderr
    body = json.loads(roost("doc", "get", "features", "auth").stdout)
    assert body == {"id": "auth", "status": "done", "priority": 1, "x-notes": "kept", "tries": 1, "log": ["first"],
                    "steps": [{"id": "s1", "text": "login", "done": True}]}
    ops = '[{"op": "remove", "path": "log"}]'
    assert roost("doc", "patch", "features", "auth", "-", stdin=ops).stdout.strip() == "3"
    assert "log" not in json.loads(roost("doc", "get", "features", "auth", "--version", "3").stdout)
    assert json.loads(roost("doc", "get", "features", "auth", "--version", "1").stdout)["status"] == "pending"
    listed = json.loads(roost("doc", "query", "features", "--where", "status=pending", "--json").stdout)
    assert [d["key"] for d in listed["documents"]] == ["cart"] and listed["documents"][0]["parent"] == "shop"
    ranged = json.loads(roost("doc", "query", "features", "--where-json", '{"priority": {"$gte": 1}}', "--limit", "1",
                              "--json").stdout)
    assert [d["key"] for d in ranged["documents"]] == ["auth"] and ranged["cursor"] == "auth"
    ordered = json.loads(roost("doc", "query", "features", "--order-by", "-priority", "--json").stdout)
    assert [d["key"] for d in ordered["documents"]] == ["cart", "auth"]
    history = json.loads(roost("doc", "history", "features", "auth", "--json").stdout)["versions"]
    assert [(v["version"], v["agent"]) for v in history] == [(3, None), (2, "qa"), (1, None)]
    assert roost("doc", "diff", "features", "auth", "1", "2").stdout.splitlines() == [
        '~ status: "pending" -> "done"', "~ steps[id=s1].done: false -> true", '+ log: ["first"]', "+ tries: 1"]
    rendered = roost("doc", "render", "features", "auth").stdout
    assert rendered.startswith("# features/auth\n") and "| s1 | login | true |" in rendered
    frozen = roost("doc", "patch", "features", "auth", "--set", "id=other", "--json")
    assert frozen.returncode == 1 and json.loads(frozen.stderr)["error"]["name"] == "FrozenField"
    stale = roost("doc", "put", "features", "cart", '{"id": "cart"}', "--if-version", "7")
    assert stale.returncode == 3 and "expected at version 7" in stale.stderr
    assert roost("doc", "put", "features", "new", '{"id": "new"}', "--parent", "shop").stdout.strip() == "1"
    assert roost("doc", "link", "features/auth", "blocks", "features/cart").stdout.strip() == "done"
    assert roost("doc", "links", "features/cart").stdout.strip() == "blocks <- features/auth"
    assert roost("doc", "get", "nowhere", "k").returncode == 3
    bad = roost("doc", "put", "features", "x", "[1, 2]")
    assert bad.returncode == 1 and "must be a JSON object" in bad.stderr
    assert roost("doc", "patch", "features", "auth").returncode == 2
    names = json.loads(roost("doc", "collections", "--json").stdout)["collections"]
    assert [c["name"] for c in names] == ["feature_lists", "features"]
    assert roost("doc", "rm", "feature_lists", "shop").stdout.strip() == "deleted 4 document(s)"
    assert roost("doc", "get", "features", "auth").returncode == 3
    assert roost("doc", "rm", "feature_lists", "shop").returncode == 3


def test_assignments_split_outside_brackets():
    assert split_assignment("features[id=auth].status=done") == ("features[id=auth].status", "done")
    assert split_assignment('a[k="x=]y"]=1') == ('a[k="x=]y"]', "1")
    assert split_assignment("tries") == ("tries", None)
    assert split_assignment("note=a=b") == ("note", "a=b")
    assert [loose_value(x) for x in ("3", "true", '"3"', "done", "[1]", "")] == [3, True, "3", "done", [1], ""]
