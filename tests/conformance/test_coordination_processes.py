"""Coordination across real processes: lock exclusion with fencing, a SIGKILLed holder, CAS counters."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import signal
import time

import pytest

import roost
from roost import errors
from tests.helpers import LOCK, CheckTable, cas_increments, hold_and_hang, lock_cycles, run_processes

PROCESSES = 8


def test_exclusive_lock_never_has_two_holders(shared_url):
    cycles = 500
    with roost.connect(shared_url):
        pass  # create the schema once, before the children race
    check = CheckTable(shared_url)
    check.create()
    try:
        results = run_processes(lock_cycles, [(shared_url, cycles)] * PROCESSES, timeout=600)
        assert all(r[0] == "ok" for r in results), results
        assert sum(r[1] for r in results) == 0, "two holders overlapped, or a stale token was accepted"
        tokens = [row[0] for row in check.run("SELECT token FROM fence_log ORDER BY seq").fetchall()]
        assert len(tokens) == PROCESSES * cycles
        assert all(a < b for a, b in itertools.pairwise(tokens)), "tokens did not strictly increase"
        assert check.run("SELECT busy FROM fence").fetchone()[0] == 0
    finally:
        check.close()
    with roost.connect(shared_url) as store:
        assert store.locks.list() == []


def test_killed_holder_frees_the_lock_after_its_ttl_and_not_before(shared_url):
    ttl = 2.0
    with roost.connect(shared_url) as store:
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        child = ctx.Process(target=hold_and_hang, args=(shared_url, ttl, out))
        child.start()
        try:
            dead_token, dead_expires = out.get(timeout=60)
        finally:
            os.kill(child.pid or 0, signal.SIGKILL)
            child.join(timeout=30)
        assert child.exitcode == -signal.SIGKILL
        early = store.locks.acquire(LOCK, owner="survivor")
        assert early is None or store.now().timestamp() >= dead_expires
        assert store.now().timestamp() < dead_expires, "the test machine was too slow to check 'not before'"
        taker = store.locks.acquire(LOCK, owner="survivor", wait=ttl + 10)
        assert taker is not None
        assert taker.acquired_at.timestamp() >= dead_expires  # not before the dead lease ran out
        assert taker.token > dead_token
        for call in (lambda: store.locks.renew(LOCK, dead_token), lambda: store.locks.release(LOCK, dead_token)):
            with pytest.raises(errors.LeaseLost):
                call()
        assert [(h.owner, h.token) for h in store.locks.list()] == [("survivor", taker.token)]


def test_compare_and_set_counter_loses_no_increment(shared_url):
    per_process = 60
    with roost.connect(shared_url):
        pass
    started = time.monotonic()
    results = run_processes(cas_increments, [(shared_url, per_process)] * PROCESSES, timeout=600)
    assert all(r[0] == "ok" for r in results), results
    with roost.connect(shared_url) as store:
        counter = store.signals.get("counter")
    assert counter is not None
    assert counter.value == PROCESSES * per_process
    assert counter.version == PROCESSES * per_process
    assert time.monotonic() - started < 600
