"""The memory area as tools: sessions, transcripts, memories, observations and artifacts.

Artifacts cross the protocol inline only up to :data:`INLINE_MAX` bytes: text as text, binary as
base64. A larger one is described by its size and SHA-256 and read with ``roost artifact get``.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from roost import errors
from roost.mcp._toolbox import Caller, Toolbox, arg
from roost.memory._common import Page
from roost.memory.artifacts import Artifact
from roost.memory.memories import Memory
from roost.memory.observations import Observation
from roost.memory.sessions import Session
from roost.memory.transcripts import Entry

tools = Toolbox("memory")

INLINE_MAX = 1024 * 1024
"""The largest artifact content (in bytes) that artifact_put takes and artifact_get returns inline."""

SessionId = Annotated[str, arg("the session's id")]
Cursor = Annotated[str | None, arg("the cursor of the previous page, to read the next")]
Limit = Annotated[int, arg("at most this many", ge=1, le=1000)]


@tools.tool()
def session_create(
    caller: Caller,
    title: Annotated[str, arg("what the session is about")],
    metadata: Annotated[dict[str, Any] | None, arg("anything else to record (JSON object)")] = None,
    id: Annotated[str | None, arg("an id of your choosing (default: a new one)")] = None,
) -> Session:
    """Open a session (a shared working context: transcript, memories, artifacts), with this agent
    as its first participant."""
    return caller.store.sessions.create(title, participants=[caller.agent], metadata=metadata, id=id)


@tools.tool(read_only=True)
def session_get(caller: Caller, id: SessionId) -> Session:
    """Read a session: title, status, participants and counts."""
    found = caller.store.sessions.get(id)
    if found is None:
        raise errors.SessionNotFound(f"no session with id {id!r}")
    return found


@tools.tool(read_only=True)
def session_list(
    caller: Caller,
    status: Annotated[str | None, arg("only sessions with this status ('active', 'closed', …)")] = None,
    mine: Annotated[bool, arg("only sessions this agent takes part in")] = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[Session]:
    """List sessions, most recently active first."""
    return caller.store.sessions.list(status=status, participant=caller.agent if mine else None, limit=limit,
                                      cursor=cursor)


@tools.tool(idempotent=True)
def session_join(caller: Caller, id: SessionId) -> Session:
    """Add this agent to a session's participants."""
    return caller.store.sessions.join(id, caller.agent)


@tools.tool()
def transcript_append(
    caller: Caller,
    session: SessionId,
    role: Annotated[str, arg("who speaks: 'user', 'assistant', 'tool', 'system', …")],
    content: Annotated[str, arg("the message")],
    phase: Annotated[str | None, arg("the workflow phase it belongs to")] = None,
    message_id: Annotated[str | None, arg("an id: appending the same id again is a no-op")] = None,
    metadata: Annotated[dict[str, Any] | None, arg("anything else to record (JSON object)")] = None,
) -> Entry:
    """Append a message to a session's transcript, as this agent."""
    return caller.store.transcripts.append(session, role, content, agent=caller.agent, phase=phase,
                                           message_id=message_id, metadata=metadata)


@tools.tool(read_only=True)
def transcript_read(
    caller: Caller,
    session: SessionId,
    after: Annotated[int | None, arg("only entries after this position (null: the latest entries)")] = None,
    phase: Annotated[str | None, arg("only this phase's entries")] = None,
    limit: Limit = 50,
) -> Page[Entry]:
    """Read a transcript, oldest first: the latest ``limit`` entries, or from a position on."""
    if after is None:
        return caller.store.transcripts.latest(session, limit=limit, phase=phase)
    return caller.store.transcripts.page(session, after=after, phase=phase, limit=limit)


@tools.tool()
def memory_put(
    caller: Caller,
    key: Annotated[str, arg("the memory's key, e.g. 'conventions.testing'")],
    content: Annotated[Any, arg("what to remember (text or any JSON)")],
    type: Annotated[str, arg("'context', 'decision', 'fact', …")] = "context",
    tags: Annotated[list[str] | None, arg("labels to find it by")] = None,
    session: Annotated[str | None, arg("keep it in this session (default: project-wide)")] = None,
    expected_version: Annotated[int | None, arg("write only if it is at this version (0: only if new)")] = None,
) -> Memory:
    """Remember something under a key (a new version of it if it exists)."""
    return caller.store.memories.put(key, content, type, tags=tags or (), session=session, agent=caller.agent,
                                     expected_version=expected_version)


@tools.tool(read_only=True)
def memory_get(
    caller: Caller,
    key: Annotated[str, arg("the memory's key")],
    session: Annotated[str | None, arg("the session it is kept in (null: project-wide)")] = None,
) -> Memory:
    """Recall one memory by key."""
    found = caller.store.memories.get(key, session=session)
    if found is None:
        raise errors.NotFound(f"no memory {key!r}" + (f" in session {session!r}" if session else ""))
    return found


@tools.tool(destructive=True, idempotent=True)
def memory_delete(
    caller: Caller,
    key: Annotated[str, arg("the memory's key")],
    session: Annotated[str | None, arg("the session it is kept in (null: project-wide)")] = None,
    expected_version: Annotated[int | None, arg("delete only if it is at this version")] = None,
) -> bool:
    """Forget a memory; returns whether there was one."""
    return caller.store.memories.delete(key, session=session, expected_version=expected_version)


