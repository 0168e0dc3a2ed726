"""Memory on every backend: sessions, transcripts, memories, observations and artifacts, their
counters (compared with COUNT(*)), built-in events, retention, cleanup and project scoping."""

from __future__ import annotations

import asyncio
import io
import os
from datetime import UTC, datetime, timedelta

import pytest

import roost
from roost import errors
from roost.memory.artifacts import CHUNK_BYTES
from tests.helpers import backdate

COUNTED = {"entry_count": "transcript_entries", "memory_count": "memories", "artifact_count": "artifacts",
           "observation_count": "observations"}


def count_rows(store, table: str, session: str) -> int:
    """COUNT(*) of a session's rows, with a query of its own (not roost's counters)."""
    from roost._op import Query

    prefix = "roost." if store.backend == "postgresql" else ""
    mark = "%(p)s" if store.backend == "postgresql" else ":p"
    mark_s = "%(s)s" if store.backend == "postgresql" else ":s"
    sql = f"SELECT count(*) FROM {prefix}{table} WHERE project = {mark} AND session_id = {mark_s}"

    def op():
        store._backend._sql["_test_count"] = sql
        return (yield Query("_test_count", {"p": store.project, "s": session})).scalar()

    plans = getattr(store._backend, "_plans", None)
    if plans is not None:
        plans["_test_count"] = sql
    return int(store._execute(op))


def assert_counters_exact(store, session: str) -> None:
    found = store.sessions.get(session)
    assert found is not None
    for attribute, table in COUNTED.items():
        assert getattr(found, attribute) == count_rows(store, table, session), attribute


def topics(store, prefix: str = "") -> list[str]:
    return [e.topic for e in store.events.query(limit=1000) if e.topic.startswith(prefix)]


# -- sessions -------------------------------------------------------------------------------------


def test_session_lifecycle(url):
    with roost.connect(url) as store:
        made = store.sessions.create("Build the parser", participants=["manager", "coder", "coder"],
                                     metadata={"ticket": 7})
        assert made.status == "active" and made.participants == ["manager", "coder"]
        assert made.metadata == {"ticket": 7} and made.entry_count == 0
        assert store.sessions.get(made.id) == made
        named = store.sessions.create("Review", id="review-1")
        assert named.id == "review-1"
        with pytest.raises(errors.VersionConflict, match="review-1"):
            store.sessions.create("Again", id="review-1")
        assert store.sessions.join(made.id, "qa").participants == ["manager", "coder", "qa"]
        assert store.sessions.join(made.id, "qa").participants == ["manager", "coder", "qa"]
        assert store.sessions.leave(made.id, "coder").participants == ["manager", "qa"]
        paused = store.sessions.set_status(made.id, "paused")
        assert paused.status == "paused" and paused.last_activity >= made.last_activity
        with pytest.raises(errors.SessionNotFound):
            store.sessions.set_status("nope", "active")
        with pytest.raises(errors.InvalidArgument, match="in_progress"):
            store.sessions.set_status(made.id, "in_progress")
        assert topics(store, "session.") == ["session.created", "session.created", "session.status_changed"]


def test_session_list_filters_and_pages(url):
    with roost.connect(url) as store:
        ids = [store.sessions.create(f"s{i}", participants=["a"] if i % 2 else ["b"]).id for i in range(7)]
        store.sessions.set_status(ids[0], "completed")
        seen, cursor = [], None
        while True:
            page = store.sessions.list(limit=3, cursor=cursor)
            seen += [s.id for s in page]
            cursor = page.cursor
            if cursor is None:
                break
        assert seen == ids[::-1]
        assert [s.id for s in store.sessions.list(participant="a")] == [ids[5], ids[3], ids[1]]
        assert [s.id for s in store.sessions.list(status="completed")] == [ids[0]]
        later = datetime.now(UTC) + timedelta(hours=1)
        assert store.sessions.list(since=later).items == []


