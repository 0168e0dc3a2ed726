"""Search: ingest with the index in place, ranked search with snippets, and fuzzy name lookup.

The corpus is deterministic: CHUNKS transcript chunks of about 260 characters (100,000 unless
ROOST_BENCH_SEARCH_CHUNKS says otherwise; docs/search.md has 10k and 1M) drawn from a 30,000-word
vocabulary with a Zipf distribution (as words in real text are), and 10,000 memories whose keys
are the names fuzzy lookup searches.

The raw side is the same job with the bare driver on the same database, indexed the way such a
table is indexed by hand: on SQLite an FTS5 table (unicode61, external content) kept by a trigger,
queried with ``MATCH`` + ``bm25()`` + ``snippet()``; on PostgreSQL a stored ``tsvector`` column
(``GENERATED ALWAYS AS (to_tsvector('simple', content))``) with a GIN index, queried with ``@@`` +
``ts_rank_cd`` + ``ts_headline``. Ingest: batches of 1,000 (executemany in one transaction; COPY).
Fuzzy: a GIN ``gin_trgm_ops`` index and ``%`` / ``similarity()`` on PostgreSQL; an FTS5 trigram
table on SQLite. Search lines print ops/s from the median and a comment line with p50 and p99.
Targets: medians >= 0.8 of raw (p99 <= 10 ms on SQLite, <= 15 ms on PostgreSQL); ingest >= 0.7;
fuzzy >= 0.8.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg

import roost
from bench.bench_store import _raw_sqlite
from bench.harness import Target

PROJECT = "bench"
CHUNKS = int(os.environ.get("ROOST_BENCH_SEARCH_CHUNKS", "100000"))
MEMORIES = 10_000
BATCH = 1000
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "de", "pa", "gu", "fe", "zo", "ba", "chi", "on",
             "er", "an", "is", "ul"]


def vocabulary(n: int = 30_000) -> list[str]:
    rnd = random.Random(7)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < n:
        word = "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(1, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


WORDS = vocabulary()
CUMULATIVE = list(itertools.accumulate(1 / (rank + 1) ** 1.07 for rank in range(len(WORDS))))


def chunks(n: int, seed: int = 11) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        words = rnd.choices(WORDS, cum_weights=CUMULATIVE, k=48)  # (cumulative: summed once, not per call)
        text = " ".join(words)
        cut = text.rfind(" ", 0, 262)
        out.append(text[:cut].capitalize() + ".")
    return out


def queries(seed: int = 5) -> dict[str, list[str]]:
    """Words of middling frequency (ranks 100 to 2,000): each matches hundreds to thousands of the
    100,000 chunks, as a real query would."""
    rnd = random.Random(seed)
    band = WORDS[100:2000]
    common = WORDS[20:200]
    text = chunks(200, seed=99)
    phrases = ['"' + " ".join(t.lower().split()[3:5]) + '"' for t in text[:40]]  # two words that stand together
    return {
        "1word": [rnd.choice(band) for _ in range(40)],
        "2words": [f"{rnd.choice(common)} {rnd.choice(band)}" for _ in range(40)],
        "3words": [f"{rnd.choice(common)} {rnd.choice(common)} {rnd.choice(common)}" for _ in range(40)],
        "phrase": phrases,
    }


SQLITE_DDL = """
DROP TABLE IF EXISTS rs_entries; DROP TABLE IF EXISTS rs_fts; DROP TABLE IF EXISTS rs_names;
DROP TABLE IF EXISTS rs_names_trigram;
CREATE TABLE rs_entries (id INTEGER PRIMARY KEY, project TEXT NOT NULL, session_id TEXT NOT NULL,
                         position INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, agent TEXT,
                         created_at REAL NOT NULL);
