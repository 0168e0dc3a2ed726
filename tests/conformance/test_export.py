"""Export on every backend: every table and column has its place in the file and the same kind on
both backends, the same records give the same lines on SQLite and PostgreSQL, and an export is
one consistent snapshot that reads back whole (odd unicode and binary content included)."""

from __future__ import annotations

import base64
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import roost
from roost.maintenance import exchange
from tests.helpers import CheckTable

ODD = "ключ 🚀 \u200b e\u0301 \ufb01 \U0001d518 '\"\\ <&>"
PROJECT = "exported"


def lines_of(store: roost.Store) -> list[Any]:
    out = io.StringIO()
    store.export(out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def kinds_of(store: roost.Store) -> tuple[set[str], dict[str, list[tuple[str, str]]]]:
    with store._backend.snapshot() as reader:
        return set(reader.tables()), {t.name: exchange.exported_columns(reader, t.name) for t in exchange.TABLES}


def test_every_table_and_column_has_its_place_and_kind_on_both_backends(pg_url, tmp_path):
    """A table or column added later fails here until the export places it (exchange.py)."""
    with roost.connect(f"sqlite:///{tmp_path / 'a.db'}") as lite, roost.connect(pg_url) as pg:
        (lite_tables, lite_columns), (pg_tables, pg_columns) = kinds_of(lite), kinds_of(pg)
    for tables in (lite_tables, pg_tables):
        unplaced = tables - set(exchange.BY_NAME) - set(exchange.NOT_EXPORTED)
        assert not unplaced, f"tables neither exported nor left out on purpose: {sorted(unplaced)}"
        assert set(exchange.BY_NAME) <= tables
    for table in exchange.TABLES:
        assert lite_columns[table.name] == pg_columns[table.name], table.name
        assert set(table.order) <= {c for c, _ in lite_columns[table.name]}, table.name
        assert ("project" in dict(lite_columns[table.name])) == (table.via is None), table.name


def fill(store: roost.Store) -> None:
    """The same calls, in the same order, give the same ids, tokens and positions on any backend."""
    store.signals.set(ODD, {"v": ODD, "n": [1, 2.5, None, True]})
    store.signals.set("crit", 1, critical=True)
    lease = store.locks.acquire("file.py", owner="coder-1", ttl=600)
    assert lease is not None
    # (one lock: SQLite numbers tokens per lock name, PostgreSQL from one sequence)
    store.agents.register("coder-1", kind="coder", capabilities=["python", ODD], metadata={"z": 1, "a": ODD})
    first = store.tasks.enqueue("build", {"odd": ODD}, priority=3)
    store.tasks.enqueue("test", depends_on=[first])
    (claim,) = store.tasks.claim("coder-1", lease=600)
    store.tasks.complete(claim.token, {"ok": True})
    store.events.publish("note.added", {"text": ODD}, refs={"task": first, "agent": "coder-1"})
    session = store.sessions.create(ODD, id="s-1", participants=["coder-1", "qa"], metadata={"k": ODD}).id
    store.transcripts.append_many([{"session": session, "role": "user", "content": f"{ODD} {i}",
                                    "message_id": f"m{i}"} for i in range(3)])
    store.memories.put("fact", {"b": 2, "a": [ODD]}, tags=["zeta", "alpha"], session=session)
    store.observations.add("coder-1", ODD, session=session, kind="note")
    store.artifacts.put("blob.bin", bytes(range(256)) * 3, session=session)
    store.artifacts.put("notes.md", f"# {ODD}\n", type="text/markdown")
    store.documents.collection("features", indexed=["status"])
    store.documents.put("features", "auth", {"status": "todo", "title": ODD})
    store.documents.patch("features", "auth", [{"op": "set", "path": "status", "value": "done"}])
    store.workflows.define("flow", [{"id": "plan"}, {"id": "review", "gate": "human"}])
    run = store.runs.start("flow", "task:1", variables={"X": ODD})
    store.runs.phase_start(run.id, "plan", executor="coder-1")
    store.runs.output(run.id, "plan", "PLAN", ODD)
    store.runs.evaluate(run.id, "plan", 1, "qa", 85.5, max_score=99.5, feedback=ODD)  # (see the note below)
    store.runs.phase_finish(run.id, "plan", tokens=10, cost=0.25)


APPEND_ONLY = {"gate_decisions", "evaluations", "run_outputs"}
"""Their triggers refuse any UPDATE: their times are compared masked instead."""


def settle_times(url: str) -> None:
    """Every time column of every exported table set to one fixed moment (the two stores were
    filled at different instants), with the raw driver. (SQLite's memory trigger writes an event
    for any update of a memory; those are removed again.)"""
    check = CheckTable(url)
    prefix = "roost." if check.pg else ""
    moment = "to_timestamp(1700000000.123456)" if check.pg else "1700000000.123456"
    try:
        with roost.connect(url, project=PROJECT) as store:
            _, columns = kinds_of(store)
        newest = check.run(f"SELECT max(position) FROM {prefix}events").fetchone()[0]
        for table, cols in columns.items():
            times = [c for c, kind in cols if kind == "time"]
            if times and table not in APPEND_ONLY:
                check.run(f"UPDATE {prefix}{table} SET " + ", ".join(
                    f"{c} = CASE WHEN {c} IS NULL THEN NULL ELSE {moment} END" for c in times))
        check.run(f"DELETE FROM {prefix}events WHERE position > ?", newest)
        if not check.pg:
            check.conn.commit()
    finally:
        check.close()


def test_the_same_records_export_the_same_lines_on_sqlite_and_postgresql(pg_url, tmp_path):
    lite_url = f"sqlite:///{tmp_path / 'a.db'}"
    exports = []
    for url in (lite_url, pg_url):
        with roost.connect(url, project=PROJECT) as store:
            fill(store)
        settle_times(url)
        with roost.connect(url, project=PROJECT) as store:
            exports.append(lines_of(store))
    lite, pg = exports
    assert lite[0].pop("exported_at") and pg[0].pop("exported_at")
    assert lite[0] == pg[0]
    assert len(lite) == len(pg) == 1 + sum(t["rows"] for t in lite[0]["tables"].values())
    tables = lite[0]["tables"]
    for a, b in zip(lite[1:], pg[1:], strict=True):
        if a["t"] in APPEND_ONLY:
            for i, column in enumerate(tables[a["t"]]["columns"]):
                if column.endswith("_at"):
                    assert isinstance(a["r"][i], int) and isinstance(b["r"][i], int)
                    a["r"][i] = b["r"][i] = None
        assert a == b


def test_an_export_reads_back_whole_and_repeats(url):
    with roost.connect(url, project=PROJECT) as store:
        fill(store)
        first, second = lines_of(store), lines_of(store)
    header = first[0]
    assert header["format"] == "roost-export" and header["version"] == exchange.FORMAT
    assert header["project"] == PROJECT and header["schema_version"] >= 15
    assert first[0].pop("exported_at") and second[0].pop("exported_at")
    assert first == second
    rows: dict[str, list[dict[str, Any]]] = {}
    for entry in first[1:]:
        rows.setdefault(entry["t"], []).append(dict(zip(header["tables"][entry["t"]]["columns"], entry["r"],
                                                        strict=True)))
    assert {t: len(r) for t, r in rows.items()} == {t: v["rows"] for t, v in header["tables"].items() if v["rows"]}
    assert ODD in {r["key"] for r in rows["signals"]}
    assert {r["critical"] for r in rows["signals"]} == {True, False}
    content = b"".join(base64.b64decode(r["data"]) for r in rows["artifact_chunks"]
                       if any(a["blob_id"] == r["blob_id"] and a["name"] == "blob.bin" for a in rows["artifacts"]))
    assert content == bytes(range(256)) * 3
    assert [r["tags"] for r in rows["memories"]] in ([["alpha", "zeta"]], [["zeta", "alpha"]])
    assert all(isinstance(r["created_at"], int) for r in rows["events"])
    assert "search" not in header["tables"]["transcript_entries"]["columns"]
    assert {r["name"] for r in rows["locks"]} == {"file.py"}
    assert len(rows["document_history"]) == 1 and rows["evaluations"][0]["score"] == 85.5


def test_roost_export_writes_a_whole_file_or_nothing(db, tmp_path):
    with roost.connect(db, project=PROJECT) as store:
        fill(store)
    target = tmp_path / "out.jsonl.gz"
    done = subprocess.run([sys.executable, "-m", "roost", "export", "--url", db, "--project", PROJECT,
                           "-o", str(target), "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    with gzip.open(target, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 1 + summary["rows"] and json.loads(lines[0])["project"] == PROJECT
    piped = subprocess.run([sys.executable, "-m", "roost", "export", "--url", db, "--project", PROJECT],
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout.splitlines()[1:] == lines[1:]
    missing = subprocess.run([sys.executable, "-m", "roost", "export", "--url", db, "-o",
                              str(tmp_path / "no" / "such" / "dir.jsonl")], capture_output=True, text=True)
    assert missing.returncode == 1 and "cannot write" in missing.stderr and "Traceback" not in missing.stderr
    assert not [p for p in Path(tmp_path).rglob("*") if ".partial-" in p.name], "a partial export was left behind"
