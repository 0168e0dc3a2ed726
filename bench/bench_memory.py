"""Memory: transcript appends (one, and batches of 1,000), memory put/get, an observation added with
the per-agent cap in force, and artifact put/get in MB/s.

The raw side writes the same rows into equivalent tables (the same columns, keys and indexes, made
here as ``rb_*``, full-text indexes included: FTS5 kept by triggers on SQLite, a generated
``tsvector`` with a GIN index on PostgreSQL, as a hand-made table would be) with the bare driver:
one INSERT per single entry; for a batch ``executemany`` in one ``BEGIN IMMEDIATE`` on SQLite and
``COPY`` in one transaction on PostgreSQL; the same upsert and point read for memories; chunks of
1 MiB in one transaction for artifacts. What roost does on top is its bookkeeping: the session's
position and counters, the message-id check, the built-in event, content hashing. The observation
line compares with the raw form of the same job (insert, then trim the agent's oldest beyond the
cap with ``OFFSET``), and a second line with a bare INSERT, the floor. Targets: batch ingest >= 0.7
of raw on SQLite and >= 0.5 of COPY on PostgreSQL; single rows >= 0.7.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import psycopg

import roost
from bench.bench_store import _raw_sqlite, raw_transaction
from bench.harness import Target, compare

PROJECT = "bench"
TEXT = "The parser now handles nested brackets; next: error recovery. " * 4  # ~250 bytes, an agent's line
CAP = 1000
ARTIFACT_BYTES = 8 * 2**20

SQLITE_DDL = """
CREATE TABLE rb_sessions (project TEXT, id TEXT, last_position INTEGER NOT NULL DEFAULT 0,
                          entry_count INTEGER NOT NULL DEFAULT 0, last_activity REAL, PRIMARY KEY (project, id));
CREATE TABLE rb_events (position INTEGER PRIMARY KEY, project TEXT NOT NULL, topic TEXT NOT NULL,
                        payload TEXT NOT NULL, refs TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE rb_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, session_id TEXT NOT NULL, position INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, agent TEXT, phase TEXT, iteration INTEGER, message_id TEXT,
    metadata TEXT, created_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES rb_sessions (project, id) ON DELETE CASCADE);
CREATE UNIQUE INDEX rb_entries_pos ON rb_entries (project, session_id, position);
CREATE UNIQUE INDEX rb_entries_msg ON rb_entries (project, session_id, message_id) WHERE message_id IS NOT NULL;
CREATE TABLE rb_memories (
    id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, session_id TEXT, key TEXT NOT NULL,
    type TEXT NOT NULL, content TEXT NOT NULL, tags TEXT NOT NULL, agent TEXT, version INTEGER NOT NULL,
    seq INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE UNIQUE INDEX rb_memories_key ON rb_memories (project, coalesce(session_id, ''), key);
CREATE INDEX rb_memories_recent ON rb_memories (project, seq);
CREATE TABLE rb_observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, agent TEXT NOT NULL, session_id TEXT,
    kind TEXT, content TEXT NOT NULL, created_at REAL NOT NULL);
CREATE INDEX rb_observations_agent ON rb_observations (project, agent, id);
CREATE INDEX rb_observations_recent ON rb_observations (project, id);
CREATE TABLE rb_chunks (blob_id INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
                        PRIMARY KEY (blob_id, seq));
CREATE VIRTUAL TABLE rb_entries_fts USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER rb_entries_indexed AFTER INSERT ON rb_entries BEGIN
    INSERT INTO rb_entries_fts (rowid, body) VALUES (NEW.id, NEW.content);
END;
CREATE VIRTUAL TABLE rb_memories_fts USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER rb_memories_indexed AFTER INSERT ON rb_memories BEGIN
    INSERT INTO rb_memories_fts (rowid, body) VALUES (NEW.id, NEW.key || ' ' || NEW.content);
END;
CREATE TRIGGER rb_memories_reindexed AFTER UPDATE OF content ON rb_memories BEGIN
    INSERT INTO rb_memories_fts (rb_memories_fts, rowid, body)
    VALUES ('delete', OLD.id, OLD.key || ' ' || OLD.content);
    INSERT INTO rb_memories_fts (rowid, body) VALUES (NEW.id, NEW.key || ' ' || NEW.content);
END;
CREATE VIRTUAL TABLE rb_observations_fts USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER rb_observations_indexed AFTER INSERT ON rb_observations BEGIN
    INSERT INTO rb_observations_fts (rowid, body) VALUES (NEW.id, NEW.content);
