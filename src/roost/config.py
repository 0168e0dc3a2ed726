"""Settings: where they come from, and the ranges they must fall in.

Each setting is resolved, highest first, from: an explicit argument to ``connect()`` (or a CLI
flag), the environment (``ROOST_<NAME>``; the URL also from ``DATABASE_URL``), the nearest
``roost.toml`` or ``[tool.roost]`` table in ``pyproject.toml`` found by walking up from the working
directory, then the default. A bad value is refused at start with one message that names the
setting, where it came from, the value and what is allowed, so a typo in a pod's environment fails
loudly instead of running with a silent default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roost.errors import ConfigError, InvalidArgument, InvalidSetting
from roost.urls import DatabaseURL, mask, parse_url

DEFAULT_URL = "sqlite:///.roost/roost.db"
PROTECTED_SIGNALS = ("PROJECT_SIGNED_OFF", "TRIGGER_QA", "TRIGGER_MANAGER")
_PROJECT = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")


@dataclass(frozen=True)
class Spec:
    """How one setting is typed and bounded."""

    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is tuple:
            return "a list of names (comma-separated in the environment)"
        if self.high is None:
            return f"at least {self.low:g}"
        return f"from {self.low:g} to {self.high:g}"


SPECS: dict[str, Spec] = {
    "pool_min_size": Spec(int, 1, 1, 50, help="PostgreSQL connections kept open"),
    "pool_max_size": Spec(int, 10, 1, 100, help="most connections open at once"),
    "acquire_timeout": Spec(float, 10.0, 1, 120, help="seconds to wait for a free connection"),
    "statement_timeout": Spec(float, 30.0, 1, 300, help="seconds before a statement is cancelled"),
    "pool_max_idle": Spec(float, 600.0, 60, None, help="seconds an idle connection is kept"),
    "connect_timeout": Spec(float, 10.0, 1, 300, help="seconds to keep retrying the first connection"),
    "sqlite_synchronous": Spec(
        str, "NORMAL", choices=("OFF", "NORMAL", "FULL", "EXTRA"), help="SQLite PRAGMA synchronous"
    ),
    "sqlite_busy_timeout": Spec(float, 5.0, 0.05, 600, help="seconds a writer waits for the SQLite lock"),
    "auto_migrate": Spec(bool, True, help="apply pending migrations when a store opens"),
    "pg_prepare": Spec(bool, True, help="server-side prepared statements (off for PgBouncer < 1.21)"),
    "protected_signals": Spec(
        tuple, PROTECTED_SIGNALS, help="signal keys only a privileged caller may set or clear (comma-separated)"
    ),
    "signal_max_age": Spec(
        float, 86400.0, 60, 10 * 365 * 86400, help="seconds before cleanup removes a non-critical signal"
    ),
    "agent_offline_after": Spec(
        float, 60.0, 1, 86400, help="seconds without a heartbeat before an agent reads as offline"
    ),
    "event_max_age": Spec(
        float, 7 * 86400.0, 60, 10 * 365 * 86400, help="seconds before event cleanup removes an event"
    ),
    "observation_retention_days": Spec(
        float, 7.0, 0.001, 3650, help="days an observation is kept (older ones are never returned)"
    ),
    "observation_max_per_agent": Spec(
        int, 10_000, 1, 10_000_000, help="newest observations kept per agent (enforced at insert)"
    ),
    "cleanup_interval": Spec(
        float, 3600.0, 0, 30 * 86400, help="seconds between automatic cleanup passes of a project (0: off)"
    ),
    "cleanup_batch": Spec(int, 1000, 1, 100_000, help="rows one cleanup statement removes at most"),
    "lock_max_idle": Spec(
        float, 86400.0, 3600, 10 * 365 * 86400, help="seconds a free lock stays before cleanup removes its row"
    ),
    "agent_max_age": Spec(
        float, 30 * 86400.0, 0, 10 * 365 * 86400,
        help="seconds without a heartbeat before cleanup removes an agent (0: never)"
    ),
    "audit_max_age": Spec(
        float, 90 * 86400.0, 0, 10 * 365 * 86400, help="seconds an audit-log entry is kept (0: forever)"
    ),
    "task_max_age": Spec(
        float, 7 * 86400.0, 0, 10 * 365 * 86400, help="seconds a done, dead or cancelled task is kept (0: forever)"
    ),
    "claim_max_age": Spec(
        float, 7 * 86400.0, 0, 10 * 365 * 86400, help="seconds an ended claim of a kept task is kept (0: forever)"
    ),
    "transcript_max_age": Spec(
        float, 90 * 86400.0, 0, 10 * 365 * 86400,
        help="seconds the transcript of a completed or archived session is kept after its last activity (0: forever)"
    ),
    "artifact_versions_kept": Spec(
        int, 20, 0, 1_000_000, help="newest versions of each artifact name cleanup keeps (0: all)"
    ),
    "upload_max_age": Spec(
        float, 86400.0, 60, 10 * 365 * 86400, help="seconds an unfinished artifact upload is kept (its writer died)"
    ),
    "document_history_max_age": Spec(
        float, 0.0, 0, 10 * 365 * 86400,
        help="seconds an earlier document version is kept, within its collection's history count (0: by count only)"
    ),
    "run_max_age": Spec(
        float, 90 * 86400.0, 0, 10 * 365 * 86400,
        help="seconds a completed, failed or cancelled workflow run is kept with its records (0: forever)"
    ),
    "checkpoints_kept": Spec(
        int, 100, 0, 1_000_000,
        help="newest LangGraph checkpoints of each thread and namespace cleanup keeps (0: all)"
    ),
    "checkpoint_thread_max_age": Spec(
        float, 0.0, 0, 10 * 365 * 86400,
        help="seconds a LangGraph thread is kept after its newest checkpoint (0: forever)"
    ),
    "artifact_max_bytes": Spec(int, 64 * 2**20, 1, 2**40, help="largest artifact version, in bytes"),
    "artifact_project_quota_bytes": Spec(
        int, 0, 0, 2**50, help="artifact bytes a project may store, each content once (0: unlimited)"
    ),
}


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one store. ``sources`` says where each value came from."""

    url: DatabaseURL
    project: str
    root: Path
    pool_min_size: int = 1
    pool_max_size: int = 10
    acquire_timeout: float = 10.0
    statement_timeout: float = 30.0
    pool_max_idle: float = 600.0
    connect_timeout: float = 10.0
    sqlite_synchronous: str = "NORMAL"
    sqlite_busy_timeout: float = 5.0
    auto_migrate: bool = True
    pg_prepare: bool = True
    protected_signals: tuple[str, ...] = PROTECTED_SIGNALS
    signal_max_age: float = 86400.0
    agent_offline_after: float = 60.0
    event_max_age: float = 7 * 86400.0
    observation_retention_days: float = 7.0
    observation_max_per_agent: int = 10_000
    cleanup_interval: float = 3600.0
    cleanup_batch: int = 1000
    lock_max_idle: float = 86400.0
    agent_max_age: float = 30 * 86400.0
    audit_max_age: float = 90 * 86400.0
    task_max_age: float = 7 * 86400.0
    claim_max_age: float = 7 * 86400.0
    transcript_max_age: float = 90 * 86400.0
    artifact_versions_kept: int = 20
    upload_max_age: float = 86400.0
    document_history_max_age: float = 0.0
    run_max_age: float = 90 * 86400.0
    checkpoints_kept: int = 100
    checkpoint_thread_max_age: float = 0.0
    artifact_max_bytes: int = 64 * 2**20
    artifact_project_quota_bytes: int = 0
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    create_dir: bool = False

    def __repr__(self) -> str:
        return f"Settings(url={self.url.masked!r}, project={self.project!r})"


