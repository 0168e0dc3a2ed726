"""Backups of PostgreSQL stores with ``pg_dump``, and restores of them with ``pg_restore``.

A backup is ``pg_dump --format=custom --schema=roost``: one repeatable-read snapshot of roost's
schema only (the database may hold other applications' tables), taken while the agents go on
writing, then listed back with ``pg_restore --list`` to prove the file is whole. A restore runs
``pg_restore --single-transaction --exit-on-error`` into a database with no roost schema, so it
lands whole or not at all. The password never appears on a command line: it goes to the tools in
``PGPASSWORD``, and messages show the URL masked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import psycopg

from roost import errors
from roost.backends.sqlite_files import MAGIC, PG_MAGIC
from roost.urls import mask

TIMEOUT = 24 * 3600.0


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise errors.ToolMissing(
            f"{name} is not installed, and a PostgreSQL backup needs it (Debian and Ubuntu: apt-get install "
            "postgresql-client; use the version of your server or newer)")
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that carries the URL's password instead
    (a URL without one leaves the caller's own PGPASSWORD or ~/.pgpass to libpq)."""
    parts = urlsplit(url)
    password = unquote(parts.password) if parts.password is not None else None
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "password":
            password = value
        else:
            query.append((key, value))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    env = dict(os.environ)  # (PGPASSWORD, PGSSLMODE, ~/.pgpass: libpq reads them as the store's connections do)
    if password is not None:
        env["PGPASSWORD"] = password
    tail = f"?{urlencode(query)}" if query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{tail}", env


def _run(command: list[str], env: dict[str, str], what: str, url: str) -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise errors.BackupError(f"{what} did not finish within {TIMEOUT:g} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = mask(lines[-1] if lines else f"exit status {done.returncode}").replace(url, mask(url))
        raise errors.BackupError(f"{what} failed: {reason}")
    return done.stdout


def dump(url: str, target: Path) -> str:
    """``pg_dump`` roost's schema into the new file ``target`` and check that the file lists whole."""
    uri, env = _libpq(url)
    _run([_tool("pg_dump"), "--format=custom", "--schema=roost", "--no-owner", "--no-privileges",
          f"--file={target}", f"--dbname={uri}"], env, "pg_dump", uri)
    listing = _run([_tool("pg_restore"), "--list", str(target)], env, "pg_restore --list", uri)
    tables = sum(1 for line in listing.splitlines() if " TABLE DATA roost " in line)
    return f"pg_restore --list ok, {tables} tables"


def restore(url: str, source: Path, latest: int) -> int:
    """Restore the dump ``source`` into the database at ``url``, which must hold no roost schema;
    returns the restored schema version. A dump newer than this roost is taken out again."""
    with open(source, "rb") as handle:
        head = handle.read(16)
    if not head.startswith(PG_MAGIC):
        kind = "an SQLite backup; restore it into a sqlite:/// URL" if head == MAGIC else \
            "not a pg_dump archive"
        raise errors.BackupError(f"{source} is {kind}")
    uri, env = _libpq(url)
    pg_restore = _tool("pg_restore")
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT to_regnamespace('roost') IS NOT NULL").fetchone() == (True,):
                raise errors.TargetNotEmpty(f"the database at {mask(url)} already holds a roost schema; restore "
                                            "into an empty database")
            with contextlib.suppress(psycopg.Error):  # the dump's trigram index needs pg_trgm, if the source had it
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except psycopg.OperationalError as exc:
        raise errors.ConnectError(f"cannot connect to {mask(url)}: {str(exc).strip().splitlines()[0]}") from None
    _run([pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
          f"--dbname={uri}", str(source)], env, "pg_restore", uri)
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT max(version) FROM roost.schema_migrations").fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        if version > latest:
            conn.execute("DROP SCHEMA roost CASCADE")
            raise errors.SchemaTooNew(f"{source} holds schema version {version}, newer than this roost knows "
                                      f"({latest}); nothing was kept: upgrade roost to restore it")
    return version
