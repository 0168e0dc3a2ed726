"""``store.find``: the closest names to a (possibly misspelt) one, across what a project names.

Names are kept in ``search_names`` by triggers (migration 0011): agents, sessions, artifacts,
memory keys, tags, signals and locks. Closeness is pg_trgm's trigram similarity, computed the same
way everywhere: each word of a name (a run of letters and digits, lower-cased) padded with two
spaces before and one after, cut into three-character pieces; similarity is the share of pieces
the two names have in common (common pieces / all pieces of either). So case and separators barely matter and a typo
costs a few pieces: ``regster_agnt`` is 0.47 from ``register_agent``.

Where the candidates come from differs, not the ranking: PostgreSQL with pg_trgm asks its GIN
trigram index (``%``, threshold 0.3) and ranks with ``similarity()``; PostgreSQL without pg_trgm
reads the project's names of the kinds asked for and ranks them here (slower; ``roost doctor``
says so); SQLite asks an FTS5 ``trigram`` index for the names sharing pieces with the one asked
for, and ranks them here. A name under three characters has no inner trigram: it is looked up as
a prefix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, atomic, repeatable
from roost.search import NAME_KINDS, chosen_kinds

if TYPE_CHECKING:
    from collections.abc import Iterable

    from roost.store import Store

KINDS = NAME_KINDS
THRESHOLD = 0.3
LIMIT_MAX = 100
NAME_MAX = 512
CANDIDATES = 100
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Match:
    kind: str
    name: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "score": self.score}


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of ``text``."""
    found: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f"  {word} "
        found.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return found


def similarity(a: str | set[str], b: str) -> float:
    """pg_trgm's ``similarity(a, b)``."""
    left = a if isinstance(a, set) else trigrams(a)
    right = trigrams(b)
    if not left or not right:
        return 0.0
    common = len(left & right)
    return common / (len(left) + len(right) - common)


def _raw_trigrams(text: str) -> list[str]:
    """The three-character pieces of ``text`` as FTS5's trigram tokenizer cuts them (any case)."""
    lower = text.lower()
    return sorted({lower[i:i + 3] for i in range(len(lower) - 2)})


def _rank(name: str, rows: Iterable[tuple[Any, ...]], limit: int) -> list[Match]:
    wanted = trigrams(name)
    scored = [Match(str(kind), str(found), round(similarity(wanted, str(found)), 6)) for kind, found, *_ in rows]
    scored = [m for m in scored if m.score >= THRESHOLD]
    scored.sort(key=lambda m: (-m.score, KINDS.index(m.kind), m.name))
    return scored[:limit]


@repeatable
def lookup(project: str, name: str, kinds: list[str], limit: int, indexed: bool) -> Op[list[Match]]:
    """Candidates from the trigram index (or, without one, every name of the kinds), ranked here."""
    params = {"project": project, "kinds": json.dumps(kinds), "name": name, "limit": CANDIDATES}
    if len(name.strip()) < 3:
        rows = (yield Query("find_names_prefix", {**params, "prefix": name.strip(), "limit": limit})).rows
        return [Match(str(k), str(n), round(similarity(name, str(n)), 6)) for k, n in rows]
    if not indexed:
        return _rank(name, (yield Query("find_names_all", params)).rows, limit)
    pieces = _raw_trigrams(name)
    match = " OR ".join('"' + p.replace('"', '""') + '"' for p in pieces)
    return _rank(name, (yield Query("find_names_trigram", {**params, "match": match})).rows, limit)


@repeatable
def trigram_index() -> Op[bool]:
    return bool((yield Query("find_trigram_available")).scalar())


@atomic
def _install() -> Op[None]:
    yield Query("search_trigram_install")


def install_trigram(store: Store) -> bool:
    """Give fuzzy lookup its trigram index if the backend can have one now and has none yet (on
    PostgreSQL, once pg_trgm is installed after migration 0011); whether it has one."""
    if not store._execute(trigram_index):
        store._execute(_install)
    return bool(store._execute(trigram_index))


class Finder:
    """Runs ``store.find``; one per store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._indexed: bool | None = None

    @property
    def indexed(self) -> bool:
        """Whether the backend has a trigram index for names (SQLite: always; PostgreSQL: pg_trgm)."""
        if self._indexed is None:
            self._indexed = self._store._execute(trigram_index)
        return self._indexed

    def __call__(self, name: str, *, kinds: Iterable[str] | None = None, limit: int = 10) -> list[Match]:
        if not isinstance(name, str):
            raise errors.InvalidArgument(f"name must be a string, not {type(name).__name__}")
        if not name.strip():
            raise errors.InvalidArgument("name is empty: give the name (or part of it) to look for")
        if len(name) > NAME_MAX or "\x00" in name:
            raise errors.InvalidArgument(f"name is not a name roost stores (at most {NAME_MAX} characters, no NUL)")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.InvalidArgument("name is not valid Unicode (it holds a lone surrogate)") from None
        want = v.integer(limit, "limit", 1, LIMIT_MAX)
        return self._store._execute(lookup, self._store.project, name, _kinds(kinds), want, self.indexed)


def _kinds(kinds: object) -> list[str]:
    return chosen_kinds(kinds, KINDS, "find looks among")
