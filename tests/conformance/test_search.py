"""Search on every backend: one fixed corpus and hand-written expectations (the same hit sets on
SQLite and PostgreSQL), hostile queries, scoping, visibility, paging, retention and fuzzy lookup.

The expected hit sets below were worked out by hand from the corpus text and the documented query
language (docs/search.md), not produced by the code under test.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

import roost
from roost import errors
from tests.helpers import backdate

# -- the corpus -------------------------------------------------------------------------------------

SESSIONS = {"s-deploy": "Deploy the billing service", "s-parser": "Write the parser for the query language"}
ENTRIES = {  # label: (session, agent, text)
    "t1": ("s-deploy", "coder", "The deploy of POL-358 failed at 02:00 because the database migration timed out."),
    "t2": ("s-deploy", "coder", "Retrying the deployment after raising the migration timeout to 10 minutes."),
    "t3": ("s-deploy", "qa", "POL-358 is fixed; the deploy went through and the billing service is healthy."),
    "t4": ("s-deploy", "manager", "Café opening hours were posted in the résumé channel by mistake."),
    "t5": ("s-deploy", "manager", "Send an e-mail to ops@example.com about C++ build flags."),
    "t6": ("s-parser", "coder", "The tokenizer splits words on punctuation; the parser builds phrases."),
    "t7": ("s-parser", "coder", "Prefix queries like pars* should match parser and parsing."),
    "t8": ("s-parser", "qa", "Nothing about deployments here, only grammar and tokens."),
}
MEMORIES = {  # key: (content, tags)
    "billing-runbook": ({"title": "Billing runbook", "steps": ["check the queue", "restart the billing worker"]}, []),
    "parser-notes": ("The parser must never raise on user input.", ["design"]),
    "deploy-checklist": ({"items": ["run migrations", "deploy", "smoke test"]}, ["ops"]),
}
OBSERVATIONS = {"o1": ("coder", "migration timeout looks too low for the billing database"),
                "o2": ("qa", "smoke test passed after the deploy")}

# query -> the hits expected, as labels: t*/o* entries and observations, memory keys, sessions by
# id, artifacts as name@version.
EXPECTED = {
    "deploy": {"t1", "t3", "deploy-checklist", "o2", "report.md@2", "s-deploy"},
    "deploy*": {"t1", "t2", "t3", "t8", "deploy-checklist", "o2", "report.md@2", "s-deploy"},
    "DEPLOY": {"t1", "t3", "deploy-checklist", "o2", "report.md@2", "s-deploy"},
    "POL-358": {"t1", "t3", "report.md@2"},
    "pol 358": {"t1", "t3", "report.md@2"},
    '"migration timeout"': {"t2", "o1"},
    "migration timeout": {"t2", "o1"},
    "migration -timeout": {"t1"},
    "cafe": {"t4"},
    "CAFÉ résumé": {"t4"},
    "resume": {"t4"},
    "billing OR parser": {"s-deploy", "t3", "billing-runbook", "o1", "s-parser", "t6", "t7", "parser-notes"},
    "e-mail": {"t5"},
    "C++": {"t5"},
    "ops@example.com": {"t5"},
    "pars*": {"t6", "t7", "parser-notes", "s-parser"},
    "smoke test": {"o2", "deploy-checklist"},
    '"restart the billing worker"': {"billing-runbook"},
    '"billing restart"': set(),
    "incident": {"report.md@2"},
    "word phrase": {"grammar.txt@1"},
    "restart OR deploy -billing": {"t1", "deploy-checklist", "o2", "report.md@2"},
    '"the deploy" -"billing service"': {"t1", "o2"},
    "nonexistentword": set(),
    "(": set(),
    "-deploy": set(),
    "OR": set(),
}


def build(store) -> dict[tuple[str, object], str]:
    """Write the corpus; returns each hit's (kind, id) with its label."""
    labels: dict[tuple[str, object], str] = {}
    for sid, title in SESSIONS.items():
        store.sessions.create(title, id=sid)
        labels[("session", sid)] = sid
    for label, (sid, agent, text) in ENTRIES.items():
        labels[("transcript", store.transcripts.append(sid, "assistant", text, agent=agent).id)] = label
    for key, (content, tags) in MEMORIES.items():
        store.memories.put(key, content, tags=tags)
    for label, (agent, text) in OBSERVATIONS.items():
        labels[("observation", store.observations.add(agent, text).id)] = label
    store.artifacts.put("report.md", "Incident report: deploy failed, migration timeout.")
    store.artifacts.put("report.md", "Incident report: POL-358 resolved, deploy succeeded.")
    store.artifacts.put("grammar.txt", "word := letter+ ; phrase := '\"' word+ '\"'", session="s-parser")
    store.artifacts.put("binary.bin", b"\x00\x01deploy\xff")
    return labels


