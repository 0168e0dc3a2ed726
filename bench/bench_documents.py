"""Documents: a one-field patch, a read by key, and a query on an indexed path, over 10,000 features.

The raw side keeps the same documents in a hand-made table (``rb_docs``: collection, key, body,
version) with the bare driver:

- patch: the single-statement form, ``UPDATE … SET body = json_set(body, '$.status', ?)`` on
  SQLite and ``jsonb_set`` on a ``jsonb`` column on PostgreSQL. roost does more for the same call:
  it reads the document in the write transaction, applies the patch in Python, checks frozen paths
  and the schema, keeps the previous version in the history (trimmed), updates the index keys and
  writes the event. A second line compares with that same job done by hand (SELECT … FOR UPDATE,
  UPDATE, history INSERT and trim, event INSERT, in one transaction);
- get: a primary-key read, its body decoded;
- query: the raw indexed SELECT, an expression index on ``(collection, status, key)`` (20 of the
  200 documents with one status, in key order).

Targets >= 0.7 on each line against the raw form.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import psycopg

import roost
from bench.bench_store import _raw_sqlite, raw_transaction
from bench.harness import Target, compare

PROJECT = "bench"
DOCS = 10_000
STATUSES = 50


def _feature(i: int) -> dict[str, Any]:
    return {"id": f"f{i:05d}", "title": f"feature {i}", "status": f"s{i % STATUSES:02d}", "priority": i % 5,
            "steps": [{"id": f"st{j}", "text": "write the parser and its tests", "done": False} for j in range(3)],
            "allowed_paths": ["src/parser/", "tests/parser/"], "depends_on": [f"f{(i + 1) % DOCS:05d}"]}


SQLITE_DDL = """
DROP TABLE IF EXISTS rb_docs; DROP TABLE IF EXISTS rb_doc_history; DROP TABLE IF EXISTS rb_doc_events;
CREATE TABLE rb_docs (id INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,
                      version INTEGER NOT NULL, updated_at REAL NOT NULL, UNIQUE (collection_id, key));
CREATE INDEX rb_docs_status ON rb_docs (collection_id, json_extract(body, '$.status'), key);
CREATE TABLE rb_doc_history (document_id INTEGER NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
                             at REAL NOT NULL, PRIMARY KEY (document_id, version)) WITHOUT ROWID;
CREATE TABLE rb_doc_events (position INTEGER PRIMARY KEY, project TEXT NOT NULL, topic TEXT NOT NULL,
                            payload TEXT NOT NULL, refs TEXT NOT NULL);
"""

POSTGRES_DDL = """
DROP TABLE IF EXISTS rb_docs, rb_doc_history, rb_doc_events;
CREATE TABLE rb_docs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, collection_id bigint NOT NULL,
                      key text COLLATE "C" NOT NULL, body jsonb NOT NULL, version bigint NOT NULL,
                      updated_at timestamptz NOT NULL, UNIQUE (collection_id, key));
CREATE INDEX rb_docs_status ON rb_docs (collection_id, (body ->> 'status'), key);
CREATE TABLE rb_doc_history (document_id bigint NOT NULL, version bigint NOT NULL, body jsonb NOT NULL,
                             at timestamptz NOT NULL, PRIMARY KEY (document_id, version));
CREATE TABLE rb_doc_events (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, project text NOT NULL,
                            topic text NOT NULL, payload text NOT NULL, refs jsonb NOT NULL);
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
        self.m = "%s" if self.pg else "?"
        self.now = "now()" if self.pg else "(julianday('now') - 2440587.5) * 86400.0"
        rows = [(1, f"f{i:05d}", json.dumps(_feature(i))) for i in range(DOCS)]
        with self.transaction():
            insert = (f"INSERT INTO rb_docs (collection_id, key, body, version, updated_at) VALUES "
                      f"({self.m}, {self.m}, {self.m}, 1, {self.now})")
            if self.pg:
                with self.conn.cursor() as cur:
                    cur.executemany(insert, rows)
            else:
                self.conn.executemany(insert, rows)
        self.run("ANALYZE rb_docs" if self.pg else "ANALYZE")

    def run(self, sql: str, *params: Any) -> Any:
        return self.conn.execute(sql, params)

    def transaction(self) -> Any:
        return raw_transaction(self.conn, self.pg)


