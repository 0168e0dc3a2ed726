"""Snippets and match offsets, made by roost from the record's text and the parsed query.

Both backends get the very same snippets because neither backend makes them: roost finds the terms
the query matched (words, prefixes, and phrases where their words stand together), picks the
window of text holding the most distinct ones, escapes the text around the markers (HTML-safe
unless told otherwise) and reports where every match stands in the record's text.

Text in ASCII (most of what agents write) is matched with one regular expression built from the
query, in C; other text term by term with the tokenizer, which folds case and accents as the index
does. Both give the same matches.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from roost.search.query import Parsed, Term
from roost.search.tokens import INDEXED_CHARS, spans

WINDOW = 200
"""Characters of text in a snippet, about (it is widened to whole words)."""
BEFORE = 40
"""Characters shown before the first match of the window."""
MATCHES_MAX = 100
_SPACE = re.compile(r"\s+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Marker:
    """The strings put around each match in a snippet; ``escape``: HTML-escape the text between."""

    before: str = "<mark>"
    after: str = "</mark>"
    escape: bool = True


def matches(text: str, parsed: Parsed) -> list[tuple[int, int, str]]:
    """Every term of ``text`` (its indexed part) the query matched: (start, end, term), in order."""
    body = text[:INDEXED_CHARS]
    if body.isascii():
        pattern = _pattern(parsed)
        if pattern is None:
            return []
        found = []
        lowered = body.lower()
        for match in pattern.finditer(lowered):
            if match.lastgroup == "w":
                found.append((match.start(), match.end(), match.group()))
            else:  # a phrase: each of its words
                base = match.start()
                found.extend((base + m.start(), base + m.end(), m.group())
                             for m in _ASCII_WORD.finditer(match.group()))
        return found
    return _matches_by_term(body, parsed)


@lru_cache(maxsize=256)
def _pattern(parsed: Parsed) -> re.Pattern[str] | None:
    """One expression finding every match of the query's positive terms in lower-cased ASCII."""
    phrases: list[str] = []
    words: list[str] = []
    for term in parsed.positive():
        if not all(w.isascii() for w in term.words):
            continue  # (a non-ASCII term cannot match ASCII text)
        pieces = [re.escape(w) for w in term.words]
        if term.prefix:
            pieces[-1] += "[a-z0-9]*"
        (phrases if len(pieces) > 1 else words).append("[^a-z0-9]+".join(pieces))
    if not phrases and not words:
        return None
    alternatives = []
    if phrases:
        alternatives.append(f"(?P<p>{'|'.join(sorted(phrases, key=len, reverse=True))})")
    if words:
        alternatives.append(f"(?P<w>{'|'.join(sorted(words, key=len, reverse=True))})")
    return re.compile(f"(?<![a-z0-9])(?:{'|'.join(alternatives)})(?![a-z0-9])")


def _matches_by_term(body: str, parsed: Parsed) -> list[tuple[int, int, str]]:
    found = list(spans(body))
    words: set[str] = set()
    prefixes: list[str] = []
    phrases: list[Term] = []
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
        size, last = len(phrase.words), phrase.words[-1]
        for i in range(len(found) - size + 1):
            if all(found[i + k][2] == phrase.words[k] for k in range(size - 1)):
                end = found[i + size - 1][2]
                if end == last or (phrase.prefix and end.startswith(last)):
                    marked.update(range(i, i + size))
    return [found[i] for i in sorted(marked)]


def snippet(text: str, parsed: Parsed, marker: Marker) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A window of ``text`` with the matches marked, and the (start, end) of every match in ``text``."""
    found = matches(text, parsed)
    offsets = tuple((s, e) for s, e, _ in found[:MATCHES_MAX])
    if not found:
        end = _word_end(text, min(len(text), WINDOW))
        return _clean(text[:end], marker) + ("…" if end < len(text) else ""), offsets
    first = _best_window(found)
    start = found[first][0] - BEFORE
    start = 0 if start < BEFORE else _word_start(text, start)
    end = _word_end(text, min(len(text), max(start + WINDOW, found[first][1])))
    pieces: list[str] = ["…"] if start > 0 else []
    at = start
    for s, e, _ in found[first:]:
        if e > end:
            break
        pieces.append(_clean(text[at:s], marker))
        pieces.append(marker.before + _clean(text[s:e], marker) + marker.after)
        at = e
    pieces.append(_clean(text[at:end], marker))
    if end < len(text):
        pieces.append("…")
    return "".join(pieces).strip(), offsets


def _best_window(found: list[tuple[int, int, str]]) -> int:
    """The match a snippet's window starts at: the one whose window holds the most distinct
    matched terms (then the most matches, then the earliest)."""
    starts = [s for s, _, _ in found]
    best, best_key = 0, (-1, -1)
    for i in range(min(len(found), 200)):
        inside = found[i:bisect_left(starts, found[i][0] + WINDOW - BEFORE)]
        key = (len({t for _, _, t in inside}), len(inside))
        if key > best_key:
            best, best_key = i, key
    return best


def _word_start(text: str, i: int) -> int:
    """``i`` moved back to the start of the word it falls in."""
    while i > 0 and text[i - 1].isalnum():
        i -= 1
    return i


def _word_end(text: str, i: int) -> int:
    """``i`` moved on to the end of the word it falls in."""
    while i < len(text) and text[i].isalnum():
        i += 1
    return i


def _clean(piece: str, marker: Marker) -> str:
    """A piece of text between matches: runs of white space as one space, escaped if asked."""
    if "  " in piece or "\n" in piece or "\t" in piece or "\r" in piece or not piece.isascii():
        piece = _SPACE.sub(" ", piece)
    if marker.escape and ("&" in piece or "<" in piece or ">" in piece or '"' in piece or "'" in piece):
        return html.escape(piece)
    return piece
