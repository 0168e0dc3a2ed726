"""Code that test child processes import (multiprocessing's spawn needs importable functions)."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path
from typing import Any

import roost
from roost import diagnostics
from roost.migrations import MigrationSet

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
