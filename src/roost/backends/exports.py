"""Reading a project's records for ``roost export``: one consistent snapshot, rows streamed.

The domain names the tables, their columns' kinds and how rows belong to a project
(:mod:`roost.maintenance.exchange`); this module turns that into each dialect's SQL: times as
whole microseconds since the epoch, rows in primary-key order with text compared byte by byte,
and on PostgreSQL a server-side cursor so that a large table is never held in memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

Scope = Sequence[tuple[str, str, str]]
"""From a table up to one with a ``project`` column: (column, parent table, parent key) links."""

FETCH = 2000


def _where(scope: Scope, prefix: str, mark: str) -> str:
    """The condition for a table's rows of the project (``mark`` is the parameter's placeholder)."""
    condition = f"project = {mark}"
    for column, parent, key in reversed(scope):
        condition = f"{column} IN (SELECT {key} FROM {prefix}{parent} WHERE {condition})"
    return condition


class SQLiteReader:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def tables(self) -> list[str]:
        rows = self._conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        virtual = {n for n, sql in rows if sql and sql.upper().startswith("CREATE VIRTUAL TABLE")}
        return sorted(n for n, _ in rows if n not in virtual and not any(n.startswith(v + "_") for v in virtual))

    def columns(self, table: str) -> list[tuple[str, str]]:
        return [(str(r[1]), str(r[2])) for r in self._conn.execute(f'PRAGMA table_info("{table}")')]

    def count(self, table: str, scope: Scope, project: str) -> int:
        sql = f'SELECT count(*) FROM "{table}" WHERE {_where(scope, "", "?")}'
        return int(self._conn.execute(sql, (project,)).fetchone()[0])

    def rows(self, table: str, columns: Sequence[tuple[str, str]], order: Sequence[str], scope: Scope,
             project: str) -> Iterator[tuple[Any, ...]]:
        exprs = [f"CAST(round({c} * 1000000) AS INTEGER)" if kind == "time" else c for c, kind in columns]
        sql = (f'SELECT {", ".join(exprs)} FROM "{table}" WHERE {_where(scope, "", "?")} '
               f"ORDER BY {', '.join(order)}")
        yield from self._conn.execute(sql, (project,))


class PostgresReader:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def tables(self) -> list[str]:
        rows = self._conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'roost' "
                                  "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()
        return [str(r[0]) for r in rows]

    def columns(self, table: str) -> list[tuple[str, str]]:
        rows = self._conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_schema = 'roost' AND table_name = %s ORDER BY ordinal_position",
                                  (table,)).fetchall()
        return [(str(n), str(t)) for n, t in rows]

    def count(self, table: str, scope: Scope, project: str) -> int:
        sql = f"SELECT count(*) FROM roost.{table} WHERE {_where(scope, 'roost.', '%s')}"
        row = self._conn.execute(sql.encode(), (project,)).fetchone()
        return int(row[0]) if row else 0

    def rows(self, table: str, columns: Sequence[tuple[str, str]], order: Sequence[str], scope: Scope,
             project: str) -> Iterator[tuple[Any, ...]]:
        kinds = dict(columns)
        exprs = [f"(extract(epoch FROM {c}) * 1000000)::bigint" if kind == "time" else c for c, kind in columns]
        keys = [f'{c} COLLATE "C"' if kinds.get(c) == "text" else c for c in order]
        sql = (f"SELECT {', '.join(exprs)} FROM roost.{table} WHERE {_where(scope, 'roost.', '%s')} "
               f"ORDER BY {', '.join(keys)}")
        with self._conn.cursor(name=f"roost_export_{table}") as cur:
            cur.itersize = FETCH
            cur.execute(sql.encode(), (project,))
            yield from cur
