"""Leased locks with fencing tokens: exclusive or shared, renewed by heartbeat, never held twice.

One row per lock name decides everything. Acquiring, taking over an expired lease, renewing and
releasing are each one statement whose condition is on that row, so two contenders can never both
win. Every acquisition draws a new token, larger than any the name ever issued (even across
expiry, release and cleanup); the row's ``epoch`` is the first token of the current holding, so a
holder whose lease was taken over or force-released is refused with :class:`LeaseLost`. Expiry is
measured by the database's clock. Details and the proof sketch: docs/coordination.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import audit, errors
from roost._op import Op, Query, atomic, repeatable, to_datetime
from roost._waiting import wait_for

if TYPE_CHECKING:
    from roost.store import Store

MODES = ("exclusive", "shared")
TTL_MIN, TTL_MAX = 0.1, 86400.0
WAIT_MAX = 86400.0
IDLE_MIN = 3600.0


@dataclass(slots=True)
class Lease:
    """A granted lock. ``token`` is the fencing token: pass it along with every write the lock guards."""

    name: str
    owner: str
    mode: str
    token: int
    acquired_at: datetime
    expires_at: datetime


@dataclass(slots=True)
class LockHolder:
    """One live holder, as :meth:`Locks.list` reports it; ages are by the database's clock."""

    name: str
    owner: str
    mode: str
    token: int
    acquired_at: datetime
    expires_at: datetime
    age: float
    remaining: float


def acquire(params: dict[str, Any]) -> Op[tuple[Any, ...] | None]:
    return (yield Query("lock_acquire", params)).one()


def renew(params: dict[str, Any]) -> Op[tuple[Any, ...] | None]:
    return (yield Query("lock_renew", params)).one()


def release(params: dict[str, Any]) -> Op[bool]:
    return (yield Query("lock_release", params)).one() is not None


def state(project: str, name: str, token: int) -> Op[tuple[Any, ...] | None]:
    return (yield Query("lock_state", {"project": project, "name": name, "token": token})).one()


@atomic
def release_all(project: str, owner: str) -> Op[int]:
    holdings = (yield Query("lock_owner_holdings", {"project": project, "owner": owner})).rows
    released = 0
    for name, token in holdings:
        params = {"project": project, "name": name, "token": token, "owner": owner}
        released += bool((yield from release(params)))
    return released


@atomic
def force_release(project: str, name: str, actor: str, reason: str) -> Op[list[tuple[str, int, str]]]:
    params = {"project": project, "name": name}
    yield Query("lock_row_lock", params)
    evicted = [(str(o), int(t), str(m)) for o, t, m in (yield Query("lock_current_holders", params)).rows]
    yield Query("lock_force_release", params)
    yield from audit.record(project, actor, "lock.force_release", name, {
        "evicted": [{"owner": o, "token": t, "mode": m} for o, t, m in evicted], "reason": reason,
    })
    return evicted


@repeatable
def listing(project: str, prefix: str, owner: str | None) -> Op[list[LockHolder]]:
    rows = (yield Query("lock_list", {"project": project, "prefix": prefix, "owner": owner})).rows
    return [LockHolder(n, o, m, int(t), to_datetime(a), to_datetime(e), now - a, e - now)
            for n, o, m, t, a, e, now in rows]


