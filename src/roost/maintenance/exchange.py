"""Every record of a project in one backend-neutral form: what ``roost export`` writes.

A table's columns are read from the live schema; their form in the file comes from the few rules
below, the same on both backends, so a store exported from SQLite and the same store exported
from PostgreSQL give the same lines:

- times are whole microseconds since the Unix epoch (SQLite keeps REAL seconds, PostgreSQL
  ``timestamptz``); other REAL / ``double precision`` columns (:data:`FLOATS`) are numbers;
- :data:`BOOLS` are true/false (SQLite keeps 0/1);
- :data:`JSONS` (``jsonb`` on PostgreSQL, JSON text on SQLite, and event payloads) and
  :data:`TAGS` (``text[]`` on PostgreSQL) are JSON values, objects with sorted keys; every other
  column that holds JSON is text, exactly as the store keeps it;
- binary content is base64 text;
- columns derived from others (:data:`DERIVED`: search vectors, PostgreSQL's ``txid``) and tables
  that are not a project's records (:data:`NOT_EXPORTED`) are left out.

Rows are ordered by primary key, text compared byte by byte on both backends. A test holds every
table and column of both schemas to these rules, so one added later fails it until it is placed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

FORMAT = 1

FLOATS = {("evaluations", "score"), ("evaluations", "max_score"), ("run_phases", "cost"), ("tasks", "timeout"),
          ("tasks", "lease"), ("lg_items", "ttl")}
BOOLS = {("artifacts", "is_text"), ("gate_decisions", "approved"), ("signals", "critical")}
JSONS = {("events", "refs"), ("events", "payload"), ("sessions", "participants"), ("lg_checkpoints", "versions"),
         ("lg_checkpoints", "metadata")}
"""``jsonb`` columns, and event payloads: JSON text everywhere, but written by triggers in each
dialect's own spacing (PostgreSQL's ``json_build_object`` puts spaces around colons)."""
TAGS = {("memories", "tags")}
DERIVED = {"search", "txid", "request_key"}
"""Columns rebuilt from others (full-text vectors) or meaningful only in the database that wrote
them: PostgreSQL's transaction ids of events and consumer cursors, and the request keys that let a
write be repeated after a lost connection."""

NOT_EXPORTED: dict[str, str] = {
    "projects": "the header names the project",
    "schema_migrations": "the header carries the schema version",
    "counters": "SQLite's token counters (an import raises its own)",
    "sqlite_sequence": "SQLite's AUTOINCREMENT record",
    "listeners": "which processes listen now",
    "search_backfill": "the search index's upgrade progress",
    "search_names": "derived from the records by triggers",
    "cleanup_state": "when this database's cleanup last ran",
    "imports": "what this database's projects were last imported from",
}

PROJECT_KEYED = frozenset({"signals", "locks", "lock_holders", "agents", "event_consumers", "sessions",
                           "observation_agents", "artifact_names", "lg_checkpoints", "lg_blobs", "lg_writes"})
"""Tables whose primary key is ``project`` and :attr:`Table.order`. Every other table's key is
unique across projects (ids from one sequence per database), which an import must not collide with."""

SHARED_IDS: dict[str, tuple[str, ...]] = {"sessions": ("seq",), "tasks": ("token",)}
"""Other columns unique across projects: a running task's token, and on SQLite a session's ``seq`` (its
AUTOINCREMENT key)."""


@dataclass(frozen=True)
class Table:
    """A table of project records: ``via`` says how its rows belong to a project when it has no
    ``project`` column (its column, the parent table, the parent's key); ``order`` its primary key."""

    name: str
    order: tuple[str, ...]
    via: tuple[str, str, str] | None = None


TABLES: tuple[Table, ...] = (
    Table("signals", ("key",)),
    Table("locks", ("name",)),
    Table("lock_holders", ("name", "token")),
    Table("agents", ("name",)),
    Table("audit_log", ("id",)),
    Table("tasks", ("id",)),
    Table("task_deps", ("task_id", "depends_on"), ("task_id", "tasks", "id")),
    Table("task_runs", ("token",), ("task_id", "tasks", "id")),
    Table("events", ("position",)),
    Table("event_consumers", ("name",)),
    Table("sessions", ("id",)),
    Table("transcript_entries", ("id",)),
    Table("memories", ("id",)),
    Table("observations", ("id",)),
    Table("observation_agents", ("agent",)),
    Table("artifact_blobs", ("id",)),
    Table("artifact_chunks", ("blob_id", "seq"), ("blob_id", "artifact_blobs", "id")),
    Table("artifact_names", ("name",)),
    Table("artifacts", ("id",)),
    Table("doc_collections", ("id",)),
    Table("documents", ("id",), ("collection_id", "doc_collections", "id")),
    Table("document_history", ("document_id", "version"), ("document_id", "documents", "id")),
    Table("document_keys", ("document_id", "path", "key"), ("document_id", "documents", "id")),
    Table("document_links", ("src_id", "rel", "dst_id"), ("src_id", "documents", "id")),
    Table("workflows", ("id",)),
    Table("runs", ("id",)),
    Table("run_phases", ("run_id", "phase"), ("run_id", "runs", "id")),
    Table("gate_decisions", ("id",), ("run_id", "runs", "id")),
    Table("evaluations", ("id",), ("run_id", "runs", "id")),
    Table("run_outputs", ("id",), ("run_id", "runs", "id")),
    Table("lg_checkpoints", ("thread_id", "checkpoint_ns", "checkpoint_id")),
    Table("lg_blobs", ("thread_id", "checkpoint_ns", "channel", "version")),
    Table("lg_writes", ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx")),
    Table("lg_items", ("id",)),
)
"""Every exported table, parents before the tables that point at them."""

BY_NAME = {t.name: t for t in TABLES}


def kind_of(table: str, column: str, declared: str) -> str:
    """How a column appears in the file: time, float, bool, json, bytes, int or text. ``declared``
    is the column's type in its own schema (SQLite's declared type or PostgreSQL's data type)."""
    key = (table, column)
    if key in FLOATS:
        return "float"
    if key in BOOLS:
        return "bool"
    if key in JSONS or key in TAGS:
        return "json"
    kind = declared.lower()
    if kind in ("blob", "bytea"):
        return "bytes"
    if kind in ("real", "timestamp with time zone"):
        return "time"
    if kind in ("integer", "bigint"):
        return "int"
    return "text"


def parents(table: Table) -> list[tuple[str, str, str]]:
    """The chain of ``via`` links from ``table`` up to a table with a ``project`` column."""
    chain = []
    current: Table | None = table
    while current is not None and current.via is not None:
        chain.append(current.via)
        current = BY_NAME.get(current.via[1])
    return chain


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_DECODE = decode = json.JSONDecoder().decode
"""One encoder and decoder made once: ``json.dumps`` and ``json.loads`` with options build them per
call, a third of an import's time."""

_CONVERT: dict[str, Any] = {"bytes": lambda v: base64.b64encode(bytes(v)).decode("ascii"), "bool": bool,
                            "json": lambda v: _DECODE(v) if isinstance(v, str) else v}
"""From a value as the backend returns it (times already whole microseconds) to the file's form,
for the kinds that need it: the backends return the rest as the file has them (whole numbers,
floats, text)."""


def line(value: Any) -> str:
    """One line of the file: compact JSON, keys sorted, text as UTF-8 (not escaped)."""
    return _ENCODER.encode(value)


class Reader(Protocol):
    """A backend's consistent view of the database (:mod:`roost.backends.exports`)."""

    def tables(self) -> list[str]: ...

    def columns(self, table: str) -> list[tuple[str, str]]: ...

    def count(self, table: str, scope: Sequence[tuple[str, str, str]], project: str) -> int: ...

    def rows(self, table: str, columns: Sequence[tuple[str, str]], order: Sequence[str],
             scope: Sequence[tuple[str, str, str]], project: str) -> Iterator[tuple[Any, ...]]: ...

    def aggregates(self, table: str, exprs: Sequence[str], scope: Sequence[tuple[str, str, str]],
                   project: str) -> list[Any]: ...

    def keys(self, table: str, key: str, scope: Sequence[tuple[str, str, str]], project: str) -> Iterator[int]: ...

    def counters(self, project: str) -> tuple[int, int]: ...

    def projects(self) -> list[str]: ...


@dataclass(frozen=True)
class ExportInfo:
    """An export written: the project, rows per table, and how long it took."""

    project: str
    schema_version: int
    tables: dict[str, int]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def exported_columns(reader: Reader, table: str) -> list[tuple[str, str]]:
    """The table's exported columns and their kinds, by name (the same order on both backends)."""
    return sorted((c, kind_of(table, c, declared)) for c, declared in reader.columns(table) if c not in DERIVED)


def records(reader: Reader, project: str,
            plan: Sequence[tuple[Table, list[tuple[str, str]], list[tuple[str, str, str]]]] | None = None,
            *, decode_json: bool = True) -> Iterator[tuple[str, list[Any]]]:
    """Every row of the project in the file's form, table by table (parents first), each in
    primary-key order: what an export writes and what a transfer copies. Without
    ``decode_json``, JSON values stay the text the database holds (tags aside, always a list)."""
    for table, columns, scope in plan or layout(reader):
        convert = [None if k == "json" and not decode_json and (table.name, c) not in TAGS else _CONVERT.get(k)
                   for c, k in columns]
        if not any(convert):
            for row in reader.rows(table.name, columns, table.order, scope, project):
                yield table.name, list(row)
            continue
        for row in reader.rows(table.name, columns, table.order, scope, project):
            yield table.name, [v if f is None or v is None else f(v) for f, v in zip(convert, row, strict=True)]


def layout(reader: Reader) -> list[tuple[Table, list[tuple[str, str]], list[tuple[str, str, str]]]]:
    """Each exported table with its columns and kinds and its way up to the project."""
    return [(t, exported_columns(reader, t.name), parents(t)) for t in TABLES]


def header_of(reader: Reader, project: str, schema_version: int,
              plan: Sequence[tuple[Table, list[tuple[str, str]], list[tuple[str, str, str]]]]) -> dict[str, Any]:
    """The first line: what the file is, where it came from, and every table's columns and rows.
    ``counters`` carries what fencing tokens must stay above wherever the records go."""
    from roost import __version__

    task_token, lock_token = reader.counters(project)
    return {"format": "roost-export", "version": FORMAT, "roost": __version__, "schema_version": schema_version,
            "project": project, "exported_at": datetime.now(UTC).isoformat(),
            "counters": {"task_token": task_token, "lock_token": lock_token},
            "tables": {t.name: {"columns": [c for c, _ in columns], "rows": reader.count(t.name, scope, project)}
                       for t, columns, scope in plan}}


def write(reader: Reader, project: str, schema_version: int, out: TextIO) -> ExportInfo:
    """The header line, then every row of the project, table by table (see the module docstring)."""
    began = time.monotonic()
    plan = layout(reader)
    header = header_of(reader, project, schema_version, plan)
    out.write(line(header) + "\n")
    counts = dict.fromkeys(header["tables"], 0)
    for table, values in records(reader, project, plan):
        out.write(line({"t": table, "r": values}) + "\n")
        counts[table] += 1  # (the same snapshot: equal to the count in the header)
    return ExportInfo(project, schema_version, counts, time.monotonic() - began)


class Tally:
    """Rows and a SHA-256 of them, per table: computed alike for the rows sent and the rows
    stored (read back through :func:`records`), so that equal sums mean equal records. A row
    counts as the ``repr`` of each of its values (text, numbers, booleans, None: JSON values as
    text, see :func:`roost.maintenance.importing.json_modes`), one fixed text per value and
    cheaper to make than a JSON line."""

    EMPTY = hashlib.sha256().hexdigest()

    def __init__(self) -> None:
        self._sums: dict[str, Any] = {}
        self.rows: dict[str, int] = {}

    def add_many(self, table: str, rows: list[list[Any]]) -> None:
        if not rows:
            return
        digest = self._sums.get(table)
        if digest is None:
            digest = self._sums[table] = hashlib.sha256()
            self.rows[table] = 0
        digest.update(("\n".join("\x1f".join(map(repr, r)) for r in rows) + "\n").encode("utf-8", "surrogatepass"))
        self.rows[table] += len(rows)

    def sums(self) -> dict[str, tuple[int, str]]:
        return {t: (self.rows[t], d.hexdigest()) for t, d in self._sums.items()}