def find_config(start: Path) -> tuple[Path | None, dict[str, Any]]:
    """Walk up from ``start`` to the first ``roost.toml`` or pyproject with ``[tool.roost]``."""
    for folder in (start, *start.parents):
        candidate = folder / "roost.toml"
        if candidate.is_file():
            return candidate, _read_toml(candidate)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _read_toml(pyproject).get("tool", {}).get("roost")
            if isinstance(table, dict):
                return pyproject, table
    return None, {}


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when a config file exists

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def project_root(start: Path, config_file: Path | None) -> Path:
    if config_file is not None:
        return config_file.parent
    for folder in (start, *start.parents):
        if (folder / ".roost").is_dir() or (folder / ".git").exists():
            return folder
    return start


def resolve(
    url: str | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    **options: Any,
) -> Settings:
    """Resolve every setting from its sources and validate it; see the module docstring."""
    cwd = (cwd or Path.cwd()).resolve()
    env = os.environ if env is None else env  # (read, never copied: a copy decodes every variable)
    unknown = sorted(set(options) - set(SPECS) - {"project"})
    if unknown:
        raise InvalidArgument(
            f"unknown option {unknown[0]!r}; known options: project, {', '.join(SPECS)}"
        )
    config_file, table = find_config(cwd)
    bad_keys = sorted(set(table) - set(SPECS) - {"url", "project"})
    if bad_keys:
        raise ConfigError(f"{config_file}: unknown setting {bad_keys[0]!r}")
    root = project_root(cwd, config_file)
    sources: dict[str, str] = {}

    def pick(name: str) -> tuple[Any, str] | None:
        if options.get(name) is not None:
            return options[name], "argument"
        for var in [f"ROOST_{name.upper()}"] + (["DATABASE_URL"] if name == "url" else []):
            if env.get(var):
                return env[var], var
        if name in table:
            return table[name], str(config_file)
        return None

    picked_url = (url, "argument") if url is not None else pick("url")
    create_dir = picked_url is None
    raw_url, url_source = picked_url or (DEFAULT_URL, "default")
    if not isinstance(raw_url, str):
        raise InvalidSetting(f"url from {url_source} must be a string")
    url_base = root if url_source in ("default", str(config_file)) else cwd
    parsed = parse_url(raw_url, base_dir=url_base)
    sources["url"] = url_source

    project_pick = pick("project")
    project, sources["project"] = project_pick or (root.name or "default", "project folder")
    if not isinstance(project, str) or not _PROJECT.match(project):
        raise InvalidSetting(
            f"project {project!r} (from {sources['project']}) must be 1 to 128 characters with no "
            "control characters"
        )

    values: dict[str, Any] = {}
    for name, spec in SPECS.items():
        var = f"ROOST_{name.upper()}"
        if options.get(name) is not None and env.get(var):  # overridden, but a bad value is still a mistake
            _coerce(name, spec, env[var], var)
        found = pick(name)
        if found is None:
            values[name] = spec.default
            continue
        raw, source = found
        sources[name] = source
        values[name] = _coerce(name, spec, raw, source)
    if values["pool_min_size"] > values["pool_max_size"]:
        raise InvalidSetting(
            f"pool_min_size = {values['pool_min_size']} must not exceed pool_max_size = "
            f"{values['pool_max_size']}"
        )
    return Settings(url=parsed, project=project, root=root, sources=sources, create_dir=create_dir, **values)


def _coerce(name: str, spec: Spec, raw: Any, source: str) -> Any:
    where = f"setting {name} = {mask(str(raw))!r} (from {source})"
    value: Any
    if spec.kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise InvalidSetting(f"{where} is not valid: allowed {spec.allowed()}")
    if spec.kind is tuple:
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise InvalidSetting(f"{where} is not valid: allowed {spec.allowed()}")
        return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))
    if spec.choices:
        value = str(raw).strip().upper()
        if value not in spec.choices:
            raise InvalidSetting(f"{where} is not valid: allowed {spec.allowed()}")
        return value
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = spec.kind(raw.strip() if isinstance(raw, str) else raw)
        if spec.kind is int and isinstance(raw, float) and raw != int(raw):
            raise ValueError
    except (TypeError, ValueError):
        kind = "a whole number" if spec.kind is int else "a number"
        raise InvalidSetting(f"{where} is not {kind}: allowed {spec.allowed()}") from None
    if value != value or (spec.low is not None and value < spec.low) or (
        spec.high is not None and value > spec.high
    ):
        raise InvalidSetting(f"{where} is out of range: allowed {spec.allowed()}")
    return value
