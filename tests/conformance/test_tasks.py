"""The task queue on every backend: order, dependencies, leases, retries, cancel, release, bad input."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

import roost
from roost import errors
from roost.tasks import TaskSpec


def _kinds(claims):
    return [c.kind for c in claims]


def test_priority_then_age(url):
    with roost.connect(url) as store:
        store.tasks.enqueue("low-1", priority=-5)
        store.tasks.enqueue("mid-1")
        store.tasks.enqueue("high", priority=10)
        store.tasks.enqueue("mid-2")
        assert _kinds(store.tasks.claim("w", n=3)) == ["high", "mid-1", "mid-2"]
        assert _kinds(store.tasks.claim("w", n=3)) == ["low-1"]
        assert store.tasks.claim("w") == []


def test_dependencies_wait_until_done(url):
    with roost.connect(url) as store:
        design = store.tasks.enqueue("design")
        build = store.tasks.enqueue("build", depends_on=[design], priority=100)
        assert _kinds(store.tasks.claim("w", n=5)) == ["design"]
        assert store.tasks.claim("w") == []
        got = store.tasks.get(build)
        assert got is not None and got.depends_on == [design] and got.blocked_by == 1
        claimed = store.tasks.list(status="running")
        store.tasks.complete(claimed[0].token or 0, {"spec": "ok"})
        assert _kinds(store.tasks.claim("w")) == ["build"]
        assert store.tasks.get(design).result == {"spec": "ok"}  # type: ignore[union-attr]


def test_enqueue_many_with_refs_is_all_or_nothing(url):
    with roost.connect(url) as store:
        ids = store.tasks.enqueue_many([
            TaskSpec("test", depends_on=["impl"], ref="test"),
            TaskSpec("impl", ref="impl"),
            {"kind": "review", "depends_on": ["test", "impl"]},
        ])
        assert len(set(ids)) == 3
        assert store.tasks.get(ids[2]).depends_on == sorted(ids[:2])  # type: ignore[union-attr]
        with pytest.raises(errors.InvalidArgument, match="dependency cycle"):
            store.tasks.enqueue_many([TaskSpec("a", depends_on=["b"], ref="a"),
                                      TaskSpec("b", depends_on=["a"], ref="b")])
        with pytest.raises(errors.InvalidArgument, match="does not exist"):
            store.tasks.enqueue_many([TaskSpec("ok"), TaskSpec("bad", depends_on=[999_999])])
        with pytest.raises(errors.InvalidArgument, match="no task of the batch"):
            store.tasks.enqueue_many([TaskSpec("bad", depends_on=["nobody"])])
        assert len(store.tasks.list()) == 3  # nothing of the refused batches was stored


def test_run_after_and_targets(url):
    with roost.connect(url) as store:
        store.tasks.enqueue("later", run_after=0.4)
        store.tasks.enqueue("for-qa", target="qa-1")
        store.tasks.enqueue("needs-gpu", capability="gpu")
        store.tasks.enqueue("other-queue", queue="reviews")
        assert store.tasks.claim("coder", n=10) == []
        assert _kinds(store.tasks.claim("qa-1", n=10)) == ["for-qa"]
        assert _kinds(store.tasks.claim("coder", capabilities=["gpu"], n=10)) == ["needs-gpu"]
        assert _kinds(store.tasks.claim("coder", queues=["reviews"], n=10)) == ["other-queue"]
        time.sleep(0.5)
        assert _kinds(store.tasks.claim("coder", n=10)) == ["later"]


def test_idempotency_key(url):
    with roost.connect(url) as store:
        first = store.tasks.enqueue("deploy", {"v": 1}, idempotency_key="deploy-v1")
        again = store.tasks.enqueue("deploy", {"v": 1}, idempotency_key="deploy-v1")
        assert first == again and len(store.tasks.list()) == 1


def test_retry_backoff_then_dead_cancels_dependents(url):
    with roost.connect(url) as store:
        flaky = store.tasks.enqueue("flaky", max_attempts=2)
        after = store.tasks.enqueue("after", depends_on=[flaky])
        claim = store.tasks.claim("w")[0]
        assert store.tasks.fail(claim.token, "boom", backoff=0.3) == "failed"
        assert store.tasks.claim("w") == []  # backing off
        time.sleep(0.4)
        second = store.tasks.claim("w")
        assert [c.attempts for c in second] == [2]
        assert store.tasks.fail(second[0].token, "boom again") == "dead"
        dead, dependent = store.tasks.get(flaky), store.tasks.get(after)
        assert dead is not None and dead.status == "dead" and dead.error == "boom again"
        assert dependent is not None and dependent.status == "cancelled"
        assert [r.outcome for r in store.tasks.history(flaky)] == ["failed", "failed"]
        with pytest.raises(errors.InvalidArgument, match="dead and will never be done"):
            store.tasks.enqueue("too-late", depends_on=[flaky])
        no_retry = store.tasks.enqueue("no-retry")
        assert store.tasks.fail(store.tasks.claim("w")[0].token, "fatal", retry=False) == "dead"
        assert store.tasks.get(no_retry).status == "dead"  # type: ignore[union-attr]


def test_expired_lease_is_reclaimed_and_the_old_token_refused(url):
    with roost.connect(url) as store:
        task = store.tasks.enqueue("slow")
        old = store.tasks.claim("w1", lease=1)[0]
        assert store.tasks.claim("w2") == []
        time.sleep(1.2)
        new = store.tasks.claim("w2")
        assert [c.id for c in new] == [task] and new[0].attempts == 2 and new[0].token > old.token
        for call in (lambda: store.tasks.complete(old.token), lambda: store.tasks.heartbeat(old.token),
                     lambda: store.tasks.fail(old.token, "late")):
            with pytest.raises(errors.LeaseLost, match="expired and the task was reclaimed"):
                call()
        store.tasks.complete(new[0].token, "ok")
        runs = store.tasks.history(task)
        assert [(r.agent, r.outcome) for r in runs] == [("w1", "expired"), ("w2", "done")]


def test_heartbeat_extends_until_the_timeout(url):
    with roost.connect(url) as store:
        store.tasks.enqueue("capped", timeout=2)
        claim = store.tasks.claim("w", lease=1)[0]
        first = claim.lease_expires_at
        time.sleep(0.3)
        assert store.tasks.heartbeat(claim.token) > first
        extended = store.tasks.heartbeat(claim.token, lease=60)
        assert (extended - store.now()).total_seconds() <= 2  # never past claimed_at + timeout


def test_release_cancel_and_unknown(url):
    with roost.connect(url) as store:
        a = store.tasks.enqueue("a")
        claim = store.tasks.claim("w")[0]
        store.tasks.release(claim.token)
        got = store.tasks.get(a)
        assert got is not None and got.status == "pending" and got.attempts == 0
        store.tasks.release(claim.token)  # repeated: the same ending, so a success that changes nothing
        with pytest.raises(errors.LeaseLost, match="released"):
            store.tasks.complete(claim.token)  # another ending for that claim is refused
        running = store.tasks.claim("w")[0]
        assert store.tasks.cancel(a, "not needed") is True
        with pytest.raises(errors.LeaseLost, match="cancelled"):
            store.tasks.complete(running.token)
        assert store.tasks.cancel(a) is False
        with pytest.raises(errors.NotFound):
            store.tasks.cancel(424242)
        with pytest.raises(errors.NotFound, match="no claim ever"):
            store.tasks.complete(987654)
        assert store.tasks.get(424242) is None


def test_stats_list_and_cleanup(url):
    with roost.connect(url) as store:
        for i in range(3):
            store.tasks.enqueue(f"t{i}")
        store.tasks.enqueue("r", queue="reviews")
        store.tasks.enqueue("blocked", depends_on=[store.tasks.enqueue("first", queue="reviews")], queue="reviews")
        done = store.tasks.claim("w")[0]
        store.tasks.complete(done.token)
        store.tasks.claim("w")
        stats = {s.queue: s for s in store.tasks.stats()}
        assert (stats["default"].pending, stats["default"].running, stats["default"].done) == (1, 1, 1)
        assert (stats["reviews"].pending, stats["reviews"].ready) == (3, 2)
        assert [t.kind for t in store.tasks.list(queue="reviews")] == ["r", "first", "blocked"]
        page = store.tasks.list(limit=2)
        assert len(page) == 2 and store.tasks.list(after=page[-1].id, limit=10)[0].id > page[-1].id
        assert [t.claimed_by for t in store.tasks.list(agent="w")] == ["w", "w"]
        assert store.tasks.cleanup(age=3600) == 0
        assert store.tasks.cleanup(age=0) == 1
        assert store.tasks.get(done.id) is None


def test_bad_input_changes_nothing(url):
    with roost.connect(url) as store:
        cases = [
            (dict(kind=""), "kind"), (dict(kind="k", priority=1001), "priority"),
            (dict(kind="k", priority=-1001), "priority"), (dict(kind="k", priority=1.5), "priority"),
            (dict(kind="k", payload=object()), "payload cannot be stored as JSON"),
            (dict(kind="k", payload="x" * (1024 * 1024 + 1)), "payload is"),
            (dict(kind="k", max_attempts=0), "max_attempts"), (dict(kind="k", timeout=0), "timeout"),
            (dict(kind="k", run_after=-1), "run_after"), (dict(kind="k", depends_on="12"), "depends_on"),
            (dict(kind="k", depends_on=[0]), "depends_on id"), (dict(kind="k", queue="q\n"), "queue"),
            (dict(kind="k", idempotency_key=""), "idempotency_key"),
        ]
        for kwargs, message in cases:
            with pytest.raises(errors.InvalidArgument, match=message):
                store.tasks.enqueue(**kwargs)  # type: ignore[arg-type]
        for kwargs, message in [(dict(n=0), "n = 0"), (dict(lease=0.1), "lease"), (dict(lease=10**7), "lease"),
                                (dict(queues=[]), "at least one queue"), (dict(queues="default"), "lists")]:
            with pytest.raises(errors.InvalidArgument, match=message):
                store.tasks.claim("w", **kwargs)  # type: ignore[arg-type]
        for bad in (0, -1, "7", None):
            with pytest.raises(errors.InvalidArgument, match="token"):
                store.tasks.complete(bad)  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidArgument, match="status"):
            store.tasks.list(status="weird")
        assert store.tasks.list() == [] and store.tasks.stats() == []


def test_a_repeated_settle_succeeds_and_another_ending_is_a_lost_lease(url):
    """A settle repeated with the same token and the same outcome (say after a lost answer) is a
    success that changes nothing; a different ending, or another claim's token, is a lost lease."""
    with roost.connect(url) as store:
        done_id, failed_id, dead_id = (store.tasks.enqueue(k, max_attempts=2) for k in ("done", "failed", "dead"))
        claims = {c.id: c for c in store.tasks.claim("w", n=3)}
        done, failed, dead = claims[done_id], claims[failed_id], claims[dead_id]
        store.tasks.complete(done.token, {"files": 3})
        store.tasks.complete(done.token, {"files": 3})
        assert [r.outcome for r in store.tasks.history(done_id)] == ["done"]
        assert _result(store, done_id) == {"files": 3}
        with pytest.raises(errors.LeaseLost, match="another result"):
            store.tasks.complete(done.token, {"files": 4})
        with pytest.raises(errors.LeaseLost, match="done"):
            store.tasks.fail(done.token, "late")
        with pytest.raises(errors.LeaseLost, match="done"):
            store.tasks.release(done.token)
        assert _result(store, done_id) == {"files": 3}

        assert store.tasks.fail(failed.token, "flaky", backoff=0) == "failed"
        assert store.tasks.fail(failed.token, "flaky", backoff=0) == "failed"
        with pytest.raises(errors.LeaseLost, match="another error"):
            store.tasks.fail(failed.token, "something else")
        again = store.tasks.claim("w")[0]
        assert again.id == failed_id and again.attempts == 2
        assert store.tasks.fail(failed.token, "flaky") == "failed"  # still that claim's own ending
        with pytest.raises(errors.LeaseLost, match="claimed again"):
            store.tasks.complete(failed.token)

        assert store.tasks.fail(dead.token, "broken", retry=False) == "dead"
        assert store.tasks.fail(dead.token, "broken", retry=False) == "dead"
        assert [r.outcome for r in store.tasks.history(dead_id)] == ["failed"]
        assert [r.outcome for r in store.tasks.history(failed_id)] == ["failed", None]


