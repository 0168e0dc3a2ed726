"""Snippets and match offsets, made by roost from the record's text and the parsed query.

Both backends get the very same snippets because neither backend makes them: roost marks the terms
the query matched (words, prefixes, and phrases where their words stand together), picks the window
of text holding the most distinct ones, escapes the text around the markers (HTML-safe unless told
otherwise) and reports where every match stands in the record's text.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from dataclasses import dataclass

from roost.search.query import Parsed
from roost.search.tokens import INDEXED_CHARS, spans

WINDOW = 24
"""Terms in a snippet."""
MATCHES_MAX = 100
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Marker:
    """The strings put around each match in a snippet; ``escape``: HTML-escape the text between."""

    before: str = "<mark>"
    after: str = "</mark>"
    escape: bool = True


def matches(text: str, parsed: Parsed) -> tuple[list[tuple[int, int, str]], list[int]]:
    """The record's terms (start, end, term) and the indexes of those the query matched."""
    found = list(spans(text[:INDEXED_CHARS]))
    words: set[str] = set()
    prefixes: list[str] = []
    phrases = []
    for term in parsed.positive():
        if len(term.words) > 1:
            phrases.append(term)
        elif term.prefix:
            prefixes.append(term.words[0])
        else:
            words.add(term.words[0])
    marked: set[int] = set()
    for i, (_, _, word) in enumerate(found):
        if word in words or any(word.startswith(p) for p in prefixes):
            marked.add(i)
    for phrase in phrases:
        size = len(phrase.words)
        last = phrase.words[-1]
        for i in range(len(found) - size + 1):
            if all(found[i + k][2] == phrase.words[k] for k in range(size - 1)):
                end = found[i + size - 1][2]
                if end == last or (phrase.prefix and end.startswith(last)):
                    marked.update(range(i, i + size))
    return found, sorted(marked)


def snippet(text: str, parsed: Parsed, marker: Marker) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A window of ``text`` with the matches marked, and the (start, end) of every match in ``text``."""
    found, marked = matches(text, parsed)
    offsets = tuple((found[i][0], found[i][1]) for i in marked[:MATCHES_MAX])
    if not found:
        return _clean(text[:200], marker) + ("…" if len(text) > 200 else ""), offsets
    first = _best_window(found, marked)
    last = min(len(found), first + WINDOW) - 1
    start = 0 if first == 0 else found[first][0]
    end = len(text) if last == len(found) - 1 and len(text) <= INDEXED_CHARS else found[last][1]
    pieces: list[str] = ["…"] if start > 0 else []
    at = start
    for i in marked:
        if i < first or i > last:
            continue
        s, e = found[i][0], found[i][1]
        pieces.append(_clean(text[at:s], marker))
        pieces.append(marker.before + _clean(text[s:e], marker) + marker.after)
        at = e
    pieces.append(_clean(text[at:end], marker))
    if end < len(text):
        pieces.append("…")
    return "".join(pieces).strip(), offsets


def _best_window(found: list[tuple[int, int, str]], marked: list[int]) -> int:
    """Where the window starts: the one with the most distinct matched terms (then the most matches,
    then the earliest), beginning a few terms before its first match."""
    if not marked:
        return 0
    best, best_key = 0, (-1, -1)
    for n, i in enumerate(marked[:200]):
        inside = marked[n:bisect_left(marked, i + WINDOW - 3)]
        key = (len({found[j][2] for j in inside}), len(inside))
        if key > best_key:
            best, best_key = i, key
    start = best - 3
    return 0 if start < 6 else start  # near the beginning: begin there rather than cut a few words


def _clean(piece: str, marker: Marker) -> str:
    piece = _SPACE.sub(" ", piece)
    return html.escape(piece) if marker.escape else piece
