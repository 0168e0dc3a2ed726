"""Acceptance tests: the real `roost` command in a subprocess, against real databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import roost
from roost.cli import main as cli_main

ROOST = [sys.executable, "-m", "roost"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_") and k != "DATABASE_URL"}
    full_env.update(env or {})
    return subprocess.run([*ROOST, *args], cwd=cwd, env=full_env, input=stdin, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cli.db"
    return request.getfixturevalue("pg_url")


def test_version(tmp_path):
    out = run("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "roost 0.1.0"


def test_init_info_migrate_doctor(cli_url, tmp_path):
    r = run("info", "--url", cli_url, cwd=tmp_path)
    if cli_url.startswith("sqlite"):
        assert r.returncode == 1 and "roost init" in r.stderr
    r = run("init", "--url", cli_url, "--project", "demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(run("info", "--url", cli_url, "--project", "demo", "--json", cwd=tmp_path).stdout)
    assert info["project"] == "demo" and info["schema_version"] >= 1
    assert info["backend"] == ("sqlite" if cli_url.startswith("sqlite") else "postgresql")
    status = json.loads(run("migrate", "--status", "--json", "--url", cli_url, cwd=tmp_path).stdout)
    assert {m["state"] for m in status["migrations"]} == {"applied"}
    migrated = json.loads(run("migrate", "--json", "--url", cli_url, cwd=tmp_path).stdout)
    assert migrated["applied"] == []
    doctor = run("doctor", "--json", "--url", cli_url, cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stdout
    report = json.loads(doctor.stdout)
    assert report["ok"] is True and not [c for c in report["checks"] if c["level"] == "fail"]
    human = run("doctor", "--url", cli_url, cwd=tmp_path)
    assert human.returncode == 0 and "migrations" in human.stdout


def test_default_store_in_project_root(tmp_path):
    (tmp_path / ".git").mkdir()
    r = run("init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / ".roost" / "roost.db").is_file()
    r = run("info", "--json", cwd=tmp_path)
    assert json.loads(r.stdout)["project"] == tmp_path.name


def test_config_file_and_env_are_used(tmp_path):
    (tmp_path / "roost.toml").write_text('url = "sqlite:///state/r.db"\nproject = "from-toml"\n')
    (tmp_path / "state").mkdir()
    assert run("init", cwd=tmp_path).returncode == 0
    info = json.loads(run("info", "--json", cwd=tmp_path).stdout)
    assert info["project"] == "from-toml" and info["url"] == "sqlite:///state/r.db"
    env_info = run("info", "--json", cwd=tmp_path, env={"ROOST_PROJECT": "from-env"})
    assert json.loads(env_info.stdout)["project"] == "from-env"


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["info", "--url", "mysql://x"], {}, "unknown URL scheme"),
        (["init", "--url", "postgresql://u:hunter2@127.0.0.1:1/db"], {"ROOST_CONNECT_TIMEOUT": "1"}, "cannot reach"),
        (["init", "--url", "sqlite:///no/such/dir/x.db"], {}, "does not exist"),
        (["init", "--url", "memory://"], {"ROOST_POOL_MAX_SIZE": "500"}, "pool_max_size = '500'"),
        (["doctor", "--url", "postgresql://u:hunter2@127.0.0.1:1/db"], {"ROOST_CONNECT_TIMEOUT": "1"}, "fail"),
    ],
)
def test_errors_are_one_line_exit_1_no_traceback_no_password(tmp_path, args, env, fragment):
    r = run(*args, cwd=tmp_path, env=env)
    assert r.returncode == 1
    assert fragment in r.stderr + r.stdout
    assert "Traceback" not in r.stderr and "hunter2" not in r.stderr + r.stdout
    if args[0] != "doctor":
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "no").exists()


def test_debug_shows_traceback(tmp_path):
    r = run("info", "--url", "mysql://x", "--debug", cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_not_a_database(tmp_path):
    (tmp_path / "x.db").write_text("hello")
    r = run("init", "--url", "sqlite:///x.db", cwd=tmp_path)
    assert r.returncode == 1 and "not an SQLite database" in r.stderr
    assert (tmp_path / "x.db").read_text() == "hello"


def test_usage_errors_exit_2(tmp_path):
    assert run("no-such-command", cwd=tmp_path).returncode == 2
    assert run("info", "--no-such-flag", cwd=tmp_path).returncode == 2


def subcommands(group):
    """A group's commands as click resolves them (the root group imports each one on demand)."""
    import click

    ctx = click.Context(group)
    return {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}


def test_every_command_has_help():
    import click

    def walk(cmd: click.Command, path: str) -> None:
        assert cmd.help and cmd.help.strip(), f"{path} has no help text"
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{path} {param.opts} has no help text"
        if isinstance(cmd, click.Group):
            for name, sub in subcommands(cmd).items():
                walk(sub, f"{path} {name}")
                seen.append(name)

    seen: list[str] = []
    walk(cli_main, "roost")
    assert len(seen) >= 40, seen


def test_every_command_takes_the_common_options():
    import click

    def leaves(cmd: click.Command, path: str) -> list[tuple[str, click.Command]]:
        if isinstance(cmd, click.Group):
            return [leaf for name, sub in subcommands(cmd).items() for leaf in leaves(sub, f"{path} {name}")]
        return [(path, cmd)]

    found = leaves(cli_main, "roost")
    assert len(found) >= 20
    for path, cmd in found:
        if path == "roost completion":  # prints a shell script; it opens no store
            continue
        opts = {o for p in cmd.params for o in p.opts}
        assert {"--url", "--project", "--json", "--debug"} <= opts, path


def test_password_never_printed_by_a_working_store(pg_url, tmp_path):
    """The server trusts local users, so a URL with a password still opens: check every output."""
    url = pg_url.replace("postgresql://postgres@", "postgresql://postgres:hunter2@", 1)
    assert "hunter2" in url
    outputs = [run(cmd, "--url", url, *extra, cwd=tmp_path) for cmd in ("init", "info", "doctor")
               for extra in ([], ["--json"])]
    assert all(r.returncode == 0 for r in outputs), [r.stderr for r in outputs]
    assert not any("hunter2" in r.stdout + r.stderr for r in outputs)
    with roost.connect(url) as store:
        assert "hunter2" not in repr(store) + store.url + repr(store.settings) + str(store.info())


def test_tables_show_names_and_values_literally_not_as_markup(tmp_path):
    url = f"sqlite:///{tmp_path}/markup.db"

    def roost_cli(*args: str):
        out = run(*args, "--url", url, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return out.stdout

    roost_cli("init")
    roost_cli("signal", "set", "K[/]", "[/] value [red]x")
    assert "K[/]" in roost_cli("signal", "list") and "[/] value [red]x" in roost_cli("signal", "list")
    roost_cli("lock", "acquire", "[/]file", "--owner", "[b]me")
    assert "[/]file" in roost_cli("lock", "list") and "[b]me" in roost_cli("lock", "list")
    roost_cli("task", "add", "[/]kind", "--queue", "[q]")
    assert "[/]kind" in roost_cli("task", "list") and "[q]" in roost_cli("task", "stats")
    roost_cli("agent", "register", "[x]a")
    assert "[x]a" in roost_cli("agent", "list")