def found(store, labels, query: str, **options) -> set[str]:
    hits = store.search(query, limit=200, **options).hits
    out = set()
    for hit in hits:
        if hit.kind == "artifact":
            out.add(f"{hit.name}@{hit.version}")
        elif hit.kind == "memory":
            out.add(str(hit.name))
        else:
            out.add(labels[(hit.kind, hit.id)])
    return out


@pytest.fixture
def corpus(url):
    with roost.connect(url) as store:
        labels = build(store)
        yield store, labels


def test_fixed_corpus_gives_the_hand_written_hits(corpus):
    store, labels = corpus
    wrong = {}
    for query, expected in EXPECTED.items():
        got = found(store, labels, query)
        if got != expected:
            wrong[query] = (sorted(got - expected), sorted(expected - got))
    assert wrong == {}, "unexpected (extra, missing) hits"


def test_filters_narrow_the_hits(corpus):
    store, labels = corpus
    assert found(store, labels, "deploy", kinds=["transcript"]) == {"t1", "t3"}
    assert found(store, labels, "deploy", kinds="observation") == {"o2"}
    assert found(store, labels, "deploy*", session="s-parser") == {"t8"}
    assert found(store, labels, "deploy*", agent="qa") == {"t3", "t8", "o2"}
    assert found(store, labels, "parser OR deploy", tags=["ops"]) == {"deploy-checklist"}
    assert found(store, labels, "parser OR deploy", tags=["ops", "design"]) == set()
    assert found(store, labels, "incident", all_versions=True) == {"report.md@1", "report.md@2"}
    assert found(store, labels, "deploy", type="assistant") == {"t1", "t3"}
    assert found(store, labels, "word*", session="s-parser") == {"t6", "grammar.txt@1"}
    first = store.search("deploy*", kinds=["transcript"], order="recent").hits
    assert [labels[("transcript", h.id)] for h in first] == ["t8", "t3", "t2", "t1"]
    hour_ago, in_an_hour = time.time() - 3600, datetime.now(UTC) + timedelta(hours=1)
    assert found(store, labels, "deploy*", kinds=["transcript"], since=hour_ago) == {"t1", "t2", "t3", "t8"}
    assert found(store, labels, "deploy*", kinds=["transcript"], since=in_an_hour) == set()
    assert found(store, labels, "deploy*", kinds=["transcript"], until=in_an_hour) == {"t1", "t2", "t3", "t8"}
    assert found(store, labels, "deploy*", until=hour_ago) == set()


def test_snippets_mark_matches_escape_html_and_give_offsets(url):
    with roost.connect(url) as store:
        store.sessions.create("Snippets", id="s")
        text = "Fix <b>POL-358</b> & retry: the deploy of POL-358 failed twice.\nSee the deploy log."
        store.transcripts.append("s", "assistant", text)
        hit = store.search("POL-358 deploy").hits[0]
        assert hit.text == text
        assert [text[a:b] for a, b in hit.matches] == ["POL", "358", "deploy", "POL", "358", "deploy"]
        assert "&lt;b&gt;<mark>POL</mark>-<mark>358</mark>&lt;/b&gt; &amp; retry" in hit.snippet
        assert "<b>" not in hit.snippet and "\n" not in hit.snippet
        plain = store.search("deploy", markers=("[", "]"), escape=False).hits[0]
        assert "Fix <b>POL-358</b> & retry: the [deploy] of" in plain.snippet
        phrase = store.search('"the deploy log"').hits[0]
        assert [text[a:b] for a, b in phrase.matches] == ["the", "deploy", "log"]
        long = " ".join(["filler"] * 200) + " needle " + " ".join(["filler"] * 200)
        store.transcripts.append("s", "assistant", long)
        hit = store.search("needle").hits[0]
        assert hit.snippet.startswith("…") and hit.snippet.endswith("…") and "<mark>needle</mark>" in hit.snippet
        assert len(hit.snippet) < 300


