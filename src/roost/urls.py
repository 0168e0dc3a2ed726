"""Parsing and masking of database URLs.

A URL is parsed once, at the boundary, into a :class:`DatabaseURL`; everything below works with
that object. Its ``masked`` form is the only one that may be printed, logged or put in an error:
the password (in the netloc or as a ``password=`` query parameter) is replaced by ``***``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from roost.errors import InvalidURL

SCHEMES = ("sqlite", "memory", "postgresql", "postgres")
_MEMORY_NAME = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")
_PG_PARAMS = {
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "connect_timeout",
    "application_name", "target_session_attrs", "options", "password", "user", "host", "port",
    "dbname", "passfile", "channel_binding", "gssencmode", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "service",
}
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def mask(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``; never fails, whatever the input."""
    masked = re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", masked)


@dataclass(frozen=True)
class DatabaseURL:
    """A validated database URL.

    ``kind`` is the backend: ``sqlite`` (a file at ``path``), ``memory`` (an in-process store named
    ``name``) or ``postgresql`` (``raw`` is handed to libpq).
    """

    kind: str
    raw: str = field(repr=False)
    path: Path | None = None
    name: str = ""

    @property
    def masked(self) -> str:
        return mask(self.raw)

    def __repr__(self) -> str:
        return f"DatabaseURL({self.masked!r})"

    __str__ = __repr__


def parse_url(url: str, base_dir: Path | None = None) -> DatabaseURL:
    """Validate ``url`` and return it parsed; a relative SQLite path resolves against ``base_dir``.

    ``sqlite:///rel/path.db`` is relative, ``sqlite:////abs/path.db`` absolute (as in SQLAlchemy).
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidURL("the database URL is empty: use sqlite:///path.db, memory:// or postgresql://…")
    url = url.strip()
    if any(ord(c) < 32 for c in url):
        raise InvalidURL(f"the database URL {mask(url)!r} contains control characters")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise InvalidURL(
            f"{mask(url)!r} is not a database URL: use sqlite:///path.db, memory:// or "
            "postgresql://user@host:5432/db"
        )
    scheme = scheme.lower()
    if scheme == "sqlite":
        return _parse_sqlite(url, rest, base_dir)
    if scheme == "memory":
        name = rest.strip("/")
        if not _MEMORY_NAME.match(name):
            raise InvalidURL(f"memory URL {url!r}: the name may hold only letters, digits, '_', '.', '-'")
        return DatabaseURL("memory", url, name=name or "default")
    if scheme in ("postgresql", "postgres"):
        _check_postgres(url)
        return DatabaseURL("postgresql", url)
    raise InvalidURL(
        f"unknown URL scheme {scheme!r} in {mask(url)!r}: roost supports sqlite:///, memory:// and "
        "postgresql://"
    )


def _parse_sqlite(url: str, rest: str, base_dir: Path | None) -> DatabaseURL:
    if not rest.startswith("/"):
        raise InvalidURL(
            f"SQLite URL {url!r} has a host part; use sqlite:///relative.db or sqlite:////absolute.db"
        )
    raw_path, _, query = rest[1:].partition("?")
    if query:
        raise InvalidURL(f"SQLite URL {url!r}: query parameters are not supported")
    raw_path = unquote(raw_path)
    if not raw_path or raw_path.endswith("/"):
        raise InvalidURL(f"SQLite URL {url!r} names no file: use sqlite:///path/to/roost.db")
    if "\x00" in raw_path:
        raise InvalidURL(f"SQLite URL {url!r}: the path contains a NUL character")
    path = Path(raw_path)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return DatabaseURL("sqlite", url, path=path)


def _check_postgres(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"PostgreSQL URL {mask(url)!r} is malformed: {exc}") from None
    if port == 0:
        raise InvalidURL(f"PostgreSQL URL {mask(url)!r}: port 0 is not a valid port")
    if not parts.hostname and "host=" not in parts.query:
        raise InvalidURL(f"PostgreSQL URL {mask(url)!r} names no host: postgresql://user@host:5432/db")
    if parts.fragment:
        raise InvalidURL(f"PostgreSQL URL {mask(url)!r}: a '#' fragment is not allowed")
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _PG_PARAMS:
            raise InvalidURL(f"PostgreSQL URL {mask(url)!r}: unknown parameter {key!r}")
        if key == "sslmode" and value not in _SSLMODES:
            raise InvalidURL(
                f"PostgreSQL URL {mask(url)!r}: sslmode={value!r} is not one of {', '.join(sorted(_SSLMODES))}"
            )
    from psycopg import Error as DriverError  # here, so that SQLite and memory URLs never import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:  # libpq's own parse: spaces, bad percent-escapes, NUL bytes… Its message quotes the input.
        conninfo_to_dict(url)
    except DriverError as exc:
        raise InvalidURL(f"PostgreSQL URL {mask(url)!r} is malformed: {_scrub(str(exc).strip(), url)}") from None


def _scrub(text: str, url: str) -> str:
    """``text`` with every form of the URL's password (as written, and percent-decoded) masked."""
    secrets = re.findall(r"//[^/@:]*:([^/@]*)@", url) + re.findall(r"(?i)password=([^&]*)", url)
    for secret in sorted({s for raw in secrets for s in (raw, unquote(raw)) if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text.splitlines()[0] if text else "libpq refused it"
