"""Backup and restore on both backends: a backup taken while four processes write holds every
record committed before it began, passes its check and restores into an empty store; what cannot
be backed up or restored (an existing file, a full disk, a missing pg_dump, a truncated or foreign
file, a non-empty target, a newer schema) is refused with a clear error and nothing half-written."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import roost
from roost import errors
from tests.conftest import pg_database

WRITERS = 4


@contextmanager
def empty_target(shared_url: str, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty store of the same backend as ``shared_url``."""
    if shared_url.startswith("postgres"):
        with pg_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'restored.db'}"


def writer(url: str, me: int, stop: Any, barrier: Any, out: Any) -> None:
    """Child: publish an event and enqueue a task, numbered, until told to stop (at most 2,000:
    the checks list every task)."""
    try:
        with roost.connect(url, sqlite_busy_timeout=30) as store:
            barrier.wait(timeout=60)
            n = 0
            while not stop.is_set() and n < 2000:
                store.events.publish(f"w.{me}", n)
                store.tasks.enqueue("work", {"w": me, "n": n}, idempotency_key=f"{me}-{n}")
                n += 1
        out.put(("ok", n))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def committed(store: roost.Store) -> tuple[set[tuple[str, Any]], set[str]]:
    events: set[tuple[str, Any]] = set()
    after = None
    while page := store.events.query(topics=["w.*"], after=after, limit=10_000):
        events |= {(e.topic, e.payload) for e in page}
        after = page[-1].cursor
    tasks = {t.idempotency_key for t in store.tasks.list(limit=10_000) if t.idempotency_key}
    return events, tasks


def test_a_backup_taken_while_four_processes_write_holds_all_committed_before(shared_url, tmp_path):
    roost.connect(shared_url).close()
    ctx = mp.get_context("spawn")
    stop, barrier, out = ctx.Event(), ctx.Barrier(WRITERS + 1), ctx.Queue()
    procs = [ctx.Process(target=writer, args=(shared_url, i, stop, barrier, out)) for i in range(WRITERS)]
    for p in procs:
        p.start()
    target = tmp_path / "store.backup"
    try:
        with roost.connect(shared_url) as store:
            barrier.wait(timeout=60)
            deadline = time.monotonic() + 60
            while len(committed(store)[0]) < 200 and time.monotonic() < deadline:
                time.sleep(0.05)
            before_events, before_tasks = committed(store)  # committed before the backup began
            info = store.backup(target)
            time.sleep(0.3)  # and they go on writing
    finally:
        stop.set()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
    assert all(r[0] == "ok" for r in results), results
    assert len(before_events) >= 200 and info.bytes == target.stat().st_size > 0
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    if not shared_url.startswith("postgres"):
        conn = sqlite3.connect(target)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
    with roost.connect(shared_url) as store:
        final_events, final_tasks = committed(store)
    with empty_target(shared_url, tmp_path) as restored_url:
        restored = roost.restore(target, restored_url)
        assert restored.schema_version == info.schema_version
        with roost.connect(restored_url, create=False) as copy:
            events, tasks = committed(copy)
            assert before_events <= events <= final_events, "a record committed before the backup is missing"
            assert before_tasks <= tasks <= final_tasks
            copy.signals.set("after.restore", True)  # the copy is a working store
            assert copy.tasks.claim("agent")  # tokens and ids carry on


def test_backup_never_replaces_a_file_unasked_and_leaves_nothing_when_refused(url, tmp_path):
    with roost.connect(url) as store:
        store.signals.set("k", 1)
        path = tmp_path / "b.bak"
        first = store.backup(path)
        with pytest.raises(errors.TargetNotEmpty, match="already exists; pass overwrite=True"):
            store.backup(path)
        assert path.stat().st_size == first.bytes
        store.signals.set("k", 2)
        assert store.backup(str(path), overwrite=True).bytes > 0
        for bad, text in ((tmp_path, "is a folder"), (tmp_path / "missing" / "b.bak", "does not exist"),
                          (42, "must be a string or a path")):
            with pytest.raises(errors.InvalidArgument, match=text):
                store.backup(bad)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bak"]


FULL_DISK = """
import resource, signal, sys
import roost
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
store = roost.connect(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (32768, 32768))  # files this process writes stop at 32 KiB
try:
    store.backup(sys.argv[2])
except roost.RoostError as exc:
    print(type(exc).__name__, exc.message)
"""


