"""Retention on every backend: each kind's policy removes exactly what it lets go and nothing live,
a dry run removes nothing, passes run in short batches under one lock, a closing store stops its
pass between batches, and passes run by themselves in stores that stay open (real processes).
Ages are moved into the past by the tests (tests.helpers.backdate), never waited for."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any

import pytest

import roost
from roost import errors
from roost.maintenance import cleanup, janitor
from roost.maintenance.policies import BY_NAME, KEPT, KINDS
from tests.helpers import CheckTable, backdate

YEAR = 400 * 86400.0
PROJECT = "keep"


def tables_of(url: str) -> dict[str, int]:
    """Every table of the schema and its row count (all projects), read with the raw driver."""
    check = CheckTable(url)
    try:
        if check.pg:
            names = [r[0] for r in check.run("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'roost' AND table_type = 'BASE TABLE'").fetchall()]
            return {n: check.run(f"SELECT count(*) FROM roost.{n}").fetchone()[0] for n in names}
        rows = check.run("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        fts = {n for n, sql in rows if sql and sql.upper().startswith("CREATE VIRTUAL TABLE")}
        shadows = {n for n, _ in rows for f in fts if n.startswith(f + "_")}
        return {n: check.run(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n, _ in rows
                if n not in fts | shadows}
    finally:
        check.close()


def test_every_table_is_either_cleaned_or_kept_on_purpose(shared_url):
    """A table added later fails here until its retention is decided (policies.KINDS or KEPT)."""
    roost.connect(shared_url).close()
    tables = set(tables_of(shared_url))
    removed = {s.table for k in KINDS for s in k.steps} | {t for k in KINDS for t in k.cascade}
    assert removed <= tables, removed - tables
    assert not removed & set(KEPT)
    undecided = tables - removed - set(KEPT)
    assert not undecided, f"tables with no retention decision: {sorted(undecided)}"


def fill(store: roost.Store) -> dict[str, Any]:
    """One old record of every kind (made old below) beside live ones that must stay."""
    p = "roost." if store.backend == "postgresql" else ""
    made: dict[str, Any] = {}
    store.signals.set("old", 1)
    store.signals.set("brief", 2, ttl=60)
    store.signals.set("crit", 3, critical=True)
    store.signals.set("fresh", 4)
    held = store.locks.acquire("held", ttl=600)
    assert held is not None
    idle = store.locks.acquire("idle", ttl=60)
    assert idle is not None
    store.locks.release(idle)
    made["idle_token"] = idle.token
    store.locks.acquire("lapsed", ttl=60)  # its holder row expires (below); the lock row stays
    store.locks.acquire("evict", ttl=600)
    store.locks.force_release("evict", privileged=True, reason="test")  # an audit-log entry
    store.agents.register("gone")
    store.agents.register("here")
    done = store.tasks.enqueue("done")
    store.tasks.complete(store.tasks.claim("w")[0].token)
    dead = store.tasks.enqueue("dead")
    store.tasks.fail(store.tasks.claim("w")[0].token, "boom", retry=False)
    released = store.tasks.enqueue("released", queue="side")  # back to pending, its ended claim kept
    store.tasks.release(store.tasks.claim("w", queues=["side"])[0].token)
    running = store.tasks.enqueue("running")
    store.tasks.claim("w", lease=600)
    pending = store.tasks.enqueue("pending")
    made.update(done=done, dead=dead, pending=pending, running=running, released=released)
    store.observations.add("oldie", "long ago")
    store.observations.add("newbie", "just now")
    finished = store.sessions.create("finished").id
    live = store.sessions.create("live").id
    store.transcripts.append_many([{"session": finished, "role": "user", "content": f"m{i}"} for i in range(3)]
                                  + [{"session": live, "role": "user", "content": f"l{i}"} for i in range(2)])
    store.sessions.set_status(finished, "completed")
    made.update(finished=finished, live=live)
    for i in range(3):
        store.artifacts.put("report", f"version {i}".encode())
    store.documents.collection("notes")
    for i in range(3):
        store.documents.put("notes", "a", {"n": i})
    store.workflows.define("flow", [{"id": "one"}])
    ended = store.runs.start("flow", "task:1")
    store.runs.cancel(ended.id, "done with it")
    going = store.runs.start("flow", "task:2")
    made.update(ended=ended.id, going=going.id)

    backdate(store, "signals", ["updated_at"], YEAR, f"project = '{store.project}' AND key IN ('old', 'crit')")
    backdate(store, "signals", ["expires_at"], YEAR, f"project = '{store.project}' AND key = 'brief'")
    backdate(store, "locks", ["expires_at", "changed_at"], YEAR, f"project = '{store.project}' AND name = 'idle'")
    backdate(store, "locks", ["changed_at"], YEAR, f"project = '{store.project}' AND name = 'held'")
    backdate(store, "lock_holders", ["expires_at"], YEAR, f"project = '{store.project}' AND name = 'lapsed'")
    backdate(store, "agents", ["heartbeat_at"], YEAR, f"project = '{store.project}' AND name = 'gone'")
    backdate(store, "audit_log", ["at"], YEAR)
    backdate(store, "tasks", ["finished_at", "created_at"], YEAR)
    backdate(store, "task_runs", ["ended_at", "claimed_at"], YEAR,
             f"task_id IN (SELECT id FROM {p}tasks WHERE project = '{store.project}')")
    backdate(store, "events", ["created_at"], YEAR)
    backdate(store, "observations", ["created_at"], YEAR, f"project = '{store.project}' AND agent = 'oldie'")
    backdate(store, "sessions", ["last_activity"], YEAR)
    backdate(store, "document_history", ["at"], YEAR,
             f"document_id IN (SELECT d.id FROM {p}documents d JOIN {p}doc_collections c ON c.id = d.collection_id "
             f"WHERE c.project = '{store.project}')")
    backdate(store, "runs", ["finished_at", "created_at"], YEAR)
    store.events.publish("fresh.event")  # the newest event of the database is never removed
    return made


EXPECTED = {"signals": 2, "locks": 1, "lock_holders": 1, "agents": 1, "audit_log": 1, "tasks": 2, "task_runs": 3,
            "observations": 1, "transcript_entries": 3, "artifacts": 2, "document_history": 2, "runs": 1}
"""Rows each policy lets go of the records fill() made old (the events they wrote are counted).
Claims go before tasks, so the claims of finished tasks are counted as claims."""
DERIVED = {"observation_agents", "artifact_blobs"}
"""Rows a step only orphans in the same pass (a counter at zero, content of removed versions): a
dry run, which removes nothing, cannot count them."""


def test_a_pass_removes_exactly_what_the_policies_let_go_and_nothing_live(shared_url):
    with roost.connect(shared_url, project=PROJECT, artifact_versions_kept=1,
                       document_history_max_age=86400.0) as store:
        made = fill(store)
        before = tables_of(shared_url)
        dry = store.cleanup(dry_run=True)
        assert tables_of(shared_url) == before, "a dry run removed something"
        assert dry.dry_run and dry.batches == 0
        planned = {t: n for k in dry.kinds for t, n in k.tables.items()}
        events_old = planned["events"]
        assert events_old >= 20  # every record above wrote events
        for table, n in EXPECTED.items():
            assert planned[table] == n, (table, planned[table])

        report = store.cleanup()
        assert report.complete and not report.dry_run
        done = {t: n for k in report.kinds for t, n in k.tables.items()}
        for table, n in planned.items():
            if table not in DERIVED:
                assert done[table] == n, (table, done[table], n)
        assert done["observation_agents"] == 1 and done["artifact_blobs"] == 2
        assert report.removed == sum(done.values())
        assert store.cleanup().removed == 0, "a second pass found more"

        assert {s.key for s in store.signals.list()} == {"crit", "fresh"}
        assert [h.name for h in store.locks.list()] == ["held"]
        again = store.locks.acquire("idle")
        assert again is not None and again.token > made["idle_token"], "a token went backwards"
        assert [a.name for a in store.agents.list()] == ["here"]
        assert store.audit_log() == []
        assert store.tasks.get(made["done"]) is None and store.tasks.get(made["dead"]) is None
        assert store.tasks.get(made["pending"]).status == "pending"  # type: ignore[union-attr]
        assert store.tasks.get(made["running"]).status == "running"  # type: ignore[union-attr]
        assert store.tasks.history(made["released"]) == []  # its ended claim went, the task stayed
        assert store.tasks.get(made["released"]).status == "pending"  # type: ignore[union-attr]
        assert [e.topic for e in store.events.query()][:1] == ["fresh.event"]
        assert store.observations.count("oldie") == 0 and store.observations.count("newbie") == 1
        assert store.transcripts.page(made["finished"]).items == []
        assert len(store.transcripts.page(made["live"]).items) == 2  # an active session keeps its transcript
        assert store.sessions.get(made["finished"]) is not None
        assert [a.version for a in store.artifacts.list(all_versions=True).items] == [3]
        assert store.artifacts.get("report").content == b"version 2"
        assert [v.version for v in store.documents.history("notes", "a")] == [3]
        assert store.documents.get("notes", "a").body == {"n": 2}  # type: ignore[union-attr]
        assert store.runs.get(made["ended"]) is None
        assert store.runs.get(made["going"]).run.status == "running"  # type: ignore[union-attr]
        state = store.cleanup_status()
        assert state.passes == 2 and state.removed == {k.name: 0 for k in KINDS}


def test_live_records_survive_every_policy_at_its_shortest(url):
    """Ages ten years past every bound, and the shortest settings: still nothing live goes."""
    short: dict[str, Any] = {"signal_max_age": 60, "lock_max_idle": 3600, "task_max_age": 0.001, "claim_max_age": 0.001,
                             "event_max_age": 60, "observation_retention_days": 0.001, "transcript_max_age": 0.001,
                             "artifact_versions_kept": 1, "document_history_max_age": 0.001, "run_max_age": 0.001,
                             "agent_max_age": 0.001, "audit_max_age": 0.001}
    with roost.connect(url, project=PROJECT, **short) as store:
        store.signals.set("crit", 1, critical=True)
        held = store.locks.acquire("held", ttl=3600)
        store.locks.acquire("shared", ttl=3600, mode="shared")
        running = store.tasks.enqueue("r")
        pending = store.tasks.enqueue("p", run_after=3600)
        (claim,) = store.tasks.claim("w", lease=3600)
        live = store.sessions.create("live").id
        store.transcripts.append(live, "user", "hello")
        store.memories.put("fact", {"a": 1}, session=live)
        store.artifacts.put("a", "one")
        store.documents.collection("notes")
        store.documents.put("notes", "k", {"x": 1})
        store.workflows.define("flow", [{"id": "one"}])
        run = store.runs.start("flow", "task:1")
        for table, columns in (("signals", ["updated_at"]), ("tasks", ["created_at"]), ("events", ["created_at"]),
                               ("sessions", ["last_activity", "created_at"]), ("runs", ["created_at", "updated_at"]),
                               ("memories", ["created_at", "updated_at"])):
            backdate(store, table, columns, 10 * 365 * 86400.0)
        store.cleanup()
        assert store.signals.get("crit") is not None
        assert {h.name for h in store.locks.list()} == {"held", "shared"} and held is not None
        assert store.tasks.get(running).status == "running" and claim.id == running  # type: ignore[union-attr]
        assert store.tasks.get(pending).status == "pending"  # type: ignore[union-attr]
        assert [e.content for e in store.transcripts.page(live).items] == ["hello"]
        assert store.memories.get("fact", session=live) is not None
        assert store.artifacts.get("a") is not None
        assert store.documents.get("notes", "k") is not None
        assert store.runs.get(run.id).run.status == "running"  # type: ignore[union-attr]
        assert len(store.events.query(limit=1)) == 1  # the newest event of the database stays


def test_batches_are_short_and_each_kind_can_run_alone(url):
    with roost.connect(url, project=PROJECT, cleanup_batch=10) as store:
        store.events.publish_many([{"topic": "old.one", "payload": i} for i in range(35)])
        backdate(store, "events", ["created_at"], YEAR)
        store.events.publish("fresh.event")
        assert store.cleanup(["events"], dry_run=True).by_kind() == {"events": 35}
        report = store.cleanup(["events"])
        assert report.by_kind() == {"events": 35} and report.batches == 4  # 10 + 10 + 10 + 5
        assert store.cleanup_status().passes == 0  # one kind is not a whole pass
        assert [e.topic for e in store.events.query(topics=["old.one", "fresh.event"])] == ["fresh.event"]


class StopAfter(threading.Event):
    """A closing store's stop event, set once ``batches`` batches have run (a pass asks before each)."""

    def __init__(self, batches: int) -> None:
        super().__init__()
        self.asked, self.batches = 0, batches

    def is_set(self) -> bool:
        self.asked += 1
        return self.asked > self.batches