class Locks:
    """``store.locks``: see the module docstring. Names are 1 to 512 characters (file paths fit)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _params(self, name: object, token: object, owner: str | None) -> dict[str, Any]:
        return {
            "project": self._store.project,
            "name": v.name(name, "lock name", v.LOCK_NAME_MAX),
            "token": v.integer(token, "token", 1, 2**62),
            "owner": None if owner is None else v.owner(owner),
        }

    def acquire(
        self,
        name: str,
        *,
        owner: str | None = None,
        ttl: float = 60.0,
        mode: str = "exclusive",
        wait: float = 0.0,
    ) -> Lease | None:
        """Take the lock for ``ttl`` seconds; None if it is still held after ``wait`` seconds.

        ``mode`` is ``exclusive`` (one holder) or ``shared`` (any number of shared holders, no
        exclusive one). ``owner`` defaults to ``ROOST_AGENT``, else ``host:pid``.
        """
        if mode not in MODES:
            raise errors.InvalidArgument(f"mode must be 'exclusive' or 'shared', not {v.shown(mode)}")
        name, owner = v.name(name, "lock name", v.LOCK_NAME_MAX), v.owner(owner)
        params = {
            "project": self._store.project,
            "name": name,
            "owner": owner,
            "mode": mode,
            "ttl": v.seconds(ttl, "ttl", TTL_MIN, TTL_MAX),
        }
        wait = v.seconds(wait, "wait", 0, WAIT_MAX)

        def attempt() -> Lease | None:
            row = self._store._execute(acquire, params)
            if row is None:
                return None
            token, acquired_at, expires_at = row
            return Lease(name, owner, mode, int(token), to_datetime(acquired_at),
                         to_datetime(expires_at))

        return wait_for(attempt, lambda: self._store.events._wakeups(), wait)  # events load only to wait

    def renew(self, lease: Lease | str, token: int | None = None, *, ttl: float = 60.0,
              owner: str | None = None) -> Lease:
        """Extend a lease by ``ttl`` seconds from now; :class:`LeaseLost` if it is no longer held.
        Takes a :class:`Lease`, or a name and its token."""
        name, token, owner = _identify(lease, token, owner)
        params = {**self._params(name, token, owner), "ttl": v.seconds(ttl, "ttl", TTL_MIN, TTL_MAX)}
        row = self._store._execute(renew, params)
        if row is None:
            raise self._lost(params, "renew")
        token, holder, mode, acquired_at, expires_at = row
        return Lease(params["name"], holder, mode, int(token), to_datetime(acquired_at), to_datetime(expires_at))

    def release(self, lease: Lease | str, token: int | None = None, *, owner: str | None = None) -> None:
        """Give the lease back; :class:`LeaseLost` if it was not held (any more) by that token and owner."""
        name, token, owner = _identify(lease, token, owner)
        params = self._params(name, token, owner)
        if not self._store._execute(release, params):
            raise self._lost(params, "release")

    def release_all(self, owner: str | None = None) -> int:
        """Release every lease ``owner`` holds; returns how many."""
        return self._store._execute(release_all, self._store.project, v.owner(owner))

    def force_release(
        self, name: str, *, privileged: bool = False, actor: str | None = None, reason: str = ""
    ) -> list[tuple[str, int, str]]:
        """End every holding of ``name`` now (privileged; written to the audit log). The evicted
        holders' tokens are refused from then on. Returns (owner, token, mode) of those evicted."""
        name = v.name(name, "lock name", v.LOCK_NAME_MAX)
        if not privileged:
            raise errors.NotPermitted(
                f"force-releasing lock {name!r} needs privileged=True (CLI: --privileged); it evicts its holders"
            )
        if not isinstance(reason, str) or len(reason) > 1000:
            raise errors.InvalidArgument("reason must be a string of at most 1000 characters")
        return self._store._execute(force_release, self._store.project, name, v.owner(actor), reason)

    def not_acquired(self, name: str, owner: str | None, wait: float) -> errors.LockNotAcquired:
        """The error for an acquire that found ``name`` held: by whom, and whether by this owner
        (a lock is not re-entrant: a second acquire by its holder is refused too)."""
        me = v.owner(owner)
        holders = [h for h in self.list(name) if h.name == name]
        waited = f" and did not become free within {wait:g} s" if wait else ""
        if any(h.owner == me for h in holders):
            token = next(h.token for h in holders if h.owner == me)
            return errors.LockNotAcquired(f"lock {name!r} is already held by this owner ({me!r}, token {token}); "
                                          "a lock is not re-entrant: renew it with that token, or release it first")
        who = ", ".join(sorted({repr(h.owner) for h in holders})) or "another owner"
        return errors.LockNotAcquired(f"lock {name!r} is held by {who}{waited}")

    def list(self, prefix: str = "", *, owner: str | None = None) -> list[LockHolder]:
        """Live holders of locks whose name starts with ``prefix``, by name and token."""
        return self._store._execute(
            listing, self._store.project, v.prefix(prefix, "prefix", v.LOCK_NAME_MAX),
            None if owner is None else v.owner(owner),
        )

    def hold(
        self,
        name: str,
        *,
        owner: str | None = None,
        ttl: float = 30.0,
        mode: str = "exclusive",
        wait: float = 0.0,
        renew_every: float | None = None,
        on_lost: Callable[[errors.LeaseLost], None] | None = None,
    ) -> HeldLock:
        """Acquire (or raise :class:`LockNotAcquired`) and keep renewing in the background while the
        ``with`` block runs; see :class:`HeldLock`."""
        lease = self.acquire(name, owner=owner, ttl=ttl, mode=mode, wait=wait)
        if lease is None:
            raise self.not_acquired(name, owner, wait)
        every = ttl / 3 if renew_every is None else v.seconds(renew_every, "renew_every", 0.01, ttl)
        return HeldLock(self, lease, ttl, every, on_lost)

    def cleanup(self, idle: float = 86400.0) -> tuple[int, int]:
        """Remove holder rows of ended or expired leases, and lock rows free and untouched for
        ``idle`` seconds (at least an hour). Tokens stay increasing after either. Returns both counts."""
        from roost.maintenance import cleanup

        idle = v.seconds(idle, "idle", IDLE_MIN, 10 * 365 * 86400.0)
        return (cleanup.remove(self._store, "retention_lock_holders"),
                cleanup.remove(self._store, "retention_locks", age=idle))

    def _lost(self, params: dict[str, Any], verb: str) -> errors.LeaseLost:
        """Say why a renew or release was refused (a read after the fact, for the message only)."""
        name, token, owner = params["name"], params["token"], params["owner"]
        row = self._store._execute(state, params["project"], name, token)
        lead = f"cannot {verb} lock {name!r} with token {token}"
        if row is None:
            return errors.LeaseLost(f"{lead}: no such lock has ever been acquired")
        last, epoch, _mode, _holders, _expires, holder, holder_expires, now = row
        if token > last:
            return errors.LeaseLost(f"{lead}: that token was never issued (the latest is {last})")
        if token < epoch:
            return errors.LeaseLost(f"{lead}: the lease was lost; the lock was taken over or force-released "
                                    f"since (the current holding began at token {epoch})")
        if holder is None:
            return errors.LeaseLost(f"{lead}: it is not a current lease (already released, or never issued for "
                                    "this lock)")
        if owner is not None and holder != owner:
            return errors.LeaseLost(f"{lead}: the lease belongs to {holder!r}, not {owner!r}")
        if holder_expires <= now:
            return errors.LeaseLost(f"{lead}: the lease expired {now - holder_expires:.1f} s ago")
        return errors.LeaseLost(f"{lead}: the lease changed meanwhile; read it again")


