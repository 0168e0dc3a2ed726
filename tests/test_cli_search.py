"""Acceptance tests for `roost search` and `roost find`: the real command in subprocesses, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json

from tests.test_cli import run


def test_search_and_find(db, tmp_path):
    def roost(*args: str):
        return run(*args, "--url", db, cwd=tmp_path)

    assert roost("session", "create", "Deploy the billing service", "--id", "plan").returncode == 0
    assert roost("transcript", "add", "plan", "assistant", "The deploy of POL-358 <failed> at night",
                 "--agent", "coder").returncode == 0
    assert roost("memory", "put", "release-notes", "deploy checklist", "--tag", "ops").returncode == 0
    assert roost("observe", "qa", "the deploy looks flaky").returncode == 0
    assert roost("agent", "register", "code-reviewer").returncode == 0

    human = roost("search", "deploy")
    assert human.returncode == 0, human.stderr
    assert "transcript plan #1 (assistant)" in human.stdout and "memory release-notes" in human.stdout
    assert "The deploy of POL-358 <failed> at night" in human.stdout  # people see the text, not HTML
    lines = roost("search", "POL-358", "--json").stdout.splitlines()
    hits = [json.loads(line) for line in lines]
    assert [h["kind"] for h in hits] == ["transcript"]
    assert hits[0]["snippet"] == "The deploy of <mark>POL</mark>-<mark>358</mark> &lt;failed&gt; at night"
    assert hits[0]["matches"] == [[14, 17], [18, 21]] and hits[0]["agent"] == "coder"
    kinds = [json.loads(x)["kind"] for x in roost("search", "deploy", "--kind", "memory", "--kind", "observation",
                                                   "--json").stdout.splitlines()]
    assert sorted(kinds) == ["memory", "observation"]
    tagged = roost("search", "deploy", "--tag", "ops", "--json").stdout.splitlines()
    assert [json.loads(x)["name"] for x in tagged] == ["release-notes"]
    assert roost("search", "deploy", "--agent", "qa", "--since", "1h", "--json").stdout.count("\n") == 1
    assert roost("search", "deploy", "--until", "1h", "--json").stdout == ""
    paged = roost("search", "deploy", "--limit", "1", "--json")
    assert paged.stdout.count("\n") == 1 and "more hits: --cursor " in paged.stderr
    cursor = paged.stderr.split("--cursor ")[1].split()[0]
    rest = roost("search", "deploy", "--limit", "10", "--cursor", cursor, "--json").stdout.splitlines()
    first = json.loads(paged.stdout)
    assert len(rest) == 3 and (first["kind"], first["id"]) not in [(json.loads(x)["kind"], json.loads(x)["id"])
                                                                  for x in rest]
    assert roost("search", "nothing-like-this").stdout.strip() == "no hits"
    for hostile in ('"unbalanced NEAR(a b, 2) title:x', "C++ - AND OR"):
        done = roost("search", hostile, "--json")
        assert done.returncode == 0, (hostile, done.stderr)

    empty = roost("search", "  ", "--json")
    assert empty.returncode == 1 and json.loads(empty.stderr)["error"]["name"] == "InvalidArgument"
    assert roost("search", "deploy", "--since", "yesterday").returncode == 1
    assert roost("search", "deploy", "--kind", "memories").returncode == 2  # click refuses the choice
    assert roost("search", "deploy", "--cursor", "garbage").returncode == 1

    found = json.loads(roost("find", "Code Reviewr", "--json").stdout)
    assert found[0] == {"kind": "agent", "name": "code-reviewer", "score": found[0]["score"]}
    assert 0.3 <= found[0]["score"] < 1
    assert json.loads(roost("find", "relese", "--kind", "memory", "--json").stdout)[0]["name"] == "release-notes"
    assert "nothing close" in roost("find", "zzzzzz").stdout
    assert roost("find", "", "--json").returncode == 1
