"""How text becomes search terms: one tokenizer, the same on both backends.

SQLite indexes text with FTS5's ``unicode61`` tokenizer (``remove_diacritics 2``, no stemming);
this module splits text the same way, so that roost can build PostgreSQL's ``tsvector`` from the
very terms FTS5 would index, parse queries into those terms, and mark matches in snippets. A term is
a run of letters and digits (as unicode61 classifies characters: its tables, read off SQLite by
tools/gen_unicode61.py, are in ``_unicode61``), lower-cased, with the diacritics of Latin letters
removed (``Café`` → ``cafe``; Greek keeps its accents, as unicode61 does). Everything else
separates terms: ``POL-358`` is ``pol`` ``358``, ``e-mail`` is ``e`` ``mail``, ``C++`` is ``c``.
A property test compares this module with unicode61 itself on generated text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from roost.search._unicode61 import FOLDS, SEPARATORS

INDEXED_CHARS = 32_000
"""Only the first 32,000 characters of a record's text are indexed (so at most 16,000 terms: a
PostgreSQL ``tsvector`` keeps positions up to 16,383 and may not exceed 1 MB)."""

LEXEME_MAX_BYTES = 2046
"""PostgreSQL refuses longer lexemes; a term longer than this (a 2,000-letter "word") is left out of
the PostgreSQL index (FTS5 keeps it: the one place the backends differ, docs/search.md)."""

_ASCII_TERM = re.compile(r"[A-Za-z0-9]+")


@cache
def _term() -> re.Pattern[str]:
    return re.compile(f"[^{SEPARATORS}]+")


def fold(word: str) -> str:
    """A run of term characters as the index holds it (unicode61's folding, character by character)."""
    return word.lower() if word.isascii() else word.translate(FOLDS)


def _runs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every run of term characters."""
    pattern = _ASCII_TERM if text.isascii() else _term()
    for match in pattern.finditer(text):
        yield match.span()


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Every term of ``text`` with where it stands: (start, end, term)."""
    for start, end in _runs(text):
        term = fold(text[start:end])
        if term:
            yield start, end, term


def terms(text: str) -> list[str]:
    return [term for _, _, term in spans(text)]


def vector(text: str) -> str:
    """The PostgreSQL ``tsvector`` literal of ``text`` (its first INDEXED_CHARS characters): every
    term with its positions, quoted so that PostgreSQL takes it as it is."""
    positions: dict[str, list[str]] = {}
    for n, term in enumerate(terms(text[:INDEXED_CHARS]), start=1):
        if len(term) > 500 and len(term.encode("utf-8")) > LEXEME_MAX_BYTES:
            continue
        found = positions.get(term)
        if found is None:
            positions[term] = [str(n)]
        elif len(found) < 256:
            found.append(str(n))
    return " ".join(f"'{_quote(term)}':{','.join(at)}" for term, at in positions.items())


def _quote(term: str) -> str:
    return term.replace("\\", "\\\\").replace("'", "''") if ("'" in term or "\\" in term) else term


def memory_text(key: str, content: Any) -> str:
    """What a memory's search indexes: its key, then the keys and strings of its content in
    document order (numbers and the JSON punctuation are left out). SQLite's index builds the same
    text from the stored JSON with json_tree (migration 0011)."""
    parts = [key]
    stack: list[Any] = [content]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict):
            for name, value in reversed(list(item.items())):
                stack.append(value)
                stack.append(_Key(name))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, _Key):
            parts.append(item.name)
    return " ".join(parts)


class _Key:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def indexed_text(head: bytes) -> str:
    """The searchable text of a text artifact whose content begins with ``head``: its first
    INDEXED_CHARS characters (a character cut in two at the end of ``head`` is left out; NUL,
    which PostgreSQL cannot store as text, becomes a space)."""
    return head[:INDEXED_CHARS * 4].decode("utf-8", "ignore")[:INDEXED_CHARS].replace("\x00", " ")
