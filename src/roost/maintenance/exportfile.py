"""Reading an export file back (``roost import``): checked whole first, then read again to load.

The first pass reads every line and checks it against the header and the target's tables: JSON,
a known table in the file's order, the right number of values, each of its column's kind, and
as many rows per table as the header promises. Any fault is reported with its line number before
anything is written, so a truncated or corrupted file changes nothing. The pass also gathers what
the load needs beforehand (each table's largest ids, the token counters) and a SHA-256 of the
data lines, which names the file's content: a load of the same content may resume. The second
pass yields the rows, in the form :mod:`roost.maintenance.exchange` writes them.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from roost import errors
from roost.maintenance import exchange
from roost.maintenance.importing import Source, floors, id_columns

_SUSPECT = re.compile(r"\\u(0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)
"""Escapes that may decode to what no store can hold: NUL, or half of a surrogate pair."""

Kinds = dict[str, list[tuple[str, str]]]
"""The target's exported columns and their kinds, per table."""


def open_text(path: str | Path) -> TextIO:
    """The file as text, uncompressed when it is gzip (told by its first bytes, not its name)."""
    try:
        with open(path, "rb") as probe:
            magic = probe.read(2)
        if magic == b"\x1f\x8b":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="\n")
        return open(path, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise errors.BadExportFile(f"cannot read {path}: {exc.strerror or exc}") from None


def read_header(path: str | Path) -> dict[str, Any]:
    """The header line, checked: a roost export of a format this roost reads."""
    with open_text(path) as handle:
        try:
            first = handle.readline()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise errors.BadExportFile(f"{path}, line 1: cannot be read ({exc})") from None
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("format") != "roost-export":
        raise errors.BadExportFile(f"{path}, line 1: not a roost export (a file `roost export` writes)")
    version = header.get("version")
    if not isinstance(version, int) or version < 1:
        raise errors.BadExportFile(f"{path}, line 1: the header has no valid format version")
    if version > exchange.FORMAT:
        raise errors.BadExportFile(f"{path} has export format {version}, newer than this roost reads "
                                   f"({exchange.FORMAT}): upgrade roost to import it")
    tables = header.get("tables")
    ok = (isinstance(header.get("project"), str) and isinstance(header.get("schema_version"), int)
          and isinstance(tables, dict)
          and all(isinstance(t, dict) and isinstance(t.get("rows"), int) and isinstance(t.get("columns"), list)
                  and all(isinstance(c, str) for c in t["columns"]) for t in tables.values()))
    if not ok:
        raise errors.BadExportFile(f"{path}, line 1: the header lacks project, schema_version or tables")
    return header


def normal(kind: str, value: Any) -> Any:
    """A value of the file checked against its column's kind, in its one canonical form; raises
    ValueError saying what is wrong."""
    if value is None:
        return None
    if kind in ("int", "time"):
        if type(value) is not int or not -(2**63) <= value < 2**63:
            raise ValueError(f"expected a whole number, not {json.dumps(value)[:40]}")
        return value
    if kind == "float":
        if type(value) not in (int, float):
            raise ValueError(f"expected a number, not {json.dumps(value)[:40]}")
        return float(value)
    if kind == "bool":
        if type(value) is not bool:
            raise ValueError(f"expected true or false, not {json.dumps(value)[:40]}")
        return value
    if kind == "bytes":
        if not isinstance(value, str):
            raise ValueError("expected base64 text")
        try:
            return base64.b64encode(base64.b64decode(value, validate=True)).decode("ascii")
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
    if kind == "text" and not isinstance(value, str):
        raise ValueError(f"expected text, not {json.dumps(value)[:40]}")
    return value


class ExportFile:
    """One export file: its header, and its rows once :meth:`scan` has checked them."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.header = read_header(path)

    @property
    def project(self) -> str:
        return str(self.header["project"])

    def _lines(self, kinds: Kinds) -> Iterator[tuple[int, str, str, list[Any]]]:
        """(line number, raw line, table, values) of every row, each checked."""
        tables: dict[str, Any] = self.header["tables"]
        order = {t.name: i for i, t in enumerate(exchange.TABLES)}
        place = -1
        number = 1
        with open_text(self.path) as handle:
            handle.readline()
            while True:
                try:
                    text = handle.readline()
                except (OSError, EOFError, UnicodeDecodeError) as exc:
                    raise errors.BadExportFile(f"{self.path}, line {number + 1}: cannot be read ({exc}); "
                                               "the file is damaged or cut short") from None
                if not text:
                    return
                number += 1
                where = f"{self.path}, line {number}"
                if not text.endswith("\n"):
                    raise errors.BadExportFile(f"{where}: the line is cut short (the file is truncated)")
                try:
                    entry = json.loads(text)
                except ValueError as exc:
                    raise errors.BadExportFile(f"{where}: not JSON ({exc})") from None
                except RecursionError:
                    raise errors.BadExportFile(f"{where}: nested too deeply to read") from None
                if not isinstance(entry, dict) or not isinstance(entry.get("t"), str) or not isinstance(
                        entry.get("r"), list):
                    raise errors.BadExportFile(f"{where}: not a row (an object with \"t\" and \"r\")")
                table, values = entry["t"], entry["r"]
                if table not in tables or table not in kinds:
                    raise errors.BadExportFile(f"{where}: a row of {table!r}, a table the header does not list")
                if order[table] < place:
                    raise errors.BadExportFile(f"{where}: a row of {table!r} after the rows of a later table")
                place = order[table]
                columns = kinds[table]
                if len(values) != len(columns):
                    raise errors.BadExportFile(f"{where}: {len(values)} values for the {len(columns)} columns "
                                               f"of {table!r}")
                if _SUSPECT.search(text):
                    decoded = exchange.line(values)
                    try:
                        decoded.encode("utf-8")
                    except UnicodeEncodeError:
                        raise errors.BadExportFile(f"{where}: text with half of a surrogate pair") from None
                    if "\x00" in decoded:
                        raise errors.BadExportFile(f"{where}: text with a NUL character, which no store keeps")
                try:
                    yield number, text, table, [normal(k, v) for (_, k), v in zip(columns, values, strict=True)]
                except ValueError as exc:
                    raise errors.BadExportFile(f"{where}: {table}: {exc}") from None

    def scan(self, kinds: Kinds) -> Source:
        """Check every line (see the module docstring) and describe the file as a load's source."""
        tables: dict[str, Any] = self.header["tables"]
        for name, columns in kinds.items():
            if name in tables and tables[name]["columns"] != [c for c, _ in columns]:
                raise errors.BadExportFile(f"{self.path}: table {name!r} has the columns {tables[name]['columns']}, "
                                           f"the target {[c for c, _ in columns]}")
        digest = hashlib.sha256()
        counts = dict.fromkeys(tables, 0)
        maxima: dict[tuple[str, str], int] = {}
        minima: dict[tuple[str, str], int] = {}
        ints = {t: [(i, c) for i, (c, k) in enumerate(cols) if k == "int"] for t, cols in kinds.items()}
        last = 1
        for number, text, table, values in self._lines(kinds):
            last = number
            digest.update(text.encode("utf-8"))
            counts[table] += 1
            for i, column in ints[table]:
                value = values[i]
                if value is not None:
                    key = (table, column)
                    if value > maxima.get(key, value - 1):
                        maxima[key] = value
                    if value < minima.get(key, value + 1):
                        minima[key] = value
        for name, spec in tables.items():
            if counts[name] != spec["rows"]:
                raise errors.BadExportFile(
                    f"{self.path} ends at line {last} with {counts[name]} rows of {name!r}, and its header promises "
                    f"{spec['rows']}: the file is " + ("truncated" if counts[name] < spec["rows"] else "damaged"))
        counters = self.header.get("counters")
        if not isinstance(counters, dict):
            counters = {}
        ranges = {(t.name, key): (minima[(t.name, key)], maxima[(t.name, key)])
                  for t, key in id_columns() if (t.name, key) in maxima}
        task_token, lock_token = floors(counters.get("task_token"), counters.get("lock_token"), maxima)
        return Source(project=self.project, schema_version=int(self.header["schema_version"]),
                      columns={t: list(spec["columns"]) for t, spec in tables.items()}, rows=counts,
                      task_token=task_token, lock_token=lock_token, maxima=maxima, ranges=ranges,
                      keys=lambda table, key: self._keys(kinds, table, key), origin=self.path,
                      digest=digest.hexdigest())

    def _keys(self, kinds: Kinds, table: str, key: str) -> set[int]:
        at = [c for c, _ in kinds[table]].index(key)
        return {values[at] for _, _, t, values in self._lines(kinds) if t == table}

    def rows(self, kinds: Kinds) -> Iterator[tuple[str, list[Any]]]:
        """Every row, checked as :meth:`scan` checked it."""
        for _, _, table, values in self._lines(kinds):
            yield table, values
