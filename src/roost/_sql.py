"""Named SQL blocks, loaded from the package with ``importlib.resources``.

A ``.sql`` file holds blocks that start with a line ``-- name: some_name``; the text up to the next
such line is that query. Each dialect has its own files under ``roost/sql/<dialect>/``, so the SQL
for a name can differ per backend while the operations that use it stay the same.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

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
    folder = resources.files("roost") / "sql" / dialect
    found: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql") and entry.name != "schema.sql":
            for name, sql in parse_blocks(entry.read_text("utf-8"), entry.name).items():
                if name in found:
                    raise ValueError(f"{dialect}: query {name!r} is defined in two files")
                found[name] = sql
    return found


def resource_text(*parts: str) -> str:
    return (resources.files("roost").joinpath("sql", *parts)).read_text("utf-8")
