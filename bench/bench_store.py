"""Store basics: open+close a store, and a point read through the store.

The raw forms run the same SQL through the plain driver: ``sqlite3`` with the pragmas roost sets,
or one ``psycopg`` connection in autocommit. Opening a roost store does more than a raw connect
(configuration, schema check, project check, a pool), which the open+close ratio shows honestly.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg

import roost
from bench.harness import Target, compare


@contextlib.contextmanager
def raw_transaction(conn: Any, pg: bool) -> Iterator[None]:
    """One write transaction on a raw connection: psycopg's, or ``BEGIN IMMEDIATE`` … ``COMMIT``
    on an sqlite3 connection in autocommit (as roost's own writes are)."""
    if pg:
        with conn.transaction():
            yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _raw_sqlite(target: Target) -> sqlite3.Connection:
    conn = sqlite3.connect(target.raw_path or ":memory:", isolation_level=None, timeout=5)
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA journal_mode").fetchone()
    return conn


def open_close(target: Target, seconds: float) -> None:
    roost.connect(target.url, project="bench").close()  # create the schema once

    def with_roost() -> None:
        roost.connect(target.url, project="bench").close()

    def raw() -> None:
        if target.raw_dsn:
            psycopg.connect(target.raw_dsn, autocommit=True).close()
        else:
            _raw_sqlite(target).close()

    compare(f"{target.backend}/open_close", with_roost, raw, seconds)


def point_read(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project="bench") as store:
        raw_conn: Any
        if target.raw_dsn:
            raw_conn = psycopg.connect(target.raw_dsn, autocommit=True)
            sql = "SELECT name, extract(epoch FROM created_at)::float8 FROM roost.projects WHERE name = %s"
        else:
            raw_conn = _raw_sqlite(target)
            sql = "SELECT name, created_at FROM projects WHERE name = ?"

        def raw() -> None:
            row = raw_conn.execute(sql, ("bench",)).fetchone()
            assert row is not None

        def with_roost() -> None:
            assert store.get_project() is not None

        try:
            compare(f"{target.backend}/point_read", with_roost, raw, seconds)
        finally:
            raw_conn.close()


BENCHMARKS = {"open_close": open_close, "point_read": point_read}
