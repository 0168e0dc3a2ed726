"""Bad input to the memory area: each is a clear error naming what is wrong, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import roost
from roost import errors
from roost.memory.transcripts import ENTRY_MAX_BYTES


def snapshot(store):
    """Everything the memory area holds for this project, as plain values."""
    sessions = [(s.id, s.title, s.status, s.participants, s.entry_count, s.memory_count, s.artifact_count,
                 s.observation_count) for s in store.sessions.list(limit=1000)]
    entries = [(e.session, e.position, e.content) for s in sessions for e in store.transcripts.page(s[0], limit=1000)]
    memories = [(m.key, m.session, m.version, m.content) for m in store.memories.list(limit=1000)]
    observations = [(o.id, o.content) for o in store.observations.recent(limit=1000)]
    artifacts = [(a.name, a.version, a.sha256) for a in store.artifacts.list(all_versions=True, limit=1000)]
    return sessions, entries, memories, observations, artifacts


@pytest.fixture
def seeded(url):
    with roost.connect(url) as store:
        s = store.sessions.create("seed", id="s1", participants=["m"])
        store.transcripts.append(s.id, "prompt", "hello", message_id="m1")
        store.memories.put("plan", {"a": 1}, session=s.id)
        store.observations.add("coder", "note")
        store.artifacts.put("file", b"data")
        yield store


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


NEST = {"a": _nested(70)}


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda s: s.sessions.create(""), errors.InvalidArgument, "title must not be empty"),
    (lambda s: s.sessions.create("t", id="x" * 129), errors.InvalidArgument, "129 characters"),
    (lambda s: s.sessions.create("t", id="s1"), errors.VersionConflict, "already exists"),
    (lambda s: s.sessions.create("t", participants="manager"), errors.InvalidArgument, "not a string"),
    (lambda s: s.sessions.create("t", metadata=[1]), errors.InvalidArgument, "JSON object"),
    (lambda s: s.sessions.create("t", metadata={"deep": NEST}), errors.InvalidArgument, "levels deep"),
    (lambda s: s.sessions.create("bad\x00title"), errors.InvalidArgument, "control character"),
    (lambda s: s.sessions.join("s1", "\ud800"), errors.InvalidArgument, "surrogate"),
    (lambda s: s.sessions.list(limit=0), errors.InvalidArgument, "limit"),
    (lambda s: s.sessions.list(limit=10**9), errors.InvalidArgument, "limit"),
    (lambda s: s.sessions.list(cursor="-1"), errors.InvalidArgument, "cursor"),
    (lambda s: s.sessions.list(cursor="9" * 40), errors.InvalidArgument, "cursor"),
    (lambda s: s.sessions.list(since=float("nan")), errors.InvalidArgument, "since"),
    (lambda s: s.transcripts.append("missing", "prompt", "x"), errors.SessionNotFound, "missing"),
    (lambda s: s.transcripts.append("s1", "", "x"), errors.InvalidArgument, "role"),
    (lambda s: s.transcripts.append("s1", "role with spaces", "x"), errors.InvalidArgument, "not a valid name"),
    (lambda s: s.transcripts.append("s1", "prompt", "nul\x00here"), errors.InvalidArgument, "NUL"),
    (lambda s: s.transcripts.append("s1", "prompt", "lone \udc00"), errors.InvalidArgument, "surrogate"),
    (lambda s: s.transcripts.append("s1", "prompt", "x" * (ENTRY_MAX_BYTES + 1)), errors.TooLarge, "8,388,608"),
    (lambda s: s.transcripts.append("s1", "prompt", 42), errors.InvalidArgument, "must be a string"),
    (lambda s: s.transcripts.append("s1", "prompt", "x", iteration=-1), errors.InvalidArgument, "iteration"),
    (lambda s: s.transcripts.append_many([{"session": "s1", "role": "chunk", "content": "ok"},
                                          {"session": "s1", "role": "chunk", "content": "\x00"}]),
     errors.InvalidArgument, "entry 1"),
    (lambda s: s.transcripts.append_many([{"session": "s1", "role": "chunk", "text": "x"}]),
     errors.InvalidArgument, "unknown field 'text'"),
    (lambda s: s.transcripts.page("s1", after=-5), errors.InvalidArgument, "after"),
    (lambda s: s.transcripts.page("s1", limit=-1), errors.InvalidArgument, "limit"),
    (lambda s: s.memories.put("", 1), errors.InvalidArgument, "memory key must not be empty"),
    (lambda s: s.memories.put("k" * 513, 1), errors.InvalidArgument, "513 characters"),
    (lambda s: s.memories.put("k", float("nan")), errors.InvalidArgument, "JSON"),
    (lambda s: s.memories.put("k", {1: "x"}), errors.InvalidArgument, "keys must be strings"),
    (lambda s: s.memories.put("k", NEST), errors.InvalidArgument, "levels deep"),
    (lambda s: s.memories.put("k", "x" * (2**20 + 1)), errors.InvalidArgument, "limit is 1,048,576"),
    (lambda s: s.memories.put("k", 1, "no spaces please"), errors.InvalidArgument, "memory type"),
    (lambda s: s.memories.put("k", 1, tags="single"), errors.InvalidArgument, "list of names"),
    (lambda s: s.memories.put("k", 1, tags=[f"t{i}" for i in range(65)]), errors.InvalidArgument, "65 tags"),
    (lambda s: s.memories.put("k", 1, session="missing"), errors.SessionNotFound, "missing"),
    (lambda s: s.memories.put("plan", 1, session="s1", expected_version=7), errors.VersionConflict, "version 1"),
    (lambda s: s.memories.put("k", 1, expected_version=-1), errors.InvalidArgument, "expected_version"),
    (lambda s: s.memories.list(tags_any=[""]), errors.InvalidArgument, "tag"),
    (lambda s: s.observations.add("", "x"), errors.InvalidArgument, "agent"),
    (lambda s: s.observations.add("coder", "x" * (64 * 1024 + 1)), errors.TooLarge, "65,536"),
    (lambda s: s.observations.add("coder", "x", session="missing"), errors.SessionNotFound, "missing"),
    (lambda s: s.observations.recent(limit=5000), errors.InvalidArgument, "limit"),
    (lambda s: s.observations.recent(max_chars=-1), errors.InvalidArgument, "max_chars"),
    (lambda s: s.observations.list(cursor="abc"), errors.InvalidArgument, "cursor"),
    (lambda s: s.artifacts.put("", b"x"), errors.InvalidArgument, "artifact name"),
    (lambda s: s.artifacts.put("f", 12345), errors.InvalidArgument, "not int"),
    (lambda s: s.artifacts.put("f", [b"ok", 3]), errors.InvalidArgument, "not bytes or str"),
    (lambda s: s.artifacts.put("f", "lone \udc00"), errors.InvalidArgument, "surrogate"),
    (lambda s: s.artifacts.put("f", b"x", session="missing"), errors.SessionNotFound, "missing"),
    (lambda s: s.artifacts.put("f", b"x", task=0), errors.InvalidArgument, "task"),
    (lambda s: s.artifacts.get("nope"), errors.ArtifactNotFound, "nope"),
    (lambda s: s.artifacts.get("file", version=0), errors.InvalidArgument, "version"),
    (lambda s: s.artifacts.list(cursor="garbage"), errors.InvalidArgument, "cursor"),
    (lambda s: s.artifacts.cleanup(upload_age=-1), errors.InvalidArgument, "upload_age"),
])
def test_bad_input_is_refused_and_changes_nothing(seeded, call, error, words):
    before = snapshot(seeded)
    with pytest.raises(error, match=words):
        call(seeded)
    assert snapshot(seeded) == before


def test_oversized_artifact_is_refused_while_streaming_and_leaves_nothing(url):
    with roost.connect(url, artifact_max_bytes=3 * 2**20) as store:
        endless = (b"x" * 65536 for _ in range(10**9))  # would never end: the limit must stop it
        with pytest.raises(errors.TooLarge, match="artifact_max_bytes is 3,145,728"):
            store.artifacts.put("huge", endless)
        assert store.artifacts.list().items == []
        assert store.artifacts.cleanup(upload_age=0) == 0


def test_bad_settings_are_refused(url):
    bad: list[tuple[str, float]] = [("observation_retention_days", 0), ("observation_max_per_agent", 0),
                                    ("artifact_max_bytes", -1), ("artifact_project_quota_bytes", 2**60)]
    for option, value in bad:
        options: dict[str, Any] = {option: value}
        with pytest.raises(errors.InvalidSetting, match=option):
            roost.connect(url, **options)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.text(max_size=200), key=st.text(min_size=1, max_size=40), tags=st.lists(st.text(max_size=8)))
def test_any_text_is_kept_exactly_or_refused_cleanly(url, content, key, tags):
    with roost.connect(url) as store:
        session = store.sessions.get("prop") or store.sessions.create("prop", id="prop")
        before = store.sessions.get(session.id)
        try:
            entry = store.transcripts.append(session.id, "chunk", content)
        except errors.InvalidArgument:
            assert "\x00" in content or any(0xD800 <= ord(ch) <= 0xDFFF for ch in content)
            assert store.sessions.get(session.id) == before
        else:
            assert store.transcripts.get(entry.id).content == content  # type: ignore[union-attr]
        try:
            stored = store.memories.put(key, {"text": content}, tags=tags)
        except errors.InvalidArgument:
            return
        assert store.memories.get(key).content == {"text": content}  # type: ignore[union-attr]
        assert stored.tags == list(dict.fromkeys(tags))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e"])), min_size=1,
                                 max_size=6), min_size=1, max_size=5))
def test_appends_match_a_model_of_message_ids(url, batches):
    """Batches with repeated message ids, inside one batch and across batches: each id is stored
    once, entries without one always, positions stay dense, and the counter equals the rows."""
    with roost.connect(url) as store:
        session = store.sessions.create("model").id
        stored: dict[str, int] = {}  # message id -> position
        rows = 0
        for batch in batches:
            items = [{"session": session, "role": "chunk", "content": f"{mid}", "message_id": mid} for mid in batch]
            got = store.transcripts.append_many(items) if len(items) > 1 else [store.transcripts.append(**items[0])]
            for mid, entry in zip(batch, got, strict=True):
                if mid is None:
                    rows += 1
                    assert entry.position == rows
                elif mid in stored:
                    assert entry.position == stored[mid]
                else:
                    rows += 1
                    stored[mid] = entry.position
                    assert entry.position == rows
        assert store.sessions.get(session).entry_count == rows  # type: ignore[union-attr]
        assert [e.position for e in store.transcripts.page(session, limit=1000)] == list(range(1, rows + 1))