def test_a_full_disk_fails_the_backup_cleanly(shared_url, tmp_path):
    with roost.connect(shared_url) as store:
        store.artifacts.put("big", os.urandom(300_000))
        before = store.artifacts.get("big")
    done = subprocess.run([sys.executable, "-c", FULL_DISK, shared_url, str(tmp_path / "b.bak")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(("BackupError", "DatabaseError")), done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == [], "a partial backup was left behind"
    with roost.connect(shared_url) as store:
        after = store.artifacts.get("big")
        assert after is not None and before is not None and after.content == before.content


def test_restore_refuses_what_it_cannot_restore_and_writes_nothing(shared_url, tmp_path):
    pg = shared_url.startswith("postgres")
    with roost.connect(shared_url) as store:
        store.signals.set("k", 1)
        good = store.backup(tmp_path / "good.bak")
    data = Path(good.path).read_bytes()
    (tmp_path / "truncated.bak").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.bak").write_text("not a backup")
    other = tmp_path / "other.bak"  # a backup of the other backend
    if pg:
        with roost.connect(f"sqlite:///{tmp_path / 'src.db'}") as foreign:
            foreign.backup(other)
    cases: list[tuple[Path, type[errors.RoostError], str]] = [
        (tmp_path / "truncated.bak", errors.BackupError, "pg_restore failed" if pg else "truncated.bak"),
        (tmp_path / "junk.bak", errors.BackupError, "not a pg_dump archive" if pg else "not a roost backup"),
        (tmp_path / "none.bak", errors.NotFound, "no backup file"),
    ]
    if pg:
        cases.append((other, errors.BackupError, "an SQLite backup; restore it into a sqlite:/// URL"))
    for source, kind, text in cases:
        with empty_target(shared_url, tmp_path) as target:
            with pytest.raises(kind, match=text):
                roost.restore(source, target)
            if pg:
                with pytest.raises(errors.NoStore):
                    roost.connect(target, create=False)  # no roost schema was left behind
            else:
                assert not (tmp_path / "restored.db").exists()
    with pytest.raises(errors.TargetNotEmpty, match="already"):
        roost.restore(good.path, shared_url)  # the source store itself is not empty
    with pytest.raises(errors.InvalidArgument, match="memory://"):
        roost.restore(good.path, "memory://x")


def test_a_backup_of_a_newer_schema_is_refused(shared_url, tmp_path):
    with roost.connect(shared_url) as store:
        path = tmp_path / "good.bak"
        store.backup(path)
    if shared_url.startswith("postgres"):
        from roost.backends import postgres_dump

        with pg_database() as scratch:
            roost.restore(path, scratch)
            import psycopg

            with psycopg.connect(scratch, autocommit=True) as conn:
                conn.execute("INSERT INTO roost.schema_migrations (version, name, checksum, applied_at) "
                             "VALUES (999, 'future', 'x', now())")
            postgres_dump.dump(scratch, tmp_path / "newer.bak")
    else:
        newer = sqlite3.connect(tmp_path / "newer.bak")
        sqlite3.connect(path).backup(newer)
        newer.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                      "VALUES (999, 'future', 'x', 0)")
        newer.commit()
        newer.close()
    with empty_target(shared_url, tmp_path) as target:
        with pytest.raises(errors.SchemaTooNew, match="999"):
            roost.restore(tmp_path / "newer.bak", target)
        if shared_url.startswith("postgres"):
            with pytest.raises(errors.NoStore):
                roost.connect(target, create=False)
        else:
            assert not (tmp_path / "restored.db").exists()


def test_a_postgresql_backup_without_pg_dump_says_how_to_get_it(pg_url, tmp_path, monkeypatch):
    with roost.connect(pg_url) as store:
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(errors.ToolMissing, match=r"pg_dump is not installed.*postgresql-client"):
            store.backup(tmp_path / "b.bak")
    assert list(tmp_path.iterdir()) == []


def test_the_async_face_backs_up_cleans_exports_and_imports(url, tmp_path):
    import io

    async def main() -> None:
        async with roost.connect_async(url) as store:
            await store.signals.set("k", 1)
            info = await store.backup(tmp_path / "a.bak")
            assert info.bytes > 0 and Path(info.path).exists()
            report = await store.cleanup(dry_run=True)
            assert report.dry_run and (await store.cleanup_status()).passes == 0
            out = io.StringIO()
            exported = await store.export(out)
            assert exported.tables["signals"] == 1 and len(out.getvalue().splitlines()) == 1 + exported.rows
            (tmp_path / "e.jsonl").write_text(out.getvalue(), encoding="utf-8")
        async with roost.connect_async(f"sqlite:///{tmp_path / 'copy.db'}") as copy:
            loaded = await copy.import_file(tmp_path / "e.jsonl")
            assert loaded.verified and loaded.written["signals"] == 1

    import asyncio

    asyncio.run(main())


@pytest.mark.parametrize(("url", "uri", "password"), [
    ("postgresql://alice:s3cr%40t@db.example:5432/app?sslmode=require",
     "postgresql://alice@db.example:5432/app?sslmode=require", "s3cr@t"),
    ("postgresql://bob@h/db?password=xyz&application_name=a", "postgresql://bob@h/db?application_name=a", "xyz"),
    ("postgresql:///db", "postgresql:///db", "from-the-caller"),
    ("postgres://h:5433/db", "postgres://h:5433/db", "from-the-caller"),
])
def test_the_password_reaches_pg_dump_in_the_environment_only(url, uri, password, monkeypatch):
    from roost.backends.postgres_dump import _libpq

    monkeypatch.setenv("PGPASSWORD", "from-the-caller")
    got, env = _libpq(url)
    assert got == uri and env.get("PGPASSWORD") == password
    assert "s3cr" not in got and "xyz" not in got