def test_session_delete_removes_what_belongs_to_it(url):
    with roost.connect(url) as store:
        keep = store.sessions.create("keep")
        gone = store.sessions.create("gone")
        for s in (keep, gone):
            store.transcripts.append(s.id, "prompt", "hi")
            store.memories.put("plan", [1], session=s.id)
            store.observations.add("coder", "note", session=s.id)
            store.artifacts.put("out.txt", f"from {s.title}", session=s.id)
        assert store.sessions.delete(gone.id) is True
        assert store.sessions.delete(gone.id) is False
        assert store.sessions.get(gone.id) is None
        assert store.memories.get("plan", session=gone.id) is None
        assert all(count_rows(store, t, gone.id) == 0 for t in COUNTED.values())
        assert_counters_exact(store, keep.id)
        assert store.sessions.get(keep.id).memory_count == 1  # type: ignore[union-attr]
        assert "session.deleted" in topics(store)


def test_summary_is_one_call(url):
    with roost.connect(url) as store:
        s = store.sessions.create("sum", participants=["m"])
        store.transcripts.append_many([{"session": s.id, "role": "chunk", "content": f"c{i}"} for i in range(9)])
        store.memories.put("k", 1, session=s.id)
        summary = store.sessions.summary(s.id, entries=3)
        assert [e.content for e in summary.latest_entries] == ["c6", "c7", "c8"]
        assert summary.session.entry_count == 9 and summary.session.memory_count == 1
        assert summary.first_activity <= summary.last_activity
        with pytest.raises(errors.SessionNotFound):
            store.sessions.summary("missing")


# -- transcripts ----------------------------------------------------------------------------------


def test_transcript_positions_paging_and_idempotency(url):
    with roost.connect(url) as store:
        s = store.sessions.create("t").id
        first = store.transcripts.append(s, "prompt", "hello\nworld", agent="manager", phase="plan", iteration=1,
                                         message_id="m-1", metadata={"tokens": 3})
        again = store.transcripts.append(s, "prompt", "hello\nworld", message_id="m-1")
        assert again == first and first.position == 1 and first.metadata == {"tokens": 3}
        batch = store.transcripts.append_many(
            [{"session": s, "role": "chunk", "content": f"c{i}", "phase": "build" if i % 2 else "plan",
              "message_id": f"c-{i}"} for i in range(10)])
        assert [e.position for e in batch] == list(range(2, 12))
        repeat = store.transcripts.append_many(
            [{"session": s, "role": "chunk", "content": f"c{i}", "message_id": f"c-{i}"} for i in range(10)])
        assert [e.id for e in repeat] == [e.id for e in batch]
        assert store.sessions.get(s).entry_count == 11  # type: ignore[union-attr]
        assert_counters_exact(store, s)
        assert topics(store, "transcript.") == ["transcript.appended", "transcript.appended"]
        page = store.transcripts.page(s, limit=4)
        assert [e.position for e in page] == [1, 2, 3, 4] and page.cursor == "4"
        page = store.transcripts.page(s, after=page.cursor, limit=4)
        assert [e.position for e in page] == [5, 6, 7, 8]
        back = store.transcripts.page(s, before=5, limit=3)
        assert [e.position for e in back] == [2, 3, 4] and back.cursor == "2"
        assert [e.position for e in store.transcripts.page(s, before=back.cursor, limit=3)] == [1]
        assert [e.position for e in store.transcripts.latest(s, limit=2)] == [10, 11]
        assert all(e.phase == "build" for e in store.transcripts.page(s, phase="build"))
        assert store.transcripts.get(first.id) == first
        assert store.transcripts.get(10**12) is None
        with pytest.raises(errors.SessionNotFound):
            store.transcripts.page("missing")


def test_append_many_spans_sessions_and_is_all_or_nothing(url):
    with roost.connect(url) as store:
        a, b = store.sessions.create("a").id, store.sessions.create("b").id
        done = store.transcripts.append_many([
            {"session": b, "role": "response", "content": "b1"},
            {"session": a, "role": "prompt", "content": "a1"},
            {"session": b, "role": "tool", "content": "b2"},
        ])
        assert [(e.session, e.position) for e in done] == [(b, 1), (a, 1), (b, 2)]
        with pytest.raises(errors.SessionNotFound):
            store.transcripts.append_many([{"session": a, "role": "chunk", "content": "x"},
                                           {"session": "missing", "role": "chunk", "content": "y"}])
        assert store.sessions.get(a).entry_count == 1  # type: ignore[union-attr]
        assert_counters_exact(store, a)
        assert_counters_exact(store, b)


