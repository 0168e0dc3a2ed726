"""How an area declares its MCP tools, and how a declared tool becomes one the SDK serves.

An area module (``roost/mcp/signals.py``, …) holds a :class:`Toolbox` and plain sync functions
whose first parameter is the :class:`Caller` (the store, the agent's name, the privileged flag) and
whose other parameters are the tool's arguments, annotated with :func:`arg` for their descriptions.
Their return annotation is the tool's output schema: roost's own result records (slotted
dataclasses) are used as they are, so the schema cannot drift from what the Python API returns.

:func:`bind` turns one into an async function the SDK can register: the caller is bound, the call
runs on a worker thread (the store is synchronous; its pool lets calls from several threads run at
once) under a capacity limiter sized to the pool, so a burst of tool calls queues for a thread
instead of exhausting connections, and a roost error becomes a structured tool error. Adding an
area's tools is: a module with a toolbox, and one line in :data:`roost.mcp.server.AREAS`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from roost import errors
from roost.store import Store

log = logging.getLogger("roost.mcp")

MAX_WAIT = 60.0
"""The longest a waiting tool (signal_wait, event_wait, lock_acquire's wait) may wait, in seconds.
An MCP call holds the agent's turn; a longer wait is a loop of calls."""


@dataclass(slots=True)
class Caller:
    """Who is calling: the store, the agent's name (the owner of its locks, claims and writes) and
    whether protected signals and force-release are allowed."""

    store: Store
    agent: str
    privileged: bool = False


def arg(description: str, **constraints: Any) -> Any:
    """An argument's description (and pydantic constraints such as ``ge``/``le``), for ``Annotated``."""
    info: FieldInfo = Field(description=description, **constraints)
    return info


@dataclass(frozen=True, slots=True)
class ToolSpec:
    fn: Callable[..., Any]
    name: str
    area: str
    read_only: bool
    destructive: bool
    idempotent: bool
    waits: bool


@dataclass
class Toolbox:
    """The tools of one area, in the order they are declared."""

    area: str
    specs: list[ToolSpec] = field(default_factory=list)

    def tool(self, *, read_only: bool = False, destructive: bool = False, idempotent: bool = False,
             waits: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare a tool; its name is the function's name, its description the docstring."""

        def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.specs.append(ToolSpec(fn, fn.__name__, self.area, read_only, destructive, idempotent, waits))
            return fn

        return declare


def error_result(name: str, kind: str, message: str, retryable: bool) -> CallToolResult:
    """A tool error an agent can act on: a line of text for the model, and the same as structured
    content (``error.kind`` is stable: not_found, not_acquired, conflict, lease_lost, invalid_input, …)."""
    body = {"error": {"name": name, "kind": kind, "message": message, "retryable": retryable}}
    text = f"{name} ({kind}{', retryable' if retryable else ''}): {message}"
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=body, is_error=True)


def roost_error(exc: errors.RoostError) -> CallToolResult:
    return error_result(type(exc).__name__, exc.kind, exc.message, exc.retryable)


def internal_error(tool: str, exc: BaseException) -> CallToolResult:
    """An unexpected failure: logged here in full, reported to the agent without a traceback or any
    text of the exception (which could hold a URL with a password)."""
    log.error("tool %s failed unexpectedly", tool, exc_info=exc)
    return error_result("InternalError", "internal", f"{tool} failed unexpectedly; the server's log has the details",
                        False)


def bind(spec: ToolSpec, caller: Caller, limiter: anyio.CapacityLimiter) -> Callable[..., Any]:
    """The SDK-facing tool: ``spec.fn`` with the caller bound, run on a worker thread."""
    signature = inspect.signature(spec.fn, eval_str=True)
    parameters = list(signature.parameters.values())[1:]

    async def call(**arguments: Any) -> Any:
        work = functools.partial(spec.fn, caller, **arguments)
        try:
            return await anyio.to_thread.run_sync(work, limiter=limiter)
        except errors.RoostError as exc:
            return roost_error(exc)
        except Exception as exc:
            return internal_error(spec.name, exc)

    returns = signature.return_annotation
    if isinstance(returns, type) and dataclasses.is_dataclass(returns):
        returns = output_model(returns)
    call.__signature__ = signature.replace(parameters=parameters, return_annotation=returns)  # type: ignore[attr-defined]
    call.__name__ = spec.name
    call.__qualname__ = spec.name
    call.__doc__ = inspect.cleandoc(spec.fn.__doc__ or spec.name)
    return call


@functools.cache
def output_model(record: type[Any]) -> type[BaseModel]:
    """The output model of a tool that returns the dataclass ``record``: its fields, defaults and
    docstring, read from the instance's attributes. (The SDK derives one itself, but reads each
    default off the class, where a slotted dataclass has only a slot descriptor.) Dataclasses nested
    in a field are left to pydantic, which reads them correctly."""
    hints = typing.get_type_hints(record)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        if f.name.startswith("_"):
            continue
        if f.default is not dataclasses.MISSING:
            fields[f.name] = (hints[f.name], f.default)
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (hints[f.name], Field(default_factory=f.default_factory))
        else:
            fields[f.name] = hints[f.name]
    model: type[BaseModel] = create_model(record.__name__, __config__=ConfigDict(from_attributes=True),
                                          __doc__=inspect.cleandoc(record.__doc__ or record.__name__), **fields)
    return model


def annotations_of(spec: ToolSpec) -> ToolAnnotations:
    return ToolAnnotations(read_only_hint=spec.read_only, destructive_hint=spec.destructive,
                           idempotent_hint=spec.idempotent, open_world_hint=False)