@tools.tool(read_only=True)
def memory_list(
    caller: Caller,
    type: Annotated[str | None, arg("only this type")] = None,
    tags: Annotated[list[str] | None, arg("only memories with all of these tags")] = None,
    session: Annotated[str | None, arg("only this session's memories")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[Memory]:
    """List memories, newest first."""
    return caller.store.memories.list(type=type, tags_all=tags, session=session, limit=limit, cursor=cursor)


@tools.tool()
def observation_add(
    caller: Caller,
    content: Annotated[str, arg("what this agent noticed")],
    kind: Annotated[str | None, arg("'error', 'insight', 'preference', …")] = None,
    session: Annotated[str | None, arg("the session it belongs to")] = None,
) -> Observation:
    """Record an observation of this agent's (kept per agent, the oldest trimmed past a cap)."""
    return caller.store.observations.add(caller.agent, content, kind=kind, session=session)


@tools.tool(read_only=True)
def observation_recent(
    caller: Caller,
    agent: Annotated[str | None, arg("whose observations (null: every agent's)")] = None,
    session: Annotated[str | None, arg("only this session's")] = None,
    kind: Annotated[str | None, arg("only this kind")] = None,
    limit: Annotated[int, arg("at most this many", ge=1, le=500)] = 20,
    max_chars: Annotated[int | None, arg("stop before the contents exceed this many characters", ge=1)] = None,
) -> list[Observation]:
    """The most recent observations, newest first (for a prompt's context)."""
    return caller.store.observations.recent(agent, limit=limit, max_chars=max_chars, session=session, kind=kind)


@dataclass(slots=True)
class ArtifactInfo:
    """One version of an artifact. ``text`` holds its content when it is text, ``base64`` when it is
    binary; both are null when only the description was asked for, or the content is larger than
    the inline limit (``inline`` false): read it with ``roost artifact get``."""

    name: str
    version: int
    size: int
    sha256: str
    type: str | None
    format: str | None
    is_text: bool
    session: str | None
    task: int | None
    metadata: dict[str, Any]
    created_at: datetime
    inline: bool = False
    text: str | None = None
    base64: str | None = None


def _info(found: Artifact, content: bytes | None = None) -> ArtifactInfo:
    info = ArtifactInfo(found.name, found.version, found.size, found.sha256, found.type, found.format, found.is_text,
                        found.session, found.task, found.metadata, found.created_at)
    if content is not None:
        info.inline = True
        if found.is_text:
            info.text = content.decode("utf-8")
        else:
            info.base64 = base64.b64encode(content).decode("ascii")
    return info


@tools.tool()
def artifact_put(
    caller: Caller,
    name: Annotated[str, arg("the artifact's name, e.g. 'reports/coverage.html'")],
    content: Annotated[str, arg(f"the content: text, or base64 with encoding='base64' (at most {INLINE_MAX} "
                                "bytes; larger files: roost artifact put)")],
    encoding: Annotated[str, arg("'text' or 'base64'")] = "text",
    type: Annotated[str | None, arg("what it is: 'report', 'patch', 'log', …")] = None,
    format: Annotated[str | None, arg("its format: 'markdown', 'json', 'png', …")] = None,
    session: Annotated[str | None, arg("the session it belongs to")] = None,
    task: Annotated[int | None, arg("the task it belongs to")] = None,
    metadata: Annotated[dict[str, Any] | None, arg("anything else to record (JSON object)")] = None,
) -> ArtifactInfo:
    """Store a new version of an artifact (identical content is stored once)."""
    data: str | bytes
    if encoding == "text":
        data = content
        size = len(content.encode("utf-8", "surrogatepass"))
    elif encoding == "base64":
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise errors.InvalidArgument("content is not valid base64 (encoding='base64')") from None
        size = len(data)
    else:
        raise errors.InvalidArgument(f"encoding must be 'text' or 'base64', not {encoding!r}")
    if size > INLINE_MAX:
        raise errors.TooLarge(f"artifact content is {size} bytes; an MCP call takes at most {INLINE_MAX} "
                              "(store larger files with `roost artifact put`)")
    return _info(caller.store.artifacts.put(name, data, type=type, format=format, session=session, task=task,
                                            metadata=metadata))


@tools.tool(read_only=True)
def artifact_get(
    caller: Caller,
    name: Annotated[str, arg("the artifact's name")],
    version: Annotated[int | None, arg("which version (null: the latest)", ge=1)] = None,
    content: Annotated[bool, arg("include the content (when it is at most the inline limit)")] = True,
) -> ArtifactInfo:
    """Read an artifact: its description, and its content inline when asked and small enough."""
    artifacts = caller.store.artifacts
    found = artifacts.info(name, version)
    if not content or found.size > INLINE_MAX:
        return _info(found)
    full = artifacts.get(name, found.version)
    return _info(full, full.content or b"")


@tools.tool(read_only=True)
def artifact_list(
    caller: Caller,
    prefix: Annotated[str, arg("only names that start with this")] = "",
    session: Annotated[str | None, arg("only this session's")] = None,
    type: Annotated[str | None, arg("only this type")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[ArtifactInfo]:
    """List artifacts (their latest versions), by name."""
    page = caller.store.artifacts.list(session=session, type=type, prefix=prefix, limit=limit, cursor=cursor)
    return Page([_info(a) for a in page.items], page.cursor)