END;
CREATE TRIGGER rb_observations_unindexed AFTER DELETE ON rb_observations BEGIN
    INSERT INTO rb_observations_fts (rb_observations_fts, rowid, body)
    VALUES ('delete', OLD.id, OLD.content);
END;
"""

POSTGRES_DDL = """
DROP TABLE IF EXISTS rb_entries, rb_sessions, rb_events, rb_memories, rb_observations, rb_chunks;
CREATE TABLE rb_sessions (project text, id text, last_position bigint NOT NULL DEFAULT 0,
                          entry_count bigint NOT NULL DEFAULT 0, last_activity timestamptz, PRIMARY KEY (project, id));
CREATE TABLE rb_events (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, project text NOT NULL,
                        topic text NOT NULL, payload text NOT NULL, refs jsonb NOT NULL,
                        created_at timestamptz NOT NULL);
CREATE TABLE rb_entries (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, project text NOT NULL, session_id text NOT NULL,
    position bigint NOT NULL, role text NOT NULL, content text NOT NULL, agent text, phase text, iteration integer,
    message_id text, metadata text, created_at timestamptz NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES rb_sessions (project, id) ON DELETE CASCADE);
CREATE UNIQUE INDEX rb_entries_pos ON rb_entries (project, session_id, position);
CREATE UNIQUE INDEX rb_entries_msg ON rb_entries (project, session_id, message_id) WHERE message_id IS NOT NULL;
CREATE TABLE rb_memories (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, project text NOT NULL, session_id text, key text NOT NULL,
    type text NOT NULL, content text NOT NULL, tags text[] NOT NULL, agent text, version bigint NOT NULL,
    seq bigint NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE UNIQUE INDEX rb_memories_key ON rb_memories (project, (coalesce(session_id, '')), key);
CREATE INDEX rb_memories_recent ON rb_memories (project, seq);
CREATE INDEX rb_memories_tags ON rb_memories USING gin (tags);
CREATE TABLE rb_observations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, project text NOT NULL, agent text NOT NULL,
    session_id text, kind text, content text NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX rb_observations_agent ON rb_observations (project, agent, id);
CREATE INDEX rb_observations_recent ON rb_observations (project, id);
CREATE TABLE rb_chunks (blob_id bigint NOT NULL, seq integer NOT NULL, data bytea NOT NULL,
                        PRIMARY KEY (blob_id, seq));
ALTER TABLE rb_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE rb_entries ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED;
CREATE INDEX rb_entries_search ON rb_entries USING gin (search);
ALTER TABLE rb_memories ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', key || ' ' || content)) STORED;
CREATE INDEX rb_memories_search ON rb_memories USING gin (search);
ALTER TABLE rb_observations ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED;
CREATE INDEX rb_observations_search ON rb_observations USING gin (search);
"""


class Raw:
    """The bare driver on the same database, with the statements the raw side runs."""

    def __init__(self, target: Target) -> None:
        self.pg = target.raw_dsn is not None
        self.conn: Any
        if self.pg:
            self.conn = psycopg.connect(str(target.raw_dsn), autocommit=True)
            self.conn.execute(POSTGRES_DDL)
        else:
            self.conn = _raw_sqlite(target)
            self.conn.executescript("DROP TABLE IF EXISTS rb_entries; DROP TABLE IF EXISTS rb_sessions; "
                                    "DROP TABLE IF EXISTS rb_events; "
                                    "DROP TABLE IF EXISTS rb_memories; DROP TABLE IF EXISTS rb_observations; "
                                    "DROP TABLE IF EXISTS rb_chunks; DROP TABLE IF EXISTS rb_entries_fts; "
                                    "DROP TABLE IF EXISTS rb_memories_fts; DROP TABLE IF EXISTS rb_observations_fts;"
                                    + SQLITE_DDL)
        self.mark = "%s" if self.pg else "?"
        self.now = "clock_timestamp()" if self.pg else "(julianday('now') - 2440587.5) * 86400.0"
        self.run(f"INSERT INTO rb_sessions (project, id) VALUES ({self.mark}, {self.mark})", PROJECT, "s")

    def run(self, sql: str, *params: Any) -> Any:
        return self.conn.execute(sql, params)

    def transaction(self) -> Any:
        return raw_transaction(self.conn, self.pg)

    def close(self) -> None:
        self.conn.close()


def transcripts(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT) as store:
        raw = Raw(target)
        session = store.sessions.create("bench").id
        m = raw.mark
        positions = itertools.count(1)
        insert = (f"INSERT INTO rb_entries (project, session_id, position, role, content, agent, phase, iteration, "
                  f"message_id, metadata, created_at) VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}, "
                  f"{raw.now}) RETURNING id")

        def raw_one() -> None:
            raw.run(insert, PROJECT, "s", next(positions), "chunk", TEXT, "coder", None, None, None, None).fetchone()

        bump = (f"UPDATE rb_sessions SET last_position = last_position + 1, entry_count = entry_count + 1, "
                f"last_activity = {raw.now} WHERE project = {m} AND id = {m} RETURNING last_position")
        event = (f"INSERT INTO rb_events (project, topic, payload, refs, created_at) VALUES ({m}, "
                 f"'transcript.appended', {m}, {m}, {raw.now})")

        def raw_same_job() -> None:  # what roost does for one entry: position, entry, event, one transaction
            with raw.transaction():
                position = raw.run(bump, PROJECT, "s").fetchone()[0] + 10**9
                raw.run(insert, PROJECT, "s", position, "chunk", TEXT, "coder", None, None, None, None).fetchone()
                raw.run(event, PROJECT, '{"session":"s","count":1}', '{"session":"s"}')

        batch = [{"session": session, "role": "chunk", "content": TEXT, "agent": "coder"} for _ in range(1000)]

        def raw_many() -> None:
            first = next(positions)
            for _ in range(999):
                next(positions)
            if raw.pg:
                from datetime import UTC, datetime

                stamp = datetime.now(UTC)
                rows: list[tuple[Any, ...]] = [(PROJECT, "s", first + i, "chunk", TEXT, "coder", None, None, None,
                                                None, stamp) for i in range(1000)]
                with raw.conn.transaction(), raw.conn.cursor() as cur, cur.copy(
                        "COPY rb_entries (project, session_id, position, role, content, agent, phase, iteration, "
                        "message_id, metadata, created_at) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                rows = [(PROJECT, "s", first + i, "chunk", TEXT, "coder", None, None, None, None, 0.0)
                        for i in range(1000)]  # (the same rows, timed as REAL)
                with raw.transaction():
                    raw.conn.executemany("INSERT INTO rb_entries (project, session_id, position, role, content, "
                                         "agent, phase, iteration, message_id, metadata, created_at) VALUES "
                                         "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

        try:
            compare(f"{target.backend}/transcript_append", lambda: store.transcripts.append(session, "chunk", TEXT,
                                                                                           agent="coder"),
                    raw_one, seconds)
            compare(f"{target.backend}/transcript_append_vs_same_job", lambda: store.transcripts.append(
                session, "chunk", TEXT, agent="coder"), raw_same_job, seconds)
            compare(f"{target.backend}/transcript_append_many1000", lambda: store.transcripts.append_many(batch),
                    raw_many, seconds, warmup=3)
        finally:
            raw.close()


def memories(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT) as store:
        raw = Raw(target)
        m = raw.mark
        keys = itertools.cycle([f"note-{i}" for i in range(1000)])
        value = {"summary": TEXT[:120], "confidence": 0.8}
        encoded = '{"summary":"' + TEXT[:120] + '","confidence":0.8}'
        tags = '["parser","decision"]' if not raw.pg else ["parser", "decision"]
        seq = itertools.count(1)
        scope = "(coalesce(session_id, ''))" if raw.pg else "coalesce(session_id, '')"
        upsert = (f"INSERT INTO rb_memories AS x (project, session_id, key, type, content, tags, agent, version, seq, "
                  f"created_at, updated_at) VALUES ({m}, NULL, {m}, 'decision', {m}, {m}, 'coder', 1, {m}, {raw.now}, "
                  f"{raw.now}) ON CONFLICT (project, {scope}, key) DO UPDATE SET content = excluded.content, "
                  f"tags = excluded.tags, version = x.version + 1, seq = excluded.seq, "
                  f"updated_at = excluded.updated_at RETURNING version")
        select = (f"SELECT id, session_id, key, type, content, tags, agent, version, created_at, updated_at, seq "
                  f"FROM rb_memories WHERE project = {m} AND coalesce(session_id, '') = '' AND key = {m}")
        event = (f"INSERT INTO rb_events (project, topic, payload, refs, created_at) VALUES ({m}, 'memory.put', {m}, "
                 f"{m}, {raw.now})")

        def raw_same_job() -> None:  # the upsert and its memory.put event, in one transaction
            key = next(keys)
            with raw.transaction():
                version = raw.run(upsert, PROJECT, key, encoded, tags, next(seq)).fetchone()[0]
                raw.run(event, PROJECT, f'{{"key":"{key}","type":"decision","version":{version}}}',
                        f'{{"memory":"{key}"}}')

        def raw_get_decoded() -> Any:  # the read, and the values decoded as roost returns them
            import json
            from datetime import UTC, datetime

            row = raw.run(select, PROJECT, next(keys)).fetchone()
            created, updated = (row[8], row[9]) if raw.pg else (datetime.fromtimestamp(row[8], UTC),
                                                                datetime.fromtimestamp(row[9], UTC))
            return (json.loads(row[4]), row[5] if raw.pg else json.loads(row[5]), created, updated)

        for _ in range(1000):
            key = next(keys)
            store.memories.put(key, value, "decision", tags=["parser", "decision"], agent="coder")
            raw.run(upsert, PROJECT, key, encoded, tags, next(seq)).fetchone()
        try:
            compare(f"{target.backend}/memory_put",
                    lambda: store.memories.put(next(keys), value, "decision", tags=["parser", "decision"],
                                               agent="coder"),
                    lambda: raw.run(upsert, PROJECT, next(keys), encoded, tags, next(seq)).fetchone(), seconds)
            compare(f"{target.backend}/memory_put_vs_same_job",
                    lambda: store.memories.put(next(keys), value, "decision", tags=["parser", "decision"],
                                               agent="coder"), raw_same_job, seconds)
            compare(f"{target.backend}/memory_get", lambda: store.memories.get(next(keys)),
                    lambda: raw.run(select, PROJECT, next(keys)).fetchone(), seconds)
            compare(f"{target.backend}/memory_get_decoded", lambda: store.memories.get(next(keys)), raw_get_decoded,
                    seconds)
        finally:
            raw.close()


def observations(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT, observation_max_per_agent=CAP) as store:
        raw = Raw(target)
        m = raw.mark
        insert = (f"INSERT INTO rb_observations (project, agent, session_id, kind, content, created_at) "
                  f"VALUES ({m}, {m}, NULL, NULL, {m}, {raw.now}) RETURNING id")
        trim = (f"DELETE FROM rb_observations WHERE id IN (SELECT id FROM rb_observations WHERE project = {m} AND "
                f"agent = {m} ORDER BY id DESC {'' if raw.pg else 'LIMIT -1 '}OFFSET {CAP})")

        def raw_capped() -> None:
            with raw.transaction():
                raw.run(insert, PROJECT, "coder", TEXT).fetchone()
                raw.run(trim, PROJECT, "coder")

        for _ in range(CAP):  # the cap is in force from the first measured add
            store.observations.add("coder", TEXT)
            raw_capped()
        try:
            compare(f"{target.backend}/observation_add_capped", lambda: store.observations.add("coder", TEXT),
                    raw_capped, seconds)
            compare(f"{target.backend}/observation_add_capped_vs_bare_insert",
                    lambda: store.observations.add("coder", TEXT),
                    lambda: raw.run(insert, PROJECT, "other", TEXT).fetchone(), seconds)
        finally:
            raw.close()


def artifacts(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT) as store:
        raw = Raw(target)
        m = raw.mark
        content = bytearray(os.urandom(ARTIFACT_BYTES))
        serial = itertools.count()
        chunk = 2**20

        def fresh() -> bytes:  # new content each time, so nothing is stored once and skipped
            content[:8] = next(serial).to_bytes(8, "big")
            return bytes(content)

        blobs = itertools.count(1)

        def raw_put() -> None:
            data, blob = fresh(), next(blobs)
            with raw.transaction():
                for seq in range(0, len(data), chunk):
                    raw.run(f"INSERT INTO rb_chunks (blob_id, seq, data) VALUES ({m}, {m}, {m})", blob, seq // chunk,
                            data[seq:seq + chunk])

        def raw_get() -> None:
            b"".join(bytes(raw.run(f"SELECT data FROM rb_chunks WHERE blob_id = 1 AND seq = {m}", seq).fetchone()[0])
                     for seq in range(ARTIFACT_BYTES // chunk))

        def roost_put() -> None:
            store.artifacts.put("build.bin", fresh())
            store.artifacts.delete("build.bin")  # each put's content is stored, then left for cleanup
            store.artifacts.cleanup()

        def raw_put_and_drop() -> None:
            raw_put()
            raw.run(f"DELETE FROM rb_chunks WHERE blob_id > {m}", 1)

        raw_put()
        store.artifacts.put("read.bin", fresh())
        mb = ARTIFACT_BYTES / 2**20
        try:
            compare(f"{target.backend}/artifact_put_8MiB_MBps", roost_put, raw_put_and_drop, seconds, scale=mb,
                    warmup=2)
            compare(f"{target.backend}/artifact_get_8MiB_MBps", lambda: store.artifacts.get("read.bin"), raw_get,
                    seconds, scale=mb, warmup=2)
        finally:
            raw.close()


BENCHMARKS = {"transcript": transcripts, "memory_": memories, "observation": observations, "artifact": artifacts}
