"""``RoostSaver``: LangGraph's checkpointer (``BaseCheckpointSaver``) on a roost store.

Sync methods run on the store as any roost call does (a pooled connection each, no lock of the
saver's own: concurrent calls run in parallel). Async methods are native where the store has an
async face (:func:`roost.connect_async`, or a :class:`~roost.AsyncStore` passed in): on PostgreSQL
they await psycopg's async pool and hold no thread; on SQLite they run on the face's executor.
Given only a sync store, they run the sync method on a worker thread.

Values go through LangGraph's serializer (``self.serde``), so whatever a graph can checkpoint
with LangGraph's own savers it can checkpoint here. See docs/langgraph.md.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from roost import errors
from roost.integrations.langgraph import checkpoints as ops
from roost.integrations.langgraph._on_roost import OnRoost
from roost.integrations.langgraph.checkpoints import CURSOR_START, Loaded, Row

if TYPE_CHECKING:
    from roost._async import AsyncStore
    from roost.store import Store


PAGE = 200
"""Checkpoints read per statement when listing with a filter or without a limit."""

PRUNE_STRATEGIES = ("keep_latest", "delete")

_Tuples = list[CheckpointTuple]
"""(Spelled here: inside the class, ``list`` is the saver's method.)"""


class MissingThreadId(errors.InvalidArgument, KeyError):
    """The config has no ``configurable.thread_id``.

    A KeyError too, as LangGraph's own savers raise for it, so code written for them still
    catches it; its message says which key is missing."""

    def __str__(self) -> str:
        return self.message


def _configurable(config: RunnableConfig | None) -> dict[str, Any]:
    found = (config or {}).get("configurable")
    return found if isinstance(found, dict) else {}


def _thread(config: RunnableConfig) -> str:
    thread = _configurable(config).get("thread_id")
    if thread is None:
        raise MissingThreadId("the config has no configurable.thread_id: each checkpoint belongs to a thread "
                              '(pass {"configurable": {"thread_id": ...}})')
    return str(thread)


def _config(thread: str, ns: str, id_: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": id_}}


class RoostSaver(OnRoost, BaseCheckpointSaver[str]):
    """A LangGraph checkpointer storing in roost (SQLite or PostgreSQL), in ``store``'s project.

    ``RoostSaver(store)`` with a :class:`~roost.Store` or an :class:`~roost.AsyncStore`;
    ``serde`` is LangGraph's serializer protocol (its JsonPlusSerializer by default)."""

    def __init__(self, store: Store | AsyncStore, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self._attach(store)
        self._one = self._store.capabilities.remote

    # -- loading --------------------------------------------------------------------------

    def _tuple(self, loaded: Loaded) -> CheckpointTuple:
        row, loads = loaded.row, self.serde.loads_typed
        checkpoint: Checkpoint = loads((row.type, row.checkpoint))
        checkpoint["channel_versions"] = {**loaded.versions, **(checkpoint.get("channel_versions") or {})}
        inline = checkpoint.get("channel_values") or {}
        checkpoint["channel_values"] = {**{channel: loads((type_, blob or b"")) for channel, type_, blob
                                           in loaded.values if type_ != "empty"}, **inline}
        return CheckpointTuple(
            config=_config(row.thread, row.ns, row.id),
            checkpoint=checkpoint,
            metadata=ops.decode(row.metadata),
            parent_config=_config(row.thread, row.ns, row.parent) if row.parent else None,
            pending_writes=[(task, channel, loads((type_, blob))) for task, channel, type_, blob in loaded.writes],
        )

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (``checkpoint_id``) or, without one, the thread's newest
        in its namespace, with its channel values and pending writes; None when there is none."""
        conf = _configurable(config)
        params = {"project": self._store.project, "thread": _thread(config), "ns": str(conf.get("checkpoint_ns", "")),
                  "id": conf.get("checkpoint_id")}
        loaded = self._store._execute(ops.get, params, self._one)
        return None if loaded is None else self._tuple(loaded)

    def list(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
             before: RunnableConfig | None = None, limit: int | None = None) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first: of ``config``'s thread (and its namespace, when the config
        names one; every thread when ``config`` is None), whose metadata has each key of
        ``filter`` equal, older than ``before``'s checkpoint, at most ``limit``. Read a page at a
        time: each page is three statements, whatever its size."""
        state = self._list_start(config, before, filter, limit)
        while state is not None:
            found, state = self._list_page(state)
            yield from found

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
                    before: RunnableConfig | None = None, limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        state = self._list_start(config, before, filter, limit)
        while state is not None:
            found, state = await self._run(self._list_page, state)
            for item in found:
                yield item

    def _list_start(self, config: RunnableConfig | None, before: RunnableConfig | None,
                    filter_: dict[str, Any] | None, limit: int | None) -> dict[str, Any] | None:
        if limit is not None and limit <= 0:
            return None
        conf = _configurable(config)
        cursor = CURSOR_START
        if before is not None and (before_id := _configurable(before).get("checkpoint_id")):
            cursor = str(before_id)
        state: dict[str, Any] = {"filter": dict(filter_) if filter_ else None, "left": limit, "cursor": cursor,
                                 "cursor_thread": "", "cursor_ns": "", "only": conf.get("checkpoint_id")}
        if config is None:
            state["name"] = "lg_page_all"
        else:
            state["thread"] = _thread(config)
            if "checkpoint_ns" in conf:
                state["name"], state["ns"] = "lg_page_ns", str(conf["checkpoint_ns"])
            else:
                state["name"] = "lg_page_thread"
        return state  # (a cursor of (id, "", ""): ids before it, in any thread and namespace)

    def _list_page(self, state: dict[str, Any]) -> tuple[_Tuples, dict[str, Any] | None]:
        if state["only"] is not None:  # (one checkpoint named by the config)
            loaded = self._store._execute(ops.get, {"project": self._store.project, "thread": state["thread"],
                                                    "ns": state.get("ns", ""), "id": str(state["only"])}, self._one)
            keep = (loaded is not None and loaded.row.id < state["cursor"]
                    and (state["filter"] is None or ops.matches(ops.decode(loaded.row.metadata), state["filter"])))
            return ([self._tuple(loaded)] if keep and loaded is not None else []), None
        left = state["left"]
        size = PAGE if state["filter"] is not None or left is None else min(left, PAGE)
        params: dict[str, Any] = {k: state[k] for k in ("thread", "ns", "cursor", "cursor_thread", "cursor_ns")
                                  if k in state}
        params["page"] = size
        found, last = self._store._execute(ops.page, self._store.project, state["name"], params, state["filter"], left)
        if left is not None:
            left -= len(found)
        if last is None or left == 0:
            return [self._tuple(f) for f in found], None
        return [self._tuple(f) for f in found], {**state, "left": left, **_cursor_after(last)}

    # -- storing --------------------------------------------------------------------------

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        """Store ``checkpoint`` after ``config``'s (its parent): the checkpoint without its values,
        and each value of ``new_versions`` once. Everything is serialized before anything is written."""
        thread, conf = _thread(config), _configurable(config)
        ns = str(conf.get("checkpoint_ns", ""))
        values, versions = checkpoint["channel_values"], checkpoint["channel_versions"]
        # Small scalars travel inside the checkpoint (a row of their own would cost more than they
        # do), with their versions; every other value is stored once per version, its version in
        # the JSON column that queries join on. Only when JSON would not give the versions back as
        # they are (a float, say) does the serialized checkpoint carry all of them as well.
        inline = {k: v for k, v in values.items() if k in versions and _small(v)}
        plain = all(type(version) in (str, int) for version in versions.values())
        stored = {k: v for k, v in versions.items() if k not in inline}
        carried = {k: versions[k] for k in inline} if plain else dict(versions)
        kept = {k: v for k, v in checkpoint.items() if k not in ("channel_values", "channel_versions")}
        type_, data = self.serde.dumps_typed({**kept, "channel_versions": carried, "channel_values": inline})
        meta = get_serializable_checkpoint_metadata(config, metadata)
        run_id = meta.get("run_id")
        blobs = [(channel, str(version), *(self.serde.dumps_typed(values[channel]) if channel in values
                                           else ("empty", None)))
                 for channel, version in new_versions.items() if channel not in inline]
        params = {"project": self._store.project, "thread": thread, "ns": ns, "id": checkpoint["id"],
                  "parent": conf.get("checkpoint_id"), "type": type_, "checkpoint": data,
                  "versions": _compact(stored if plain else {k: str(v) for k, v in stored.items()}),
                  "metadata": _compact(meta),
                  "run_id": None if run_id is None else str(run_id)}
        if self._one:
            params.update(channels=[b[0] for b in blobs], bversions=[b[1] for b in blobs],
                          types=[b[2] for b in blobs], blobs=[b[3] for b in blobs])
            self._store._execute(ops.put_one, params)
        else:
            rows = [(self._store.project, thread, ns, *b) for b in blobs]
            self._store._execute(ops.put_steps, params, rows)
        return _config(thread, ns, checkpoint["id"])

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                   task_path: str = "") -> None:
        """Store a task's writes for ``config``'s checkpoint. Writing the same (task, index) again
        keeps the first, except for LangGraph's special channels (errors, interrupts, ...), which replace."""
        thread, conf = _thread(config), _configurable(config)
        ns, id_ = str(conf.get("checkpoint_ns", "")), conf.get("checkpoint_id")
        if id_ is None:
            raise errors.InvalidArgument("put_writes needs the config of a stored checkpoint "
                                         "(configurable.checkpoint_id)")
        if not writes:
            return
        replace = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        dumped = [(WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
                  for idx, (channel, value) in enumerate(writes)]
        if self._one:
            self._store._execute(ops.writes_one, {
                "project": self._store.project, "thread": thread, "ns": ns, "id": str(id_), "task": task_id,
                "path": task_path, "replace": replace, "idxs": [d[0] for d in dumped],
                "channels": [d[1] for d in dumped], "types": [d[2] for d in dumped], "blobs": [d[3] for d in dumped]})
        else:
            rows = [(self._store.project, thread, ns, str(id_), task_id, *d, task_path) for d in dumped]
            self._store._execute(ops.writes_steps, rows, replace)

    # -- removing and copying -------------------------------------------------------------

    def delete_thread(self, thread_id: str) -> None:
        """Every checkpoint, write and value of the thread, in every namespace."""
        self._store._execute(ops.delete_threads, self._store.project, [str(thread_id)])

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """The checkpoints made by these runs (``metadata.run_id``), with their writes, and the values
        no remaining checkpoint points at."""
        runs = _ids(run_ids, "run_ids")
        if runs:
            self._store._execute(ops.delete_runs, self._store.project, runs)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, write and value of one thread to another, in one transaction
        (the whole parent chain, as DeltaChannel needs). Rows the target already has are kept."""
        self._store._execute(ops.copy_thread, self._store.project, str(source_thread_id), str(target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: keep each namespace's newest checkpoint (its writes, and the values it
        points at) and remove the rest; ``delete``: remove the threads. ``keep_latest`` refuses,
        removing nothing, when a thread uses a DeltaChannel (its latest value is rebuilt from older
        checkpoints), as LangGraph's PostgreSQL saver does. roost's cleanup keeps the newest
        ``checkpoints_kept`` of each namespace by itself (docs/langgraph.md)."""
        threads = _ids(thread_ids, "thread_ids")
        if strategy not in PRUNE_STRATEGIES:
            raise ValueError(f"Unknown prune strategy: {strategy!r} (keep_latest or delete)")
        if not threads:
            return
        if strategy == "delete":
            self._store._execute(ops.delete_threads, self._store.project, threads)
            return
        refused = self._store._execute(ops.keep_latest, self._store.project, threads)
        if refused:
            raise NotImplementedError(f"keep_latest cannot prune threads that use a DeltaChannel: {refused}; "
                                      "nothing was pruned")

    # -- async ----------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(self.get_tuple, config)

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: ChannelVersions) -> RunnableConfig:
        return await self._run(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        await self._run(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._run(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._run(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._run(self.prune, thread_ids, strategy=strategy)

    def get_next_version(self, current: str | None, channel: None) -> str:
        """A zero-padded counter and 32 random bits, as text: versions sort as text, and two
        branches forked from one checkpoint never make the same one (a channel value is stored
        once per version). LangGraph's own savers pad to 32 digits with a 16-digit fraction; 16
        digits and 8 hex ones sort the same way after them and store half the bytes (versions
        are written in every checkpoint, once per channel and once per node that saw it)."""
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(str(current).split(".")[0])
        return f"{number + 1:016}.{random.getrandbits(32):08x}"


SMALL = 64
"""Strings up to this many characters (and None, booleans, numbers) are kept inside the checkpoint."""


def _small(value: object) -> bool:
    return value is None or type(value) in (bool, int, float) or (type(value) is str and len(value) <= SMALL)


_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _ids(ids: Sequence[str], name: str) -> list[str]:
    if isinstance(ids, str):
        raise TypeError(f"{name} must be a sequence of ids, not a str")
    return [str(i) for i in ids]


def _cursor_after(row: Row) -> dict[str, Any]:
    return {"cursor": row.id, "cursor_thread": row.thread, "cursor_ns": row.ns}