def test_clear_cut_ranking_is_the_same_on_every_backend(url):
    with roost.connect(url) as store:
        store.sessions.create("Ranking", id="r")
        filler = " ".join(f"word{i}" for i in range(30))
        texts = {"few": f"zebra {filler}", "many": "zebra zebra zebra zebra", "one": "zebra lion tiger bear wolf"}
        ids: dict[int | str, str] = {store.transcripts.append("r", "assistant", t).id: n for n, t in texts.items()}
        ranked = [ids[h.id] for h in store.search("zebra").hits]
        assert ranked == ["many", "one", "few"]
        scores = [h.score for h in store.search("zebra").hits]
        assert scores == sorted(scores, reverse=True) and scores[-1] > 0
        assert [ids[h.id] for h in store.search("zebra lion").hits] == ["one"]


# -- bad input ------------------------------------------------------------------------------------

HOSTILE = [
    "AND", "OR", "NOT", "NEAR", "and", "or", "not", "near", "NEAR(a b, 2)", "NEAR(a b)", "a NEAR b", "^", "^a",
    "*", "**", "a*b", "*a", ":", "title:x", "body:deploy", "{a b}:c", "{body}:deploy", "\"", "\"\"", "\"unbalanced",
    "unbalanced\"", "(", ")", "()", "(a", "a)", "((a OR b)", "-", "--", "---deploy", "+", "+a", "a + b", "a AND",
    "AND a", "a OR OR b", "OR a", "a NOT", "NOT a", "a AND NOT b", "POL-358", "C++", "e-mail", "-e-mail",
    "'; DROP TABLE transcript_entries; --", "1; SELECT * FROM sqlite_master", "' OR 1=1 --", "%", "_", "\\",
    "a\\b", "\x00", "a\x00b", "\ud800", "a\udfffb", "עברית ומילים", "مرحبا بالعالم", "🎉", "deploy 🎉 🚀", "\u200b",
    "\u202e deploy", "x" * 10_000, "deploy " * 2_000, "a" * 3_000, "é" * 2_000, "'", "''", "a'b", "&", "|", "!",
    "<->", "a <-> b", "a:*", "a & b", "!a", "a | b", "$$", "\t\ndeploy\r\n", "deploy*", "\"deploy*\"",
]


def test_hostile_queries_never_raise(corpus):
    store, _ = corpus
    assert len(HOSTILE) >= 50
    for query in HOSTILE:
        hits = store.search(query, limit=5).hits  # no exception is the assertion; the result is a list
        assert isinstance(hits, list), query
    assert found(store, corpus[1], "---deploy OR --") == set()
    assert found(store, corpus[1], "deploy 🎉 🚀") == EXPECTED["deploy"]


def test_bad_arguments_are_clear_errors(corpus):
    store, _ = corpus
    with pytest.raises(errors.InvalidArgument, match="query is empty"):
        store.search("")
    with pytest.raises(errors.InvalidArgument, match="query is empty"):
        store.search("  \t\n")
    with pytest.raises(errors.InvalidArgument, match="query must be a string"):
        store.search(None)
    for limit in (0, -1, 201, "10", 2.5, True):
        with pytest.raises(errors.InvalidArgument, match="limit"):
            store.search("deploy", limit=limit)
    with pytest.raises(errors.InvalidArgument, match="unknown kind 'memories'"):
        store.search("deploy", kinds=["memories"])
    with pytest.raises(errors.InvalidArgument, match="kinds is empty"):
        store.search("deploy", kinds=[])
    with pytest.raises(errors.InvalidArgument, match="kinds must be a list"):
        store.search("deploy", kinds=7)
    for cursor in ("nope", "", "x" * 500, "WzEsInJlbGV2YW5jZSJd", 12):
        with pytest.raises(errors.InvalidArgument, match="cursor"):
            store.search("deploy", cursor=cursor)
    with pytest.raises(errors.InvalidArgument, match="order"):
        store.search("deploy", order="best")
    recent = store.search("deploy", limit=1, order="recent").cursor
    with pytest.raises(errors.InvalidArgument, match="'recent' order"):
        store.search("deploy", cursor=recent)
    with pytest.raises(errors.InvalidArgument, match="since"):
        store.search("deploy", since="yesterday")
    with pytest.raises(errors.InvalidArgument, match="timezone-aware"):
        store.search("deploy", until=datetime(2026, 1, 1))
    with pytest.raises(errors.InvalidArgument, match="session id"):
        store.search("deploy", session="")
    with pytest.raises(errors.InvalidArgument, match="tag"):
        store.search("deploy", tags=["not a tag!"])
    with pytest.raises(errors.InvalidArgument, match="tags must be a list"):
        store.search("deploy", tags="ops")
    with pytest.raises(errors.InvalidArgument, match="markers"):
        store.search("deploy", markers=("<b>",))
    with pytest.raises(errors.InvalidArgument, match="raw query"):
        store.search('deploy AND (', raw=True)
    assert store.search("deploy", raw=True).hits  # the backend's own syntax, for a plain word
    for name in ("", "  ", None, "x" * 513, "a\x00b"):
        with pytest.raises(errors.InvalidArgument, match="name"):
            store.find(name)
    with pytest.raises(errors.InvalidArgument, match="unknown kind 'memory_key'"):
        store.find("deploy", kinds=["memory_key"])
    with pytest.raises(errors.InvalidArgument, match="limit"):
        store.find("deploy", limit=0)