def _result(store, task_id):
    task = store.tasks.get(task_id)
    assert task is not None
    return task.result


def test_complete_many_settles_a_batch_as_single_completions_would(url):
    with roost.connect(url) as store:
        a, b, c = (store.tasks.enqueue(k) for k in ("a", "b", "c"))
        both = store.tasks.enqueue("both", depends_on=[a, b])  # both of its dependencies end in one batch
        after_c = store.tasks.enqueue("after-c", depends_on=[c])
        claims = {x.kind: x for x in store.tasks.claim("w", n=10)}
        assert set(claims) == {"a", "b", "c"}
        before = len(store.events.query(topics="task.completed"))
        outcome = store.tasks.complete_many({claims[k].token: {"k": k} for k in ("a", "b", "c")})
        assert outcome == [True, True, True]
        for k, task_id in (("a", a), ("b", b), ("c", c)):
            assert _result(store, task_id) == {"k": k}
            assert [r.outcome for r in store.tasks.history(task_id)] == ["done"]
        assert store.tasks.get(both).blocked_by == 0 and store.tasks.get(after_c).blocked_by == 0  # type: ignore[union-attr]
        assert sorted(x.kind for x in store.tasks.claim("w", n=10)) == ["after-c", "both"]
        assert len(store.events.query(topics="task.completed")) == before + 3

        # repeated (after a lost answer, say): a success that changes nothing
        assert store.tasks.complete_many([(claims[k].token, {"k": k}) for k in ("a", "b", "c")]) == [True] * 3
        assert len(store.events.query(topics="task.completed")) == before + 3
        assert [r.outcome for r in store.tasks.history(a)] == ["done"]
        assert store.tasks.complete_many([]) == []


