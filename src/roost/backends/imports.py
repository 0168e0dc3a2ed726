"""Writing a project's records for ``roost import`` and ``roost transfer``: each dialect's half.

The domain (:mod:`roost.maintenance.importing`) reads the rows, checks them and cuts them into
batches; a writer stores one batch per transaction, in which the record-keeping triggers are quiet
(the file already holds the events they would write and the counters they would move), and rows
already present are skipped (``ON CONFLICT DO NOTHING``), so that an import can run again. Values
arrive in the file's form (:mod:`roost.maintenance.exchange`) and are turned into the column's own:
times from whole microseconds, booleans, JSON text, bytes from base64.

SQLite makes its triggers quiet by dropping them and creating them again from their own text
inside the batch's write transaction: DDL is transactional there, and no other connection can see
the database between the two (the write lock is held, readers keep their snapshot). PostgreSQL's
triggers skip themselves while ``roost.importing`` is set for the transaction (migration 0016).
Rows reach PostgreSQL through COPY into a temporary table, then one ``INSERT ... SELECT``.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import psycopg
from psycopg import sql as pgsql

from roost.backends.exports import PostgresReader, Scope, SQLiteReader, _where

Columns = Sequence[tuple[str, str]]
"""(name, kind) of the columns a batch fills, as :func:`roost.maintenance.exchange.kind_of` names them."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _bytes(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


_TO_SQLITE: dict[str, Any] = {"time": lambda v: v / 1_000_000, "bool": int, "json": _json_text, "bytes": _bytes}
_TO_POSTGRES: dict[str, Any] = {"time": lambda v: EPOCH + timedelta(microseconds=v), "bytes": _bytes}
"""How a value of the file's form becomes the column's, for the kinds that change ("jsontext" is
JSON already made text; memories' tags, the one "json" column left, are a text[] on PostgreSQL)."""


def _converted(columns: Columns, convert: dict[str, Any], rows: Sequence[Sequence[Any]]) -> Iterator[list[Any]]:
    funcs = [convert.get(kind) for _, kind in columns]
    for row in rows:
        yield [v if f is None or v is None else f(v) for f, v in zip(funcs, row, strict=True)]


class SQLiteWriter:
    """Batches on one connection of the store's pool (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection, quiet: str, tokens: Sequence[str]) -> None:
        self._conn = conn
        self._quiet = quiet
        self._tokens = tokens
        self.reader = SQLiteReader(conn)

    @contextmanager
    def batch(self, table: str | None = None) -> Iterator[None]:
        """One write transaction for rows of ``table`` (None: of any table)."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            triggers = conn.execute(self._quiet, {"table": table}).fetchall()
            for name, _ in triggers:
                conn.execute(f'DROP TRIGGER "{name}"')
            yield
            for _, text in triggers:
                conn.execute(text)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def holds(self, table: str, scope: Scope, project: str) -> bool:
        sql = f'SELECT 1 FROM "{table}" WHERE {_where(scope, "", "?")} LIMIT 1'
        return self._conn.execute(sql, (project,)).fetchone() is not None

    def others(self, table: str, key: str, scope: Scope, project: str, low: int, high: int) -> list[int]:
        sql = (f'SELECT {key} FROM "{table}" WHERE {key} BETWEEN ? AND ? AND NOT ({_where(scope, "", "?")}) '
               f"ORDER BY {key}")
        return [int(r[0]) for r in self._conn.execute(sql, (low, high, project))]

    def insert(self, table: str, columns: Columns, rows: Sequence[Sequence[Any]]) -> int:
        names = ", ".join(c for c, _ in columns)
        marks = ", ".join("?" for _ in columns)
        cur = self._conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING',
                                     _converted(columns, _TO_SQLITE, rows))
        return cur.rowcount

    def delete(self, table: str, scope: Scope, project: str) -> int:
        return self._conn.execute(f'DELETE FROM "{table}" WHERE {_where(scope, "", "?")}', (project,)).rowcount

    def reserve(self, project: str, maxima: dict[tuple[str, str], int], task_token: int, lock_token: int) -> None:
        """Raise the token counters to the imported ones. (Row ids need nothing: an explicit id
        moves SQLite's AUTOINCREMENT record past itself.)"""
        for statement in self._tokens:
            self._conn.execute(statement, {"project": project, "task_token": task_token, "lock_token": lock_token})


