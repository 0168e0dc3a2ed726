"""Import on every backend: an export of SQLite loads into either backend and exports again line
for line, twice changes nothing, the store goes on from the imported ids and tokens, a project
with other records or ids taken by another project are refused before any write, and a file
that is truncated, corrupted or from a newer roost is refused whole, naming the line."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

import roost
from roost import errors
from roost.maintenance import exchange
from roost.maintenance.importing import LoadInfo
from tests.conformance.test_export import ODD, PROJECT, fill
from tests.helpers import CheckTable


def export_text(store: roost.Store) -> list[str]:
    out = io.StringIO()
    store.export(out)
    lines = out.getvalue().splitlines()
    header = json.loads(lines[0])
    assert header.pop("exported_at")
    return [exchange.line(header), *lines[1:]]


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, list[str]]:
    """An SQLite store filled with every kind, exported to a file: (the file, its lines)."""
    with roost.connect(f"sqlite:///{tmp_path / 'source.db'}", project=PROJECT) as store:
        fill(store)
        store.events.subscribe(consumer="auditor", after="start").close()
        with store.events.subscribe(consumer="reader", after="start") as sub:
            first = sub.get(timeout=5)
            assert first is not None
            sub.ack(first)
        path = tmp_path / "export.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            store.export(out)
        return path, export_text(store)


def rows_of(url: str, project: str = PROJECT) -> int:
    with roost.connect(url, project=project) as store:
        return len(export_text(store)) - 1


def test_an_import_exports_again_line_for_line_and_a_second_one_changes_nothing(url, exported):
    path, lines = exported
    with roost.connect(url, project=PROJECT) as store:
        info = store.import_file(path)
        assert info.verified and not info.resumed and info.rows == len(lines) - 1
        assert {c.table for c in info.checks} == set(exchange.BY_NAME)
        assert export_text(store) == lines
        again = store.import_file(path)
        assert again.resumed and again.rows == 0 and sum(again.present.values()) == len(lines) - 1
        assert export_text(store) == lines


def test_the_store_goes_on_from_the_imported_ids_positions_and_tokens(url, exported):
    path, lines = exported
    rows = [json.loads(line) for line in lines[1:]]
    header = json.loads(lines[0])

    def column(table: str, name: str) -> list[Any]:
        at = header["tables"][table]["columns"].index(name)
        return [r["r"][at] for r in rows if r["t"] == table]

    with roost.connect(url, project=PROJECT) as store:
        store.import_file(path)
        assert store.tasks.enqueue("after") > max(column("tasks", "id"))
        (claim,) = store.tasks.claim("coder-2", lease=60)
        assert claim.token > max(column("task_runs", "token"))
        lease = store.locks.acquire("new-lock", owner="coder-2", ttl=60)
        assert lease is not None and lease.token > max(column("lock_holders", "token"))
        entry = store.transcripts.append("s-1", "user", "one more")
        assert entry.position == 4 and entry.id > max(column("transcript_entries", "id"))
        session = store.sessions.get("s-1")
        assert session is not None and session.entry_count == 4 and session.memory_count == 1
        assert session.artifact_count == 1 and session.observation_count == 1
        event = store.events.publish("after.import", {})
        assert int(event.position) > max(column("events", "position"))
        hits = store.search("ключ", kinds=["transcript"])
        assert len(hits) == 4 - 1, [h.id for h in hits]  # (the three imported entries; "one more" has no ключ)
        assert {h.kind for h in store.search("ключ")} >= {"transcript", "memory", "observation", "session"}
        with store.events.subscribe(consumer="reader") as sub:
            nxt = sub.get(timeout=5)
        assert nxt is not None and int(nxt.position) == sorted(column("events", "position"))[1]


def test_a_project_with_other_records_is_refused_unless_replaced(url, exported):
    path, lines = exported
    with roost.connect(url, project=PROJECT) as store:
        store.signals.set("here-before", 1)
        with pytest.raises(errors.TargetNotEmpty, match="signals"):
            store.import_file(path)
        assert store.signals.get("here-before") is not None and store.signals.get("crit") is None
        info = store.import_file(path, replace=True)
        assert info.verified and info.replaced
        assert store.signals.get("here-before") is None
        assert export_text(store) == lines


def test_records_that_grew_after_an_import_are_reported_when_it_runs_again(url, exported):
    path, _ = exported
    with roost.connect(url, project=PROJECT) as store:
        store.import_file(path)
        store.signals.set("later", 2)
        with pytest.raises(errors.TransferMismatch, match="signals: 2 rows sent, 3 stored") as caught:
            store.import_file(path)
        info = caught.value.info
        assert isinstance(info, LoadInfo) and info.rows == 0


def test_ids_another_project_holds_are_refused_before_anything_is_written(url, exported):
    path, _ = exported
    with roost.connect(url, project="other") as other:
        other.tasks.enqueue("theirs")
    with roost.connect(url, project=PROJECT) as store, pytest.raises(errors.IdCollision, match=r"tasks: .* id = 1"):
        store.import_file(path)
    assert rows_of(url) == 0
    with roost.connect(url, project=PROJECT) as store:
        store.signals.set("kept", 1)
        with pytest.raises(errors.IdCollision):
            store.import_file(path, replace=True)
        assert store.signals.get("kept") is not None, "a refused replace deleted the project's records"


def test_a_file_loads_into_a_project_of_another_name(url, exported):
    path, lines = exported
    with roost.connect(url, project="renamed") as store:
        info = store.import_file(path)
        assert info.verified and store.signals.get(ODD) is not None
        renamed = export_text(store)
    assert len(renamed) == len(lines) and renamed[1:] != lines[1:]
    assert [line.replace('"renamed"', f'"{PROJECT}"') for line in renamed[1:]] == lines[1:]


def damaged(lines: list[str], how: str) -> str:
    """The export with one kind of damage, as text."""
    header = json.loads(lines[0])
    body = lines[1:]
    if how == "truncated":
        return "\n".join([lines[0], *body[: len(body) // 2]]) + "\n"
    if how == "cut mid-line":
        text = "\n".join(lines) + "\n"
        return text[: len(text) - 10]
    if how == "not JSON":
        body[5] = body[5][:-3] + "@@@"
    elif how == "too deep":
        body[5] = '{"t":"signals","r":' + "[" * 100_000 + "]" * 100_000 + "}"
    elif how == "wrong arity":
        row = json.loads(body[0])
        row["r"].append(1)
        body[0] = json.dumps(row)
    elif how == "wrong kind":
        index = next(i for i, b in enumerate(body) if json.loads(b)["t"] == "tasks")
        row = json.loads(body[index])
        row["r"][header["tables"]["tasks"]["columns"].index("priority")] = "high"
        body[index] = json.dumps(row)
    elif how == "bad base64":
        index = next(i for i, b in enumerate(body) if json.loads(b)["t"] == "artifact_chunks")
        row = json.loads(body[index])
        row["r"][header["tables"]["artifact_chunks"]["columns"].index("data")] = "***"
        body[index] = json.dumps(row)
    elif how == "lone surrogate":
        index = next(i for i, b in enumerate(body) if "ключ" in b)
        body[index] = body[index].replace("ключ", "\\ud800", 1)
    elif how == "unknown table":
        body.insert(1, '{"t":"mystery","r":[]}')
    elif how == "out of order":
        body.append(body[0])
    elif how == "newer format":
        header["version"] = exchange.FORMAT + 1
    elif how == "newer schema":
        header["schema_version"] += 1
    elif how == "not an export":
        return "hello\n"
    return "\n".join([json.dumps(header), *body]) + "\n"


DAMAGE = {
    "truncated": "truncated", "cut mid-line": "cut short", "not JSON": r"line 7: not JSON",
    "too deep": "line 7: nested too deeply", "wrong arity": "line 2: .* values for the .* columns",
    "wrong kind": "tasks: expected a whole number", "bad base64": "not valid base64",
    "lone surrogate": r"line \d+: text with half of a surrogate pair", "unknown table": "line 3: a row of 'mystery'",
    "out of order": "after the rows of a later table", "newer format": "newer than this roost reads",
    "newer schema": "schema version .* upgrade roost at the target", "not an export": "line 1: not a roost export",
}


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_file_is_refused_whole_naming_the_fault(url, exported, tmp_path, how):
    _, lines = exported
    bad = tmp_path / "bad.jsonl"
    bad.write_text(damaged(lines, how), encoding="utf-8")
    with roost.connect(url, project=PROJECT) as store, \
            pytest.raises((errors.BadExportFile, errors.SchemaError), match=DAMAGE[how]):
        store.import_file(bad)
    assert rows_of(url) == 0


def test_a_truncated_gzip_file_is_refused_and_a_whole_one_loads(url, exported, tmp_path):
    _, lines = exported
    packed = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))
    whole, cut = tmp_path / "whole.jsonl.gz", tmp_path / "cut.gz"
    whole.write_bytes(packed)
    cut.write_bytes(packed[: len(packed) // 2])
    with roost.connect(url, project=PROJECT) as store:
        with pytest.raises(errors.BadExportFile, match=r"cut short|truncated"):
            store.import_file(cut)
        assert store.import_file(whole).verified
        assert export_text(store) == lines


def test_binary_content_and_odd_unicode_survive_the_round_trip(url, exported):
    path, _ = exported
    with roost.connect(url, project=PROJECT) as store:
        store.import_file(path)
        assert store.artifacts.get("blob.bin").content == bytes(range(256)) * 3
        assert store.artifacts.get("notes.md").text() == f"# {ODD}\n"
        signal = store.signals.get(ODD)
        assert signal is not None and signal.value == {"v": ODD, "n": [1, 2.5, None, True]}
        memory = store.memories.get("fact", session="s-1")
        assert memory is not None and memory.content == {"b": 2, "a": [ODD]}


def unique_keys(url: str) -> dict[str, set[frozenset[str]]]:
    """Every table's primary key and unique constraints (whole-column ones), as sets of columns."""
    check = CheckTable(url)
    keys: dict[str, set[frozenset[str]]] = {t.name: set() for t in exchange.TABLES}
    try:
        if check.pg:
            rows = check.run("SELECT c.relname, array_agg(a.attname::text) FROM pg_index i "
                             "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey) "
                             "WHERE n.nspname = 'roost' AND i.indisunique AND i.indpred IS NULL "
                             "AND 0 <> ALL (i.indkey) GROUP BY c.relname, i.indexrelid").fetchall()
            for table, columns in rows:
                if table in keys:
                    keys[table].add(frozenset(columns))
        else:
            for t in exchange.TABLES:
                pk = {str(r[1]) for r in check.run(f'PRAGMA table_info("{t.name}")').fetchall() if r[5]}
                keys[t.name].add(frozenset(pk))
                for index in check.run(f'PRAGMA index_list("{t.name}")').fetchall():
                    if index[2] and not index[4]:  # (unique, not partial)
                        names = [str(r[2]) for r in check.run(f'PRAGMA index_info("{index[1]}")').fetchall()]
                        if None not in names and "None" not in names:
                            keys[t.name].add(frozenset(names))
    finally:
        check.close()
    return keys


def test_every_id_an_import_must_not_collide_with_is_checked_on_both_backends(pg_url, tmp_path):
    """exchange.PROJECT_KEYED and SHARED_IDS must match the schema: an import checks that no other
    project holds the ids it keeps, and a unique key without ``project`` is such an id."""
    for url in (f"sqlite:///{tmp_path / 'a.db'}", pg_url):
        roost.connect(url).close()
        check_keys(unique_keys(url))


def check_keys(keys: dict[str, set[frozenset[str]]]) -> None:
    for table in exchange.TABLES:
        if table.name in exchange.PROJECT_KEYED:
            assert frozenset({"project", *table.order}) in keys[table.name], table.name
        else:
            assert frozenset(table.order) in keys[table.name], table.name
        scope = {"project"} if table.via is None else {table.via[0]}
        shared = {k for k in keys[table.name] if not k & scope} - {frozenset(table.order)}
        assert shared <= {frozenset({c}) for c in exchange.SHARED_IDS.get(table.name, ())}, table.name
