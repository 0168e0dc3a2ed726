"""A worker loop that runs a command per claimed task: the engine of ``roost work``.

For each task it starts the command with the task in its environment (``ROOST_TASK_ID``,
``ROOST_TASK_TOKEN``, ``ROOST_TASK_KIND``, ``ROOST_TASK_PAYLOAD``, ``ROOST_TASK_ATTEMPT``,
``ROOST_AGENT``) and the payload as JSON on stdin, heartbeats while it runs, and completes the task
on exit 0 (stdout as the result: JSON if it parses, else the text) or fails it otherwise (with the
end of stderr). If the lease is lost meanwhile, the command is terminated: its work would be refused.
A command that cannot be started at all is the worker's fault, not the task's: the task is released
unchanged (no attempt is spent) and the worker stops with :class:`CannotStart`.

A worker is a long-running process, so it outlives the database: when a claim, a heartbeat or a
settle meets an unreachable server, a full pool or a busy file, it says so once, keeps its claimed
work, backs off (capped, jittered) and carries on when the database answers again, saying so once.
Settles are idempotent (see :meth:`roost.tasks.Tasks.complete`), so retrying one is always safe.

Shutdown is graceful: when ``stop`` is set (``roost work`` sets it on the first SIGTERM or SIGINT)
no further task is claimed; the running command has ``grace`` seconds to finish and is then
completed or failed as usual; past that it is terminated and its claim released, so another worker
takes the task at once rather than when the lease runs out. ``force`` (the second signal) kills the
command at once and releases the claim. The command runs in its own process group, so a terminal's
Ctrl-C reaches the worker, which decides, and not the command directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from roost import errors
from roost.store import Store
from roost.tasks import Claim

OUTPUT_MAX = 1024 * 1024
BACKOFF_MIN, BACKOFF_MAX = 0.5, 5.0
KILL_AFTER = 3.0
"""Seconds between terminating a command (SIGTERM to its group) and killing it (SIGKILL)."""
SHUTDOWN_SETTLE = 4.0
"""Seconds a settle may still take once the grace period is over (the worker exits by then)."""

TRANSIENT = errors.TRANSIENT
"""Errors that waiting can fix: the worker retries through them and never exits because of them."""

_VERBS = {"completed": "complete", "failed": "fail", "released": "release"}
Report = Callable[[str, "Claim | None", str], None]
"""``report(event, claim, detail)``: started, completed, failed, released, lost (with the claim);
unreachable, reachable (the database, without one)."""


class CannotStart(errors.InvalidArgument):
    """The worker's command could not be started (a typo, a missing file, no permission)."""


@dataclass
class WorkSummary:
    completed: int = 0
    failed: int = 0
    lost: int = 0
    released: int = 0
    """Tasks given back unfinished at shutdown (their command was stopped)."""
    tasks: list[int] = field(default_factory=list)
    idle: bool = False
    """True if the worker stopped because nothing was claimable for ``max_idle`` seconds."""


class Outage:
    """Says once that the database is unreachable and once that it is back, and paces retries
    with capped, jittered exponential backoff. Shared by the claim loop, heartbeats and settles."""

    def __init__(self, report: Report | None) -> None:
        self._report = report
        self._since: float | None = None
        self._delay = BACKOFF_MIN
        self._lock = threading.Lock()

    def failed(self, exc: errors.RoostError) -> float:
        """Note a failure that waiting can fix; returns how long to wait before the next try."""
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
                if self._report:
                    self._report("unreachable", None, f"{exc.message}; retrying until it answers")
            delay = self._delay
            self._delay = min(self._delay * 2, BACKOFF_MAX)
        return delay * (0.5 + random.random())

    def ok(self) -> None:
        """Note a call that succeeded; ends an outage if one was under way."""
        if self._since is None:  # the common case, without the lock
            return
        with self._lock:
            if self._since is not None:
                took = time.monotonic() - self._since
                self._since, self._delay = None, BACKOFF_MIN
                if self._report:
                    self._report("reachable", None, f"the database answers again, after {took:.1f} s")


