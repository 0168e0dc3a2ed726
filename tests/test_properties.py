"""Property tests of the Python API (signals, locks, tasks, events) on memory://: whatever the
input, a call either succeeds and what it stored reads back exactly, or it raises a RoostError
subclass, never another exception type, and a refused call changes nothing."""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

import roost
from roost import errors

T = TypeVar("T")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_counter = itertools.count()

# JSON as Python holds it after a round trip: string keys, lists (not tuples), finite floats.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25,
)


def nested(levels: int, inner: Any) -> Any:
    value = inner
    for i in range(levels - 1):
        value = [value] if i % 2 else {"k": value}
    return value


# Anything a caller might pass by mistake, besides good values: deep nesting and keys that are not
# strings among them (JSON would silently turn 1 and None into "1" and "null").
junk = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300) | st.binary(max_size=10)
        | st.lists(st.integers(), max_size=3) | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
        | st.builds(nested, st.integers(65, 1500), st.integers())
        | st.dictionaries(st.integers() | st.none() | st.floats(allow_nan=False), st.integers(), min_size=1, max_size=3)
        | st.lists(st.dictionaries(st.booleans(), st.text(max_size=3), min_size=1), min_size=1, max_size=2))


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = junk) -> st.SearchStrategy[Any]:
    """``good`` four times in five, else ``bad``: every argument is fuzzed, but most calls get far."""
    return st.integers(0, 4).flatmap(lambda i: bad if i == 0 else good)


printable = st.characters(exclude_categories=("Cc", "Cs"))
good_names = st.text(printable, min_size=1, max_size=40).map(str.strip).filter(bool)
names = mostly(good_names, st.text(max_size=300) | junk)
durations = mostly(st.floats(0.05, 3600) | st.integers(1, 3600), st.floats() | st.integers(-10, 10**9) | junk)
values = mostly(json_values)


@pytest.fixture(scope="module")
def store() -> Iterator[roost.Store]:
    with roost.connect(f"memory://prop-{uuid.uuid4().hex[:8]}", project="props") as s:
        yield s


def unique(base: Any) -> Any:
    """Keep each example's records apart: a valid string name gets a fresh suffix."""
    return f"{base}-{next(_counter)}" if isinstance(base, str) and base.strip() == base and base else base


def attempt(call: Callable[[], T]) -> tuple[bool, T | None]:
    """Run ``call``; a RoostError is an allowed answer (False), anything else fails the property."""
    try:
        return True, call()
    except errors.RoostError:
        return False, None


def same(a: Any, b: Any) -> bool:
    """Exact equality for JSON values, where -0.0 and 0.0 and 1 and 1.0 count as different."""
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@SETTINGS
@given(key=names, value=values, ttl=st.none() | durations, critical=mostly(st.booleans()))
def test_signals_round_trip_or_refuse(store, key, value, ttl, critical):
    key = unique(key)
    ok, version = attempt(lambda: store.signals.set(key, value, ttl=ttl, critical=critical))
    note(f"stored: {ok}")
    if ok:
        got = store.signals.get(key)
        assert got is not None and same(got.value, value) and got.version == version
        assert attempt(lambda: store.signals.delete(key))[0]
    elif isinstance(key, str):
        assert attempt(lambda: store.signals.get(key))[1] is None  # a refused set stored nothing


@SETTINGS
@given(name=names, owner=st.none() | names, ttl=durations, mode=mostly(st.sampled_from(["exclusive", "shared"])),
       wait=mostly(st.floats(0, 0.01)))
def test_locks_acquire_and_release_or_refuse(store, name, owner, ttl, mode, wait):
    name = unique(name)
    ok, lease = attempt(lambda: store.locks.acquire(name, owner=owner, ttl=ttl, mode=mode, wait=wait))
    note(f"acquired: {ok and lease is not None}")
    if ok and lease is not None:
        assert lease.name == name and lease.token >= 1
        assert attempt(lambda: store.locks.release(lease))[0]
        assert not any(held.name == name for held in store.locks.list())


@SETTINGS
@given(kind=names, payload=values, priority=mostly(st.integers(-1000, 1000), st.integers() | junk),
       attempts=mostly(st.integers(1, 100), st.integers() | junk), result=values)
def test_tasks_round_trip_or_refuse(store, kind, payload, priority, attempts, result):
    queue = f"q{next(_counter)}"
    ok, task_id = attempt(lambda: store.tasks.enqueue(kind, payload, queue=queue, priority=priority,
                                                      max_attempts=attempts))
    note(f"enqueued: {ok}")
    if not ok:
        assert store.tasks.list(queue=queue) == []
        return
    assert task_id is not None
    task = store.tasks.get(task_id)
    assert task is not None and task.kind == kind and same(task.payload, payload)
    claims = store.tasks.claim("prop-agent", queues=[queue])
    assert [c.id for c in claims] == [task_id] and same(claims[0].payload, payload)
    token = claims[0].token
    ok, _ = attempt(lambda: store.tasks.complete(token, result))
    note(f"completed: {ok}")
    task = store.tasks.get(task_id)
    assert task is not None
    if ok:
        assert task.status == "done" and same(task.result, result)
        store.tasks.complete(token, result)  # repeated: the same ending, a success
    else:
        assert task.status == "running"
        store.tasks.release(token)


@SETTINGS
@given(topic=mostly(st.from_regex(r"[a-z]{1,8}(\.[a-z0-9_-]{1,8}){0,3}", fullmatch=True), names),
       payload=values,
       refs=st.none() | mostly(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True),
                                               st.integers(0, 10**6) | st.text(max_size=5), max_size=3),
                               st.dictionaries(st.text(max_size=8), junk, max_size=3) | junk),
       dedupe=st.none() | names)
def test_events_round_trip_or_refuse(store, topic, payload, refs, dedupe):
    dedupe = unique(dedupe)
    head = store.events.resolve("now")
    ok, event = attempt(lambda: store.events.publish(topic, payload, refs=refs, dedupe_key=dedupe))
    after = store.events.query(after=head, limit=10)
    # (built-in events set aside; the published topic may itself look like one, such as "lock.0")
    after = [e for e in after if e.topic == topic or not e.topic.startswith(("task.", "signal.", "lock."))]
    note(f"published: {ok}")
    if not ok:
        assert after == []
        return
    assert event is not None and after == [event]
    assert event.topic == topic and same(event.payload, payload) and event.refs == dict(refs or {})
