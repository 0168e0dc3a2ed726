"""Search: ranked full-text search across what agents remember, and fuzzy name lookup.

``store.search`` lives in :mod:`roost.search.hits`, ``store.find`` in :mod:`roost.search.names`;
how text becomes terms in :mod:`roost.search.tokens`, the query language in
:mod:`roost.search.query`, snippets in :mod:`roost.search.snippets` and the indexing of records
older than search in :mod:`roost.search.backfill`. Each is imported when first used (docs/search.md).
"""

KINDS = ("transcript", "memory", "observation", "artifact", "session")
"""The kinds of record search covers, in the order hits of equal score are listed."""

NAME_KINDS = ("agent", "session", "artifact", "memory", "tag", "signal", "lock")
"""The kinds of name fuzzy lookup covers."""

LIMIT_MAX = 200
"""The most hits one page of a search holds."""