def run(
    store: Store,
    agent: str,
    command: Sequence[str],
    *,
    queues: Sequence[str] = ("default",),
    capabilities: Sequence[str] = (),
    lease: float = 60.0,
    once: bool = False,
    poll: float = 1.0,
    grace: float = 10.0,
    max_idle: float | None = None,
    stop: threading.Event | None = None,
    force: threading.Event | None = None,
    report: Report | None = None,
) -> WorkSummary:
    """Claim and run tasks until ``stop`` is set, or with ``once`` after at most one task, or
    after ``max_idle`` seconds without a claimable task. An unreachable database never ends it."""
    if not command:
        raise errors.InvalidArgument("work needs a command to run for each task")
    if grace < 0 or (max_idle is not None and max_idle < 0):
        raise errors.InvalidArgument("grace and max_idle must not be negative")
    stop, force = stop or threading.Event(), force or threading.Event()
    summary = WorkSummary()
    outage = Outage(report)
    idle_since = time.monotonic()
    while not stop.is_set():
        try:
            claims = store.tasks.claim(agent, queues=queues, capabilities=capabilities, n=1, lease=lease)
        except TRANSIENT as exc:
            stop.wait(outage.failed(exc))
            continue
        outage.ok()
        if not claims:
            if once:
                break
            if max_idle is not None and time.monotonic() - idle_since >= max_idle:
                summary.idle = True
                break
            stop.wait(poll)
            continue
        claim = claims[0]
        summary.tasks.append(claim.id)
        job = _Job(store, agent, command, claim, lease, grace, outage, stop, force, report)
        outcome, detail = job.run()
        setattr(summary, outcome, getattr(summary, outcome) + 1)
        if report:
            report(outcome, claim, detail)
        idle_since = time.monotonic()
        if once or force.is_set():
            break
    return summary