# -- paging, visibility, deletes, retention, scoping --------------------------------------------


def test_pages_are_stable_while_records_arrive(url):
    with roost.connect(url) as store:
        store.sessions.create("Paging", id="p")
        for i in range(25):
            store.transcripts.append("p", "assistant", f"needle number {i} " + "hay " * (i % 7))
        for order in ("relevance", "recent"):
            existing = len(store.search("needle", limit=200).hits)
            seen: list[int] = []
            page = store.search("needle", limit=4, order=order)
            while True:
                seen.extend(int(h.id) for h in page.hits)
                store.transcripts.append("p", "assistant", "needle that arrived while paging")
                if page.cursor is None:
                    break
                page = store.search("needle", limit=4, order=order, cursor=page.cursor)
            assert len(seen) == len(set(seen)) == existing, order  # each once; none of those that arrived


def test_a_write_is_searchable_when_committed_and_never_when_rolled_back(url):
    with roost.connect(url) as store:
        store.sessions.create("Tx", id="tx")
        with store.transaction():
            store.transcripts.append("tx", "assistant", "committedword arrives")
            assert [h.kind for h in store.search("committedword").hits] == ["transcript"]
        with pytest.raises(RuntimeError), store.transaction():
            store.transcripts.append("tx", "assistant", "rolledbackword arrives")
            store.memories.put("rolled", "rolledbackword too")
            raise RuntimeError("abandon")
        assert store.search("rolledbackword").hits == []
        assert [h.kind for h in store.search("committedword").hits] == ["transcript"]
        with roost.connect(url) as other:
            assert [h.kind for h in other.search("committedword").hits] == ["transcript"]


def test_deletes_and_retention_remove_hits(url):
    with roost.connect(url) as store:
        store.sessions.create("Gone soon", id="gone")
        store.transcripts.append("gone", "assistant", "ephemeral entry")
        store.memories.put("eph", "ephemeral memory")
        store.memories.put("eph2", "ephemeral memory two", session="gone")
        store.observations.add("coder", "ephemeral observation")
        store.artifacts.put("eph.txt", "ephemeral artifact")
        assert {h.kind for h in store.search("ephemeral").hits} == {"transcript", "memory", "observation", "artifact"}
        store.memories.put("eph", "now about something else")
        assert [h.name for h in store.search("ephemeral", kinds=["memory"]).hits] == ["eph2"]
        assert [h.name for h in store.search("something else").hits] == ["eph"]
        store.memories.delete("eph")
        assert store.search("something else").hits == []
        store.artifacts.delete("eph.txt")
        assert store.search("ephemeral", kinds=["artifact"]).hits == []
        store.sessions.delete("gone")
        assert {h.kind for h in store.search("ephemeral").hits} == {"observation"}
        backdate(store, "observations", ["created_at"], 8 * 86400)
        assert store.search("ephemeral").hits == []  # past retention: hidden before cleanup
        assert store.observations.cleanup() == 1
        assert store.search("ephemeral").hits == []