CREATE UNIQUE INDEX rs_entries_pos ON rs_entries (project, session_id, position);
CREATE VIRTUAL TABLE rs_fts USING fts5(content, content='rs_entries', content_rowid='id',
                                       tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER rs_indexed AFTER INSERT ON rs_entries BEGIN
    INSERT INTO rs_fts (rowid, content) VALUES (NEW.id, NEW.content);
END;
CREATE TABLE rs_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE rs_names_trigram USING fts5(name, content='rs_names', content_rowid='id', tokenize='trigram');
CREATE TRIGGER rs_named AFTER INSERT ON rs_names BEGIN
    INSERT INTO rs_names_trigram (rowid, name) VALUES (NEW.id, NEW.name);
END;
"""

POSTGRES_DDL = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
DROP TABLE IF EXISTS rs_entries, rs_names;
CREATE TABLE rs_entries (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, project text NOT NULL,
                         session_id text NOT NULL, position bigint NOT NULL, role text NOT NULL, content text NOT NULL,
                         agent text, created_at timestamptz NOT NULL,
                         search tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED);
CREATE UNIQUE INDEX rs_entries_pos ON rs_entries (project, session_id, position);
CREATE INDEX rs_entries_search ON rs_entries USING gin (search);
CREATE TABLE rs_names (name text PRIMARY KEY);
CREATE INDEX rs_names_trigram ON rs_names USING gin (name gin_trgm_ops);
"""


class Raw:
    def __init__(self, target: Target) -> None:
        self.pg = target.raw_dsn is not None
        self.conn: Any
        if self.pg:
            self.conn = psycopg.connect(str(target.raw_dsn), autocommit=True)
            self.conn.execute(POSTGRES_DDL)
        else:
            self.conn = _raw_sqlite(target)
            self.conn.executescript(SQLITE_DDL)

    def ingest(self, texts: list[str], first: int) -> None:
        if self.pg:
            from datetime import UTC, datetime

            stamp = datetime.now(UTC)
            with self.conn.transaction(), self.conn.cursor() as cur, cur.copy(
                    "COPY rs_entries (project, session_id, position, role, content, agent, created_at) "
                    "FROM STDIN") as copy:
                for i, text in enumerate(texts):
                    copy.write_row((PROJECT, "s", first + i, "chunk", text, "coder", stamp))
            return
        rows = [(PROJECT, "s", first + i, "chunk", text, "coder", time.time()) for i, text in enumerate(texts)]
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("INSERT INTO rs_entries (project, session_id, position, role, content, agent, "
                              "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self.conn.execute("COMMIT")

    def search(self, query: str) -> list[Any]:
        if self.pg:
            tsq = " & ".join(query.split()) if not query.startswith('"') else " <-> ".join(query.strip('"').split())
            return list(self.conn.execute(
                "SELECT e.id, ts_rank_cd(e.search, q, 1) AS score, ts_headline('simple', e.content, q, "
                "'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=12'), e.session_id, e.created_at "
                "FROM rs_entries e, to_tsquery('simple', %s) q WHERE e.search @@ q ORDER BY score DESC, e.id "
                "LIMIT 20", (tsq,)).fetchall())
        return list(self.conn.execute(
            "SELECT e.id, bm25(rs_fts) AS score, snippet(rs_fts, 0, '<mark>', '</mark>', '…', 24), e.session_id, "
            "e.created_at FROM rs_fts JOIN rs_entries e ON e.id = rs_fts.rowid WHERE rs_fts MATCH ? "
            "ORDER BY score, e.id LIMIT 20", (query,)).fetchall())

    def names(self, names: list[str]) -> None:
        if self.pg:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany("INSERT INTO rs_names (name) VALUES (%s)", [(n,) for n in names])
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("INSERT INTO rs_names (name) VALUES (?)", [(n,) for n in names])
        self.conn.execute("COMMIT")

    def find(self, name: str) -> list[Any]:
        if self.pg:
            return list(self.conn.execute("SELECT name, similarity(name, %s) AS s FROM rs_names WHERE name %% %s "
                                          "ORDER BY s DESC, name LIMIT 10", (name, name)).fetchall())
        lower = name.lower()
        pieces = sorted({lower[i:i + 3] for i in range(len(lower) - 2)})
        match = " OR ".join('"' + p.replace('"', '""') + '"' for p in pieces)
        return list(self.conn.execute("SELECT n.name FROM rs_names_trigram f JOIN rs_names n ON n.id = f.rowid "
                                      "WHERE rs_names_trigram MATCH ? ORDER BY f.rank LIMIT 10", (match,)).fetchall())

    def close(self) -> None:
        self.conn.close()


def latency(name: str, roost_op: Callable[[str], object], raw_op: Callable[[str], object], inputs: list[str],
            rounds: int) -> None:
    """Each input through both sides in turn, ``rounds`` times; the standard line from the medians,
    then p50 and p99 of each side."""
    for text in inputs[:5]:
        roost_op(text)
        raw_op(text)
    times: list[list[float]] = [[], []]
    for _ in range(rounds):
        for text in inputs:
            for side, fn in enumerate((roost_op, raw_op)):
                start = time.perf_counter()
                fn(text)
                times[side].append(time.perf_counter() - start)
    p50 = [statistics.median(t) for t in times]
    p99 = [statistics.quantiles(t, n=100)[98] for t in times]
    print(f"{name}\t{1 / p50[0]:.1f}\t{1 / p50[1]:.1f}\t{p50[1] / p50[0]:.2f}", flush=True)
    print(f"#   {name}: roost p50 {p50[0] * 1000:.2f} ms p99 {p99[0] * 1000:.2f} ms; "
          f"raw p50 {p50[1] * 1000:.2f} ms p99 {p99[1] * 1000:.2f} ms", flush=True)


def search(target: Target, seconds: float) -> None:
    texts = chunks(CHUNKS)
    with roost.connect(target.url, project=PROJECT) as store:
        raw = Raw(target)
        session = store.sessions.create("bench search").id
        spent = [0.0, 0.0]
        for first in range(0, CHUNKS, BATCH):  # both sides in turns, a batch at a time
            batch = texts[first:first + BATCH]
            start = time.perf_counter()
            store.transcripts.append_many([{"session": session, "role": "chunk", "content": t, "agent": "coder"}
                                           for t in batch])
            spent[0] += time.perf_counter() - start
            start = time.perf_counter()
            raw.ingest(batch, first + 1)
            spent[1] += time.perf_counter() - start
        rates = [CHUNKS / s for s in spent]
        print(f"{target.backend}/search_ingest_{CHUNKS // 1000}k_chunks_per_s\t{rates[0]:.1f}\t{rates[1]:.1f}\t"
              f"{rates[0] / rates[1]:.2f}", flush=True)
        keys = [f"note-{WORDS[i]}-{WORDS[i * 7 % len(WORDS)]}-{i}" for i in range(MEMORIES)]
        for i, key in enumerate(keys):
            store.memories.put(key, texts[i % len(texts)][:120], tags=["bench"])
        raw.names(keys)
        if raw.pg:
            raw.conn.execute("ANALYZE")  # every table of the database: roost's and the raw side's
        rounds = max(1, int(seconds))
        try:
            for kind, inputs in queries().items():
                latency(f"{target.backend}/search_top20_{kind}",
                        lambda q: store.search(q, kinds=["transcript"], limit=20), raw.search, inputs, rounds)
            rnd = random.Random(3)
            typos = []
            for key in rnd.sample(keys, 40):
                at = rnd.randrange(5, len(key) - 1)
                typos.append(key[:at] + key[at + 1:])  # a letter left out
            latency(f"{target.backend}/find_10k_names", lambda n: store.find(n, kinds=["memory"]), raw.find, typos,
                    rounds)
        finally:
            raw.close()


BENCHMARKS = {"search": search}