class _Job:
    """One claimed task: its command, its heartbeats and how it is settled."""

    def __init__(self, store: Store, agent: str, command: Sequence[str], claim: Claim, lease: float, grace: float,
                 outage: Outage, stop: threading.Event, force: threading.Event, report: Report | None) -> None:
        self.store, self.agent, self.command, self.claim = store, agent, list(command), claim
        self.lease, self.grace, self.outage, self.stop, self.force = lease, grace, outage, stop, force
        self.report = report
        self.lost = threading.Event()
        self.stopped_at: float | None = None
        self.forced_at: float | None = None

    def run(self) -> tuple[str, str]:
        c = self.claim
        env = {**os.environ, "ROOST_AGENT": self.agent, "ROOST_TASK_ID": str(c.id), "ROOST_TASK_TOKEN": str(c.token),
               "ROOST_TASK_KIND": c.kind, "ROOST_TASK_PAYLOAD": json.dumps(c.payload),
               "ROOST_TASK_ATTEMPT": str(c.attempts)}
        if self.report:
            self.report("started", c, " ".join(self.command))
        try:
            child = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, text=True, start_new_session=True)
        except OSError as exc:  # the worker's fault, not the task's: give it back and stop
            message = f"cannot start {self.command[0]!r}: {exc.strerror or exc}"
            outcome, detail = self._settle("released", message, lambda: self.store.tasks.release(c.token))
            if self.report:
                self.report(outcome, c, detail)
            raise CannotStart(f"{message}; task {c.id} was released unchanged, and this worker stopped") from None
        done = threading.Event()
        beater = threading.Thread(target=self._beat, args=(child, done), name=f"roost-heartbeat {c.id}", daemon=True)
        beater.start()
        try:
            out, err, stopped = self._wait(child)
        finally:
            done.set()
            beater.join()
        if self.lost.is_set():
            return "lost", "the lease was lost; the command was stopped"
        if stopped:
            return self._settle("released", f"stopped at shutdown: {stopped}; the task is back in the queue",
                                lambda: self.store.tasks.release(c.token))
        if child.returncode == 0:
            return self._settle("completed", f"exit 0 in task {c.id}",
                                lambda: self.store.tasks.complete(c.token, _result(out)))
        message = (err.strip() or out.strip())[-2000:] or "no output"
        error = f"exit status {child.returncode}: {message}"
        return self._settle("failed", error, lambda: self.store.tasks.fail(c.token, error))

    # -- the command ------------------------------------------------------------------------

    def _wait(self, child: subprocess.Popen[str]) -> tuple[str, str, str | None]:
        """Wait for the command, feeding it the payload; stop it at the end of the grace period
        or at once on ``force``. Returns its output and why it was stopped (None if it ended)."""
        payload: str | None = json.dumps(self.claim.payload)
        stopped: str | None = None
        deadline = kill_at = None
        while True:
            try:
                out, err = child.communicate(payload, timeout=0.1)
                return out, err, stopped
            except subprocess.TimeoutExpired:
                payload = None  # communicate() goes on feeding what it was given first
            now = time.monotonic()
            if self.stop.is_set() and deadline is None:
                self.stopped_at = now
                deadline = now + self.grace
            if self.lost.is_set() and kill_at is None:
                _signal_group(child, signal.SIGTERM)
                kill_at = now + KILL_AFTER
            elif self.force.is_set() and stopped != "killed at once":
                stopped, kill_at = "killed at once", now
            elif deadline is not None and now >= deadline and stopped is None:
                stopped = f"the grace period of {self.grace:g} s ended"
                _signal_group(child, signal.SIGTERM)
                kill_at = now + KILL_AFTER
            if kill_at is not None and now >= kill_at:
                _signal_group(child, signal.SIGKILL)

    def _beat(self, child: subprocess.Popen[str], done: threading.Event) -> None:
        while not done.wait(max(0.2, self.lease / 3)):
            try:
                self.store.tasks.heartbeat(self.claim.token)
            except errors.LeaseLost:
                self.lost.set()
                return
            except TRANSIENT as exc:
                self.outage.failed(exc)  # the lease has room for missed beats; the next one tries again
                continue
            self.outage.ok()

    # -- settling ---------------------------------------------------------------------------

    def _settle(self, outcome: str, detail: str, call: Callable[[], Any]) -> tuple[str, str]:
        """Complete, fail or release, retrying through outages (a settle repeated with the same
        token is idempotent) until it succeeds or the lease is found lost. Once shutting down, it
        gives up when the grace period plus SHUTDOWN_SETTLE is over: the claim then returns to the
        queue when its lease runs out."""
        answer: list[tuple[str, str]] = []

        def attempt() -> None:
            while True:
                try:
                    call()
                    self.outage.ok()
                    answer.append((outcome, detail))
                    return
                except errors.LeaseLost as exc:
                    answer.append(("lost", exc.message))
                    return
                except TRANSIENT as exc:
                    if self.force.is_set():
                        return
                    time.sleep(self.outage.failed(exc))

        thread = threading.Thread(target=attempt, name=f"roost-settle {self.claim.id}", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.1)
            if thread.is_alive() and self._settle_deadline_passed():
                return "lost", (f"could not {_VERBS[outcome]} task {self.claim.id} before exiting: the database "
                                "did not answer; the task returns to the queue when its lease runs out")
        if not answer:
            return "lost", f"task {self.claim.id} was not settled: stopped at once"
        return answer[0]

    def _settle_deadline_passed(self) -> bool:
        now = time.monotonic()
        if self.force.is_set():
            self.forced_at = self.forced_at or now
            return now >= self.forced_at + 1.0
        if not self.stop.is_set():
            return False
        self.stopped_at = self.stopped_at or now
        return now >= self.stopped_at + self.grace + SHUTDOWN_SETTLE


def _signal_group(child: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Signal the command and everything it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)


def _result(out: str) -> object:
    text = out[:OUTPUT_MAX]
    try:
        return json.loads(text)
    except ValueError:
        return text.rstrip("\n")
