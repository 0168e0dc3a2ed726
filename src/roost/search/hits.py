"""``store.search``: ranked full-text search across what agents remember (docs/search.md).

Each kind of record has its own index and its own query (roost/sql/<dialect>/search.sql); a search
asks each kind it covers for its best ``limit + 1`` hits after the cursor and merges them. Hits go
best first by score, then by kind and id, so that a cursor (the last hit's place) says exactly
where the next page starts. The first page also records the newest record of each kind, and later
pages leave out anything newer: records that arrive while a caller pages never shuffle the pages.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.memory import _common as c
from roost.search import KINDS, LIMIT_MAX, chosen_kinds, snippets, tokens
from roost.search import query as q

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from roost.store import Store

ORDERS = ("relevance", "recent")

# Which filters each kind has: a search with a filter a kind lacks leaves that kind out.
_HAS = {
    "transcript": {"session", "agent", "type"},
    "memory": {"session", "agent", "type", "tags"},
    "observation": {"session", "agent", "type"},
    "artifact": {"session", "type"},
    "session": {"session", "type"},
}


@dataclass(frozen=True, slots=True)
class Hit:
    """One record that matched. ``id``: the transcript entry's, memory's, observation's or
    artifact version's id, or the session's id. ``name``: the memory's key, the artifact's name or
    the session's id. ``type``: the entry's role, the memory's type, the observation's kind, the
    artifact's type or the session's status. ``snippet``: a window of the text with the matches
    marked; ``matches``: (start, end) of every match in ``text``, the record's searchable text."""

    kind: str
    id: int | str
    score: float
    snippet: str
    matches: tuple[tuple[int, int], ...]
    text: str
    session: str | None
    agent: str | None
    type: str | None
    name: str | None
    version: int | None
    position: int | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "score": self.score, "snippet": self.snippet,
                "matches": [list(m) for m in self.matches], "session": self.session, "agent": self.agent,
                "type": self.type, "name": self.name, "version": self.version, "position": self.position,
                "created_at": self.created_at.isoformat()}


