"""Test harness: every conformance test runs on SQLite file, memory:// and a real PostgreSQL.

PostgreSQL comes from ROOST_TEST_POSTGRES_URL, else the local server at 127.0.0.1:5432. Each test
that needs it gets a database of its own, created for it and dropped after it. With no server the
PostgreSQL tests skip and the run ends with a loud line, except under CI=true, where the run fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN_URL = os.environ.get("ROOST_TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL
_state: dict[str, str | None] = {"pg_error": None}
BACKENDS = ["sqlite", "memory", "postgresql"]


def _probe() -> str | None:
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    _state["pg_error"] = _probe()
    if _state["pg_error"] and os.environ.get("CI") == "true":
        pytest.exit(f"CI=true but PostgreSQL is not reachable at {ADMIN_URL}: {_state['pg_error']}", 1)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _state["pg_error"]:
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(
            f"POSTGRESQL TESTS SKIPPED: no server at {ADMIN_URL} ({_state['pg_error']}). "
            "Set ROOST_TEST_POSTGRES_URL to run them.", red=True, bold=True)
        terminalreporter.write_line(bar, red=True, bold=True)


def cannot_run(reason: str) -> NoReturn:
    """Skip a test that cannot run here, except under CI=true, where that is a failure: CI must
    install and start what every test needs (see .ci/run)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, and this test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def local_cluster(action: str) -> list[str] | None:
    """The command that stops, starts or restarts the test server, if it is this machine's Debian
    cluster and we are root (fault tests take the server down for real)."""
    host = urlsplit(ADMIN_URL).hostname
    if host not in ("127.0.0.1", "localhost", "::1") or not shutil.which("pg_ctlcluster") or os.geteuid() != 0:
        return None
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        return None
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]
    return [*command, "-m", "fast"] if action in ("stop", "restart") else command


def cluster(action: str) -> None:
    """Stop, start or restart the local test server (or say why this test cannot)."""
    command = local_cluster(action)
    if command is None:
        cannot_run("the PostgreSQL server is not a local Debian cluster this test may stop and start (as root)")
    subprocess.run(command, check=True, capture_output=True, timeout=90)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped on exit."""
    if _state["pg_error"]:
        cannot_run(f"PostgreSQL not reachable: {_state['pg_error']}")
    name = f"roost_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    _created.add(name)
    try:
        yield with_database(ADMIN_URL, name)
    finally:
        _drop(name, patience=30.0)


_created: set[str] = set()


def _drop(name: str, patience: float) -> bool:
    """Drop a test database, waiting for the server if a fault test left it restarting."""
    deadline = time.monotonic() + patience
    while True:
        try:
            with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _created.discard(name)
            return True
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Whatever a teardown could not drop (the server was down then), drop now."""
    for name in sorted(_created):
        _drop(name, patience=60.0)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test."""
    with pg_database() as url:
        yield url


def make_url(kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/roost.db"
    if kind == "memory":
        return f"memory://t{uuid.uuid4().hex[:12]}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL to an empty store, once per backend."""
    return make_url(request.param, request, tmp_path_factory)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store for CLI tests, made as `roost init` makes one (the other commands never create it)."""
    url = make_url(request.param, request, tmp_path_factory)
    import roost

    roost.connect(url, create=True).close()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL that several processes can open: the backends for multi-process tests."""
    return make_url(request.param, request, tmp_path_factory)


ASYNC_CONFORMANCE = {"test_signals", "test_locks", "test_agents", "test_tasks", "test_events", "test_memory",
                     "test_documents", "test_workflows", "test_search", "test_store"}
"""The conformance modules that run twice: through the sync face and through the async one. (The
bad-input modules run once: validation is the same code in both faces, run before any I/O.)"""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in ASYNC_CONFORMANCE and "url" in metafunc.fixturenames and "face" in metafunc.fixturenames:
        metafunc.parametrize("face", ["sync", "async"], indirect=True)


@pytest.fixture(autouse=True)
def face(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``async``: this test's ``roost.connect`` gives a store whose every call goes through the
    async face (tests/async_through.py), so the conformance suite checks both faces."""
    kind = str(getattr(request, "param", "sync"))
    if kind != "async":
        yield kind
        return
    import roost
    from tests.async_through import Through, stop_all

    monkeypatch.setattr(roost, "connect", Through)
    try:
        yield kind
    finally:
        stop_all()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's ROOST_* settings or a roost.toml above the checkout."""
    for name in list(os.environ):
        if (name.startswith("ROOST_") and name != "ROOST_TEST_POSTGRES_URL") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    # Automatic cleanup is off unless a test turns it on (tests/conformance/test_retention.py does,
    # by argument): its background reads would be counted by tests that count statements.
    monkeypatch.setenv("ROOST_CLEANUP_INTERVAL", "0")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pgbouncer_url(pg_url):
    """PgBouncer in transaction mode in front of the test database (started here, stopped after)."""
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    target = urlsplit(ADMIN_URL)
    if binary is None:
        cannot_run("pgbouncer is not installed (Debian package pgbouncer; .ci/run installs it)")
    if target.hostname not in ("127.0.0.1", "localhost") or os.geteuid() != 0:
        cannot_run("the PgBouncer test needs the local server and root (to run pgbouncer as postgres)")
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="roost-pgbouncer-"))  # pgbouncer runs as postgres: outside /tmp/pytest-*
    os.chmod(folder, 0o777)
    user = target.username or "postgres"
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={target.hostname} port={target.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\nignore_startup_parameters = options,extra_float_digits\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n")
    for name in ("users.txt", "pgbouncer.ini"):
        os.chmod(folder / name, 0o644)
    proc = subprocess.Popen([binary, "-u", "postgres", str(folder / "pgbouncer.ini")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = urlsplit(pg_url)
    url = urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{port}"))
    deadline = time.monotonic() + 20
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            break
        except psycopg.Error:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                proc.wait()
                log = (folder / "pgbouncer.log").read_text() if (folder / "pgbouncer.log").exists() else ""
                shutil.rmtree(folder, ignore_errors=True)
                pytest.fail(f"pgbouncer did not start: {log[-2000:]}")
            time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)
