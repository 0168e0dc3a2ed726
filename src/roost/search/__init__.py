"""Search: ranked full-text search across what agents remember, and fuzzy name lookup.

``store.search`` lives in :mod:`roost.search.hits`, ``store.find`` in :mod:`roost.search.names`;
how text becomes terms in :mod:`roost.search.tokens`, the query language in
:mod:`roost.search.query`, snippets in :mod:`roost.search.snippets` and the indexing of records
older than search in :mod:`roost.search.backfill`. Each is imported when first used (docs/search.md).
"""

from __future__ import annotations

from roost import errors
from roost._validate import shown

KINDS = ("transcript", "memory", "observation", "artifact", "session")
"""The kinds of record search covers, in the order hits of equal score are listed."""

NAME_KINDS = ("agent", "session", "artifact", "memory", "tag", "signal", "lock")
"""The kinds of name fuzzy lookup covers."""

LIMIT_MAX = 200
"""The most hits one page of a search holds."""


def chosen_kinds(kinds: object, allowed: tuple[str, ...], where: str) -> list[str]:
    """``kinds`` checked against ``allowed`` (one name or a list; None: all), each once, in order."""
    if kinds is None:
        return list(allowed)
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, list | tuple | set | frozenset):
        raise errors.InvalidArgument(f"kinds must be a list of kinds, not {type(kinds).__name__}")
    chosen: list[str] = []
    for kind in kinds:
        if kind not in allowed:
            raise errors.InvalidArgument(f"unknown kind {shown(kind)}; {where} {', '.join(allowed)}")
        if kind not in chosen:
            chosen.append(kind)
    if not chosen:
        raise errors.InvalidArgument(f"kinds is empty; give at least one of {', '.join(allowed)} (or None for all)")
    return chosen
