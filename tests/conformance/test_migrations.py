"""Migrations on every backend: fresh install equals the upgrade path, refusals, concurrency."""

from __future__ import annotations

import contextlib

import pytest

from roost import errors
from roost._op import Query
from roost.migrations import MigrationSet
from roost.store import open_store
from tests.conftest import pg_database
from tests.helpers import base_version, dialect_of, open_and_report, run_processes, write_toy_migrations


def _snapshot(store):
    def op():
        return (yield Query("schema_snapshot")).rows

    return [tuple(r) for r in store._execute(op)]


def test_fresh_schema_equals_all_migrations_applied(url, tmp_path):
    """schema.sql (fresh installs) and the numbered migrations (upgrades) must build one schema."""
    bundled = MigrationSet.bundled(dialect_of(url))
    stepwise = MigrationSet(bundled.dialect, bundled.migrations, schema=None)
    with open_store(url, migration_set=bundled) as fresh:
        fresh_schema = _snapshot(fresh)
        assert [s.state for s in fresh.migration_status()] == ["applied"] * len(bundled.migrations)
    with contextlib.ExitStack() as stack:
        if url.startswith("postgres"):
            other_url = stack.enter_context(pg_database())
        elif url.startswith("memory"):
            other_url = f"memory://other-{tmp_path.name}"
        else:
            other_url = f"sqlite:///{tmp_path}/other.db"
        with open_store(other_url, migration_set=stepwise, auto_migrate=False, check_schema=False) as upgraded:
            for version in range(1, bundled.latest + 1):
                assert upgraded.migrate(target=version) == [version]
            assert _snapshot(upgraded) == fresh_schema
    assert any(row[0] == "column" for row in fresh_schema)


def _toy(url, tmp_path, count=3):
    return MigrationSet.from_directory(dialect_of(url), write_toy_migrations(tmp_path / "m", dialect_of(url), count))


def test_upgrade_applies_only_what_is_missing(url, tmp_path):
    base = base_version(dialect_of(url))
    two = _toy(url, tmp_path, 2)
    with open_store(url, migration_set=two) as store:
        assert [s.state for s in store.migration_status()] == ["applied"] * (base + 2)
    three = _toy(url, tmp_path, 3)
    with open_store(url, migration_set=three, auto_migrate=False, check_schema=False) as store:
        assert [s.state for s in store.migration_status()] == ["applied"] * (base + 2) + ["pending"]
        assert store.migrate() == [base + 3]
        assert store.migrate() == []


def test_pending_migrations_refused_when_auto_migrate_is_off(url, tmp_path):
    with open_store(url, migration_set=_toy(url, tmp_path, 1)):
        pass
    with pytest.raises(errors.SchemaNotReady, match="1 pending"):
        open_store(url, migration_set=_toy(url, tmp_path, 2), auto_migrate=False)


def test_schema_newer_than_code_is_refused(url, tmp_path):
    with open_store(url, migration_set=_toy(url, tmp_path, 3)):
        pass
    older = MigrationSet(dialect_of(url), _toy(url, tmp_path, 3).migrations[:-1], None)
    with pytest.raises(errors.SchemaTooNew, match=f"version {base_version(dialect_of(url)) + 3}"):
        open_store(url, migration_set=older)
    with pytest.raises(errors.SchemaTooNew):
        open_store(url, migration_set=older, auto_migrate=False)


def test_edited_migration_is_refused(url, tmp_path):
    with open_store(url, migration_set=_toy(url, tmp_path, 2)):
        pass
    folder = tmp_path / "m"
    label = f"{base_version(dialect_of(url)) + 1:04d}_toy_{base_version(dialect_of(url)) + 1}"
    path = folder / f"{label}.sql"
    path.write_text(path.read_text().replace("note", "remark"))
    edited = MigrationSet.from_directory(dialect_of(url), folder)
    with pytest.raises(errors.MigrationChecksumMismatch, match=label):
        open_store(url, migration_set=edited)
    with open_store(url, migration_set=edited, auto_migrate=False, check_schema=False) as store:
        states = [s.state for s in store.migration_status()]
        assert states[-2:] == ["changed", "applied"]
        assert next(c for c in store.doctor() if c.name == "migrations").level == "fail"


def test_whitespace_and_line_endings_do_not_change_a_checksum(tmp_path):
    from roost.migrations import checksum

    assert checksum("CREATE TABLE t (a int);\n") == checksum("CREATE TABLE t (a int);  \r\n\r\n")
    assert checksum("CREATE TABLE t (a int);") != checksum("CREATE TABLE t (b int);")


def test_badly_named_migration_file_is_refused(tmp_path):
    (tmp_path / "0001_ok.sql").write_text("SELECT 1;")
    (tmp_path / "2_bad.sql").write_text("SELECT 1;")
    with pytest.raises(errors.RoostError, match="NNNN_name"):
        MigrationSet.from_directory("sqlite", tmp_path)
    (tmp_path / "2_bad.sql").unlink()
    (tmp_path / "0003_gap.sql").write_text("SELECT 1;")
    with pytest.raises(errors.RoostError, match="out of order"):
        MigrationSet.from_directory("sqlite", tmp_path)


def test_failed_migration_changes_nothing(url, tmp_path):
    folder = write_toy_migrations(tmp_path / "m", dialect_of(url), 1)
    base = base_version(dialect_of(url))
    (folder / f"{base + 2:04d}_broken.sql").write_text(
        "CREATE TABLE roost.half (id integer);\nTHIS IS NOT SQL;" if dialect_of(url) == "postgresql"
        else "CREATE TABLE half (id integer);\nTHIS IS NOT SQL;"
    )
    mset = MigrationSet.from_directory(dialect_of(url), folder)
    with open_store(url, migration_set=mset, auto_migrate=False, check_schema=False) as store:
        assert store.migrate(target=base + 1) == list(range(1, base + 2))
        with pytest.raises(errors.DatabaseError):
            store.migrate()
        assert [s.state for s in store.migration_status()] == ["applied"] * (base + 1) + ["pending"]
        assert not any(r[1] == "half" for r in _snapshot(store))


@pytest.mark.slow
@pytest.mark.parametrize("route", ["bundled", "stepwise"])
def test_six_processes_open_a_new_database_at_once(shared_url, tmp_path, route):
    """Each migration is applied by exactly one process; the rest see it done."""
    folder = None
    expected = MigrationSet.bundled(dialect_of(shared_url)).latest
    if route == "stepwise":  # toy migrations with no fresh schema: the one-at-a-time path
        folder = str(write_toy_migrations(tmp_path / "m", dialect_of(shared_url), 3))
        expected += 3
    results = run_processes(open_and_report, [(shared_url, folder)] * 6)
    assert [r for r in results if r[0] != "ok"] == []
    applied = sorted(v for _, versions in results for v in versions)
    assert applied == list(range(1, expected + 1))
    mset = MigrationSet.from_directory(dialect_of(shared_url), tmp_path / "m") if folder else None
    with open_store(shared_url, migration_set=mset) as store:
        assert [s.state for s in store.migration_status()] == ["applied"] * expected
