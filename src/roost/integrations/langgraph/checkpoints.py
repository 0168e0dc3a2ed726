"""The checkpoint operations behind :class:`~roost.integrations.langgraph.RoostSaver`.

They know rows, not LangGraph: the saver serializes before and deserializes after. A checkpoint
row holds the checkpoint without its channel values and, as JSON, the versions it points at; a
value is stored once per (thread, namespace, channel, version), so a channel unchanged since an
earlier checkpoint costs nothing more. Where statements cross a network (``one``: PostgreSQL) a
put and a get are each one statement; on SQLite, where a statement costs microseconds, they are a
few plain ones (SQLite cannot insert from a CTE).

Pages are read newest first (checkpoint id descending, then thread and namespace) with a keyset
cursor, and the values and writes of a whole page come in two more statements, each value once:
never one query per checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from roost._op import Batch, Op, Query, atomic, repeatable

CURSOR_START = "\U0010ffff"
"""Sorts after any checkpoint id, thread id or namespace (by code point: SQLite's BINARY, "C")."""

Key = tuple[str, str, str]
"""(thread, namespace, checkpoint id)."""


class Row(NamedTuple):
    thread: str
    ns: str
    id: str
    parent: str | None
    type: str
    checkpoint: bytes
    versions: str
    metadata: str


class Loaded(NamedTuple):
    """A checkpoint row with its channel values ``(channel, type, blob)``, its pending writes
    ``(task id, channel, type, blob)`` in LangGraph's order, and its versions (decoded)."""

    row: Row
    values: list[tuple[str, str, bytes | None]]
    writes: list[tuple[str, str, str, bytes]]
    versions: dict[str, Any]


decode = json.JSONDecoder().decode
"""(Made once: ``json.loads`` builds a decoder's worth of checks per call, three per checkpoint here.)"""


def _row(raw: Sequence[Any]) -> Row:
    thread, ns, id_, parent, type_, checkpoint, versions, metadata = raw[:8]
    return Row(thread, ns, id_, parent, type_, bytes(checkpoint), versions,
               metadata if isinstance(metadata, str) else json.dumps(metadata))


@repeatable
def put_one(params: dict[str, Any]) -> Op[None]:
    """The checkpoint and its new values in one statement (an upsert: a repeat changes nothing)."""
    yield Query("lg_put", params)


@repeatable
@atomic
def put_steps(params: dict[str, Any], blobs: list[tuple[Any, ...]]) -> Op[None]:
    if blobs:
        yield Batch("lg_blob_put", blobs)
    yield Query("lg_checkpoint_put", params)


@repeatable
def writes_one(params: dict[str, Any]) -> Op[None]:
    yield Query("lg_writes_put", params)


@repeatable
@atomic
def writes_steps(rows: list[tuple[Any, ...]], replace: bool) -> Op[None]:
    yield Batch("lg_writes_upsert" if replace else "lg_writes_insert", rows)


@repeatable
def get(params: dict[str, Any], one: bool) -> Op[Loaded | None]:
    """One checkpoint (``params["id"]``) or, without an id, the newest of its thread and namespace."""
    latest = params.get("id") is None
    if one:
        raw = (yield Query("lg_latest_one" if latest else "lg_get_one", params)).one()
        if raw is None:
            return None
        channels, types, blobs, tasks, wchannels, wtypes, wblobs = raw[8:15]
        values = [(c, t, None if b is None else bytes(b))
                  for c, t, b in zip(channels or (), types or (), blobs or (), strict=True) if t is not None]
        writes = [(k, c, t, bytes(b)) for k, c, t, b in zip(tasks or (), wchannels or (), wtypes or (), wblobs or (),
                                                          strict=True)]
        row = _row(raw)
        return Loaded(row, values, writes, decode(row.versions))
    raw = (yield Query("lg_latest" if latest else "lg_get", params)).one()
    if raw is None:
        return None
    (loaded,) = yield from _with_values(params["project"], [_row(raw)])
    return loaded


@repeatable
def page(project: str, name: str, params: dict[str, Any], filter_: dict[str, Any] | None,
         want: int | None) -> Op[tuple[list[Loaded], Row | None]]:
    """One page of rows (``name``: by thread and namespace, by thread, or all), kept where their
    metadata equals ``filter_`` on each of its keys, at most ``want`` of them, with their values.
    Returns them and the last row read (the next page's cursor), or None when the rows ran out."""
    rows = [_row(r) for r in (yield Query(name, {"project": project, **params})).rows]
    last = rows[-1] if len(rows) == params["page"] else None
    kept = [r for r in rows if filter_ is None or matches(decode(r.metadata), filter_)]
    if want is not None and len(kept) > want:
        kept, last = kept[:want], None
    return (yield from _with_values(project, kept)), last


def matches(metadata: dict[str, Any], filter_: dict[str, Any]) -> bool:
    """LangGraph's rule (its in-memory saver's): every key of the filter equals the metadata's."""
    return all(metadata.get(key) == value for key, value in filter_.items())


def _with_values(project: str, rows: list[Row]) -> Op[list[Loaded]]:
    """The values and writes of ``rows``: two statements. Each value is fetched once however many
    of the rows point at it (consecutive checkpoints share every channel they did not change)."""
    if not rows:
        return []
    decoded = [decode(r.versions) for r in rows]
    wanted = [{channel: str(version) for channel, version in versions.items()} for versions in decoded]
    pairs = list(dict.fromkeys((r.thread, r.ns, channel, version) for r, versions in zip(rows, wanted, strict=True)
                               for channel, version in versions.items()))
    blobs: dict[tuple[str, str, str, str], tuple[str, bytes | None]] = {}
    if pairs:
        for thread, ns, channel, version, type_, blob in (
                yield Query("lg_values", {"project": project, "keys": json.dumps(pairs)})).rows:
            blobs[(thread, ns, channel, version)] = (type_, None if blob is None else bytes(blob))
    keys = json.dumps([[r.thread, r.ns, r.id] for r in rows])
    writes: dict[Key, list[tuple[str, str, str, bytes]]] = {}
    for thread, ns, id_, task, channel, type_, blob in (
            yield Query("lg_pending", {"project": project, "keys": keys})).rows:
        writes.setdefault((thread, ns, id_), []).append((task, channel, type_, bytes(blob)))
    loaded = []
    for r, versions, original in zip(rows, wanted, decoded, strict=True):
        values = [(channel, *found) for channel, version in versions.items()
                  if (found := blobs.get((r.thread, r.ns, channel, version))) is not None]
        loaded.append(Loaded(r, values, writes.get((r.thread, r.ns, r.id), []), original))
    return loaded


@repeatable
@atomic
def delete_threads(project: str, threads: list[str]) -> Op[None]:
    params = {"project": project, "threads": json.dumps(threads)}
    yield Query("lg_threads_delete", params)
    yield Query("lg_threads_delete_writes", params)
    yield Query("lg_threads_delete_blobs", params)


@repeatable
@atomic
def delete_runs(project: str, runs: list[str]) -> Op[None]:
    gone = (yield Query("lg_runs_delete", {"project": project, "runs": json.dumps(runs)})).rows
    threads = sorted({r[0] for r in gone})
    if threads:
        yield Query("lg_blobs_unused", {"project": project, "threads": json.dumps(threads)})


@repeatable
def delta_threads(project: str, threads: list[str]) -> Op[list[str]]:
    rows = (yield Query("lg_delta_threads", {"project": project, "threads": json.dumps(threads)})).rows
    return sorted(r[0] for r in rows)


@repeatable
@atomic
def keep_latest(project: str, threads: list[str]) -> Op[list[str]]:
    """All but the newest checkpoint of each namespace, with their writes and the values only they
    pointed at; refused (the threads returned, nothing deleted) for threads using a DeltaChannel,
    whose latest value is rebuilt from the older checkpoints."""
    refused = yield from delta_threads(project, threads)
    if refused:
        return refused
    params = {"project": project, "threads": json.dumps(threads)}
    yield Query("lg_keep_latest", params)
    yield Query("lg_blobs_unused", params)
    return []


@repeatable
@atomic
def copy_thread(project: str, source: str, target: str) -> Op[None]:
    params = {"project": project, "source": source, "target": target}
    yield Query("lg_copy_checkpoints", params)
    yield Query("lg_copy_blobs", params)
    yield Query("lg_copy_writes", params)
