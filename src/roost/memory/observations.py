"""Observations: short notes agents make as they work, kept for a while and then forgotten.

Retention holds by itself. The per-agent cap (``observation_max_per_agent``, newest kept) is
enforced when an observation is added, in the same transaction, against a per-agent count row that
every insert for that agent writes first: inserts for one agent take turns on it, so even under
many concurrent writers no reader ever sees more than the cap. Age (``observation_retention_days``)
is enforced when reading, so an expired observation is never returned, and by ``cleanup()``, which
deletes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, repeatable, to_datetime
from roost.memory import _common as c

if TYPE_CHECKING:
    from roost.store import Store

CONTENT_MAX_BYTES = 64 * 1024
RECENT_MAX = 1000


@dataclass(slots=True)
class Observation:
    id: int
    agent: str
    session: str | None
    kind: str | None
    content: str
    created_at: datetime


def observation_of(row: tuple[Any, ...]) -> Observation:
    id_, agent, session, kind, content, created = row
    return Observation(int(id_), agent, session, kind, content, to_datetime(created))


def add(params: dict[str, Any]) -> Op[tuple[int, float]]:
    row = (yield Query("observation_add", params)).one()
    assert row is not None
    return int(row[0]), float(row[1])


@repeatable
def listing(params: dict[str, Any]) -> Op[list[Observation]]:
    name = "observation_list" if params["agent"] is None else "observation_list_agent"
    return [observation_of(r) for r in (yield Query(name, params)).rows]


@repeatable
def count(project: str, agent: str) -> Op[int]:
    return int((yield Query("observation_count", {"project": project, "agent": agent})).scalar() or 0)


class Observations:
    """``store.observations``: add observations and read the recent ones, within retention."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def _max_age(self) -> float:
        return self._store.settings.observation_retention_days * 86400.0

    def add(self, agent: str, content: str, *, kind: str | None = None, session: str | None = None) -> Observation:
        """Record an observation by ``agent`` (text up to 64 KiB). The agent's oldest observations
        beyond ``observation_max_per_agent`` are removed in the same transaction."""
        params: dict[str, Any] = {
            "project": self._store.project,
            "agent": v.name(agent, "agent", v.AGENT_NAME_MAX),
            "session": c.optional_session(session),
            "kind": c.optional_label(kind, "observation kind"),
            "content": c.text(content, "observation content", CONTENT_MAX_BYTES),
            "cap": self._store.settings.observation_max_per_agent,
        }
        params["search"] = c.search_vector(self._store, params["content"])
        try:
            id_, created = self._store._execute(add, params)
        except errors.ConstraintViolation:
            if (missing := c.unknown_session(self._store, params["session"])) is not None:
                raise missing from None
            raise
        return Observation(id_, params["agent"], params["session"], params["kind"], params["content"],
                           to_datetime(created))

    def _params(self, agent: str | None, session: str | None, kind: str | None, limit: int,
                cursor: str | None) -> dict[str, Any]:
        return {
            "project": self._store.project,
            "agent": c.optional_name(agent, "agent", v.AGENT_NAME_MAX),
            "session": c.optional_session(session),
            "kind": c.optional_label(kind, "observation kind"),
            "max_age": self._max_age,
            "limit": limit,
            "cursor": c.cursor(cursor),
        }

    def recent(self, agent: str | None = None, *, limit: int = 20, max_chars: int | None = None,
               session: str | None = None, kind: str | None = None) -> list[Observation]:
        """The newest observations (of ``agent``, or of everyone), newest first, stopping before the
        one that would take the total content past ``max_chars``: what fits in a prompt."""
        budget = None if max_chars is None else v.integer(max_chars, "max_chars", 0, 2**40)
        found = self._store._execute(listing, self._params(agent, session, kind, c.limit(limit, RECENT_MAX), None))
        if budget is None:
            return found
        kept: list[Observation] = []
        for observation in found:
            budget -= len(observation.content)
            if budget < 0:
                break
            kept.append(observation)
        return kept

    def list(self, agent: str | None = None, *, session: str | None = None, kind: str | None = None,
             limit: int = 100, cursor: str | None = None) -> c.Page[Observation]:
        """Observations newest first, a page at a time (pass the page's ``cursor`` for the next)."""
        want = c.limit(limit)
        found = self._store._execute(listing, self._params(agent, session, kind, want + 1, cursor))
        return c.page(found, want, found[want - 1].id if len(found) > want else None)

    def count(self, agent: str) -> int:
        """How many observations ``agent`` has stored (expired ones included until cleanup)."""
        return self._store._execute(count, self._store.project, v.name(agent, "agent", v.AGENT_NAME_MAX))

    def cleanup(self, max_age_days: float | None = None) -> int:
        """Delete observations older than ``max_age_days`` (default: the ``observation_retention_days``
        setting); returns how many."""
        days = (self._store.settings.observation_retention_days if max_age_days is None
                else v.seconds(max_age_days, "max_age_days", 0, 3650))
        from roost.maintenance import cleanup

        removed = cleanup.remove(self._store, "retention_observations", age=days * 86400.0)
        cleanup.remove(self._store, "retention_observation_agents")
        return removed