def test_a_role_of_the_applications_own_is_kept(url):
    with roost.connect(url) as store:
        s = store.sessions.create("roles").id
        entry = store.transcripts.append(s, "in_progress", "…")
        assert entry.role == "in_progress"


# -- memories -------------------------------------------------------------------------------------


def test_memory_versions_and_compare_and_set(url):
    with roost.connect(url) as store:
        first = store.memories.put("plan", {"steps": ["a"]}, "decision", tags=["parser", "v1"], agent="manager")
        assert first.version == 1 and first.tags == ["parser", "v1"] and first.session is None
        second = store.memories.put("plan", {"steps": ["a", "b"]}, "decision")
        assert second.version == 2 and second.created_at == first.created_at
        assert store.memories.put("plan", 3, "decision", expected_version=2).version == 3
        with pytest.raises(errors.VersionConflict, match="version 3"):
            store.memories.put("plan", 4, expected_version=2)
        with pytest.raises(errors.VersionConflict):
            store.memories.put("plan", 4, expected_version=0)
        assert store.memories.put("fresh", "x", expected_version=0).version == 1
        assert store.memories.get("plan").content == 3  # type: ignore[union-attr]
        with pytest.raises(errors.VersionConflict):
            store.memories.delete("plan", expected_version=1)
        assert store.memories.delete("plan", expected_version=3) is True
        assert store.memories.delete("plan") is False
        assert store.memories.get("plan") is None
        assert topics(store, "memory.").count("memory.put") == 4
        assert topics(store, "memory.")[-1] == "memory.deleted"


def test_memory_keys_are_scoped_by_session(url):
    with roost.connect(url) as store:
        a, b = store.sessions.create("a").id, store.sessions.create("b").id
        store.memories.put("plan", "project-wide")
        store.memories.put("plan", "of a", session=a)
        store.memories.put("plan", "of b", session=b)
        assert store.memories.get("plan").content == "project-wide"  # type: ignore[union-attr]
        assert store.memories.get("plan", session=a).content == "of a"  # type: ignore[union-attr]
        assert store.memories.get("plan", session=b).content == "of b"  # type: ignore[union-attr]
        store.memories.put("plan", "of a, again", session=a)
        assert store.sessions.get(a).memory_count == 1  # type: ignore[union-attr]
        assert_counters_exact(store, a)
        with pytest.raises(errors.SessionNotFound):
            store.memories.put("plan", 1, session="missing")


def test_memory_types_are_free_and_lists_filter(url):
    with roost.connect(url) as store:
        s = store.sessions.create("x").id
        store.memories.put("a", 1, "general", tags=["x"])
        store.memories.put("b", 2, "decision", tags=["x", "y"], agent="qa")
        store.memories.put("c", 3, "decision", tags=["y"], session=s)
        store.memories.put("d", 4, "in_progress", tags=[])
        assert [m.key for m in store.memories.list()] == ["d", "c", "b", "a"]
        assert [m.key for m in store.memories.list(type="decision")] == ["c", "b"]
        assert [m.key for m in store.memories.list(tags_any=["x"])] == ["b", "a"]
        assert [m.key for m in store.memories.list(tags_all=["x", "y"])] == ["b"]
        assert [m.key for m in store.memories.list(tags_any=["y"], tags_all=["y"])] == ["c", "b"]
        assert [m.key for m in store.memories.list(session=s)] == ["c"]
        assert [m.key for m in store.memories.list(agent="qa")] == ["b"]
        store.memories.put("a", 10, "general")  # a new write moves it to the front
        page = store.memories.list(limit=2)
        assert [m.key for m in page] == ["a", "d"]
        assert [m.key for m in store.memories.list(limit=2, cursor=page.cursor)] == ["c", "b"]
        assert store.memories.list(since=datetime.now(UTC) + timedelta(hours=1)).items == []


# -- observations ---------------------------------------------------------------------------------


