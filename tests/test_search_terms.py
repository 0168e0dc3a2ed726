"""The tokenizer and the query language, without a store: roost's terms are unicode61's, and no
query the parser builds can carry the user's syntax to FTS5 or to tsquery."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.search import query as q
from roost.search import snippets, tokens


@pytest.fixture(scope="module")
def fts():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(x, tokenize='unicode61 remove_diacritics 2', content='')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'instance')")
    return db


def unicode61(db: sqlite3.Connection, text: str) -> list[str]:
    db.execute("INSERT INTO f(f) VALUES ('delete-all')")
    db.execute("INSERT INTO f(rowid, x) VALUES (1, ?)", (text,))
    return [row[0] for row in db.execute("SELECT term FROM v ORDER BY offset")]


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40) | st.text(
    st.sampled_from("aZé É-_'\"*:ß日本🎉\u0661 \u0301\u200b\u0391ά.,;\t\nİǅ"), max_size=40)


@settings(max_examples=400, deadline=None)
@given(text=TEXT)
def test_roosts_terms_are_unicode61s(fts, text):
    assert tokens.terms(text) == unicode61(fts, text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_built_queries_are_valid_fts5_and_only_hold_terms(fts, text):
    if not text.strip():
        with pytest.raises(Exception, match="query is empty"):
            q.parse(text)
        return
    parsed = q.parse(text)
    if parsed.matches_nothing:
        return
    fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (q.fts5(parsed),)).fetchall()  # raises if invalid
    for term in parsed.positive() + list(parsed.excluded):
        for word in term.words:
            assert tokens.terms(word) == [word]  # a term is one index term: nothing else to interpret


def test_the_language():
    parsed = q.parse('deploy "exact phrase" OR other -bad -"two words" pre* POL-358')
    assert parsed.groups == ((q.Term(("deploy",)),), (q.Term(("exact", "phrase")), q.Term(("other",))),
                             (q.Term(("pre",), prefix=True),), (q.Term(("pol", "358")),))
    assert parsed.excluded == (q.Term(("bad",)), q.Term(("two", "words")))
    assert q.fts5(parsed) == ('("deploy" AND ("exact phrase" OR "other") AND "pre" * AND "pol 358") '
                              'NOT ("bad" OR "two words")')
    assert q.tsquery(parsed) == ("'deploy' & (('exact' <-> 'phrase') | 'other') & 'pre':* & ('pol' <-> '358') "
                                 "& !('bad' | ('two' <-> 'words'))")
    assert q.parse("AND OR NOT").groups == ((q.Term(("and",)), q.Term(("not",))),)  # words, either one
    assert q.parse("( ) -- * OR").matches_nothing
    assert q.parse("-only -exclusions").matches_nothing
    assert len(q.parse(" ".join(f"w{i}" for i in range(100))).groups) == q.TERMS_MAX
    assert q.parse("x" * 3000).matches_nothing  # longer than any term the index keeps
    assert q.parse("ok OR " + "x" * 3000).groups == ((q.Term(("ok",)),),)


def test_vectors_and_memory_text():
    assert tokens.vector("The cat, the CAT and the hat") == "'the':1,3,6 'cat':2,4 'and':5 'hat':7"
    assert tokens.vector("") == ""
    many = tokens.vector("w " * 300)
    assert many.count(",") == 255  # PostgreSQL keeps 256 positions of a lexeme
    assert tokens.memory_text("k", {"a": "x y", "b": [1, "z", {"c": "w"}], "d": None}) == "k a x y b z c w d"
    assert tokens.indexed_text("é".encode() * 20_000)[-1] == "é" and len(tokens.indexed_text(b"a" * 99_999)) == 32_000
    assert tokens.indexed_text(b"a\x00b") == "a b"


def test_snippet_windows():
    parsed = q.parse("needle")
    text = " ".join(["hay"] * 50) + " needle " + " ".join(["hay"] * 50)
    snippet, matches = snippets.snippet(text, parsed, snippets.Marker())
    assert snippet.startswith("…") and snippet.endswith("…") and snippet.count("<mark>needle</mark>") == 1
    assert [text[a:b] for a, b in matches] == ["needle"]
    short, _ = snippets.snippet("a <needle> & b", parsed, snippets.Marker("**", "**", escape=False))
    assert short == "a <**needle**> & b"
    nothing, none = snippets.snippet("no match here", parsed, snippets.Marker())
    assert nothing == "no match here" and none == ()
