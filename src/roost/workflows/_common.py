"""What the workflow modules share: names, the run and phase states, and checks of arguments.

The limits here are documented in docs/workflows.md; each check names the argument it refuses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from roost import _validate as v
from roost import errors
from roost.memory._common import text as checked_text

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,127}")
"""A workflow name or a phase id: a letter, then up to 127 letters, digits or ``_ . : -``."""
VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
"""A variable name, as prompt templates write it (``PLAN``, ``spec_text``)."""
SUBJECT_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
SUBJECT_REF_MAX = 512
ID_MAX = 2**62
VARIABLES_MAX_BYTES = 256 * 1024
TEXT_MAX_BYTES = 64 * 1024

RUN_STATES = ("pending", "running", "paused", "blocked", "completed", "failed", "cancelled")
TERMINAL = ("completed", "failed", "cancelled")
ACTIVE = ("running", "paused", "blocked")
"""States in which a run's phases may still be worked on (started only while ``running``)."""
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("running", "cancelled"),
    "running": ("paused", "blocked", "completed", "failed", "cancelled"),
    "paused": ("running", "cancelled"),
    "blocked": ("running", "completed", "failed", "cancelled"),
    "completed": (),
    "failed": (),
    "cancelled": (),
}
"""The run state machine: each state and the states it may go to."""
PHASE_STATES = ("pending", "running", "completed", "failed", "skipped")
FINISHED = ("completed", "failed", "skipped")


def name(value: object, what: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise errors.InvalidArgument(f"{what} {v.shown(value)} is not a valid name: a letter, then up to 127 "
                                     "letters, digits or _ . : -")
    return value


def var(value: object) -> str:
    if not isinstance(value, str) or not VAR.fullmatch(value):
        raise errors.InvalidArgument(f"variable name {v.shown(value)} is not valid: a letter or _, then up to 127 "
                                     "letters, digits or _")
    return value


def run_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.isdigit() and len(value) < 19:
            value = int(value)
        else:
            raise errors.InvalidArgument(f"a run id is a whole number, not {v.shown(value)}")
    return v.integer(value, "run id", 1, ID_MAX)


def status(value: object, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise errors.InvalidArgument(f"{what} must be one of {', '.join(allowed)}, not {v.shown(value)}")
    return str(value)


def variables(value: object, what: str = "variables") -> dict[str, Any]:
    """Variables: a mapping of variable names to JSON values (checked by encoding them)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise errors.InvalidArgument(f"{what} must be a mapping of names to JSON values, not {type(value).__name__}")
    out = {var(key): item for key, item in value.items()}
    v.to_json(out, what, VARIABLES_MAX_BYTES)
    return out


def subject(value: object) -> tuple[str, str]:
    """A run's subject: ``{"task": 42}``, ``{"initiative": "auth"}``, or ``"task:42"``."""
    if isinstance(value, str) and ":" in value:
        kind, _, ref = value.partition(":")
    elif isinstance(value, Mapping) and len(value) == 1:
        ((kind, ref),) = value.items()
    else:
        raise errors.InvalidArgument(f"a subject is one kind and its reference, as {{'task': 42}} or 'task:42', "
                                     f"not {v.shown(value)}")
    if not isinstance(kind, str) or not SUBJECT_KIND.fullmatch(kind):
        raise errors.InvalidArgument(f"subject kind {v.shown(kind)} is not valid: a lowercase letter, then up to 63 "
                                     "lowercase letters, digits or _")
    if isinstance(ref, bool) or not isinstance(ref, str | int):
        raise errors.InvalidArgument(f"a subject reference is a string or a whole number, not {v.shown(ref)}")
    return kind, v.name(str(ref), "subject reference", SUBJECT_REF_MAX)


def text(value: object, what: str, max_bytes: int = TEXT_MAX_BYTES) -> str | None:
    return None if value is None else checked_text(value, what, max_bytes)


def who(value: object, what: str) -> str:
    """An executor, reviewer or decider: given, else ROOST_AGENT, else host:pid."""
    return v.name(v.default_owner() if value is None else value, what, v.OWNER_MAX)


def gate_state(gate: str, latest: bool | None) -> str:
    """A phase's gate state: ``auto`` for an automatic gate, else from ``latest``, the latest
    decision on the phase's current iteration (None: there is none yet)."""
    if gate == "auto":
        return "auto"
    return "pending" if latest is None else ("approved" if latest else "rejected")


def not_found(project: str, run: int) -> errors.RunNotFound:
    return errors.RunNotFound(f"no run {run} in project {project!r}")
