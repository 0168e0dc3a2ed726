"""Indexing the records written before search existed (migration 0011), a batch per transaction.

The migration itself only creates the (empty) indexes and notes, in ``search_backfill``, the newest
record of each kind at that moment; everything newer is indexed by its own write. This fills in the
rest, BATCH records at a time, each batch in its own short transaction that first claims the
kind's bookmark (so processes that upgrade at once never index a record twice), and so a large
store is upgraded without holding its write lock for minutes. ``store.migrate()`` runs it; a store
left half-done (a process killed meanwhile) is finished by the next ``roost migrate``, and
``roost doctor`` says how much is left.
"""

from __future__ import annotations

from typing import Any

from roost import _validate as v
from roost._op import Op, Query, atomic, repeatable
from roost.search import tokens

BATCH = 2000


@repeatable
def pending() -> Op[list[tuple[str, int, int]]]:
    return [(str(k), int(d), int(u)) for k, d, u in (yield Query("search_backfill_pending")).rows]


@atomic
def step(kind: str, batch: int, vectors: bool) -> Op[bool]:
    """Index the next batch of ``kind``; False when nothing of it is left."""
    row = (yield Query("search_backfill_claim", {"kind": kind})).one()
    if row is None:
        return False
    done, upto = int(row[0]), int(row[1])
    params: dict[str, Any] = {"done": done, "to": min(done + batch, upto)}
    if kind == "artifact":
        rows = (yield Query("search_backfill_artifact_rows", params)).rows
        texts = [tokens.indexed_text(bytes(data)) for _, data in rows]
        params.update(ids=[int(r[0]) for r in rows], texts=texts,
                      vectors=[tokens.vector(t) for t in texts] if vectors else None)
        if not vectors:
            for (id_, _), text in zip(rows, texts, strict=True):
                yield Query("search_backfill_artifact_text", {"id": id_, "text": text})
    elif vectors:
        rows = (yield Query(f"search_backfill_{kind}_rows", params)).rows
        params["ids"] = [int(r[0]) for r in rows]
        if kind == "memory":
            params["vectors"] = [tokens.vector(tokens.memory_text(k, v.stored_json(c))) for _, k, c in rows]
        else:
            params["vectors"] = [tokens.vector(r[1]) for r in rows]
    yield Query(f"search_backfill_{kind}", params)
    return True


def run(store: Any, batch: int = BATCH) -> int:
    """Index everything the backfill has left; returns how many batches it took."""
    batches = 0
    vectors = store.capabilities.search_vectors
    for kind, _, _ in store._execute(pending):
        while store._execute(step, kind, batch, vectors):
            batches += 1
    return batches
