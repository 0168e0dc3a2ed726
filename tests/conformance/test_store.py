"""The Store on every backend: opening, the project scope, reads, transactions, diagnostics."""

from __future__ import annotations

import asyncio
import threading

import pytest

import roost
from roost import diagnostics, errors


def test_open_registers_project_and_reads_it(url):
    with roost.connect(url, project="alpha") as store:
        project = store.get_project()
        assert project is not None and project.name == "alpha"
        assert store.project == "alpha"
        assert store.backend in ("sqlite", "postgresql")
        first = project.created_at
    with roost.connect(url, project="alpha") as store:
        again = store.get_project()
        assert again is not None and again.created_at == first  # registered once, not re-created


def test_projects_do_not_see_each_other(url):
    with roost.connect(url, project="a") as a, roost.connect(url, project="b") as b:
        assert a._execute(diagnostics.project_get, "a") is not None
        project_b = b.get_project()
        assert project_b is not None and project_b.name == "b"


def test_info_reports_schema_and_sizes(url):
    with roost.connect(url, project="p") as store:
        info = store.info()
    assert info.schema_version == info.schema_latest >= 1
    assert info.project == "p"
    assert info.sizes and all(isinstance(v, int) and v >= 0 for v in info.sizes.values())


def test_doctor_is_green(url):
    with roost.connect(url) as store:
        checks = store.doctor()
    names = {c.name for c in checks}
    assert {"connect", "clock skew", "migrations"} <= names
    bad = [c for c in checks if c.level == "fail"]
    assert not bad, bad
    if store.backend == "sqlite" and not url.startswith("memory"):
        assert {c.name: c.value for c in checks}["journal_mode"] == "wal"
    if store.backend == "postgresql":
        assert any(c.name == "extension pg_trgm" for c in checks)


def test_now_is_the_database_clock(url):
    with roost.connect(url) as store:
        skew = abs(store.now().timestamp() - __import__("time").time())
    assert skew < 5


def _has(store, name):
    return store._execute(diagnostics.project_get, name) is not None


def test_transaction_commits_and_rolls_back(url):
    with roost.connect(url) as store:
        with store.transaction():
            store._execute(diagnostics.project_ensure, "kept")
        with pytest.raises(RuntimeError), store.transaction():
            store._execute(diagnostics.project_ensure, "dropped")
            assert _has(store, "dropped")  # visible inside its own transaction
            raise RuntimeError("boom")
        assert _has(store, "kept")
        assert not _has(store, "dropped")


def test_nested_transaction_is_a_savepoint(url):
    with roost.connect(url) as store:
        with store.transaction():
            store._execute(diagnostics.project_ensure, "outer")
            with pytest.raises(ValueError), store.transaction():
                store._execute(diagnostics.project_ensure, "inner")
                raise ValueError
            with store.transaction():
                store._execute(diagnostics.project_ensure, "inner2")
        assert _has(store, "outer") and _has(store, "inner2")
        assert not _has(store, "inner")


def test_uncommitted_work_is_invisible_to_other_stores(shared_url):
    with roost.connect(shared_url) as writer, roost.connect(shared_url) as reader:
        seen: list[bool] = []
        with writer.transaction():
            writer._execute(diagnostics.project_ensure, "pending")
            t = threading.Thread(target=lambda: seen.append(_has(reader, "pending")))
            t.start()
            t.join(timeout=20)
        assert seen == [False]
        assert _has(reader, "pending")


def test_closed_store_refuses_work(url):
    store = roost.connect(url)
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(errors.StoreClosed):
        store.get_project()
    with pytest.raises(errors.StoreClosed), store.transaction():
        pass


def test_repr_masks_password(url):
    with roost.connect(url) as store:
        assert store.url in repr(store) and store.project in repr(store)
    settings = roost.config.resolve("postgresql://bob:s3cret@127.0.0.1:5432/x")
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(settings.url)


def test_listener_wakes_on_notify_and_times_out(url):
    with roost.connect(url) as store:
        listener = store.listener(["roost_test"])
        try:
            assert listener.wait(0.05) is False

            def poke():
                store.notify("roost_test", "hello")  # the wake-up on PostgreSQL
                store._execute(diagnostics.project_ensure, "wake")  # a commit wakes SQLite

            timer = threading.Timer(0.1, poke)
            timer.start()
            assert listener.wait(5) is True
            timer.join()
        finally:
            listener.close()


def test_async_store(url):
    async def main():
        async with roost.connect_async(url, project="async") as store:
            project = await store.get_project()
            assert project is not None and project.name == "async"
            with pytest.raises(KeyError):
                async with store.transaction():
                    await store._call(store.sync._execute, diagnostics.project_ensure, "a-rolled")
                    raise KeyError
            async with store.transaction():
                await store._call(store.sync._execute, diagnostics.project_ensure, "a-kept")
            assert (await store.info()).schema_version >= 1
            assert [c for c in await store.doctor() if c.level == "fail"] == []
            return store.sync
        return None

    sync = asyncio.run(main())
    with roost.connect(url) as store:
        assert _has(store, "a-kept") and not _has(store, "a-rolled")
    assert sync is not None and sync._closed


def test_async_transaction_spans_calls(url):
    """Operations awaited inside `async with store.transaction()` join that transaction."""

    async def main():
        store = await roost.connect_async(url)
        try:
            with pytest.raises(RuntimeError):
                async with store.transaction():
                    await store._call(store.sync._execute, diagnostics.project_ensure, "inside")
                    assert await store._call(_has, store.sync, "inside")
                    raise RuntimeError
            assert not await store._call(_has, store.sync, "inside")
        finally:
            await store.close()

    asyncio.run(main())