def test_a_closing_store_stops_its_pass_between_batches(shared_url):
    with roost.connect(shared_url, project=PROJECT, cleanup_batch=10, claim_max_age=0, task_max_age=0,
                       signal_max_age=60, agent_max_age=0, audit_max_age=0) as store:
        store.events.publish_many([{"topic": "old.one", "payload": i} for i in range(400)])
        backdate(store, "events", ["created_at"], YEAR)
        store.events.publish("fresh.event")
        earlier = KINDS[:KINDS.index(BY_NAME["events"])]
        on = sum(1 for k in earlier for s in k.steps if s.bound(store.settings) is not None)
        report = cleanup.run(store, stop=StopAfter(on + 7))  # each earlier step runs one batch, then 7 of events
        assert report is not None and not report.complete
        assert report.by_kind()["events"] == 70 and report.batches == on + 7
        left = len(store.events.query(topics=["old.one", "fresh.event"], limit=1000))
        assert left == 401 - 70  # stopped part-way, nothing else lost
        assert store.cleanup_status().passes == 0  # an unfinished pass is still due
        assert store.locks.list(cleanup.LOCK) == []  # and its lock was given back


def test_one_cleaner_at_a_time(url):
    with roost.connect(url, project=PROJECT) as store, roost.connect(url, project=PROJECT) as other:
        lease = other.locks.acquire(cleanup.LOCK, owner="other-cleaner")
        assert lease is not None
        with pytest.raises(errors.LockNotAcquired, match=r"another process is cleaning project 'keep'.*other-cleaner"):
            store.cleanup()
        assert store.cleanup(dry_run=True).dry_run  # counting needs no lock
        assert cleanup.run(store, only_if_due=True) is None  # the janitor's way: step aside
        other.locks.release(lease)
        assert store.cleanup().complete


