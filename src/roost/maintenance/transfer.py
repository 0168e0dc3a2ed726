"""``roost transfer``: one project (or every one) copied from one store to another, then verified.

The source is read from one snapshot, the rows streamed straight into the loader of
:mod:`roost.maintenance.importing` (COPY on PostgreSQL), so a store larger than memory moves in
one pass, and agents may go on writing to the source meanwhile: what moves is the snapshot. The
checksums of what was sent are taken from the same stream, and the target's are computed the
same way from what it stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roost import errors
from roost.maintenance import exchange
from roost.maintenance.importing import LoadInfo, Progress, Source, floors, id_columns, load


def source_of(reader: exchange.Reader, project: str, schema_version: int, origin: str) -> Source:
    """A store's project described as a load's source, from its snapshot ``reader``."""
    plan = exchange.layout(reader)
    maxima: dict[tuple[str, str], int] = {}
    for table, columns, scope in plan:
        ints = [c for c, kind in columns if kind == "int"]
        if ints:
            for column, value in zip(ints, reader.aggregates(table.name, [f"max({c})" for c in ints], scope, project),
                                     strict=True):
                if value is not None:
                    maxima[(table.name, column)] = int(value)
    ranges = {}
    for table, key in id_columns():
        low, high = reader.aggregates(table.name, [f"min({key})", f"max({key})"], exchange.parents(table), project)
        if high is not None:
            ranges[(table.name, key)] = (int(low), int(high))
    task_token, lock_token = floors(*reader.counters(project), maxima)

    def keys(table: str, key: str) -> set[int]:
        return set(reader.keys(table, key, exchange.parents(exchange.BY_NAME[table]), project))

    return Source(project=project, schema_version=schema_version,
                  columns={t.name: [c for c, _ in columns] for t, columns, _ in plan},
                  rows={t.name: reader.count(t.name, scope, project) for t, _, scope in plan},
                  task_token=task_token, lock_token=lock_token, maxima=maxima, ranges=ranges, keys=keys,
                  origin=origin, json_as_text=True)


def transfer(source_url: str, target_url: str, project: str | None = None, *, replace: bool = False,
             progress: Progress | None = None, started: Callable[[str, Source], None] | None = None,
             **options: Any) -> list[LoadInfo]:
    """Copy ``project`` (default: every project of the source) and verify each; see the module
    docstring. ``started`` is told of each project before its rows go."""
    from roost.config import resolve
    from roost.store import open_store

    source_settings, target_settings = resolve(source_url, **options), resolve(target_url, **options)
    if source_settings.url.raw == target_settings.url.raw:
        raise errors.InvalidArgument("the source and the target are the same store")
    origin = source_settings.url.masked
    with open_store(source_url, create=False, register=False, **options) as first:
        with first._backend.snapshot() as reader:
            present = reader.projects()
        version = first._applied_version()
    if project is not None and project not in present:
        raise errors.NotFound(f"the source {origin} has no project {project!r} "
                              f"(it has: {', '.join(present) or 'none'})")
    projects = [project] if project is not None else present
    done = []
    for name in projects:
        with open_store(source_url, create=False, register=False, project=name, **options) as source, \
                open_store(target_url, project=name, **options) as target, \
                source._backend.snapshot() as reader:
            described = source_of(reader, name, version, origin)
            if started is not None:
                started(name, described)
            rows = exchange.records(reader, name, decode_json=False)
            done.append(load(target, described, rows, replace=replace, progress=progress))
    return done
