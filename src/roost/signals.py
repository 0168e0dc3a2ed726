"""Signals: small named values (strings or JSON) that agents set, read, compare-and-set and wait for.

Every write is one statement that returns the new version, so compare-and-set needs no read first.
A cleared signal leaves a tombstone whose version keeps counting until cleanup removes it, so a
reader's version cannot silently match a later, different value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import audit, errors
from roost._op import Op, Query, atomic, repeatable, to_datetime

if TYPE_CHECKING:
    from roost.store import Store

TTL_MAX = 365 * 86400.0
WAIT_MAX = 86400.0
LIST_MAX = 10_000


@dataclass(slots=True)
class Signal:
    key: str
    value: Any
    version: int
    critical: bool
    expires_at: datetime | None
    updated_at: datetime
    updated_by: str


_decode = v.stored_json


def _signal(row: tuple[Any, ...]) -> Signal:
    key, value, version, critical, expires_at, updated_at, updated_by = row
    return Signal(key, _decode(value), int(version), bool(critical),
                  None if expires_at is None else to_datetime(expires_at), to_datetime(updated_at), updated_by)


@repeatable
def get(project: str, key: str) -> Op[Signal | None]:
    row = (yield Query("signal_get", {"project": project, "key": key})).one()
    return None if row is None else _signal(row)


@repeatable
def listing(project: str, prefix: str, limit: int) -> Op[list[Signal]]:
    rows = (yield Query("signal_list", {"project": project, "prefix": prefix, "limit": limit})).rows
    return [_signal(r) for r in rows]


def put(params: dict[str, Any], expected: int | None) -> Op[int | None]:
    """One statement: a plain or set-if-absent upsert, or a compare-and-set update."""
    name = "signal_set" if expected is None else "signal_replace"
    version = (yield Query(name, {**params, "expected": expected})).scalar()
    return None if version is None else int(version)


def clear(params: dict[str, Any]) -> Op[int | None]:
    version = (yield Query("signal_clear", params)).scalar()
    return None if version is None else int(version)


@atomic
def privileged_write(params: dict[str, Any], expected: int | None, clearing: bool) -> Op[int | None]:
    """A write to a protected key and its audit row, in one transaction."""
    version = yield from (clear(params) if clearing else put(params, expected))
    if version is not None:
        action = "signal.clear" if clearing else "signal.set"
        yield from audit.record(params["project"], params["owner"], action, params["key"],
                                {"version": version})
    return version


class Signals:
    """``store.signals``: see the module docstring. Keys are 1 to 256 characters; values are any JSON
    (a str is stored as a JSON string) of at most 64 KiB."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _key(self, key: object) -> str:
        return v.name(key, "signal key", v.SIGNAL_KEY_MAX)

    def _guard(self, key: str, privileged: bool, verb: str) -> bool:
        protected = key in self._store.settings.protected_signals
        if protected and not privileged:
            raise errors.NotPermitted(
                f"signal {key!r} is protected: only a privileged caller (the manager or orchestrator) may "
                f"{verb} it; pass privileged=True (CLI: --privileged)"
            )
        return protected

    def set(
        self,
        key: str,
        value: Any,
        *,
        ttl: float | None = None,
        critical: bool = False,
        expected_version: int | None = None,
        if_absent: bool = False,
        privileged: bool = False,
        owner: str | None = None,
    ) -> int:
        """Set ``key`` and return its new version.

        ``expected_version=N`` sets only if the live signal is at version N; ``if_absent`` (or
        ``expected_version=0``) only if there is no live signal. Otherwise :class:`VersionConflict`.
        ``ttl`` seconds make it read as absent once passed; ``critical`` exempts it from age-based
        cleanup.
        """
        key = self._key(key)
        if expected_version is not None:
            expected_version = v.integer(expected_version, "expected_version", 0, 2**62)
            if if_absent and expected_version != 0:
                raise errors.InvalidArgument("if_absent and expected_version > 0 contradict each other")
            if expected_version == 0:
                if_absent, expected_version = True, None
        params = {
            "project": self._store.project,
            "key": key,
            "value": v.to_json(value, f"value of signal {key!r}"),
            "ttl": None if ttl is None else v.seconds(ttl, "ttl", 0.001, TTL_MAX),
            "critical": bool(critical),
            "if_absent": bool(if_absent),
            "owner": v.owner(owner),
        }
        if self._guard(key, privileged, "set"):
            version = self._store._execute(privileged_write, params, expected_version, False)
        else:
            version = self._store._execute(put, params, expected_version)
        if version is None:
            raise self._conflict(key, expected_version, if_absent)
        return version

    def _conflict(self, key: str, expected: int | None, if_absent: bool) -> errors.VersionConflict:
        current = self.get(key)
        now = f"it is at version {current.version}" if current else "it is not set"
        wanted = "to be absent" if if_absent else f"at version {expected}"
        return errors.VersionConflict(f"signal {key!r} was expected {wanted}, but {now}")

    def get(self, key: str) -> Signal | None:
        """The live signal, or None if it was never set, was cleared or has expired."""
        return self._store._execute(get, self._store.project, self._key(key))

    def delete(
        self, key: str, *, expected_version: int | None = None, privileged: bool = False, owner: str | None = None
    ) -> bool:
        """Clear ``key``; False if it was not set. With ``expected_version``, only at that version."""
        key = self._key(key)
        if expected_version is not None:
            expected_version = v.integer(expected_version, "expected_version", 1, 2**62)
        params = {"project": self._store.project, "key": key, "owner": v.owner(owner), "expected": expected_version}
        if self._guard(key, privileged, "clear"):
            version = self._store._execute(privileged_write, params, None, True)
        else:
            version = self._store._execute(clear, params)
        if version is None and expected_version is not None and self.get(key) is not None:
            raise self._conflict(key, expected_version, False)
        return version is not None

    def list(self, prefix: str = "", *, limit: int = 1000) -> list[Signal]:
        """Live signals whose key starts with ``prefix``, by key."""
        return self._store._execute(
            listing, self._store.project, v.prefix(prefix, "prefix", v.SIGNAL_KEY_MAX),
            v.integer(limit, "limit", 1, LIST_MAX),
        )

    def wait(self, key: str, timeout: float, value: Any = None) -> Signal | None:
        """Block until ``key`` is set (to ``value``, if given); the signal, or None on timeout."""
        key = self._key(key)
        timeout = v.seconds(timeout, "timeout", 0, WAIT_MAX)

        def attempt() -> Signal | None:
            found = self.get(key)
            return found if found is not None and (value is None or found.value == value) else None

        found = attempt()
        if found is not None or timeout <= 0:
            return found
        deadline = time.monotonic() + timeout
        while True:  # an outage shorter than the timeout only delays the answer
            try:
                return self._wait_subscribed(attempt, key, deadline)
            except errors.TRANSIENT:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._store._pause(min(left, 1.0))

    def _wait_subscribed(self, attempt: Callable[[], Signal | None], key: str, deadline: float) -> Signal | None:
        with self._store.events.subscribe("signal.set", refs={"key": key}, after="now", poll=0.25) as changes:
            while True:
                found = attempt()  # again now that we are subscribed, so a change just before is not missed
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                changes.get(min(left, 0.25))  # a signal.set event for the key, or a re-read anyway

    def cleanup(self, age: float | None = None) -> int:
        """Delete expired signals, and non-critical ones unchanged for ``age`` seconds (default:
        the ``signal_max_age`` setting, 24 h). Returns how many were removed."""
        from roost.maintenance import cleanup

        age = self._store.settings.signal_max_age if age is None else v.seconds(age, "age", 0, 10 * TTL_MAX)
        return cleanup.remove(self._store, "retention_signals", age=age)