def janitor_child(url: str, seconds: float, barrier: Any, out: Any) -> None:
    """Child: open a store with automatic cleanup on and stay open until some process's pass is
    recorded (or ``seconds`` have passed)."""
    try:
        with roost.connect(url, project=PROJECT, cleanup_interval=3600, cleanup_batch=50) as store:
            barrier.wait(timeout=60)
            deadline = time.monotonic() + seconds
            while store.cleanup_status().passes == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
        out.put(("ok", None))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def test_stores_that_stay_open_clean_by_themselves_one_process_at_a_time(shared_url):
    with roost.connect(shared_url, project=PROJECT, cleanup_interval=3600) as store:
        store.events.publish_many([{"topic": "old.one", "payload": i} for i in range(3000)])
        backdate(store, "events", ["created_at"], YEAR)
        store.events.publish("fresh.event")
        assert store.cleanup_status().passes == 0 and not store.cleanup_status().due  # a new project is clean
        backdate(store, "projects", ["created_at"], 2 * 3600.0, f"name = '{PROJECT}'")
        assert store.cleanup_status().due
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=janitor_child, args=(shared_url, janitor.FIRST_CHECK + 60, barrier, out))
             for _ in range(3)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(r[0] == "ok" for r in results), results
    with roost.connect(shared_url, project=PROJECT, cleanup_interval=3600) as store:
        state = store.cleanup_status()
        assert state.passes == 1, "not exactly one process ran the pass"
        assert state.removed["events"] == 3000 and not state.due
        assert [e.topic for e in store.events.query(topics=["old.one", "fresh.event"])] == ["fresh.event"]
        (line,) = [c for c in store.doctor() if c.name == "cleanup"]
        assert line.level == "ok" and "last pass" in line.value and "events 3,000" in line.value


