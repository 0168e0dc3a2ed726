"""Signals as tools: small shared values with versions (compare-and-set) and optional expiry."""

from dataclasses import dataclass
from typing import Annotated, Any

from roost import errors
from roost.mcp._toolbox import MAX_WAIT, Caller, Toolbox, arg
from roost.signals import Signal

tools = Toolbox("signals")



@dataclass(slots=True)
class SignalWritten:
    """The key written and the version it now has (pass it as expected_version to write it again)."""

    key: str
    version: int


Key = Annotated[str, arg("the signal's key, e.g. 'build.status'")]


@tools.tool(read_only=True)
def signal_get(caller: Caller, key: Key) -> Signal | None:
    """Read a signal: its value, version and expiry, or null when it is not set."""
    return caller.store.signals.get(key)


@tools.tool()
def signal_set(
    caller: Caller,
    key: Key,
    value: Annotated[Any, arg("the new value (any JSON)")],
    expected_version: Annotated[int | None, arg("set only if the signal is at this version (compare-and-set); "
                                                  "0 means only if it is not set")] = None,
    ttl: Annotated[float | None, arg("seconds until the signal expires; null keeps it until cleared", gt=0)] = None,
    critical: Annotated[bool, arg("mark the signal protected: later writes need a privileged server")] = False,
) -> SignalWritten:
    """Set a signal, optionally only if it is at an expected version. A version mismatch is a
    retryable conflict: read the signal again and decide."""
    version = caller.store.signals.set(key, value, ttl=ttl, critical=critical, expected_version=expected_version,
                                       privileged=caller.privileged, owner=caller.agent)
    return SignalWritten(key, version)


@tools.tool(destructive=True, idempotent=True)
def signal_clear(
    caller: Caller,
    key: Key,
    expected_version: Annotated[int | None, arg("clear only if the signal is at this version")] = None,
) -> bool:
    """Clear (delete) a signal; returns whether one was there."""
    return caller.store.signals.delete(key, expected_version=expected_version, privileged=caller.privileged,
                                       owner=caller.agent)


@tools.tool(read_only=True)
def signal_list(
    caller: Caller,
    prefix: Annotated[str, arg("only keys that start with this")] = "",
    limit: Annotated[int, arg("at most this many", ge=1, le=1000)] = 100,
) -> list[Signal]:
    """List the signals that are set, by key."""
    return caller.store.signals.list(prefix, limit=limit)


@tools.tool(read_only=True, waits=True)
def signal_wait(
    caller: Caller,
    key: Key,
    timeout: Annotated[float, arg(f"seconds to wait, at most {MAX_WAIT:g}", ge=0, le=MAX_WAIT)],
    value: Annotated[Any, arg("wait until the signal has this value; null: until it is set at all")] = None,
) -> Signal:
    """Wait until a signal is set (or has a given value). Ends with a retryable timed_out error when
    the timeout passes first."""
    found = caller.store.signals.wait(key, timeout, value)
    if found is None:
        raise errors.WaitTimeout(f"signal {key!r} did not {'reach that value' if value is not None else 'get set'} "
                                 f"within {timeout:g} s")
    return found