def test_complete_many_reports_lost_leases_and_completes_the_rest(url):
    with roost.connect(url) as store:
        first, second, third = (store.tasks.enqueue(k) for k in ("first", "second", "third"))
        claims = {x.id: x for x in store.tasks.claim("w", n=3)}
        store.tasks.complete(claims[first].token, "earlier")
        store.tasks.release(claims[third].token)
        outcome = store.tasks.complete_many([(claims[first].token, "another result"), (claims[second].token, 2),
                                             (claims[third].token, 3), (987_654, 4)])
        assert outcome == [False, True, False, False]
        assert _result(store, first) == "earlier" and _result(store, second) == 2
        assert store.tasks.get(third).status == "pending"  # type: ignore[union-attr]


@pytest.mark.parametrize(("items", "message"), [
    ([(0, None)], "token"), ([("7", None)], "token"), ([(1, None), (1, None)], "given twice"),
    ([(1,)], "pair"), ([[1, None]], "pair"), ([5], "pair"), ([(10**9, object())], "result cannot be stored"),
    ([(10**9, "x" * (1024 * 1024 + 1))], "result is"), ([(i, None) for i in range(2, 10_003)], "at most 10,000"),
])
def test_complete_many_refuses_bad_input_and_changes_nothing(url, items, message):
    with roost.connect(url) as store:
        task_id = store.tasks.enqueue("k")
        claim = store.tasks.claim("w")[0]
        with pytest.raises(errors.InvalidArgument, match=message):
            store.tasks.complete_many([(claim.token, "ok"), *items])
        assert store.tasks.get(task_id).status == "running"  # type: ignore[union-attr]


