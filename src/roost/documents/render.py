"""A document as Markdown, the form an agent's prompt wants: a heading per top-level field (in the
schema's order, then the body's), paragraphs for text, lists for arrays of values, tables for
arrays of objects. Strings are written as they are (agents write Markdown in them), except in
table cells, where ``|`` and line breaks would break the table."""

from __future__ import annotations

import json
from typing import Any

from roost.documents.collections import Collection
from roost.documents.records import Document

TITLE_FIELDS = ("title", "name")


def markdown(collection: Collection, doc: Document) -> str:
    body = doc.body
    props = (collection.schema or {}).get("properties")
    props = props if isinstance(props, dict) else {}
    title_field = next((f for f in TITLE_FIELDS if isinstance(body.get(f), str) and body[f].strip()), None)
    title = body[title_field].strip() if title_field else f"{collection.name}/{doc.key}"
    lines = [f"# {_line(title)}", "", f"*{collection.name}/{doc.key}, version {doc.version}*"]
    order = [k for k in props if k in body] + [k for k in body if k not in props]
    for field in order:
        if field == title_field:
            continue
        spec = props.get(field)
        heading = spec.get("title") if isinstance(spec, dict) and isinstance(spec.get("title"), str) else None
        lines += ["", f"## {_line(heading or _human(field))}", ""]
        lines += _block(body[field], 3)
    return "\n".join(lines).rstrip() + "\n"


def _human(field: str) -> str:
    words = field.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else field


def _line(text: str) -> str:
    return " ".join(text.split())


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _block(value: Any, level: int) -> list[str]:
    if value is None or value == [] or value == {}:
        return ["_(none)_"]
    if isinstance(value, list):
        if all(isinstance(x, dict) for x in value):
            return _table(value)
        return [f"- {_item(x)}" for x in value]
    if isinstance(value, dict):
        out: list[str] = []
        for k, x in value.items():
            if isinstance(x, dict | list) and x and level <= 6:
                out += [f"{'#' * level} {_line(_human(k))}", "", *_block(x, level + 1), ""]
            else:
                out.append(f"- **{_line(k)}**: {_item(x)}")
        return out[:-1] if out and out[-1] == "" else out
    return _scalar(value).splitlines() or [""]


def _item(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(value.splitlines())
    return json.dumps(value, ensure_ascii=False)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        out.append("| " + " | ".join(_cell(row[c]) if c in row else "" for c in columns) + " |")
    return out


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>")
