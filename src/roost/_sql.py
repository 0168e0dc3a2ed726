"""Named SQL blocks, read from the package's ``sql/`` folder.

A ``.sql`` file holds blocks that start with a line ``-- name: some_name``; the text up to the next
such line is that query. Each dialect has its own files under ``roost/sql/<dialect>/``, so the SQL
for a name can differ per backend while the operations that use it stay the same.

The files are read as plain files beside this module, not through ``importlib.resources``: pip
always installs packages as files, and importing ``importlib.resources`` (with the tempfile, shutil
and compression modules it pulls in) cost about 4 ms of every CLI call.
"""

from __future__ import annotations

import os
import re
from functools import cache

SQL_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql")

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_blocks(text: str, origin: str) -> dict[str, str]:
    blocks: dict[str, str] = {}
    parts = _NAME.split(text)
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in blocks:
            raise ValueError(f"{origin}: query {name!r} is defined twice")
        blocks[name] = body.strip().rstrip(";")
    return blocks


@cache
def queries(dialect: str) -> dict[str, str]:
    """Every named query of ``dialect`` (all ``*.sql`` files in its folder but ``schema.sql``)."""
    folder = os.path.join(SQL_ROOT, dialect)
    found: dict[str, str] = {}
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".sql") and entry != "schema.sql":
            for name, sql in parse_blocks(read_text(os.path.join(folder, entry)), entry).items():
                if name in found:
                    raise ValueError(f"{dialect}: query {name!r} is defined in two files")
                found[name] = sql
    return found


def resource_text(*parts: str) -> str:
    """A file under the package's ``sql/`` folder, as text."""
    return read_text(os.path.join(SQL_ROOT, *parts))


def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()
