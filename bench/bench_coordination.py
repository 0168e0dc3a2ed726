"""Coordination: signal set, signal get, lock acquire+release.

``raw`` runs the very SQL roost runs (its named queries, read from the package) through the plain
driver on one connection: ``sqlite3`` with roost's pragmas (a two-statement block inside BEGIN
IMMEDIATE ... COMMIT, as roost runs it), or ``psycopg`` in autocommit. The ratio is therefore
roost's own overhead: validation, the pool, building results. ``signal_get_decoded`` gives the raw
side the work a caller of the bare driver must do too (decode the JSON value and the timestamps).
``lock_cycle_minimal`` instead
compares with the simplest lease a hand-written orchestrator uses (one upsert without fencing or
holder rows, from ../shared/bench/raw_baseline.py): the price of the guarantees, not of roost's Python.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

import roost
from bench.bench_store import _raw_sqlite
from bench.harness import Target, compare
from roost._sql import queries
from roost.backends.sqlite import split_script

OWNER = "bench-agent"
VALUE = "v" * 64


class Raw:
    """Runs roost's named queries with the bare driver."""

    def __init__(self, target: Target) -> None:
        self.pg = target.raw_dsn is not None
        self.conn: Any = psycopg.connect(target.raw_dsn, autocommit=True) if target.raw_dsn else _raw_sqlite(target)
        self.sql = queries("postgresql" if self.pg else "sqlite")

    def query(self, name: str) -> Callable[[dict[str, Any]], Any]:
        text = self.sql[name]
        if self.pg:
            return lambda params: self.conn.execute(text, params).fetchall()
        block = split_script(text)
        if len(block) == 1:
            return lambda params: self.conn.execute(text, params).fetchall()
        conn: sqlite3.Connection = self.conn
        head, last = block[:-1], block[-1]

        def run_block(params: dict[str, Any]) -> Any:
            conn.execute("BEGIN IMMEDIATE")
            for statement in head:
                conn.execute(statement, params)
            rows = conn.execute(last, params).fetchall()
            conn.execute("COMMIT")
            return rows

        return run_block

    def close(self) -> None:
        self.conn.close()


def signal_set(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project="bench") as store:
        raw = Raw(target)
        upsert = raw.query("signal_set")
        params = {"project": "bench", "key": "raw-key", "value": f'"{VALUE}"', "ttl": None, "critical": False,
                  "if_absent": False, "owner": OWNER, "expected": None}
        try:
            compare(f"{target.backend}/signal_set", lambda: store.signals.set("key", VALUE, owner=OWNER),
                    lambda: upsert(params), seconds)
        finally:
            raw.close()


def signal_get(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project="bench") as store:
        store.signals.set("key", VALUE)
        raw = Raw(target)
        read = raw.query("signal_get")
        params = {"project": "bench", "key": "key"}
        def read_and_decode() -> Any:
            _key, value, version, _critical, expires, updated, _by = read(params)[0]
            stamp = None if expires is None else datetime.fromtimestamp(expires, UTC)
            return json.loads(value), version, stamp, datetime.fromtimestamp(updated, UTC)

        try:
            compare(f"{target.backend}/signal_get", lambda: store.signals.get("key"), lambda: read(params), seconds)
            compare(f"{target.backend}/signal_get_decoded", lambda: store.signals.get("key"), read_and_decode,
                    seconds)
        finally:
            raw.close()


def lock_cycle(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project="bench") as store:
        raw = Raw(target)
        acquire, release = raw.query("lock_acquire"), raw.query("lock_release")
        params = {"project": "bench", "name": "raw-lock", "owner": OWNER, "mode": "exclusive", "ttl": 30.0}

        def with_roost() -> None:
            lease = store.locks.acquire("lock", owner=OWNER, ttl=30)
            assert lease is not None
            store.locks.release(lease)

        def with_raw() -> None:
            rows = acquire(params)
            assert rows
            release({**params, "token": rows[0][0], "owner": OWNER})

        try:
            compare(f"{target.backend}/lock_acquire_release", with_roost, with_raw, seconds)
            minimal = _minimal_lease(raw)
            compare(f"{target.backend}/lock_cycle_minimal", with_roost, minimal, seconds)
        finally:
            raw.close()


def _minimal_lease(raw: Raw) -> Callable[[], None]:
    """The hand-written lease of raw_baseline.py: an upsert and a release, no token, no holder rows."""
    conn = raw.conn
    if raw.pg:
        conn.execute("CREATE TABLE IF NOT EXISTS rb_leases (name text PRIMARY KEY, owner text NOT NULL, "
                     "expires_at timestamptz NOT NULL)")
        acq = ("INSERT INTO rb_leases (name, owner, expires_at) VALUES (%s, %s, now() + interval '30 seconds') "
               "ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at "
               "WHERE rb_leases.expires_at < now() RETURNING owner")
        rel = "UPDATE rb_leases SET expires_at = '-infinity' WHERE name = %s AND owner = %s"
    else:
        conn.execute("CREATE TABLE IF NOT EXISTS rb_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, "
                     "expires_at REAL NOT NULL)")
        acq = ("INSERT INTO rb_leases (name, owner, expires_at) VALUES (?, ?, unixepoch() + 30) "
               "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
               "WHERE rb_leases.expires_at < unixepoch() RETURNING owner")
        rel = "UPDATE rb_leases SET expires_at = 0 WHERE name = ? AND owner = ?"

    def cycle() -> None:
        assert conn.execute(acq, ("lease-a", OWNER)).fetchone() is not None
        conn.execute(rel, ("lease-a", OWNER))

    return cycle


BENCHMARKS = {"signal_set": signal_set, "signal_get": signal_get, "lock_acquire_release": lock_cycle}
