"""Links: named relations between documents of any collections (a spec ``refines`` a loop, an
initiative ``tracks`` its tasks). A link goes with either of its documents when that is deleted."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from roost import errors
from roost._op import Op, Query, atomic, repeatable, to_datetime
from roost.memory._common import label

Ref = tuple[str, str]
"""A document by (collection, key)."""


@dataclass(slots=True)
class Link:
    rel: str
    direction: str
    """``out`` (this document links to ``collection/key``) or ``in`` (that one links to this)."""
    collection: str
    key: str
    created_at: datetime


def rel_of(value: object) -> str:
    return label(value, "link relation")


def _id(project: str, ref: Ref) -> Op[int]:
    found = (yield Query("doc_parent_id", {"project": project, "collection": ref[0], "key": ref[1]})).scalar()
    if found is None:
        raise errors.DocumentNotFound(f"no document {ref[0]}/{ref[1]}")
    return int(found)


@atomic
def link(project: str, src: Ref, rel: str, dst: Ref, remove: bool) -> Op[bool]:
    """Add (or with ``remove``, take away) the link; True if that changed anything."""
    params = {"src": (yield from _id(project, src)), "rel": rel, "dst": (yield from _id(project, dst))}
    changed = (yield Query("doc_unlink" if remove else "doc_link", params)).one() is not None
    if changed:
        event = {"src": "/".join(src), "rel": rel, "dst": "/".join(dst)}
        yield Query("doc_event", {"project": project, "topic": "document.unlinked" if remove else "document.linked",
                                  "payload": json.dumps(event, ensure_ascii=False),
                                  "refs": json.dumps({"collection": src[0], "key": src[1]}, ensure_ascii=False)})
    return changed


@repeatable
def links(project: str, doc: Ref, rel: str | None, direction: str) -> Op[list[Link]]:
    doc_id = yield from _id(project, doc)
    out: list[Link] = []
    for name in (("doc_links_out",) if direction == "out" else ("doc_links_in",) if direction == "in"
                 else ("doc_links_out", "doc_links_in")):
        rows = (yield Query(name, {"id": doc_id, "rel": rel})).rows
        out += [Link(r[0], r[1], r[2], r[3], to_datetime(r[4])) for r in rows]
    return out
