"""What a CLI call imports: a structural check that keeps the CLI fast as the package grows.

Every agent's CLI call is a new process, so its imports are its latency. Each command below runs
for real (a subprocess on an SQLite store) and reports ``sys.modules`` as it exits; the test fails
if it loaded the PostgreSQL driver, asyncio, rich (these commands print plain text), or the code of
an area it does not use. Timings are shown by ``bench/bench_cli.py``, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Every area, face and heavy dependency a command might load by mistake.
AREAS = {"roost.signals", "roost.locks", "roost.agents", "roost.tasks", "roost.events", "roost.worker",
         "roost.demo", "roost._async", "roost.backends.postgres", "roost.memory.transcripts",
         "roost.memory.memories", "roost.memory.observations", "roost.memory.artifacts", "roost.search.hits",
         "roost.search.names", "roost.documents.area", "roost.workflows.area", "roost.maintenance.cleanup"}
NEVER = ("psycopg", "psycopg_pool", "asyncio", "rich", "jsonschema", "pydantic")

REPORT = """
import atexit, json, sys
path = sys.argv[1]
def report():
    with open(path, "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(report)
from roost.cli import main
sys.argv = ["roost", *sys.argv[2:]]
main()
"""


def modules_of(cwd: Path, *args: str) -> set[str]:
    out = cwd / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_") and k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-c", REPORT, str(out), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "roost", "init"], cwd=tmp_path, check=True, capture_output=True)
    return tmp_path


@pytest.mark.parametrize(("before", "args", "area"), [
    ((), ("signal", "set", "k", "v"), "roost.signals"),
    (("signal", "set", "k", "v"), ("signal", "get", "k"), "roost.signals"),
    ((), ("lock", "acquire", "f", "--owner", "me"), "roost.locks"),
    (("lock", "acquire", "f", "--owner", "me"), ("lock", "release", "f", "--token", "1", "--owner", "me"),
     "roost.locks"),
    ((), ("task", "add", "job"), "roost.tasks"),
    (("task", "add", "job"), ("task", "claim", "--json", "--agent", "me"), "roost.tasks"),
    ((), ("events", "publish", "build.done"), "roost.events"),
    (("session", "create", "t", "--id", "s1"), ("transcript", "add", "s1", "prompt", "hi"), "roost.memory.transcripts"),
    ((), ("memory", "put", "plan", "v"), "roost.memory.memories"),
    ((), ("observe", "coder", "saw it"), "roost.memory.observations"),
    (("observe", "coder", "saw it"), ("search", "saw", "--json"), "roost.search.hits"),
    (("agent", "register", "coder"), ("find", "codr", "--json"), "roost.search.names"),
    (("doc", "declare", "specs"), ("doc", "put", "specs", "s", '{"a": 1}'), "roost.documents.area"),
    (("doc", "declare", "specs"), ("doc", "query", "specs", "--json"), "roost.documents.area"),
    (("workflow", "define", "w", "--phase", "a"), ("run", "start", "w", "task:1"), "roost.workflows.area"),
])
def test_an_sqlite_command_imports_only_its_own_area(folder: Path, before: tuple[str, ...], args: tuple[str, ...],
                                                     area: str) -> None:
    if before:
        subprocess.run([sys.executable, "-m", "roost", *before], cwd=folder, check=True, capture_output=True)
    loaded = modules_of(folder, *args)
    heavy = sorted(m for m in loaded if m.split(".")[0] in NEVER)
    assert not heavy, f"roost {' '.join(args)} imported {heavy}"
    assert {"roost.backends.sqlite", area} <= loaded  # (the command ran, so the check is not vacuous)
    assert loaded & AREAS == {area}, f"roost {' '.join(args)} imported {sorted(loaded & AREAS - {area})}"
    if area.startswith("roost.memory."):  # SQLite indexes in the database: no tokenizer on a write
        assert "roost.search.tokens" not in loaded
    if area == "roost.documents.area":  # (no schema, no rendering: none of their modules)
        assert not loaded & {"roost.documents.render", "roost.documents.importer", "roost.documents.history"}


def test_help_lists_every_command_without_error(folder: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "roost", "--help"], cwd=folder, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    for name in ("agent", "artifact", "completion", "demo", "doctor", "events", "info", "init", "lock", "memory",
                 "migrate", "observation", "observe", "run", "session", "signal", "status", "task", "transcript",
                 "work", "workflow"):
        assert f"  {name} " in done.stdout
