"""Children for the documents process tests (multiprocessing's spawn needs importable functions)."""

from __future__ import annotations

from typing import Any

import roost
from roost import errors

PROJECT = "docs"


def patch_my_feature(url: str, me: int, times: int, barrier: Any, out: Any) -> None:
    """Child: patch feature f<me> of the one feature-list document ``times`` times (a counter and
    a log), while the others patch theirs."""
    try:
        with roost.connect(url, project=PROJECT, sqlite_busy_timeout=30) as store:
            barrier.wait(timeout=60)
            for i in range(times):
                store.documents.patch("lists", "shared", [
                    {"op": "increment", "path": f"features[id=f{me}].count"},
                    {"op": "append", "path": f"features[id=f{me}].log", "value": i},
                    {"op": "set", "path": f"features[id=f{me}].status", "value": f"step-{i}"},
                ], agent=f"agent-{me}")
        out.put(("ok", me))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def compare_and_set(url: str, me: int, wins: int, barrier: Any, out: Any) -> None:
    """Child: read the counter and set it one higher with expected_version, until ``wins`` of its
    writes succeeded; report how many were refused as stale."""
    try:
        conflicts = 0
        with roost.connect(url, project=PROJECT, sqlite_busy_timeout=30) as store:
            barrier.wait(timeout=60)
            won = 0
            while won < wins:
                doc = store.documents.get("c", "counter")
                assert doc is not None
                try:
                    store.documents.patch("c", "counter", {"op": "set", "path": "n", "value": doc.body["n"] + 1},
                                          expected_version=doc.version, agent=f"agent-{me}")
                    won += 1
                except errors.VersionConflict:
                    conflicts += 1
        out.put(("ok", conflicts))
    except BaseException as exc:
        out.put(("error", repr(exc)))


def declare_and_put(url: str, me: int, if_absent: bool, barrier: Any, out: Any) -> None:
    """Child: declare the collection (as every pod does at start) and put the same new key at
    the same moment as the others; report the version written, or "conflict"."""
    try:
        with roost.connect(url, project=PROJECT, sqlite_busy_timeout=30) as store:
            barrier.wait(timeout=60)
            store.documents.collection("race", indexed=["by"])
            try:
                doc = store.documents.put("race", "same", {"by": me}, expected_version=0 if if_absent else None)
                out.put(("ok", doc.version))
            except errors.VersionConflict:
                out.put(("ok", "conflict"))
    except BaseException as exc:
        out.put(("error", repr(exc)))
