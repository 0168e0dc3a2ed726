"""Bad input gets one clear error and changes nothing."""

from __future__ import annotations

import os

import pytest

import roost
from roost import errors


def test_file_that_is_not_a_database_is_left_untouched(tmp_path):
    path = tmp_path / "notes.db"
    content = b"these are my notes, not a database\n" * 100
    path.write_bytes(content)
    with pytest.raises(errors.NotADatabase, match="not an SQLite database"):
        roost.connect(f"sqlite:///{path}")
    assert path.read_bytes() == content
    assert sorted(os.listdir(tmp_path)) == ["notes.db"]


def test_missing_directory_is_not_created_for_an_explicit_url(tmp_path):
    with pytest.raises(errors.CannotOpenDatabase, match="does not exist"):
        roost.connect(f"sqlite:///{tmp_path}/missing/dir/roost.db")
    assert not (tmp_path / "missing").exists()


def test_parent_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(errors.CannotOpenDatabase, match="not a directory"):
        roost.connect(f"sqlite:///{tmp_path}/file/roost.db")


def test_database_path_that_is_a_directory(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(errors.CannotOpenDatabase, match="not a regular file"):
        roost.connect(f"sqlite:///{tmp_path}/dir.db")


def test_default_location_is_created_at_the_project_root(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    with roost.connect() as store:
        assert store.project == tmp_path.name
        assert store.url == "sqlite:///.roost/roost.db"
    assert (tmp_path / ".roost" / "roost.db").is_file()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unknown URL scheme 'mysql'"),
        ("sqlite://", "has a host part|names no file"),
        ("sqlite:///", "names no file"),
        ("sqlite://host/x.db", "has a host part"),
        ("just-a-path.db", "not a database URL"),
        ("", "empty"),
        ("postgresql://u:pw@h:notaport/db", "malformed"),
        ("postgresql://u@h/db?sslmode=sometimes", "sslmode"),
        ("postgresql://u@h/db?bogus=1", "unknown parameter 'bogus'"),
        ("postgresql:///db", "names no host"),
        ("memory://bad name", "name may hold only"),
        ("sqlite:///x.db\n", None),
    ],
)
def test_bad_urls_are_refused_clearly(url, message, tmp_path):
    if message is None:  # a trailing newline from a shell variable is tolerated
        roost.connect(url).close()
        return
    with pytest.raises(errors.InvalidURL, match=message):
        roost.connect(url)


def test_unreachable_server_fails_clearly_and_fast():
    with pytest.raises(errors.ServerUnreachable, match=r"127\.0\.0\.1:1/db") as info:
        roost.connect("postgresql://u:topsecret@127.0.0.1:1/db", connect_timeout=1)
    assert "topsecret" not in str(info.value)


def test_wrong_credentials_fail_at_once():
    from tests.conftest import ADMIN_URL, _state, cannot_run

    if _state["pg_error"]:
        cannot_run("PostgreSQL not reachable")
    bad = ADMIN_URL.replace("://", "://no_such_role_x:pw@", 1).replace("postgres@", "", 1)
    with pytest.raises(errors.AuthenticationFailed) as info:
        roost.connect(bad, connect_timeout=30)
    assert "pw@" not in str(info.value)


def test_missing_database_is_named():
    from tests.conftest import ADMIN_URL, _state, cannot_run, with_database

    if _state["pg_error"]:
        cannot_run("PostgreSQL not reachable")
    with pytest.raises(errors.DatabaseNotFound, match="no_such_db_roost"):
        roost.connect(with_database(ADMIN_URL, "no_such_db_roost"))


def test_unknown_option_is_refused():
    with pytest.raises(errors.InvalidArgument, match="pool_size_max"):
        roost.connect("memory://", pool_size_max=3)


def test_odd_unicode_project_names(url):
    with roost.connect(url, project="проект ✓ 🐦") as store:
        project = store.get_project()
        assert project is not None and project.name == "проект ✓ 🐦"
    with pytest.raises(errors.InvalidSetting, match="control characters"):
        roost.connect(url, project="bad\x00name")
    with pytest.raises(errors.InvalidSetting):
        roost.connect(url, project="x" * 129)