def test_a_plain_batch_is_stored_field_by_field_in_order(url):
    """A batch with no dependencies and no idempotency keys is written with one statement: every
    field still lands on its own task, ids follow the batch's order, each task has its event."""
    with roost.connect(url) as store:
        specs = [TaskSpec(f"k{i}", {"i": i, "s": "naïve"} if i % 2 else f"text {i}", queue="q" if i % 3 else "default",
                          target="me" if i == 2 else None, capability="py" if i == 3 else None, priority=i - 5,
                          run_after=3600 if i == 4 else None, max_attempts=i + 1, timeout=30.0 if i == 5 else None)
                 for i in range(8)]
        ids = store.tasks.enqueue_many(specs)
        assert ids == sorted(ids) and len(set(ids)) == 8
        for spec, task_id in zip(specs, ids, strict=True):
            task = store.tasks.get(task_id)
            assert task is not None
            assert (task.kind, task.payload, task.queue, task.target, task.capability, task.priority,
                    task.max_attempts, task.timeout) == (spec.kind, spec.payload, spec.queue, spec.target,
                                                         spec.capability, spec.priority, spec.max_attempts,
                                                         spec.timeout)
        assert store.tasks.get(ids[4]).run_after > store.now() + timedelta(minutes=59)  # type: ignore[union-attr]
        enqueued = store.events.query("task.enqueued")
        assert [e.payload["id"] for e in enqueued] == ids
