"""roost's query language, parsed by roost and rebuilt for each backend (docs/search.md).

A query is words, all of which must match; ``"exact phrases"``; ``a OR b`` (either: binds tighter
than the implicit AND, so ``x a OR b`` is x and either a or b); ``-word`` or ``-"a phrase"`` (must
not match); ``prefix*``. Any other character is text, split into terms exactly as the index splits
records (``POL-358`` is the phrase ``pol 358``). User text never reaches FTS5 or ``tsquery`` syntax:
each term is quoted, so no query can raise except an empty one. What matches nothing (``(``, ``--``,
a query of only exclusions) finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost import errors
from roost.search.tokens import LEXEME_MAX_BYTES, terms

TERMS_MAX = 64
"""At most 64 terms (words, phrases, exclusions) are used; the rest of a longer query is ignored."""


@dataclass(frozen=True, slots=True)
class Term:
    """One word or phrase: its terms in order; ``prefix``: the last one matches as a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Parsed:
    """All ``groups`` must match (a group matches when any of its terms does); no ``excluded`` may."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]

    @property
    def matches_nothing(self) -> bool:
        return not self.groups

    def positive(self) -> list[Term]:
        return [term for group in self.groups for term in group]


@dataclass(slots=True)
class _Item:
    term: Term | None  # None: the text held no term
    excluded: bool = False
    is_or: bool = False


def parse(query: object) -> Parsed:
    """Parse a user's query; raises only when it is not a string or holds nothing but spaces."""
    text = require_query(query)
    items = _scan(text)
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    used = 0
    for item in items:
        if item.is_or:
            join_next = bool(groups)
            continue
        if item.term is None or used >= TERMS_MAX:
            join_next = False
            continue
        used += 1
        if item.excluded:
            excluded.append(item.term)
            join_next = False
        elif join_next:
            groups[-1].append(item.term)
            join_next = False
        else:
            groups.append([item.term])
    # A term longer than the index keeps (2,046 bytes) matches nothing: an alternative holding one
    # is dropped, and a group left with none means the query cannot match.
    kept = [tuple(t for t in g if _indexable(t)) for g in groups]
    if any(not g for g in kept):
        return Parsed((), ())
    return Parsed(tuple(kept), tuple(t for t in excluded if _indexable(t)))


def _indexable(term: Term) -> bool:
    return all(len(w) <= LEXEME_MAX_BYTES // 4 or len(w.encode("utf-8")) <= LEXEME_MAX_BYTES for w in term.words)


def require_query(query: object) -> str:
    if not isinstance(query, str):
        raise errors.InvalidArgument(f"query must be a string, not {type(query).__name__}")
    if not query.strip():
        raise errors.InvalidArgument("query is empty: give at least one word to search for")
    return query


def _scan(text: str) -> list[_Item]:
    items: list[_Item] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        excluded = False
        if text[i] == "-":
            j = i
            while j < n and text[j] == "-":
                j += 1
            if j < n and not text[j].isspace():
                excluded, i = True, j
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            body, i = text[i + 1:end], end + 1
            prefix = i < n and text[i] == "*"
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] != '"':
                i += 1
            body = text[start:i]
            if body == "OR" and not excluded:
                items.append(_Item(None, is_or=True))
                continue
            prefix = body.endswith("*")
        words = tuple(terms(body))
        items.append(_Item(Term(words, prefix) if words else None, excluded))
    return items


# -- the backends' syntax ----------------------------------------------------------------------


def fts5(parsed: Parsed) -> str:
    """The FTS5 MATCH expression: every term a quoted string, so FTS5 sees no operator of the user's."""
    def term(t: Term) -> str:
        return '"' + " ".join(t.words) + '"' + (" *" if t.prefix else "")

    def group(g: tuple[Term, ...]) -> str:
        return term(g[0]) if len(g) == 1 else "(" + " OR ".join(term(t) for t in g) + ")"

    positive = " AND ".join(group(g) for g in parsed.groups)
    if not parsed.excluded:
        return positive
    return f"({positive}) NOT ({' OR '.join(term(t) for t in parsed.excluded)})"


def tsquery(parsed: Parsed) -> str:
    """The ``tsquery`` literal (cast, never parsed by ``to_tsquery``): lexemes quoted as they are."""
    def term(t: Term) -> str:
        quoted = [f"'{w}'" for w in t.words]
        if t.prefix:
            quoted[-1] += ":*"
        return quoted[0] if len(quoted) == 1 else "(" + " <-> ".join(quoted) + ")"

    def group(g: tuple[Term, ...]) -> str:
        return term(g[0]) if len(g) == 1 else "(" + " | ".join(term(t) for t in g) + ")"

    out = " & ".join(group(g) for g in parsed.groups)
    if parsed.excluded:
        out += " & !(" + " | ".join(term(t) for t in parsed.excluded) + ")"
    return out


def raw_terms(query: str) -> Parsed:
    """What a raw (backend-syntax) query's snippets mark: its words, operators left out."""
    words = [w for w in terms(query) if w not in {"and", "or", "not", "near"}]
    return Parsed(tuple((Term((w,)),) for w in words[:TERMS_MAX]), ())