def documents(target: Target, seconds: float) -> None:
    with roost.connect(target.url, project=PROJECT) as store:
        d = store.documents
        d.collection("feature_lists")
        d.collection("features", parent="feature_lists", indexed=["status", "priority"], frozen=["id"], history=20)
        d.import_features({"project_name": "bench", "features": [_feature(i) for i in range(DOCS)]})
        raw = Raw(target)
        m = raw.m
        keys = itertools.cycle([f"f{(i * 7919) % DOCS:05d}" for i in range(DOCS)])
        values = itertools.cycle([f"s{i:02d}" for i in range(STATUSES)])
        set_sql = (f"UPDATE rb_docs SET body = jsonb_set(body, '{{status}}', to_jsonb({m}::text)), "
                   f"version = version + 1, updated_at = now() WHERE collection_id = 1 AND key = {m}" if raw.pg else
                   f"UPDATE rb_docs SET body = json_set(body, '$.status', {m}), version = version + 1, "
                   f"updated_at = {raw.now} WHERE collection_id = 1 AND key = {m}")
        lock = (f"SELECT id, body, version FROM rb_docs WHERE collection_id = 1 AND key = {m}"
                + (" FOR UPDATE" if raw.pg else ""))
        keep = (f"INSERT INTO rb_doc_history (document_id, version, body, at) "
                f"SELECT id, version, body, updated_at FROM rb_docs WHERE id = {m}")
        trim = f"DELETE FROM rb_doc_history WHERE document_id = {m} AND version <= {m}"
        write = f"UPDATE rb_docs SET body = {m}, version = version + 1, updated_at = {raw.now} WHERE id = {m}"
        event = f"INSERT INTO rb_doc_events (project, topic, payload, refs) VALUES ({m}, 'document.patched', {m}, {m})"

        def raw_patch() -> None:
            raw.run(set_sql, next(values), next(keys))

        def raw_same_job() -> None:
            key, value = next(keys), next(values)
            with raw.transaction():
                doc_id, body, version = raw.run(lock, key).fetchone()
                doc = body if raw.pg else json.loads(body)
                doc["status"] = value
                raw.run(keep, doc_id)
                raw.run(trim, doc_id, version - 20)
                raw.run(write, json.dumps(doc), doc_id)
                raw.run(event, PROJECT, json.dumps({"collection": "features", "key": key, "version": version + 1}),
                        json.dumps({"collection": "features", "key": key}))

        def roost_patch() -> None:
            d.patch("features", next(keys), [{"op": "set", "path": "status", "value": next(values)}])

        get_sql = f"SELECT id, key, body, version, updated_at FROM rb_docs WHERE collection_id = 1 AND key = {m}"

        def raw_get() -> Any:
            row = raw.run(get_sql, next(keys)).fetchone()
            return row[2] if raw.pg else json.loads(row[2])

        status_expr = "body ->> 'status'" if raw.pg else "json_extract(body, '$.status')"
        query_sql = (f"SELECT id, key, body, version, updated_at FROM rb_docs WHERE collection_id = 1 "
                     f"AND {status_expr} = {m} ORDER BY key LIMIT 21")

        def raw_query() -> Any:
            rows = raw.run(query_sql, next(values)).fetchall()
            return [r[2] if raw.pg else json.loads(r[2]) for r in rows]

        try:
            compare(f"{target.backend}/doc_patch_one_field", roost_patch, raw_patch, seconds)
            compare(f"{target.backend}/doc_patch_vs_same_job", roost_patch, raw_same_job, seconds)
            compare(f"{target.backend}/doc_get", lambda: d.get("features", next(keys)), raw_get, seconds)
            compare(f"{target.backend}/doc_query_indexed_top20",
                    lambda: d.query("features", {"status": next(values)}, limit=20), raw_query, seconds)
        finally:
            raw.conn.close()


BENCHMARKS = {"doc_": documents}