class PostgresWriter:
    """Batches on one connection of the store's pool (see the module docstring)."""

    DERIVED: ClassVar[dict[str, dict[str, str]]] = {"event_consumers": {
        "txid": "coalesce((SELECT e.txid FROM roost.events e WHERE e.project = s.project AND e.position <= s.position "
                "ORDER BY e.position DESC LIMIT 1), '0')"}}
    """Columns the file leaves out that PostgreSQL cannot default: a consumer's place in the log
    is (txid, position), and the txid is the one its last event got in this database."""

    def __init__(self, conn: psycopg.Connection[Any], quiet: str, tokens: str) -> None:
        self._conn = conn
        self._quiet = quiet
        self._tokens = tokens
        self.reader = PostgresReader(conn)

    @contextmanager
    def batch(self, table: str | None = None) -> Iterator[None]:
        """One transaction for rows of ``table`` (None: of any table)."""
        with self._conn.transaction():
            self._conn.execute(self._quiet)
            yield

    def holds(self, table: str, scope: Scope, project: str) -> bool:
        sql = f"SELECT 1 FROM roost.{table} WHERE {_where(scope, 'roost.', '%s')} LIMIT 1"
        return self._conn.execute(sql.encode(), (project,)).fetchone() is not None

    def others(self, table: str, key: str, scope: Scope, project: str, low: int, high: int) -> list[int]:
        sql = (f"SELECT {key} FROM roost.{table} WHERE {key} BETWEEN %s AND %s "
               f"AND NOT ({_where(scope, 'roost.', '%s')}) ORDER BY {key}")
        return [int(r[0]) for r in self._conn.execute(sql.encode(), (low, high, project))]

    def insert(self, table: str, columns: Columns, rows: Sequence[Sequence[Any]]) -> int:
        stage = pgsql.Identifier(f"roost_import_{table}")
        names = [c for c, _ in columns]
        listed = pgsql.SQL(", ").join(map(pgsql.Identifier, names))
        derived = self.DERIVED.get(table, {})
        target = pgsql.SQL(", ").join([listed, *map(pgsql.Identifier, derived)]) if derived else listed
        chosen = pgsql.SQL(", ").join([pgsql.SQL("s.{}").format(pgsql.Identifier(n)) for n in names]
                                      + [pgsql.SQL(e) for e in derived.values()])
        conn = self._conn
        conn.execute(pgsql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DROP AS SELECT {} FROM roost.{} "
                               "WITH NO DATA").format(stage, listed, pgsql.Identifier(table)))
        with conn.cursor() as cur:
            with cur.copy(pgsql.SQL("COPY {} ({}) FROM STDIN").format(stage, listed)) as copy:
                for row in _converted(columns, _TO_POSTGRES, rows):
                    copy.write_row(row)
            cur.execute(pgsql.SQL("INSERT INTO roost.{} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {} s "
                                  "ON CONFLICT DO NOTHING").format(pgsql.Identifier(table), target, chosen, stage))
            inserted = cur.rowcount
            cur.execute(pgsql.SQL("TRUNCATE {}").format(stage))
        return inserted

    def delete(self, table: str, scope: Scope, project: str) -> int:
        sql = f"DELETE FROM roost.{table} WHERE {_where(scope, 'roost.', '%s')}"
        return self._conn.execute(sql.encode(), (project,)).rowcount

    def reserve(self, project: str, maxima: dict[tuple[str, str], int], task_token: int, lock_token: int) -> None:
        """Move every sequence behind an imported column (identities, and defaults that take
        ``nextval``) and the token sequences past the imported values, so that what the target
        writes next never takes an imported id and fencing tokens keep growing."""
        sequences: dict[str, int] = {}
        for (table, column), value in maxima.items():
            row = self._conn.execute(
                "SELECT coalesce(pg_get_serial_sequence(%s, %s), substring(column_default FROM "
                "'^nextval\\(''([^'']+)''::regclass\\)$')) FROM information_schema.columns "
                "WHERE table_schema = 'roost' AND table_name = %s AND column_name = %s",
                (f"roost.{table}", column, table, column)).fetchone()
            if row and row[0]:
                sequences[row[0]] = max(sequences.get(row[0], 0), value)
        for name, value in sorted(sequences.items()):
            self._conn.execute(self._tokens.encode(), {"sequence": name, "value": value})
        self._conn.execute(self._tokens.encode(), {"sequence": "roost.task_tokens", "value": task_token})
        self._conn.execute(self._tokens.encode(), {"sequence": "roost.lock_tokens", "value": lock_token})