def test_observation_cap_holds_at_insert(url):
    with roost.connect(url, observation_max_per_agent=5) as store:
        for i in range(12):
            store.observations.add("coder", f"note {i}")
        store.observations.add("qa", "other agent")
        assert store.observations.count("coder") == 5
        assert [o.content for o in store.observations.recent("coder", limit=100)] == [f"note {i}" for i in
                                                                                      range(11, 6, -1)]
        assert len(store.observations.recent(limit=100)) == 6


def test_observation_budget_and_paging(url):
    with roost.connect(url) as store:
        for i in range(6):
            store.observations.add("coder", "x" * 10, kind="test" if i % 2 else None)
        assert len(store.observations.recent("coder", max_chars=35)) == 3
        assert store.observations.recent("coder", max_chars=5) == []
        assert len(store.observations.recent("coder", kind="test")) == 3
        page = store.observations.list("coder", limit=4)
        rest = store.observations.list("coder", limit=4, cursor=page.cursor)
        assert len(page) == 4 and len(rest) == 2 and rest.cursor is None
        assert {o.id for o in page} | {o.id for o in rest} == {o.id for o in store.observations.recent(limit=10)}


def test_expired_observations_are_never_returned_and_cleaned_up(url):
    with roost.connect(url, observation_retention_days=7) as store:
        s = store.sessions.create("obs").id
        store.observations.add("coder", "old", session=s)
        store.observations.add("coder", "old too")
        backdate(store, "observations", ["created_at"], 8 * 86400)  # the clock moves on 8 days
        store.observations.add("coder", "new", session=s)
        assert [o.content for o in store.observations.recent("coder")] == ["new"]
        assert [o.content for o in store.observations.list()] == ["new"]
        assert store.observations.count("coder") == 3
        assert store.observations.cleanup() == 2
        assert store.observations.count("coder") == 1
        assert_counters_exact(store, s)


# -- artifacts ------------------------------------------------------------------------------------


def test_artifact_versions_text_and_binary(url):
    with roost.connect(url) as store:
        s = store.sessions.create("art").id
        one = store.artifacts.put("report.md", "# Report\n", type="report", format="text/markdown", session=s,
                                  metadata={"by": "qa"})
        assert one.version == 1 and one.is_text and one.size == 9
        two = store.artifacts.put("report.md", b"\x00\xff binary")
        assert two.version == 2 and not two.is_text
        assert store.artifacts.get("report.md").content == b"\x00\xff binary"
        assert store.artifacts.get("report.md", version=1).text() == "# Report\n"
        assert store.artifacts.get("report.md", version=1).metadata == {"by": "qa"}
        with pytest.raises(errors.ArtifactNotFound):
            store.artifacts.get("report.md", version=3)
        empty = store.artifacts.put("empty", b"")
        assert store.artifacts.get("empty").content == b"" and empty.size == 0
        assert [a.name for a in store.artifacts.list()] == ["empty", "report.md"]
        assert [(a.name, a.version) for a in store.artifacts.list(all_versions=True, prefix="rep")] == [
            ("report.md", 2), ("report.md", 1)]
        assert [a.name for a in store.artifacts.list(session=s, all_versions=True)] == ["report.md"]
        assert store.artifacts.delete("report.md", version=2) == 1
        assert store.artifacts.get("report.md").version == 1
        assert store.artifacts.put("report.md", "v3").version == 3  # a version number is never reused
        assert_counters_exact(store, s)
        assert "artifact.deleted" in topics(store)


def test_artifact_content_is_stored_once_and_cleaned_up(url):
    with roost.connect(url) as store:
        data = os.urandom(CHUNK_BYTES * 2 + 17)
        a = store.artifacts.put("a.bin", data)
        b = store.artifacts.put("b.bin", io.BytesIO(data))
        small1, small2 = store.artifacts.put("s1", "same"), store.artifacts.put("s2", "same")
        assert a.sha256 == b.sha256 and a._blob == b._blob and small1._blob == small2._blob
        assert store.artifacts.cleanup() == 0
        store.artifacts.delete("a.bin")
        assert store.artifacts.cleanup() == 0  # b.bin still uses it
        store.artifacts.delete("b.bin")
        assert store.artifacts.cleanup() == 1
        assert store.artifacts.get("s2").text() == "same"