def _identify(lease: Lease | str, token: int | None, owner: str | None) -> tuple[str, int, str | None]:
    if isinstance(lease, Lease):
        if token is not None and token != lease.token:
            raise errors.InvalidArgument("give a Lease, or a name and a token, not a Lease and another token")
        return lease.name, lease.token, owner
    if token is None:
        raise errors.InvalidArgument("a token is needed with a lock name")
    return lease, token, owner


class HeldLock:
    """A lease held by a ``with`` block and renewed every ``renew_every`` seconds on a thread.

    If a renewal is refused, or transient errors keep it from succeeding before the lease runs out,
    ``lost`` turns True, ``on_lost`` is called (from the renewal thread), :meth:`check` raises, and
    leaving the block raises :class:`LeaseLost` unless another exception is already on its way.
    Work that must not run without the lock should call :meth:`check` between steps, and pass
    ``token`` to the writes it guards.
    """

    def __init__(self, locks: Locks, lease: Lease, ttl: float, every: float,
                 on_lost: Callable[[errors.LeaseLost], None] | None) -> None:
        self._locks = locks
        self._lease = lease
        self._ttl = ttl
        self._every = every
        self._on_lost = on_lost
        self._deadline = time.monotonic() + ttl
        self._stop = threading.Event()
        self.error: errors.LeaseLost | None = None
        self._thread = threading.Thread(target=self._renew_loop, name=f"roost-renew {lease.name}", daemon=True)
        self._thread.start()

    @property
    def lease(self) -> Lease:
        return self._lease

    @property
    def token(self) -> int:
        return self._lease.token

    @property
    def lost(self) -> bool:
        return self.error is not None

    def check(self) -> None:
        """Raise :class:`LeaseLost` if the lease was lost."""
        if self.error is not None:
            raise self.error

    def _renew_loop(self) -> None:
        pause = self._every
        while not self._stop.wait(pause):
            started = time.monotonic()
            try:
                self._lease = self._locks.renew(self._lease, ttl=self._ttl, owner=self._lease.owner)
                self._deadline = started + self._ttl
                pause = self._every
            except errors.LeaseLost as exc:
                self._lose(exc)
                return
            except errors.RoostError as exc:
                left = self._deadline - time.monotonic()
                if left <= 0:
                    self._lose(errors.LeaseLost(
                        f"lock {self._lease.name!r} (token {self.token}) could not be renewed before it "
                        f"expired: {exc.message}"))
                    return
                pause = min(self._every, max(0.05, left / 4))

    def _lose(self, error: errors.LeaseLost) -> None:
        self.error = error
        if self._on_lost is not None:
            self._on_lost(error)

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        if self.error is None:
            try:
                self._locks.release(self._lease)
            except errors.LeaseLost as lost:
                self.error = lost
        if self.error is not None and exc is None:
            raise self.error
