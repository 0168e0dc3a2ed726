"""Search and fuzzy name lookup as tools. The query is words, not a query language: operators,
quotes and hyphens are taken as text, so no query string can make a search fail."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from roost.mcp._toolbox import Caller, Toolbox, arg
from roost.search.names import Match

tools = Toolbox("search")


@dataclass(slots=True)
class SearchHit:
    """One matching record. ``snippet`` is a window of its text with the matches marked
    (<mark>…</mark>); ``name`` is the memory's key, the artifact's name or the session's id."""

    kind: str
    id: int | str
    score: float
    snippet: str
    session: str | None
    agent: str | None
    type: str | None
    name: str | None
    version: int | None
    position: int | None
    created_at: datetime


@dataclass(slots=True)
class SearchPage:
    """Hits, best first, and the ``cursor`` for the next page (null: this was the last)."""

    hits: list[SearchHit]
    cursor: str | None


@tools.tool(read_only=True)
def search(
    caller: Caller,
    query: Annotated[str, arg("words to look for (any text; quotes and operators are taken literally)")],
    kinds: Annotated[list[str] | None, arg("transcript, memory, observation, artifact, session (null: all)")]
    = None,
    session: Annotated[str | None, arg("only this session's records")] = None,
    agent: Annotated[str | None, arg("only records by this agent")] = None,
    tags: Annotated[list[str] | None, arg("only memories with these tags")] = None,
    type: Annotated[str | None, arg("only this role, memory type, observation kind or artifact type")] = None,
    limit: Annotated[int, arg("at most this many hits", ge=1, le=200)] = 20,
    cursor: Annotated[str | None, arg("the cursor of the previous page")] = None,
    order: Annotated[str, arg("'relevance' or 'recent'")] = "relevance",
) -> SearchPage:
    """Full-text search over transcripts, memories, observations, artifacts and sessions."""
    found = caller.store.search(query, kinds=kinds, session=session, agent=agent, tags=tags, type=type, limit=limit,
                                cursor=cursor, order=order)
    hits = [SearchHit(h.kind, h.id, h.score, h.snippet, h.session, h.agent, h.type, h.name, h.version, h.position,
                      h.created_at) for h in found.hits]
    return SearchPage(hits, found.cursor)


@tools.tool(read_only=True)
def find(
    caller: Caller,
    name: Annotated[str, arg("a name, or part of one, possibly misspelt")],
    kinds: Annotated[list[str] | None, arg("agent, session, artifact, memory, tag, signal, lock (null: all)")]
    = None,
    limit: Annotated[int, arg("at most this many", ge=1, le=100)] = 10,
) -> list[Match]:
    """Find things by an approximate name: agents, sessions, artifacts, memories, tags, signals, locks."""
    return caller.store.find(name, kinds=kinds, limit=limit)