def test_artifact_sources_stream_in_chunks(url):
    with roost.connect(url) as store:
        parts = [os.urandom(300_000) for _ in range(10)]
        stored = store.artifacts.put("parts.bin", iter(parts))
        assert stored.size == sum(map(len, parts))
        stream = store.artifacts.open("parts.bin")
        chunks = list(stream)
        assert b"".join(chunks) == b"".join(parts) and max(map(len, chunks)) == CHUNK_BYTES
        text = store.artifacts.put("log.txt", io.StringIO("line\n" * 1000))
        assert text.is_text and store.artifacts.get("log.txt").text() == "line\n" * 1000
        out = io.BytesIO()
        assert store.artifacts.open("parts.bin").copy_to(out) == stored.size


def test_artifact_limits(url):
    with roost.connect(url, artifact_max_bytes=CHUNK_BYTES + 10, artifact_project_quota_bytes=3 * CHUNK_BYTES) \
            as store:
        with pytest.raises(errors.TooLarge, match="artifact_max_bytes"):
            store.artifacts.put("big", iter([b"x" * CHUNK_BYTES, b"y" * 11]))
        store.artifacts.put("one", os.urandom(CHUNK_BYTES))
        store.artifacts.put("two", os.urandom(CHUNK_BYTES))
        with pytest.raises(errors.QuotaExceeded, match="3,145,728"):
            store.artifacts.put("three", os.urandom(CHUNK_BYTES + 5))
        store.artifacts.put("again", store.artifacts.get("one").content or b"")  # stored once: no new bytes
        assert [a.name for a in store.artifacts.list()] == ["again", "one", "two"]
        assert store.artifacts.cleanup(upload_age=0) == 0  # the refused puts left no upload behind


def test_async_face(url):
    async def run() -> None:
        async with roost.connect_async(url) as store:
            s = await store.sessions.create("async")
            await store.transcripts.append(s.id, "prompt", "hi")
            await store.memories.put("k", [1])
            await store.observations.add("a", "seen")
            await store.artifacts.put("f", b"x" * (CHUNK_BYTES + 1))
            stream = await store.artifacts.open("f")
            got = [chunk async for chunk in stream]
            assert b"".join(got) == b"x" * (CHUNK_BYTES + 1)
            session = await store.sessions.get(s.id)
            assert session is not None and session.entry_count == 1

    asyncio.run(run())


# -- scoping --------------------------------------------------------------------------------------


def test_a_project_never_sees_a_project_with_a_longer_name(url):
    with roost.connect(url, project="acme") as acme, roost.connect(url, project="acme-corp") as corp:
        s = corp.sessions.create("corp", id="shared-id")
        corp.transcripts.append(s.id, "prompt", "secret")
        corp.memories.put("plan", "corp plan")
        corp.observations.add("coder", "corp note")
        corp.artifacts.put("acme/report", "corp report")
        assert acme.sessions.get("shared-id") is None and acme.sessions.list().items == []
        with pytest.raises(errors.SessionNotFound):
            acme.transcripts.append("shared-id", "prompt", "x")
        assert acme.memories.get("plan") is None and acme.memories.list().items == []
        assert acme.observations.recent() == [] and acme.observations.count("coder") == 0
        assert acme.artifacts.list(prefix="acme").items == []
        acme.sessions.create("acme's own", id="shared-id")  # the same id, another project
        acme.artifacts.put("acme/report", "corp report")  # the same content: stored for acme separately
        acme.artifacts.delete("acme/report")
        assert acme.artifacts.cleanup() == 1
        assert corp.artifacts.get("acme/report").text() == "corp report"


def test_a_session_has_at_most_a_thousand_participants(url):
    with roost.connect(url) as store:
        s = store.sessions.create("crowd", participants=[f"p{i}" for i in range(999)]).id
        assert len(store.sessions.join(s, "last").participants) == 1000
        assert len(store.sessions.join(s, "last").participants) == 1000  # already in: fine
        with pytest.raises(errors.InvalidArgument, match="1,000 participants"):
            store.sessions.join(s, "one too many")
        assert len(store.sessions.get(s).participants) == 1000  # type: ignore[union-attr]
        with pytest.raises(errors.InvalidArgument, match="at most 1000"):
            store.sessions.create("too many", participants=[f"p{i}" for i in range(1001)])
