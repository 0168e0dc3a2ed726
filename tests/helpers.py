"""Code that test child processes import (multiprocessing's spawn needs importable functions)."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import roost
from roost import diagnostics
from roost._op import Op, Script
from roost.migrations import MigrationSet
from roost.store import Store
from roost.tasks import TaskSpec

TOY_SQL = {
    "sqlite": [
        "CREATE TABLE toy_a (id INTEGER PRIMARY KEY, note TEXT NOT NULL);",
        "ALTER TABLE toy_a ADD COLUMN extra TEXT;\nCREATE INDEX toy_a_note ON toy_a (note);",
        "CREATE TABLE toy_b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES toy_a (id));",
    ],
    "postgresql": [
        "CREATE TABLE roost.toy_a (id bigint PRIMARY KEY, note text NOT NULL);",
        "ALTER TABLE roost.toy_a ADD COLUMN extra text;\nCREATE INDEX toy_a_note ON roost.toy_a (note);",
        "CREATE TABLE roost.toy_b (id bigint PRIMARY KEY, a_id bigint NOT NULL REFERENCES roost.toy_a (id));",
    ],
}


def dialect_of(url: str) -> str:
    return "postgresql" if url.startswith("postgres") else "sqlite"


def base_version(dialect: str) -> int:
    return MigrationSet.bundled(dialect).latest


def write_toy_migrations(folder: Path, dialect: str, count: int = 3) -> Path:
    """roost's own migrations, then ``count`` toy ones numbered after them."""
    folder.mkdir(parents=True, exist_ok=True)
    bundled = MigrationSet.bundled(dialect)
    for m in bundled.migrations:
        (folder / f"{m.label}.sql").write_text(m.sql)
    for i, sql in enumerate(TOY_SQL[dialect][:count], start=bundled.latest + 1):
        (folder / f"{i:04d}_toy_{i}.sql").write_text(sql)
    return folder


