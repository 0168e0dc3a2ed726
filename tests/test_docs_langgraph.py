"""docs/langgraph.md's example graph runs as written, in a fresh folder, and prints what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "langgraph.md"


def test_the_example_graph_in_the_docs_runs_as_written(tmp_path):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert code is not None, "docs/langgraph.md lost its example"
    script = tmp_path / "example.py"
    script.write_text(code.group(1), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    resumed = "['start', 'planned', 'approved: yes', 'shipped, remembering 1 plan']"
    assert done.stdout.splitlines() == ["ship it?", resumed]
