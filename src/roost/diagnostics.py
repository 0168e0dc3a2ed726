"""What the store can say about itself: its project, its size and schema, and its health."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from roost import errors, migrations
from roost._op import Op, Query, repeatable


@dataclass(frozen=True)
class Project:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Check:
    """One line of ``roost doctor``: ``level`` is ``ok``, ``warn`` or ``fail``."""

    name: str
    level: str
    value: str
    hint: str = ""


@dataclass(frozen=True)
class SchemaInfo:
    version: int
    latest: int
    sizes: dict[str, int]


@repeatable
def project_get(project: str) -> Op[Project | None]:
    row = (yield Query("project_get", {"project": project})).one()
    return None if row is None else Project(row[0], datetime.fromtimestamp(row[1], UTC))


@repeatable
def project_ensure(project: str) -> Op[Project]:
    """Register the project once; a read first keeps the common case free of any write lock."""
    found = yield from project_get(project)
    if found is not None:
        return found
    yield Query("project_ensure", {"project": project})
    created = yield from project_get(project)
    assert created is not None
    return created


@repeatable
def schema_info(mset: migrations.MigrationSet) -> Op[SchemaInfo]:
    states = yield from migrations.status(mset)
    version = max((s.version for s in states if s.state != "pending"), default=0)
    sizes = {str(name): int(size) for name, size in (yield Query("size_facts")).rows}
    return SchemaInfo(version, mset.latest, sizes)


def doctor(mset: migrations.MigrationSet, skew_warn: float = 1.0) -> Op[list[Check]]:
    """Connectivity, the backend's own facts, migrations and clock skew, each as a :class:`Check`."""
    before = time.time()
    db_now = float((yield Query("db_now")).scalar())
    after = time.time()
    checks = [Check("connect", "ok", f"round trip {(after - before) * 1000:.1f} ms")]
    skew = db_now - (before + after) / 2
    level = "ok" if abs(skew) < skew_warn else "warn" if abs(skew) < 5 * skew_warn else "fail"
    checks.append(Check("clock skew", level, f"{skew * 1000:+.1f} ms (database minus this host)",
                        "lease expiry uses the database clock; fix NTP on the slow side"))
    for name, value, fact_level, hint in (yield Query("doctor_facts")).rows:
        checks.append(Check(str(name), str(fact_level), str(value), str(hint)))
    states = yield from migrations.status(mset)
    try:
        migrations.verify(states, mset.latest)
    except errors.SchemaError as exc:
        checks.append(Check("migrations", "fail", exc.message))
        return checks
    pending = [s for s in states if s.state == "pending"]
    if pending:
        checks.append(Check("migrations", "warn", f"{len(pending)} pending of {len(states)}",
                            "run `roost migrate`"))
    else:
        checks.append(Check("migrations", "ok", f"schema at version {mset.latest}"))
        checks.extend((yield from _search_checks()))
    return checks


def _search_checks() -> Op[list[Check]]:
    """Whether every record is indexed yet (an upgrade indexes old ones in batches), and whether
    fuzzy lookup has a trigram index (pg_trgm on PostgreSQL)."""
    left = (yield Query("search_backfill_pending")).rows
    checks = [Check("search index", "ok", "every record is indexed") if not left else
              Check("search index", "warn", f"{sum(int(u) - int(d) for _, d, u in left):,} records written before "
                    "search are not indexed yet", "run `roost migrate` (it indexes them in batches)")]
    if (yield Query("find_trigram_available")).scalar():
        checks.append(Check("fuzzy lookup", "ok", "trigram index"))
    else:
        checks.append(Check("fuzzy lookup", "warn", "pg_trgm is not installed: store.find reads every name of "
                            "the kinds asked for (slower; the same results)",
                            "CREATE EXTENSION pg_trgm (the database owner may), then run `roost migrate`"))
    return checks
