"""Upgrading a store written before search: the migration indexes the old records afterwards, in
batches, and fuzzy lookup knows their names; and PostgreSQL's own pieces (pg_trgm and its absence,
the tsvector roost writes) agree with what roost computes."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from roost import migrations
from roost._op import Query, Script
from roost.migrations import MigrationSet
from roost.search import backfill, names, tokens
from roost.store import open_store
from tests.helpers import dialect_of

OLD: dict[str, Any] = {
    "sessions": "Legacy planning",
    "entries": [f"legacy entry {i} about the quarterly report" for i in range(7)],
    "memory": ("legacy-runbook", '{"steps":["rotate the legacy keys"]}'),
    "observation": "legacy observation of the report",
    "artifact": "legacy artifact text about the report",
}


def _old_rows(store) -> str:
    """The rows as roost 0.10 (migration 10) wrote them, in raw SQL."""
    p, pg = store.project, store.backend == "postgresql"
    r = "roost." if pg else ""
    now = "clock_timestamp()" if pg else "(julianday('now') - 2440587.5) * 86400.0"
    data = OLD["artifact"].encode()
    sha = hashlib.sha256(data).hexdigest()
    blob = f"decode('{data.hex()}', 'hex')" if pg else f"X'{data.hex()}'"
    tags = "'{}'" if pg else "'[]'"
    participants = "'[]'::jsonb" if pg else "'[]'"
    sql = [f"INSERT INTO {r}sessions (project, id, title, status, participants, metadata, created_at, updated_at, "
           f"last_activity) VALUES ('{p}', 'old', '{OLD['sessions']}', 'active', {participants}, '{{}}', {now}, "
           f"{now}, {now})"]
    for i, text in enumerate(OLD["entries"], start=1):
        sql.append(f"INSERT INTO {r}transcript_entries (project, session_id, position, role, content, created_at) "
                   f"VALUES ('{p}', 'old', {i}, 'assistant', '{text}', {now})")
    key, content = OLD["memory"]
    seq = "" if pg else ", seq"
    seq_value = "" if pg else ", 1"
    sql.append(f"INSERT INTO {r}memories (project, key, type, content, tags, version{seq}, created_at, updated_at) "
               f"VALUES ('{p}', '{key}', 'context', '{content}', {tags}, 1{seq_value}, {now}, {now})")
    sql.append(f"INSERT INTO {r}observations (project, agent, content, created_at) "
               f"VALUES ('{p}', 'coder', '{OLD['observation']}', {now})")
    sql.append(f"INSERT INTO {r}artifact_blobs (project, sha256, size, chunks, touched_at) "
               f"VALUES ('{p}', '{sha}', {len(data)}, 1, {now})")
    sql.append(f"INSERT INTO {r}artifact_chunks (blob_id, seq, data) SELECT max(id), 0, {blob} FROM {r}artifact_blobs")
    sql.append(f"INSERT INTO {r}artifacts (project, name, version, blob_id, size, sha256, is_text, created_at) "
               f"SELECT '{p}', 'legacy.txt', 1, max(id), {len(data)}, '{sha}', {'true' if pg else 1}, {now} "
               f"FROM {r}artifact_blobs")
    return ";\n".join(sql)


def test_an_upgrade_indexes_old_records_in_batches(url):
    bundled = MigrationSet.bundled(dialect_of(url))
    stepwise = MigrationSet(bundled.dialect, bundled.migrations, schema=None)
    with open_store(url, migration_set=stepwise, auto_migrate=False, check_schema=False) as store:
        store.migrate(target=10)

        def write():
            yield Script(text=_old_rows(store))

        store._execute(write)
        assert store._execute(migrations.step, stepwise, 11) == [11]
        left = store._execute(backfill.pending)
        assert {kind for kind, _, _ in left} == {"transcript", "memory", "observation", "session", "artifact"}
        assert store.search("legacy").hits == []  # not indexed yet: the batches come after
        assert store.find("legacy_runbok")[0].name == "legacy-runbook"  # names: indexed by the migration itself
        store.sessions.create("A new session about the report", id="new")
        assert [h.kind for h in store.search("report").hits] == ["session"]
        batches = backfill.run(store, batch=2)
        assert batches == 4 + 1 + 1 + 1 + 1  # 7 entries two at a time, then one batch for each other kind
        assert store._execute(backfill.pending) == []
        found = {(h.kind, h.name if h.kind in ("memory", "artifact", "session") else h.id)
                 for h in store.search("legacy", limit=50).hits}
        assert len([k for k, _ in found if k == "transcript"]) == 7
        assert {("memory", "legacy-runbook"), ("artifact", "legacy.txt"), ("session", "old")} <= found
        assert any(k == "observation" for k, _ in found)
        # entries, the observation, the artifact and the new session:
        assert len(store.search("report", limit=50).hits) == 7 + 1 + 1 + 1
        assert backfill.run(store) == 0  # nothing left: running it again changes nothing
        assert len(store.search("legacy", limit=50).hits) == 11
        # The old records stay consistent with the index afterwards: removing them unindexes them.
        store.sessions.delete("old")
        store.memories.delete("legacy-runbook")
        assert {h.kind for h in store.search("legacy", limit=50).hits} == {"observation", "artifact"}
        store.migrate()  # the rest of the way, as every store open does
        assert [s.state for s in store.migration_status()] == ["applied"] * len(bundled.migrations)


# -- PostgreSQL's pieces --------------------------------------------------------------------------

PAIRS = [("regster_agnt", "register_agent"), ("Code Reviewer", "code-reviewer"), ("desing-spec", "design-spec.md"),
         ("deploymnt", "deploy-lock"), ("ab", "abc"), ("x", "y"), ("café", "cafe"), ("ÉCOLE", "école"),
         ("build.status", "build_status"), ("a b c d", "d c b a"), ("2026-12-01", "2026-12-02")]


def test_roosts_similarity_is_pg_trgms(pg_url):
    with open_store(pg_url) as store:
        def op():
            out = []
            for a, b in PAIRS:
                out.append((yield Query("_test_similarity", {"a": a, "b": b})).scalar())
            return out

        sql = store._backend._sql  # type: ignore[attr-defined]
        sql["_test_similarity"] = "SELECT similarity(%(a)s, %(b)s)::float8"
        theirs = store._execute(op)
    ours = [names.similarity(a, b) for a, b in PAIRS]
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_without_pg_trgm_lookups_take_the_slower_path_with_the_same_results(pg_url):
    from tests.conformance.test_search import TYPOS
    from tests.conformance.test_search import names as write_names

    with open_store(pg_url) as store:
        write_names(store)
        assert store._finder.indexed
        indexed = {typo: store.find(typo) for typo in [*TYPOS, "deploy", "qa", "notes"]}

        def drop():
            yield Script(text="DROP FUNCTION roost.find_names(text, text[], text, integer); "
                              "DROP INDEX roost.search_names_trigram; DROP EXTENSION pg_trgm")

        store._execute(drop)
        checks = {c.name: c for c in store.doctor()}
        assert checks["fuzzy lookup"].level == "warn" and "pg_trgm" in checks["fuzzy lookup"].value
    with open_store(pg_url) as store:
        assert not store._finder.indexed
        assert {typo: store.find(typo) for typo in indexed} == indexed
        store.migrate()  # without pg_trgm there is nothing to install: the slower path stays

        def install():
            yield Script(text="CREATE EXTENSION pg_trgm")

        store._execute(install)
        store.migrate()  # now it has pg_trgm: migrate gives fuzzy lookup its index
        assert {c.name: c for c in store.doctor()}["fuzzy lookup"].level == "ok"
    with open_store(pg_url) as store:
        assert store._finder.indexed
        assert {typo: store.find(typo) for typo in indexed} == indexed


VECTOR_SAMPLES = ["POL-358 e-mail C++ café RÉSUMÉ", "日本語テキスト 東京 🎉", "x" * 3000 + " tail", "a'b\\c \"q\"",
                  "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03ac\u03ad \u0661\u0662", "word " * 300]


def test_the_vectors_roost_writes_hold_its_terms(pg_url):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    with open_store(pg_url) as store:
        sql = store._backend._sql  # type: ignore[attr-defined]
        sql["_test_vector"] = "SELECT ARRAY(SELECT unnest(tsvector_to_array(%(v)s::tsvector)))"

        def stored(text: str) -> set[str]:
            def op():
                return (yield Query("_test_vector", {"v": tokens.vector(text)})).scalar()

            return set(store._execute(op))

        def check(text: str) -> None:
            expected = {t for t in tokens.terms(text[:tokens.INDEXED_CHARS])
                        if len(t.encode()) <= tokens.LEXEME_MAX_BYTES}
            assert stored(text) == expected, text

        for text in VECTOR_SAMPLES:
            check(text)

        @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=60))
        def generated(text: str) -> None:
            check(text)

        generated()


def test_a_schema_change_by_another_connection_does_not_fail_the_next_write(tmp_path):
    """Another connection's DDL (an application's own table, another process's migration) used to
    make the next write whose triggers feed an FTS5 index fail once with "no such table"."""
    import sqlite3

    import roost

    path = tmp_path / "roost.db"
    with roost.connect(f"sqlite:///{path}") as store:
        store.signals.set("warm", "up")  # this connection has read the schema
        other = sqlite3.connect(path)
        other.executescript("CREATE TABLE application_table (x); CREATE INDEX app_index ON application_table (x);")
        other.close()
        made = store.sessions.create("after someone else's DDL")  # triggers write to FTS5 tables
        assert [h.name for h in store.search("someone else")] == [made.id]