@dataclass(frozen=True, slots=True)
class Results:
    """A page of hits, best first, and the ``cursor`` for the next page (None: this was the last)."""

    hits: list[Hit]
    cursor: str | None

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where paging stands: the first page's bounds, and for each kind that has shown hits, the
    last one shown (its sort key, tie and id)."""

    order: str
    bounds: tuple[int, ...]
    anchors: dict[int, tuple[float, int, int]]


@repeatable
def run(kinds: Sequence[str], params: dict[str, Any],
        place: _Place | None) -> Op[tuple[list[tuple[Any, ...]], tuple[int, ...]]]:
    """Each kind's best hits after its anchor, rows tagged with their kind's index, and the bounds
    (read here on the first page: the newest record of each kind).

    A kind's anchor is re-read first (its sort key now): BM25 weights move as records arrive, all
    of a kind's scores together, so paging on from where that hit stands *now* neither repeats nor
    skips hits. (PostgreSQL's ranks do not move; the re-read finds the same key.)"""
    found: list[tuple[Any, ...]] = []
    if place is None:
        row = (yield Query("search_bounds")).one()
        assert row is not None
        limits = tuple(int(x) for x in row)
    else:
        limits = place.bounds
    for kind in kinds:
        index = KINDS.index(kind)
        base = {**params, "bound": limits[index], "only": None, "after_key": None, "after_tie": None}
        anchor = place.anchors.get(index) if place is not None else None
        if anchor is not None:
            key, tie, id_ = anchor
            now = (yield Query(f"search_{kind}", {**base, "only": id_, "limit": 1})).one()
            if now is not None:
                key, tie = float(now[-2]), int(now[-1])
            base.update(after_key=key, after_tie=tie)
        for row in (yield Query(f"search_{kind}", base)).rows:
            found.append((index, *row))
    return found, limits


class Search:
    """Runs ``store.search``; one per store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __call__(self, query: str, *, kinds: Iterable[str] | None = None, session: str | None = None,
                 agent: str | None = None, tags: Iterable[str] | None = None, type: str | None = None,
                 since: datetime | float | None = None, until: datetime | float | None = None,
                 limit: int = 20, cursor: str | None = None, order: str = "relevance",
                 all_versions: bool = False, raw: bool = False,
                 markers: tuple[str, str] = ("<mark>", "</mark>"), escape: bool = True) -> Results:
        marker = _marker(markers, escape)
        want = v.integer(limit, "limit", 1, LIMIT_MAX)
        if order not in ORDERS:
            raise errors.InvalidArgument(f"order must be 'relevance' or 'recent', not {v.shown(order)}")
        for flag, what in ((all_versions, "all_versions"), (raw, "raw")):
            if not isinstance(flag, bool):
                raise errors.InvalidArgument(f"{what} must be True or False, not {flag.__class__.__name__}")
        filters = {
            "session": c.optional_session(session),
            "agent": c.optional_name(agent, "agent", v.AGENT_NAME_MAX),
            "type": c.optional_label(type, "type"),
            "tags": None if tags is None else v.to_json(c.tags(tags), "tags"),
        }
        chosen = _kinds(kinds)
        chosen = [k for k in chosen if all(filters[f] is None or f in _HAS[k] for f in filters)]
        place = _decode(cursor, order)
        text = q.require_query(query)
        parsed = q.raw_terms(text) if raw else q.parse(text)
        if (not raw and parsed.matches_nothing) or not chosen:
            return Results([], None)
        vectors = self._store.capabilities.search_vectors
        match = text if raw else (q.tsquery(parsed) if vectors else q.fts5(parsed))
        params: dict[str, Any] = {
            "project": self._store.project, **filters,
            "match": match, "tsquery": match,
            "since": _moment(since, "since"), "until": _moment(until, "until"),
            "recent": order == "recent", "all_versions": all_versions,
            "max_age": self._store.settings.observation_retention_days * 86400.0,
            "limit": want + 1,
        }
        if raw and vectors:
            params["tsquery"] = _raw_tsquery(self._store, text)
        try:
            rows, limits = self._store._execute(run, chosen, params, place)
        except errors.DatabaseError as exc:
            if raw and exc.__class__ is errors.DatabaseError:  # the backend could not parse a raw query
                raise errors.InvalidArgument(f"raw query {v.shown(text)} was refused by the backend: {exc}") from None
            raise
        rows.sort(key=lambda r: (r[-2], r[0], r[-1]))
        page = rows[:want]
        hits = [_hit(r, parsed, marker) for r in page]
        next_cursor = None
        if len(rows) > want:
            anchors = dict(place.anchors) if place is not None else {}
            for r in page:
                anchors[int(r[0])] = (float(r[-2]), int(r[-1]), int(r[1]))
            next_cursor = _encode(_Place(order, limits, anchors))
        return Results(hits, next_cursor)


def _raw_tsquery(store: Store, text: str) -> str:
    """A raw PostgreSQL query, checked by the server's own parser (``to_tsquery('simple', …)``)."""
    try:
        return str(store._execute(_to_tsquery, text))
    except errors.RoostError as exc:
        raise errors.InvalidArgument(f"raw query {v.shown(text)} is not valid tsquery syntax: {exc}") from None


@repeatable
def _to_tsquery(text: str) -> Op[str]:
    return str((yield Query("search_raw_tsquery", {"text": text})).scalar())


def _hit(row: tuple[Any, ...], parsed: q.Parsed, marker: snippets.Marker) -> Hit:
    index, id_, score, session, agent, type_, name, version, position, created, text = row[:11]
    kind = KINDS[index]
    if kind == "memory":
        text = tokens.memory_text(name, v.stored_json(text))
    text = text or ""
    snippet, offsets = snippets.snippet(text, parsed, marker)
    return Hit(kind, name if kind == "session" else int(id_), float(score), snippet, offsets, text, session, agent,
               type_, name, None if version is None else int(version), None if position is None else int(position),
               to_datetime(created))


def _kinds(kinds: object) -> list[str]:
    return chosen_kinds(kinds, KINDS, "search covers")


def _moment(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise errors.InvalidArgument(f"{what} must be timezone-aware (for example datetime.now(UTC))")
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.InvalidArgument(f"{what} must be a datetime or epoch seconds, not {type(value).__name__}")
    return v.seconds(value, f"{what} (epoch seconds)", 0, 2**35)


def _marker(markers: object, escape: object) -> snippets.Marker:
    if (not isinstance(markers, tuple | list) or len(markers) != 2
            or not all(isinstance(m, str) and len(m) <= 64 for m in markers)):
        raise errors.InvalidArgument("markers must be two strings (before and after a match), each at most 64 "
                                     "characters")
    if not isinstance(escape, bool):
        raise errors.InvalidArgument(f"escape must be True or False, not {type(escape).__name__}")
    return snippets.Marker(markers[0], markers[1], escape)


def _encode(place: _Place) -> str:
    anchors = [[kind, key, tie, id_] for kind, (key, tie, id_) in sorted(place.anchors.items())]
    raw = json.dumps([2, place.order, list(place.bounds), anchors], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: object, order: str) -> _Place | None:
    if cursor is None:
        return None
    bad = errors.InvalidArgument(f"cursor {v.shown(cursor)} is not a search cursor roost returned")
    if not isinstance(cursor, str) or not cursor or len(cursor) > 1000:
        raise bad
    try:
        version, was, limits, anchors = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ok = (version == 2 and was in ORDERS and isinstance(limits, list) and len(limits) == len(KINDS)
              and all(_is_int(b) and b >= 0 for b in limits) and isinstance(anchors, list)
              and all(isinstance(a, list) and len(a) == 4 and _is_int(a[0]) and 0 <= a[0] < len(KINDS)
                      and isinstance(a[1], float | int) and not isinstance(a[1], bool) and _is_int(a[2])
                      and _is_int(a[3]) for a in anchors))
    except (ValueError, TypeError):
        raise bad from None
    if not ok:
        raise bad
    if was != order:
        raise errors.InvalidArgument(f"this cursor pages a search in {was!r} order, not {order!r}")
    return _Place(was, tuple(limits), {a[0]: (float(a[1]), a[2], a[3]) for a in anchors})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
