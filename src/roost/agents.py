"""The agent registry: who is on the team, what each can do, and who is still alive.

An agent is online while its last heartbeat is younger than the ``agent_offline_after`` setting,
judged by the database's clock. An agent's lock owner name is its agent name (``ROOST_AGENT``), so
the locks of agents that went silent can be released in one call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors, locks
from roost._op import Op, Query, atomic, repeatable, to_datetime

if TYPE_CHECKING:
    from roost.store import Store

CAPABILITIES_MAX = 64


@dataclass(slots=True)
class Agent:
    name: str
    kind: str
    command: str | None
    capabilities: tuple[str, ...]
    max_concurrent: int
    metadata: dict[str, Any]
    status: str
    registered_at: datetime
    heartbeat_at: datetime
    heartbeat_age: float
    """Seconds since the last heartbeat, by the database's clock."""
    online: bool

    @property
    def state(self) -> str:
        """The status while online, else ``offline``."""
        return self.status if self.online else "offline"


def _agents(rows: Sequence[tuple[Any, ...]], offline_after: float) -> list[Agent]:
    found = []
    for name, kind, command, caps, max_conc, meta, status, registered, beat, now in rows:
        age = max(0.0, now - beat)
        found.append(Agent(name, kind, command, tuple(json.loads(caps)), int(max_conc), v.stored_json(meta), status,
                           to_datetime(registered), to_datetime(beat), age, age < offline_after))
    return found


@repeatable
def run(query: str, params: dict[str, Any], offline_after: float) -> Op[list[Agent]]:
    """Every agent query: reads, and upserts (register, heartbeat) that may run twice."""
    return _agents((yield Query(query, params)).rows, offline_after)


@repeatable
def sweep(project: str, after: float) -> Op[list[str]]:
    return [str(r[0]) for r in (yield Query("agent_sweep", {"project": project, "after": after})).rows]


@atomic
def deregister(project: str, name: str, release_locks: bool) -> Op[bool]:
    gone = (yield Query("agent_deregister", {"project": project, "name": name})).one() is not None
    if release_locks:
        yield from locks.release_all(project, name)
    return gone


class Agents:
    """``store.agents``: see the module docstring."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _run(self, query: str, **params: Any) -> list[Agent]:
        return self._store._execute(run, query, {"project": self._store.project, **params},
                                    self._store.settings.agent_offline_after)

    def _name(self, name: object) -> str:
        return v.name(name, "agent name", v.AGENT_NAME_MAX)

    def register(
        self,
        name: str,
        *,
        kind: str = "agent",
        command: str | None = None,
        capabilities: Sequence[str] = (),
        max_concurrent: int = 1,
        metadata: dict[str, Any] | None = None,
        status: str = "idle",
    ) -> Agent:
        """Register ``name`` (or update it: registering again is how an agent restarts) and count
        it as a heartbeat."""
        if isinstance(capabilities, str) or not isinstance(capabilities, Sequence):
            raise errors.InvalidArgument("capabilities must be a list of names")
        if len(capabilities) > CAPABILITIES_MAX:
            raise errors.InvalidArgument(f"at most {CAPABILITIES_MAX} capabilities, not {len(capabilities)}")
        caps = [v.name(c, "capability", v.LABEL_MAX) for c in capabilities]
        if command is not None and (not isinstance(command, str) or len(command) > v.COMMAND_MAX):
            raise errors.InvalidArgument(f"command must be a string of at most {v.COMMAND_MAX} characters")
        if command is not None and "\x00" in command:
            raise errors.InvalidArgument("command must not contain NUL characters")
        if command is not None:
            v.to_json(command, "command")  # refuses lone surrogates
        if metadata is not None and not isinstance(metadata, dict):
            raise errors.InvalidArgument(f"metadata must be a JSON object (a dict), not {type(metadata).__name__}")
        return self._run(
            "agent_register",
            name=self._name(name),
            kind=v.name(kind, "kind", v.LABEL_MAX),
            command=command,
            capabilities=v.to_json(caps, "capabilities"),
            max_concurrent=v.integer(max_concurrent, "max_concurrent", 1, 1000),
            metadata=v.to_json(metadata or {}, "metadata"),
            status=v.name(status, "status", v.LABEL_MAX),
        )[0]

    def heartbeat(self, name: str, status: str | None = None) -> Agent:
        """Record that ``name`` is alive (and, optionally, its new status)."""
        found = self._run("agent_heartbeat", name=self._name(name),
                          status=None if status is None else v.name(status, "status", v.LABEL_MAX))
        if not found:
            raise errors.AgentNotFound(f"no agent {name!r} is registered in project {self._store.project!r}")
        return found[0]

    def set_status(self, name: str, status: str) -> Agent:
        """Set ``name``'s status (idle, busy, ...); it counts as a heartbeat."""
        return self.heartbeat(name, v.name(status, "status", v.LABEL_MAX))

    def get(self, name: str) -> Agent | None:
        found = self._run("agent_get", name=self._name(name))
        return found[0] if found else None

    def list(self, *, online: bool | None = None) -> list[Agent]:
        """Every registered agent, by name; ``online=True`` or ``False`` filters."""
        return [a for a in self._run("agent_list") if online is None or a.online == online]

    def deregister(self, name: str, *, release_locks: bool = True) -> bool:
        """Remove ``name`` from the registry (and release its locks); False if it was not registered."""
        return self._store._execute(deregister, self._store.project, self._name(name), bool(release_locks))

    def sweep(self) -> Sequence[str]:
        """Mark agents silent for longer than ``agent_offline_after`` as ``offline``, which publishes
        one ``agent.offline`` event each (an agent's next heartbeat brings it back as ``idle``, with
        ``agent.online``). Call it from the manager's loop; returns the names marked."""
        return sorted(self._store._execute(sweep, self._store.project, self._store.settings.agent_offline_after))

    def release_offline_locks(self) -> dict[str, int]:
        """Release every lock held by an agent that reads as offline; returns counts by agent."""
        released = {}
        for agent in self.list(online=False):
            count = self._store.locks.release_all(agent.name)
            if count:
                released[agent.name] = count
        return released