def open_and_report(url: str, folder: str | None, barrier: Any, out: Any) -> None:
    """Child: wait for the others, open the store (which migrates), report what it applied."""
    try:
        barrier.wait(timeout=60)
        mset = MigrationSet.from_directory(dialect_of(url), Path(folder)) if folder else None
        store = roost.store.open_store(url, migration_set=mset, auto_migrate=False, check_schema=False)
        with store:
            out.put(("ok", store.migrate()))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def register_many(url: str, prefix: str, count: int, barrier: Any, out: Any) -> None:
    """Child: register ``count`` projects, each in its own write transaction."""
    try:
        with roost.connect(url, sqlite_busy_timeout=2) as store:
            barrier.wait(timeout=60)
            for i in range(count):
                with store.transaction():
                    store._execute(diagnostics.project_ensure, f"{prefix}-{i}")
        out.put(("ok", count))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def run_processes(target: Any, argsets: list[tuple[Any, ...]], timeout: float = 90) -> list[Any]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(argsets))
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, barrier, out)) for a in argsets]
    for p in procs:
        p.start()
    results = [out.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return results


def sqlite_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def backdate(store: Store, table: str, columns: list[str], seconds: float, where: str | None = None) -> None:
    """Move ``columns`` of this project's rows (or of the rows ``where`` says, for a table without
    a project column) ``seconds`` into the past: time passing, without waiting."""
    where = where or f"project = '{store.project}'"
    if store.backend == "postgresql":
        sets = ", ".join(f"{c} = {c} - interval '{seconds} seconds'" for c in columns)
        text = f"UPDATE roost.{table} SET {sets} WHERE {where}"
    else:
        sets = ", ".join(f"{c} = {c} - {seconds}" for c in columns)
        text = f"UPDATE {table} SET {sets} WHERE {where}"

    def op() -> Op[None]:
        yield Script(text=text)

    store._execute(op)


# --- coordination children ----------------------------------------------------------------------

LOCK = "the-lock"


class CheckTable:
    """The resource a lock guards: a table outside roost, written with the raw driver, that takes a
    write only with a token above the last it saw (fencing) and counts writers inside at once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = url.startswith("postgres")
        self.conn: Any = self._connect()

    def _connect(self) -> Any:
        if self.pg:
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        return sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)

    def run(self, sql: str, *params: Any) -> Any:
        return self.conn.execute(sql.replace("?", "%s") if self.pg else sql, params)

    def run_surviving_restarts(self, sql: str, *params: Any) -> None:
        """An idempotent write that reconnects through a PostgreSQL restart (up to 30 s)."""
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                self.run(sql, *params)
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                with contextlib.suppress(psycopg.OperationalError):
                    self.conn = self._connect()

    def create(self) -> None:
        self.run("CREATE TABLE fence (id INTEGER PRIMARY KEY, last_token BIGINT NOT NULL, busy INTEGER NOT NULL)")
        self.run("CREATE TABLE fence_log (seq INTEGER PRIMARY KEY, token BIGINT NOT NULL, pid INTEGER NOT NULL)"
                 if not self.pg else
                 "CREATE TABLE fence_log (seq bigserial PRIMARY KEY, token bigint NOT NULL, pid integer NOT NULL)")
        self.run("INSERT INTO fence VALUES (1, 0, 0)")

    def close(self) -> None:
        self.conn.close()


def lock_cycles(url: str, cycles: int, barrier: Any, out: Any) -> None:
    """Child: acquire, write the check table under the lease, release; ``cycles`` times."""
    try:
        check = CheckTable(url)
        violations = 0
        with roost.connect(url, sqlite_busy_timeout=30) as store:
            barrier.wait(timeout=60)
            done = 0
            while done < cycles:
                lease = store.locks.acquire(LOCK, owner=f"p{os.getpid()}", ttl=30)
                if lease is None:
                    time.sleep(random.random() * 0.002)
                    continue
                row = check.run("UPDATE fence SET busy = busy + 1, last_token = ? WHERE id = 1 AND last_token < ? "
                                "RETURNING busy", lease.token, lease.token).fetchone()
                if row is None or row[0] != 1:
                    violations += 1
                check.run("INSERT INTO fence_log (token, pid) VALUES (?, ?)", lease.token, os.getpid())
                if row is not None:
                    check.run("UPDATE fence SET busy = busy - 1 WHERE id = 1")
                store.locks.release(lease)
                done += 1
        check.close()
        out.put(("ok", violations))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def hold_and_hang(url: str, ttl: float, out: Any) -> None:
    """Child: take the lock, report the lease, then hang until killed."""
    with roost.connect(url) as store:
        lease = store.locks.acquire(LOCK, owner=f"doomed-{os.getpid()}", ttl=ttl)
        assert lease is not None
        out.put((lease.token, lease.expires_at.timestamp()))
        while True:
            time.sleep(60)


def cas_increments(url: str, count: int, barrier: Any, out: Any) -> None:
    """Child: add 1 to the counter signal ``count`` times with compare-and-set, retrying conflicts."""
    try:
        conflicts = 0
        with roost.connect(url, sqlite_busy_timeout=30) as store:
            barrier.wait(timeout=60)
            for _ in range(count):
                while True:
                    current = store.signals.get("counter")
                    value, version = (current.value, current.version) if current else (0, 0)
                    try:
                        store.signals.set("counter", value + 1, expected_version=version)
                        break
                    except roost.errors.VersionConflict:
                        conflicts += 1
        out.put(("ok", conflicts))
    except BaseException as exc:
        out.put(("error", repr(exc)))


# --- queue children -----------------------------------------------------------------------------


def create_completions(url: str) -> None:
    table = CheckTable(url)
    table.run("CREATE TABLE completions (task_id BIGINT NOT NULL, token BIGINT NOT NULL, agent TEXT NOT NULL, "
              "PRIMARY KEY (task_id, token))")
    table.close()


def queue_worker(url: str, agent: str, work: float, barrier: Any, out: Any) -> None:
    """Child: claim batches, 'work' on each task, complete it, and record every accepted completion
    in the completions table; stop when nothing is left to claim or running."""
    try:
        record = CheckTable(url)
        done = lost = 0
        with roost.connect(url, sqlite_busy_timeout=30) as store:
            if barrier is not None:
                barrier.wait(timeout=60)
            while True:
                claims = store.tasks.claim(agent, n=10, lease=1.5)
                if not claims:
                    if not any(s.pending or s.running or s.failed for s in store.tasks.stats()):
                        break
                    time.sleep(0.02)
                    continue
                for claim in claims:
                    if work:
                        time.sleep(work)
                    try:
                        store.tasks.complete(claim.token, {"by": agent})
                    except roost.errors.LeaseLost:
                        lost += 1
                        continue
                    sql = "INSERT INTO completions VALUES (?, ?, ?) ON CONFLICT DO NOTHING"  # a retried write
                    if record.pg:
                        record.run_surviving_restarts(sql, claim.id, claim.token, agent)
                    else:
                        record.run(sql, claim.id, claim.token, agent)
                    done += 1
        record.close()
        out.put(("ok", done, lost))
    except BaseException:
        import traceback

        out.put(("error", traceback.format_exc(), 0))  # (whole: which call gave up matters)


def event_publisher(url: str, index: int, count: int, barrier: Any, out: Any, durable: bool = False) -> None:
    """Child: publish ``count`` events numbered 0.. on topic load.p<index>, one commit each. With
    ``durable``, each carries a dedupe key and is retried through lost connections and restarts
    (a retry of a publish that did commit returns the event it made, so each is published once)."""
    try:
        retried = 0
        with roost.connect(url, sqlite_busy_timeout=30) as store:
            barrier.wait(timeout=120)
            for seq in range(count):
                deadline = time.monotonic() + 60
                while True:
                    try:
                        store.events.publish(f"load.p{index}", {"p": index, "seq": seq},
                                             dedupe_key=f"p{index}-{seq}" if durable else None)
                        break
                    except (roost.errors.ConnectionLost, roost.errors.PoolTimeout):
                        if not durable or time.monotonic() > deadline:
                            raise
                        retried += 1
                        time.sleep(0.1)
        out.put(("ok", index, retried))
    except BaseException as exc:
        out.put(("error", repr(exc), 0))


def event_subscriber(url: str, total: int, barrier: Any, out: Any) -> None:
    """Child: subscribe from now, then read until ``total`` events arrived (or 240 s passed).
    Reports what it saw: every (publisher, seq) once, each publisher's seqs in order, cursors rising."""
    try:
        with roost.connect(url) as store, store.events.subscribe("load.*") as sub:
            barrier.wait(timeout=120)
            seen: list[tuple[int, int]] = []
            cursors: list[tuple[int, int]] = []
            deadline = time.monotonic() + 240
            while len(seen) < total and time.monotonic() < deadline:
                event = sub.get(timeout=1.0)
                if event is not None:
                    seen.append((event.payload["p"], event.payload["seq"]))
                    a, b = event.cursor.split(":")
                    cursors.append((int(a), int(b)))
            extra = sub.get(timeout=0.5)
        duplicates = len(seen) - len(set(seen))
        in_order = all(
            [s for p, s in seen if p == index] == sorted(s for p, s in seen if p == index)
            for index in {p for p, _ in seen})
        rising = all(x < y for x, y in itertools.pairwise(cursors))
        out.put(("ok", len(set(seen)), duplicates, in_order, rising, extra is None))
    except BaseException as exc:
        out.put(("error", repr(exc), 0, False, False, False))


def sqlite_batch_writer(url: str, round_: int, ready: Any) -> None:
    """Child: commit batches of 20 tasks (payload ``{"batch": ...}``) until killed."""
    with roost.connect(url, sqlite_busy_timeout=30) as store:
        ready.set()
        for i in itertools.count():
            store.tasks.enqueue_many([TaskSpec("kill", {"batch": f"{round_}-{i}", "n": n}) for n in range(20)])
