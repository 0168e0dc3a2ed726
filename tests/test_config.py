"""Configuration: where each setting comes from, its ranges, and masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from roost import errors
from roost.config import SPECS, resolve
from roost.urls import mask, parse_url


def test_defaults(tmp_path):
    s = resolve(cwd=tmp_path, env={})
    assert s.url.kind == "sqlite" and s.url.path == tmp_path / ".roost" / "roost.db"
    assert s.project == tmp_path.name
    assert s.pool_max_size == 10 and s.sqlite_synchronous == "NORMAL" and s.auto_migrate is True
    assert s.create_dir is True


def test_resolution_order(tmp_path):
    (tmp_path / "roost.toml").write_text('url = "sqlite:///from-file.db"\nproject = "file"\npool_max_size = 7\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    s = resolve(cwd=sub, env={})
    assert s.url.path == tmp_path / "from-file.db"  # relative to the config file
    assert (s.project, s.pool_max_size, s.sources["pool_max_size"]) == ("file", 7, str(tmp_path / "roost.toml"))
    s = resolve(cwd=sub, env={"DATABASE_URL": "memory://db", "ROOST_POOL_MAX_SIZE": "9"})
    assert s.url.kind == "memory" and s.pool_max_size == 9
    s = resolve(cwd=sub, env={"DATABASE_URL": "memory://db", "ROOST_URL": "memory://roost"})
    assert s.url.name == "roost"
    s = resolve("memory://arg", cwd=sub, env={"ROOST_URL": "memory://env"}, pool_max_size=3, project="arg")
    assert (s.url.name, s.pool_max_size, s.project) == ("arg", 3, "arg")
    assert s.create_dir is False


def test_pyproject_tool_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.roost]\nproject = "py"\n')
    assert resolve(cwd=tmp_path, env={}).project == "py"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert resolve(cwd=tmp_path, env={}).project == tmp_path.name


def test_broken_or_unknown_config_file(tmp_path):
    (tmp_path / "roost.toml").write_text("url = [unclosed")
    with pytest.raises(errors.ConfigError, match=r"roost\.toml"):
        resolve(cwd=tmp_path, env={})
    (tmp_path / "roost.toml").write_text("pool_max = 3\n")
    with pytest.raises(errors.ConfigError, match="unknown setting 'pool_max'"):
        resolve(cwd=tmp_path, env={})


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("pool_min_size", "0", "pool_min_size = '0' .* out of range: allowed from 1 to 50"),
        ("pool_max_size", "101", "allowed from 1 to 100"),
        ("pool_max_size", "ten", "not a whole number"),
        ("pool_max_size", "2.5", "not a whole number"),
        ("acquire_timeout", "0.5", "allowed from 1 to 120"),
        ("statement_timeout", "301", "allowed from 1 to 300"),
        ("statement_timeout", "nan", "out of range"),
        ("pool_max_idle", "59", "at least 60"),
        ("sqlite_synchronous", "SOMETIMES", "one of OFF, NORMAL, FULL, EXTRA"),
        ("sqlite_busy_timeout", "-1", "out of range"),
        ("auto_migrate", "maybe", "true or false"),
    ],
)
def test_out_of_range_settings_name_setting_value_and_range(tmp_path, name, value, match):
    with pytest.raises(errors.InvalidSetting, match=match) as info:
        resolve(cwd=tmp_path, env={f"ROOST_{name.upper()}": value})
    assert f"ROOST_{name.upper()}" in str(info.value)


def test_min_not_above_max(tmp_path):
    with pytest.raises(errors.InvalidSetting, match="pool_min_size = 20 must not exceed pool_max_size = 10"):
        resolve(cwd=tmp_path, env={}, pool_min_size=20)


def test_values_are_coerced(tmp_path):
    s = resolve(cwd=tmp_path, env={"ROOST_SQLITE_SYNCHRONOUS": "full", "ROOST_AUTO_MIGRATE": "off"})
    assert s.sqlite_synchronous == "FULL" and s.auto_migrate is False
    assert set(SPECS) <= set(s.__dataclass_fields__)


def test_masking():
    assert mask("postgresql://bob:s3cr%40t@h:5432/db") == "postgresql://bob:***@h:5432/db"
    assert mask("postgresql://h/db?password=s3cret&sslmode=require") == "postgresql://h/db?password=***&sslmode=require"
    assert mask("postgresql://bob@h/db") == "postgresql://bob@h/db"
    url = parse_url("postgresql://bob:s3cret@h:5432/db")
    assert "s3cret" not in repr(url) and "s3cret" not in str(url) and "s3cret" in url.raw


def test_sqlite_paths():
    assert parse_url("sqlite:////abs/x.db").path == Path("/abs/x.db")
    assert parse_url("sqlite:///rel/x.db", base_dir=Path("/base")).path == Path("/base/rel/x.db")
    assert parse_url("sqlite:///my%20file.db", base_dir=Path("/b")).path == Path("/b/my file.db")
    assert parse_url("memory://").name == "default"
    assert parse_url("postgres://u@h/db").kind == "postgresql"
