"""Loading a project's records into a store, from an export file or from another store.

``roost import`` and ``roost transfer`` share one loader. Before it writes anything it checks the
target: the same schema version as the source, the same columns, no records of the project there
already (unless they came from this very file, when the load resumes, or the caller asked to
replace them), and no id of the source taken by another project's record. Then it moves every
sequence and token counter past the source's values, so that the target's next ids and fencing
tokens are larger than anything imported, and writes the rows table by table, parents first, in
batches of at most :data:`BATCH_ROWS` rows, each batch its own transaction. A row already present
is skipped, so a load that stopped halfway (a lost connection, a full disk) is resumed by running
it again. Last it reads the project back from the target and compares, table by table, the row
count and a SHA-256 of the rows (:class:`roost.maintenance.exchange.Tally`) with the source's.

Ids are kept as they are, never renumbered: event payloads, references and the documents' links
name records by id, so renumbered records would point at the wrong ones. A project can therefore
be loaded into a store whose other projects hold none of its ids (a new store, say); anything
else is refused before the first write, a replace's deletions included
(:class:`~roost.errors.IdCollision`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from roost import errors
from roost._op import Op, Query, atomic, repeatable
from roost.maintenance import exchange

if TYPE_CHECKING:
    from roost.store import Store

BATCH_ROWS = 5000
BATCH_BYTES = 8 << 20
"""A batch ends at whichever comes first (artifact chunks are large rows)."""

Progress = Callable[[str, int], None]
"""Called after each batch with its table and how many rows it carried."""

VECTORS: dict[str, Callable[[dict[str, Any]], str | None]] = {}
"""How each searchable table's text is found, for a backend that stores search vectors with the
row (PostgreSQL): the same text its own writes index. Filled on first use (the tokenizer loads then)."""


def _vectors() -> dict[str, Callable[[dict[str, Any]], str | None]]:
    if not VECTORS:
        from roost import _validate as v
        from roost.search import tokens

        VECTORS.update({
            "transcript_entries": lambda r: r["content"],
            "memories": lambda r: tokens.memory_text(r["key"], v.stored_json(r["content"])),
            "observations": lambda r: r["content"],
            "sessions": lambda r: r["title"],
            "artifact_blobs": lambda r: r["search_text"],
            "lg_items": lambda r: tokens.memory_text(r["key"], v.stored_json(r["value"])),
        })
    return VECTORS


@dataclass(frozen=True)
class Source:
    """What is to be loaded, as its header (or the source store) describes it."""

    project: str
    schema_version: int
    columns: dict[str, list[str]]
    rows: dict[str, int]
    task_token: int
    lock_token: int
    maxima: dict[tuple[str, str], int]
    """The largest value of each integer column, per (table, column): what sequences must pass."""
    ranges: dict[tuple[str, str], tuple[int, int]]
    """The smallest and largest value of each column of :func:`id_columns` that has rows."""
    keys: Callable[[str, str], set[int]]
    """The values of such a (table, column) (asked only when other projects' overlap their range)."""
    origin: str
    digest: str | None = None
    """What identifies the source's content, for resuming (an export file's data lines); None: no resuming."""
    json_as_text: bool = False
    """The rows' JSON values are JSON text (a store's, as it keeps them), not decoded values (a file's)."""


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sum: str
    target_sum: str

    @property
    def same(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


@dataclass
class LoadInfo:
    """A load done: rows written and rows already there, per table, and the verification."""

    project: str
    origin: str
    written: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)
    checks: list[TableCheck] = field(default_factory=list)
    replaced: bool = False
    resumed: bool = False
    seconds: float = 0.0
    verify_seconds: float = 0.0
    """Of ``seconds``, how long reading the project back and comparing it took."""

    @property
    def rows(self) -> int:
        return sum(self.written.values())

    @property
    def verified(self) -> bool:
        return all(c.same for c in self.checks)

    def differences(self) -> list[TableCheck]:
        return [c for c in self.checks if not c.same]


@dataclass(frozen=True)
class Marker:
    digest: str
    source: str
    finished: bool


@repeatable
def marker_get(project: str) -> Op[Marker | None]:
    row = (yield Query("import_marker_get", {"project": project})).one()
    return None if row is None else Marker(str(row[0]), str(row[1]), row[3] is not None)


@atomic
def marker_started(project: str, digest: str, source: str) -> Op[None]:
    yield Query("import_marker_started", {"project": project, "digest": digest, "source": source})


@atomic
def marker_finished(project: str) -> Op[None]:
    yield Query("import_marker_finished", {"project": project})


@atomic
def marker_forget(project: str) -> Op[None]:
    yield Query("import_marker_forget", {"project": project})


def id_columns() -> list[tuple[exchange.Table, str]]:
    """The columns whose values are unique across projects: single-column keys of tables not
    keyed by project (the rest of a composite key is a parent's id), and :data:`exchange.SHARED_IDS`."""
    single = [(t, t.order[0]) for t in exchange.TABLES if t.name not in exchange.PROJECT_KEYED and len(t.order) == 1]
    return single + [(exchange.BY_NAME[t], c) for t, columns in exchange.SHARED_IDS.items() for c in columns]


def floors(task_token: Any, lock_token: Any, maxima: dict[tuple[str, str], int]) -> tuple[int, int]:
    """The task and lock tokens the target must issue above: the source's counters (when it says)
    and every token among the records."""
    task = max(task_token if isinstance(task_token, int) else 0, maxima.get(("tasks", "token"), 0),
               maxima.get(("task_runs", "token"), 0))
    lock = max(lock_token if isinstance(lock_token, int) else 0, maxima.get(("locks", "token"), 0),
               maxima.get(("lock_holders", "token"), 0))
    return task, lock


def load(store: Store, source: Source, rows: Iterable[tuple[str, list[Any]]], *, replace: bool = False,
         progress: Progress | None = None) -> LoadInfo:
    """Load ``rows`` (the file's form, table by table as :data:`exchange.TABLES` orders them) into
    ``store``'s project; see the module docstring for the checks and the guarantees."""
    began = time.monotonic()
    project = store.project
    info = LoadInfo(project, source.origin, replaced=replace)
    check_version(store, source.schema_version, source.origin)
    backend = store._backend
    marker = store._execute(marker_get, project)
    # (The writer's connection is let go between the steps: memory:// has one connection in all.)
    with backend.loader() as writer:
        plan = _plan(writer.reader, source)
        held = [t.name for t, _, scope in plan if writer.holds(t.name, scope, project)]
        if held and not replace:
            if source.digest is None or marker is None or marker.digest != source.digest:
                raise errors.TargetNotEmpty(
                    f"the target already holds records of project {project!r} ({', '.join(held[:4])}"
                    f"{', ...' if len(held) > 4 else ''}) that did not come from {source.origin}; pass --replace "
                    "(replace=True) to delete them first, or load into another project")
            info.resumed = True
        _check_ids(writer, source, project)  # (before a replace deletes anything)
        if held and replace:
            with writer.batch():
                for table, _, scope in reversed(plan):
                    writer.delete(table.name, scope, project)
        with writer.batch():
            writer.reserve(project, source.maxima, source.task_token, source.lock_token)
    if source.digest is not None:
        store._execute(marker_started, project, source.digest, source.origin)
    elif replace:
        store._execute(marker_forget, project)
    with backend.loader() as writer:
        expected = _write(writer, plan, source, rows, project, info, store.capabilities.search_vectors, progress)
    if source.digest is not None:
        store._execute(marker_finished, project)
    checked = time.monotonic()
    info.checks = verify(store, expected)
    info.verify_seconds = time.monotonic() - checked
    info.seconds = time.monotonic() - began
    if not info.verified:
        raise errors.TransferMismatch(
            f"after loading {source.origin}, project {project!r} in the target differs from it: "
            + "; ".join(f"{c.table}: {c.source_rows} rows sent, {c.target_rows} stored"
                        + (" (same count, other content)" if c.source_rows == c.target_rows else "")
                        for c in info.differences())
            + (". The project held records before this load" if info.resumed else ""), info)
    return info


def check_version(store: Store, version: Any, origin: str) -> None:
    """A source's records fit only a target at the same schema version."""
    target = store._applied_version()
    if version != target:
        newer = isinstance(version, int) and version > target
        raise errors.SchemaError(
            f"{origin} holds schema version {version} and the target is at {target}: "
            + ("upgrade roost at the target and run `roost migrate` there first" if newer else
               "upgrade the source (`roost migrate` with this roost), then export or transfer again"))


def _plan(reader: exchange.Reader, source: Source) -> list[tuple[exchange.Table, list[tuple[str, str]],
                                                                   list[tuple[str, str, str]]]]:
    """The target's tables and columns, which must be the source's."""
    plan = exchange.layout(reader)
    for table, columns, _ in plan:
        theirs = source.columns.get(table.name)
        ours = [c for c, _ in columns]
        if theirs is None:
            raise errors.BadExportFile(f"{source.origin} has no table {table.name!r}, which the target has")
        if theirs != ours:
            raise errors.BadExportFile(f"{source.origin}: table {table.name!r} has the columns {theirs}, "
                                       f"the target {ours}")
    unknown = set(source.columns) - {t.name for t, _, _ in plan}
    if unknown:
        raise errors.BadExportFile(f"{source.origin} holds tables this roost does not know: {sorted(unknown)}")
    return plan


def _check_ids(writer: Any, source: Source, project: str) -> None:
    for table, key in id_columns():
        if (table.name, key) not in source.ranges:
            continue
        low, high = source.ranges[(table.name, key)]
        others = writer.others(table.name, key, exchange.parents(table), project, low, high)
        if not others:
            continue
        taken = sorted(set(others) & source.keys(table.name, key))
        if taken:
            raise errors.IdCollision(
                f"{table.name}: {len(taken)} {key} value(s) of {source.origin} are held by other projects' records in "
                f"the target (the first: {key} = {taken[0]}). roost keeps ids as they are (events and links name "
                "records by id): load into a new store, or one whose other projects use other ids")


def json_modes(reader: exchange.Reader, plan: Sequence[tuple[exchange.Table, list[tuple[str, str]], Any]],
               ) -> dict[str, list[tuple[int, str]]]:
    """Per table, its JSON columns and how the target keeps each: "tags" (memories' tags, a list),
    "parsed" (PostgreSQL's ``jsonb``, which keeps its own spacing and key order) or "text" (kept
    exactly as written). A value is counted as its text where the target keeps the text, else as
    its canonical text (:func:`exchange.line`)."""
    modes: dict[str, list[tuple[int, str]]] = {}
    for table, columns, _ in plan:
        declared = dict(reader.columns(table.name))
        modes[table.name] = [(i, "tags" if (table.name, c) in exchange.TAGS else
                              "parsed" if declared[c].lower() in ("jsonb", "json") else "text")
                             for i, (c, kind) in enumerate(columns) if kind == "json"]
    return modes


def _write(writer: Any, plan: Sequence[tuple[exchange.Table, list[tuple[str, str]], list[tuple[str, str, str]]]],
           source: Source, rows: Iterable[tuple[str, list[Any]]], project: str, info: LoadInfo, vectors: bool,
           progress: Progress | None) -> exchange.Tally:
    """The rows, batch by batch; returns the tally of what was sent (project renamed).

    A JSON value goes to the writer as text, made once for the tally and the row: the source's own
    text when the target keeps text (a transfer's rows, ``source.json_as_text``), else its
    canonical text; memories' tags go as the list they are."""
    expected = exchange.Tally()
    modes = json_modes(writer.reader, plan)
    columns = {t.name: [(c, "jsontext" if k == "json" and (t.name, c) not in exchange.TAGS else k) for c, k in cols]
               for t, cols, _ in plan}
    renamed = {t.name: [c for c, _ in cols].index("project") if t.via is None else None for t, cols, _ in plan}
    sized = {t.name: [i for i, (_, k) in enumerate(cols) if k in ("bytes", "text")] for t, cols, _ in plan}
    order = {t.name: i for i, t in enumerate(exchange.TABLES)}
    finder = _vectors() if vectors else {}
    as_text = source.json_as_text
    current: str | None = None
    batch: list[list[Any]] = []
    sent: list[list[Any]] = []
    size = 0

    def flush() -> None:
        nonlocal batch, sent, size
        if current is None or not batch:
            return
        expected.add_many(current, sent)
        cols = columns[current]
        find = finder.get(current)
        if find is not None:
            from roost.search import tokens

            names = [c for c, _ in cols]
            for values in batch:
                text = find(dict(zip(names, values, strict=True)))
                values.append(None if text is None else tokens.vector(text))
            cols = [*cols, ("search", "text")]
        with writer.batch(current):
            written = writer.insert(current, cols, batch)
        info.written[current] = info.written.get(current, 0) + written
        info.present[current] = info.present.get(current, 0) + len(batch) - written
        if progress is not None:
            progress(current, len(batch))
        batch, sent, size = [], [], 0

    for table, values in rows:
        if table != current:
            flush()
            if current is not None and order[table] < order[current]:
                raise errors.BadExportFile(f"{source.origin}: rows of {table!r} after rows of {current!r}")
            current = table
        at = renamed[table]
        if at is not None:
            values[at] = project
        row = values
        if modes[table]:
            row = list(values)
            for i, mode in modes[table]:
                value = values[i]
                if value is None:
                    continue
                if as_text and isinstance(value, str) and mode != "tags":
                    if mode == "parsed":
                        values[i] = row[i] = exchange.line(exchange.decode(value))
                else:
                    row[i] = exchange.line(value)
                    if mode != "tags":
                        values[i] = row[i]
        sent.append(row)
        batch.append(values)
        for i in sized[table]:
            if values[i] is not None:
                size += len(values[i])
        if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
            flush()
    flush()
    return expected


def verify(store: Store, expected: exchange.Tally) -> list[TableCheck]:
    """Read the project back from ``store`` and compare each table with what was sent (JSON as
    :func:`json_modes` says)."""
    stored = exchange.Tally()
    with store._backend.snapshot() as reader:
        plan = exchange.layout(reader)
        modes = json_modes(reader, plan)
        current: str | None = None
        rows: list[list[Any]] = []
        for table, values in exchange.records(reader, store.project, plan, decode_json=False):
            if table != current:
                if current is not None:
                    stored.add_many(current, rows)
                current, rows = table, []
            for i, mode in modes[table]:
                value = values[i]
                if value is not None and mode != "text":
                    values[i] = exchange.line(exchange.decode(value) if isinstance(value, str) else value)
            rows.append(values)
            if len(rows) >= BATCH_ROWS:
                stored.add_many(table, rows)
                rows = []
        if current is not None:
            stored.add_many(current, rows)
    ours, theirs = stored.sums(), expected.sums()
    empty = (0, exchange.Tally.EMPTY)
    return [TableCheck(t.name, theirs.get(t.name, empty)[0], ours.get(t.name, empty)[0],
                       theirs.get(t.name, empty)[1], ours.get(t.name, empty)[1]) for t in exchange.TABLES]