def test_automatic_cleanup_can_be_turned_off(url):
    with roost.connect(url, project=PROJECT, cleanup_interval=0) as store:
        assert store._janitor is None
        (line,) = [c for c in store.doctor() if c.name == "cleanup"]
        assert line.level == "warn" and "cleanup_interval = 0" in line.value
    with roost.connect(url, project=PROJECT, cleanup_interval=60) as store:
        assert store._janitor is not None


@pytest.mark.parametrize(("call", "text"), [
    (lambda s: s.cleanup(["nonsense"]), "unknown cleanup kind 'nonsense'"),
    (lambda s: s.cleanup([]), "unknown cleanup kind (none given)"),
    (lambda s: s.cleanup("events; DROP TABLE events"), "unknown cleanup kind"),
])
def test_bad_kinds_are_refused_and_remove_nothing(url, call, text):
    with roost.connect(url, project=PROJECT) as store:
        store.events.publish("old.one")
        store.events.publish("fresh.event")
        backdate(store, "events", ["created_at"], YEAR)
        with pytest.raises(errors.InvalidArgument, match=text.replace("(", r"\(").replace(")", r"\)")):
            call(store)
        assert len(store.events.query()) == 2


@pytest.mark.parametrize(("name", "value"), [
    ("cleanup_interval", -1), ("cleanup_batch", 0), ("cleanup_batch", 10**9), ("artifact_versions_kept", 1.5),
    ("task_max_age", "soon"), ("lock_max_idle", 60), ("run_max_age", float("nan")),
])
def test_bad_retention_settings_are_refused_at_open(url, name, value):
    with pytest.raises(errors.InvalidSetting, match=name):
        roost.connect(url, **{name: value})


def test_every_kind_names_settings_that_exist():
    settings = set(roost.config.SPECS)
    for kind in KINDS:
        assert BY_NAME[kind.name] is kind
        for step in kind.steps:
            assert step.setting is None or step.setting in settings, step