def test_projects_never_cross(url):
    with roost.connect(url, project="acme") as acme, roost.connect(url, project="acme-corp") as corp:
        for store in (acme, corp):
            store.sessions.create("Shared title", id="same")
            store.transcripts.append("same", "assistant", f"secret plan of {store.project}")
            store.memories.put("secret-key", f"secret memory of {store.project}")
            store.agents.register("secret-agent")
        for store in (acme, corp):
            hits = store.search("secret").hits
            assert len(hits) == 2 and all(store.project in h.text for h in hits)
            assert [(m.kind, m.name) for m in store.find("secret_agnt", kinds=["agent"])] == [("agent", "secret-agent")]
            assert [m.name for m in store.find("secret_kye", kinds=["memory"])] == ["secret-key"]
        acme.sessions.create("Other", id="other")
        acme.transcripts.append("other", "assistant", "secret elsewhere")
        assert [h.session for h in acme.search("secret", session="same", kinds=["transcript"]).hits] == ["same"]
        assert len(acme.search("secret", kinds=["transcript"]).hits) == 2


# -- fuzzy lookup ---------------------------------------------------------------------------------

TYPOS = {  # what a user types -> the name they meant (each worked out by hand from pg_trgm's rule)
    "regster_agnt": ("memory", "register_agent"),
    "Code Reviewer": ("agent", "code-reviewer"),
    "qa_runer": ("agent", "qa-runner"),
    "sprint planing": ("session", "sprint-planning"),
    "desing-spec": ("artifact", "design-spec.md"),
    "relase notes": ("memory", "release-notes"),
    "deploymnt": ("tag", "deployment"),
    "BUILD-STATUS": ("signal", "build_status"),
    "deploy_lok": ("lock", "deploy-lock"),
}


def names(store) -> None:
    store.agents.register("code-reviewer")
    store.agents.register("qa-runner")
    store.sessions.create("Sprint", id="sprint-planning")
    store.artifacts.put("design-spec.md", "spec")
    store.memories.put("register_agent", "how to register an agent", tags=["deployment"])
    store.memories.put("release-notes", "notes")
    store.signals.set("build_status", "green")
    with store.locks.hold("deploy-lock", owner="coder", ttl=30):
        pass
    store.agents.register("deploy-bot")


def test_fuzzy_lookup_finds_what_was_meant(url):
    with roost.connect(url) as store:
        names(store)
        for typo, (kind, name) in TYPOS.items():
            best = store.find(typo)
            assert best and (best[0].kind, best[0].name) == (kind, name), typo
            assert 0.3 <= best[0].score <= 1.0
        assert [(m.kind, m.name) for m in store.find("qa")] == [("agent", "qa-runner")]  # short: a prefix
        assert [m.name for m in store.find("deploy", kinds=["lock"])] == ["deploy-lock"]
        assert store.find("zzzzzz") == []
        store.memories.delete("register_agent")  # the last memory with the key and the tag
        assert [m.name for m in store.find("regster_agnt")] == []
        assert [m.name for m in store.find("deploymnt", kinds=["tag"])] == []
        store.agents.deregister("qa-runner")
        assert store.find("qa_runer") == []


# -- property tests ---------------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

QUERY_TEXT = st.lists(st.text(max_size=8) | st.sampled_from(
    ['"', "-", "*", "OR", "AND", "NOT", "NEAR", "(", ")", ":", "^", "+", "{", "}", " ", "deploy", "POL-358", "-deploy",
     "deploy*", '"deploy', "\x00"]), min_size=1, max_size=10).map("".join)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERY_TEXT)
def test_generated_queries_never_raise(corpus, query):
    store, _ = corpus
    if not query.strip():
        with pytest.raises(errors.InvalidArgument, match="query is empty"):
            store.search(query)
        return
    assert isinstance(store.search(query, limit=3).hits, list)


def test_the_async_face_searches_and_finds(url):
    import asyncio

    async def main() -> tuple[list[str], list[str]]:
        async with roost.connect_async(url) as store:
            await store.memories.put("async-notes", "written and found without blocking the loop")
            hits = (await store.search("blocking loop")).hits
            return [h.name or "" for h in hits], [m.name for m in await store.find("async_nots")]

    assert asyncio.run(main()) == (["async-notes"], ["async-notes"])
