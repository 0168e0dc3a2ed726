"""Leased locks as tools. ``lock_acquire`` never fails because the lock is taken: it answers with
the lease, or with who holds the lock now, so an agent can decide without a second call."""

from dataclasses import dataclass, field
from typing import Annotated

from roost.locks import Lease, LockHolder
from roost.mcp._toolbox import MAX_WAIT, Caller, Toolbox, arg

tools = Toolbox("locks")

Name = Annotated[str, arg("the lock's name, e.g. 'repo:main' or 'file:src/app.py'")]
Token = Annotated[int, arg("the fencing token lock_acquire returned")]


@dataclass(slots=True)
class LockAttempt:
    """``acquired`` with the ``lease`` (keep its token to renew and release), or not acquired with
    the ``holders`` that hold the lock now."""

    acquired: bool
    lease: Lease | None
    holders: list[LockHolder] = field(default_factory=list)


@tools.tool(waits=True)
def lock_acquire(
    caller: Caller,
    name: Name,
    ttl: Annotated[float, arg("seconds the lease lasts unless renewed", gt=0)] = 60.0,
    mode: Annotated[str, arg("'exclusive', or 'shared' (many shared holders, no exclusive one)")] = "exclusive",
    wait: Annotated[float, arg(f"seconds to wait for the lock to become free, at most {MAX_WAIT:g}",
                               ge=0, le=MAX_WAIT)] = 0.0,
    required: Annotated[bool, arg("true: fail with a retryable not_acquired error instead of answering with the "
                                  "holders")] = False,
) -> LockAttempt:
    """Try to take a lock for this agent. Not getting it is an answer, not an error: the result
    names the current holders (unless ``required``)."""
    locks = caller.store.locks
    lease = locks.acquire(name, owner=caller.agent, ttl=ttl, mode=mode, wait=wait)
    if lease is not None:
        return LockAttempt(True, lease)
    if required:
        raise locks.not_acquired(name, caller.agent, wait)
    return LockAttempt(False, None, [h for h in locks.list(name) if h.name == name])


@tools.tool(idempotent=True)
def lock_renew(
    caller: Caller,
    name: Name,
    token: Token,
    ttl: Annotated[float, arg("seconds the renewed lease lasts from now", gt=0)] = 60.0,
) -> Lease:
    """Extend a lease this agent holds. A lease that expired and was taken over is lost
    (lease_lost): stop the work it guarded."""
    return caller.store.locks.renew(name, token, ttl=ttl, owner=caller.agent)


@tools.tool(destructive=True, idempotent=True)
def lock_release(caller: Caller, name: Name, token: Token) -> bool:
    """Release a lease this agent holds; lease_lost if it was no longer held."""
    caller.store.locks.release(name, token, owner=caller.agent)
    return True


@tools.tool(read_only=True)
def lock_list(
    caller: Caller,
    prefix: Annotated[str, arg("only locks whose name starts with this")] = "",
    mine: Annotated[bool, arg("only the locks this agent holds")] = False,
) -> list[LockHolder]:
    """List the live lock holders, with their ages and remaining lease."""
    return caller.store.locks.list(prefix, owner=caller.agent if mine else None)


@tools.tool(destructive=True)
def lock_force_release(
    caller: Caller,
    name: Name,
    reason: Annotated[str, arg("why: written to the audit log")],
) -> int:
    """Evict every holder of a lock (needs a server started with --privileged); returns how many."""
    return len(caller.store.locks.force_release(name, privileged=caller.privileged, actor=caller.agent,
                                                reason=reason))
