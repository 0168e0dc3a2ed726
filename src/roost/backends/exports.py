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

    def aggregates(self, table: str, exprs: Sequence[str], scope: Scope, project: str) -> list[Any]:
        sql = f'SELECT {", ".join(exprs)} FROM "{table}" WHERE {_where(scope, "", "?")}'
        return list(self._conn.execute(sql, (project,)).fetchone())

    def keys(self, table: str, key: str, scope: Scope, project: str) -> Iterator[int]:
        sql = f'SELECT {key} FROM "{table}" WHERE {_where(scope, "", "?")}'
        return (int(r[0]) for r in self._conn.execute(sql, (project,)))

    def projects(self) -> list[str]:
        return [str(r[0]) for r in self._conn.execute("SELECT name FROM projects ORDER BY name")]

    def counters(self, project: str) -> tuple[int, int]:
        """The last task token handed out, and the largest lock token (a floor left by a removed
        lock, or a lock's own), in the whole database as PostgreSQL's sequences count them: what
        tokens issued after a move must stay above."""
        row = self._conn.execute("SELECT (SELECT value FROM counters WHERE name = 'task_token'), "
                                 "max(coalesce((SELECT max(lock_token_floor) FROM projects), 0), "
                                 "coalesce((SELECT max(token) FROM locks), 0))").fetchone()
        return int(row[0] or 0), int(row[1] or 0)


class PostgresReader:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._declared: dict[tuple[str, str], str] = {}

    def tables(self) -> list[str]:
        rows = self._conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'roost' "
                                  "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()
        return [str(r[0]) for r in rows]

    def columns(self, table: str) -> list[tuple[str, str]]:
        rows = self._conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_schema = 'roost' AND table_name = %s ORDER BY ordinal_position",
                                  (table,)).fetchall()
        self._declared.update(((table, str(n)), str(t)) for n, t in rows)
        return [(str(n), str(t)) for n, t in rows]

    def count(self, table: str, scope: Scope, project: str) -> int:
        sql = f"SELECT count(*) FROM roost.{table} WHERE {_where(scope, 'roost.', '%s')}"
        row = self._conn.execute(sql.encode(), (project,)).fetchone()
        return int(row[0]) if row else 0

    def rows(self, table: str, columns: Sequence[tuple[str, str]], order: Sequence[str], scope: Scope,
             project: str) -> Iterator[tuple[Any, ...]]:
        kinds = dict(columns)
        if not all((table, c) in self._declared for c, _ in columns):
            self.columns(table)
        exprs = [self._expr(table, c, kind) for c, kind in columns]
        keys = [f'{c} COLLATE "C"' if kinds.get(c) == "text" else c for c in order]
        sql = (f"SELECT {', '.join(exprs)} FROM roost.{table} WHERE {_where(scope, 'roost.', '%s')} "
               f"ORDER BY {', '.join(keys)}")
        with self._conn.cursor(name=f"roost_export_{table}") as cur:
            cur.itersize = FETCH
            cur.execute(sql.encode(), (project,))
            yield from cur

    def _expr(self, table: str, column: str, kind: str) -> str:
        """Times as whole microseconds; JSON as its text (``jsonb``, and tags' ``text[]`` as a
        JSON array), as SQLite hands it over, for the caller to decode or keep."""
        if kind == "time":
            return f"(extract(epoch FROM {column}) * 1000000)::bigint"
        if kind == "json":
            declared = self._declared[(table, column)]
            if declared == "jsonb":
                return f"{column}::text"
            if declared == "ARRAY":
                return f"to_json({column})::text"
        return column

    def aggregates(self, table: str, exprs: Sequence[str], scope: Scope, project: str) -> list[Any]:
        sql = f"SELECT {', '.join(exprs)} FROM roost.{table} WHERE {_where(scope, 'roost.', '%s')}"
        row = self._conn.execute(sql.encode(), (project,)).fetchone()
        return list(row) if row else [None] * len(exprs)

    def keys(self, table: str, key: str, scope: Scope, project: str) -> Iterator[int]:
        sql = f"SELECT {key} FROM roost.{table} WHERE {_where(scope, 'roost.', '%s')}"
        return (int(r[0]) for r in self._conn.execute(sql.encode(), (project,)).fetchall())

    def projects(self) -> list[str]:
        return [str(r[0]) for r in self._conn.execute('SELECT name FROM roost.projects ORDER BY name COLLATE "C"')]

    def counters(self, project: str) -> tuple[int, int]:
        """The last task token and lock token handed out (one sequence each, for every project)."""
        last = "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM roost.{})"
        row = self._conn.execute(f"SELECT {last.format('task_tokens')}, {last.format('lock_tokens')}").fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)
