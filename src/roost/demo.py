"""``roost demo``: a small agent team runs a project plan on one store, and the run is checked.

The conductor (the ``roost demo`` process) starts a manager and three workers as real processes
(``python -m roost.demo manager|worker …``). The manager enqueues the plan, sets milestone signals
and sweeps silent agents offline; the workers claim tasks, lock the files each task "edits",
heartbeat and complete. The conductor watches the store, follows the event log for its live log,
kills the worker that takes the ``api`` task part-way through it, and at the end checks the outcome
against the store: every task completed exactly once, in dependency order, the killed worker's
task reclaimed and its late completion refused, no lock left held, one ``task.completed`` event
per task, and each completion recorded in the plan's session (a transcript entry and a report
artifact, written in the completion's own transaction) exactly once.

Leases are short (3 s) so that the reclaim happens within the run; nothing else is special-cased.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import roost
from roost import errors
from roost.events import Event, Subscription
from roost.store import Store
from roost.tasks import Claim, TaskSpec

QUEUE = "demo"
LEASE = 3.0
"""Task leases and lock TTLs, in seconds: short, so the killed worker's task comes back quickly."""
WORKERS = ("coder-1", "coder-2", "coder-3")
VICTIM_TASK = "api"
"""The worker that claims this task is killed once it has worked on it for a while."""
KILL_AFTER = 1.0
DEADLINE = 90.0
OFFLINE_AFTER = 2.0
MILESTONES = ("QA_PASSED", "COMPLETED")
SESSION = "plan"
"""The session the team records its work in: one transcript entry and one report per task."""


@dataclass(frozen=True)
class Step:
    ref: str
    title: str
    files: tuple[str, ...]
    seconds: float
    after: tuple[str, ...] = ()


PLAN = (
    Step("spec", "Write the spec", ("docs/spec.md",), 0.8),
    Step("models", "Data models", ("src/models.py",), 1.0, ("spec",)),
    Step("api", "HTTP API", ("src/api.py", "src/models.py"), 2.5, ("models",)),
    Step("auth", "Authentication", ("src/auth.py", "src/api.py"), 1.0, ("models",)),
    Step("cli", "Command line", ("src/cli.py",), 1.0, ("models",)),
    Step("guide", "User guide", ("README.md", "docs/spec.md"), 0.8, ("spec",)),
    Step("test-api", "API tests", ("tests/test_api.py",), 0.8, ("api",)),
    Step("test-auth", "Auth tests", ("tests/test_auth.py",), 0.8, ("auth",)),
    Step("test-cli", "CLI tests", ("tests/test_cli.py",), 0.8, ("cli",)),
    Step("qa", "QA run", (), 1.0, ("test-api", "test-auth", "test-cli")),
    Step("review", "Code review", (), 0.8, ("qa",)),
    Step("release", "Release notes", ("CHANGELOG.md",), 0.5, ("review", "guide")),
)
"""About a dozen tasks. ``auth`` needs ``src/api.py`` too, so it waits on the lock ``api`` holds."""


def _connect(url: str, project: str) -> Store:
    return roost.connect(url, project=project, agent_offline_after=OFFLINE_AFTER)


# -- the manager process ----------------------------------------------------------------------


def manager(url: str, project: str) -> None:
    """Enqueue the plan, then mark milestones as tasks finish: PHASE, QA_PASSED, COMPLETED."""
    with _connect(url, project) as store:
        store.agents.register("manager", kind="manager", metadata={"pid": os.getpid()})
        store.sessions.create("Ship the plan", id=SESSION, participants=["manager", *WORKERS])
        store.transcripts.append(SESSION, "prompt", f"Plan of {len(PLAN)} tasks: " + ", ".join(s.ref for s in PLAN),
                                 agent="manager", message_id="plan")
        specs = [TaskSpec(s.ref, {"title": s.title, "files": list(s.files), "seconds": s.seconds}, queue=QUEUE,
                          depends_on=s.after, ref=s.ref, idempotency_key=f"demo:{s.ref}", max_attempts=3)
                 for s in PLAN]
        store.tasks.enqueue_many(specs)
        store.signals.set("PHASE", "build", owner="manager")
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            store.agents.heartbeat("manager", status="watching")
            store.agents.sweep()  # a worker that went silent is marked offline (an agent.offline event)
            status = {t.kind: t.status for t in store.tasks.list(queue=QUEUE)}
            if any(s in ("dead", "cancelled") for s in status.values()):
                store.signals.set("FAILED", {"tasks": status}, critical=True, owner="manager")
                return
            if status.get("qa") == "done" and store.signals.get("QA_PASSED") is None:
                store.signals.set("QA_PASSED", True, critical=True, owner="manager")
                store.signals.set("PHASE", "review", owner="manager")
            if all(s == "done" for s in status.values()):
                store.signals.set("PHASE", "done", owner="manager")
                store.signals.set("COMPLETED", True, critical=True, owner="manager")
                store.agents.heartbeat("manager", status="done")
                return
            time.sleep(0.1)
        store.signals.set("FAILED", "the manager gave up waiting", critical=True, owner="manager")


# -- a worker process -------------------------------------------------------------------------


def worker(url: str, project: str, name: str) -> None:
    """Claim, lock the task's files, work while heartbeating, complete; until COMPLETED is set."""
    with _connect(url, project) as store:
        store.agents.register(name, kind="coder", capabilities=["python"], metadata={"pid": os.getpid()})
        while store.signals.get("COMPLETED") is None and store.signals.get("FAILED") is None:
            claims = store.tasks.claim(name, queues=[QUEUE], lease=LEASE)
            if not claims:
                store.agents.heartbeat(name, status="idle")
                time.sleep(0.1)
                continue
            claim = claims[0]
            store.agents.heartbeat(name, status=f"on {claim.kind}")
            with contextlib.suppress(errors.LeaseLost):  # the task was taken from us: the next claim goes on
                _work(store, name, claim)


def _work(store: Store, name: str, claim: Claim) -> None:
    with contextlib.ExitStack() as held:
        tokens = {}
        for path in sorted(claim.payload["files"]):  # one order for every worker: no deadlock
            lock = _lock(store, name, path, claim)
            held.enter_context(lock)
            tokens[path] = lock.token
        beat = time.monotonic()
        end = beat + float(claim.payload["seconds"])
        while time.monotonic() < end:
            time.sleep(0.05)
            if time.monotonic() - beat > LEASE / 3:
                store.tasks.heartbeat(claim.token)  # the lease on the task
                store.agents.heartbeat(name)  # and the agent's liveness (the manager sweeps silent agents)
                beat = time.monotonic()
        title = claim.payload["title"]
        with store.transaction():  # the completion and its record commit together, or neither does
            store.tasks.complete(claim.token, {"agent": name, "locks": tokens})
            store.transcripts.append(SESSION, "response", f"{name} finished {claim.kind}: {title}", agent=name,
                                     phase=claim.kind, message_id=f"task-{claim.id}")
            store.artifacts.put(f"reports/{claim.kind}.md", f"# {title}\n\nDone by {name}.\n", type="report",
                                format="text/markdown", session=SESSION, task=claim.id)
        store.observations.add(name, f"finished {claim.kind}", kind="done", session=SESSION)


def _lock(store: Store, name: str, path: str, claim: Claim) -> Any:
    """Wait for a file lock, keeping the task's lease alive meanwhile."""
    while True:
        try:
            return store.locks.hold(path, owner=name, ttl=LEASE, wait=LEASE / 3)
        except errors.LockNotAcquired:
            store.tasks.heartbeat(claim.token)
            store.agents.heartbeat(name, status=f"{claim.kind}: waits for {path}")


# -- the conductor ----------------------------------------------------------------------------


@dataclass
class Snapshot:
    """What the live view shows; one read of the store."""

    elapsed: float
    stats: dict[str, int]
    running: list[dict[str, Any]]
    locks: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    signals: dict[str, Any]
    log: list[str]


@dataclass
class Run:
    url: str
    project: str
    directory: Path
    started: float = field(default_factory=time.monotonic)
    log: list[str] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    killed: dict[str, Any] = field(default_factory=dict)
    events: Subscription | None = None

    def say(self, text: str) -> None:
        self.log.append(f"{time.monotonic() - self.started:5.1f}s  {text}")


def default_project() -> str:
    return f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def run(url: str, project: str, directory: Path, view: Callable[[Snapshot], None] | None = None) -> dict[str, Any]:
    """Run the demo and return its summary (``summary["ok"]`` says whether every check passed)."""
    state = Run(url, project, directory)
    with _connect(url, project) as store:
        if store.tasks.list(queue=QUEUE, limit=1):
            raise errors.InvalidArgument(
                f"project {project!r} already holds a demo run; give another --project or a fresh --dir")
        log_path = directory / "agents.log"
        with (
            store.events.subscribe(list(LOGGED), after="now") as state.events,
            open(log_path, "ab") as log,
            _processes(state, log),
        ):
            state.say(f"started manager and {', '.join(WORKERS)}")
            outcome = _watch(store, state, view)
            _wait_for_exit(state)
        summary = _summarize(store, state, outcome)
        summary["agents_log"] = str(log_path)
    return summary


@contextlib.contextmanager
def _processes(state: Run, log: Any) -> Iterator[None]:
    def start(*args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "ROOST_URL": state.url, "ROOST_PROJECT": state.project}  # not argv: ps shows that
        return subprocess.Popen([sys.executable, "-m", "roost.demo", *args], env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    try:
        state.procs["manager"] = start("manager")
        for name in WORKERS:
            state.procs[name] = start("worker", name)
        yield
    finally:
        for proc in state.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _watch(store: Store, state: Run, view: Callable[[Snapshot], None] | None) -> str:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        snap = _snapshot(store, state)
        if view:
            view(snap)
        if not state.killed:
            _maybe_kill(store, state, snap)
        for key in ("COMPLETED", "FAILED"):
            if key in snap.signals:
                state.say(f"signal {key} is set")
                if view:
                    view(_snapshot(store, state))
                return key
        if all(p.poll() is not None for p in state.procs.values()):
            state.say("every agent process exited before COMPLETED")
            return "EXITED"
        time.sleep(0.2)
    state.say(f"gave up after {DEADLINE:g} s")
    return "TIMEOUT"


LOGGED = ("task.claimed", "task.completed", "task.expired", "task.failed", "signal.set", "lock.taken_over",
          "agent.offline")
"""The events the live log shows, read from the store's event log as they commit."""


def _describe(event: Event) -> str:
    p = event.payload
    return {
        "task.claimed": lambda: f"{p.get('agent')} claimed {p.get('kind')} (token {p.get('token')}, "
                                f"attempt {p.get('attempt')})",
        "task.completed": lambda: f"{p.get('agent')} completed {p.get('kind')}",
        "task.expired": lambda: f"the lease of {p.get('agent')} on {p.get('kind')} expired",
        "task.failed": lambda: f"{p.get('agent')} failed {p.get('kind')}: {p.get('error')}",
        "signal.set": lambda: f"{p.get('by')} set {p.get('key')} = {json.dumps(p.get('value'))}",
        "lock.taken_over": lambda: f"lock {p.get('name')} taken over after its lease expired",
        "agent.offline": lambda: f"{p.get('name')} is offline ({p.get('reason')})",
    }.get(event.topic, lambda: event.topic)()


def _snapshot(store: Store, state: Run) -> Snapshot:
    if state.events is not None:
        while (event := state.events.get(timeout=0)) is not None:
            state.say(f"[{event.topic}] {_describe(event)}")
    tasks = store.tasks.list(queue=QUEUE)
    counts = {s: 0 for s in ("pending", "running", "done", "failed", "dead", "cancelled")}
    now = store.now()
    running = []
    for t in tasks:
        counts[t.status] = counts.get(t.status, 0) + 1
        if t.status == "running" and t.claimed_at and t.lease_expires_at:
            running.append({"id": t.id, "task": t.kind, "agent": t.claimed_by, "pid": t.claimed_pid,
                            "token": t.token, "attempt": t.attempts,
                            "for": (now - t.claimed_at).total_seconds(),
                            "lease_left": (t.lease_expires_at - now).total_seconds()})
    signals = {s.key: s.value for s in store.signals.list()}
    return Snapshot(
        elapsed=time.monotonic() - state.started, stats=counts, running=running,
        locks=[{"name": h.name, "owner": h.owner, "token": h.token, "left": h.remaining} for h in store.locks.list()],
        agents=[{"name": a.name, "state": a.state, "seen": a.heartbeat_age} for a in store.agents.list()],
        signals=signals, log=state.log[-8:],
    )


def _maybe_kill(store: Store, state: Run, snap: Snapshot) -> None:
    """SIGKILL the worker on the victim task once it is well into it (and still on attempt 1)."""
    for r in snap.running:
        if r["task"] != VICTIM_TASK or r["attempt"] != 1 or r["for"] < KILL_AFTER:
            continue
        proc = state.procs.get(r["agent"])
        if proc is None or proc.pid != r["pid"] or proc.poll() is not None:
            continue
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state.killed = {"agent": r["agent"], "pid": proc.pid, "task": r["task"], "task_id": r["id"],
                        "token": r["token"]}
        state.say(f"killed {r['agent']} (pid {proc.pid}) mid-task on {r['task']} (token {r['token']})")


def _wait_for_exit(state: Run) -> None:
    """Workers stop on their own once COMPLETED is set; give them a moment, then stop the rest."""
    deadline = time.monotonic() + 10
    for proc in state.procs.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.1, deadline - time.monotonic()))


def _summarize(store: Store, state: Run, outcome: str) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"name": name, "ok": bool(ok), "detail": detail})

    tasks = {t.kind: store.tasks.get(t.id) for t in store.tasks.list(queue=QUEUE)}
    history = {kind: store.tasks.history(t.id) for kind, t in tasks.items() if t}
    check("run finished", outcome == "COMPLETED", f"ended with {outcome}")
    planned = {s.ref for s in PLAN}
    done = {k for k, t in tasks.items() if t and t.status == "done"}
    check("every task done", done == planned and len(tasks) == len(PLAN),
          f"{len(done)} of {len(PLAN)} done" + (f"; not done: {', '.join(sorted(planned - done))}" if done != planned
                                                else ""))
    once = {k for k, runs in history.items() if sum(r.outcome == "done" for r in runs) == 1}
    check("each completed exactly once", once == planned,
          f"{len(once)} of {len(PLAN)} tasks have exactly one completed claim in their history")
    order_ok, order_detail = _dependency_order(tasks, history)
    check("dependency order", order_ok, order_detail)
    reclaimed: dict[str, Any] = {}
    if state.killed:
        runs = history.get(state.killed["task"], [])
        first = next((r for r in runs if r.token == state.killed["token"]), None)
        finisher = next((r for r in runs if r.outcome == "done"), None)
        reclaimed = {**state.killed, "first_claim_ended": first.outcome if first else None,
                     "finished_by": finisher.agent if finisher else None, "attempts": len(runs)}
        check("killed worker's task reclaimed", bool(first and first.outcome == "expired" and finisher
                                                      and finisher.agent != state.killed["agent"]),
              f"{state.killed['task']}: claim by {state.killed['agent']} ended "
              f"{first.outcome if first else 'missing'}; finished by {finisher.agent if finisher else 'nobody'}")
        try:
            store.tasks.complete(state.killed["token"], {"late": True})
            reclaimed["late_complete"] = "accepted"
        except errors.LeaseLost as exc:
            reclaimed["late_complete"] = f"refused: {exc.message}"
        check("late completion refused", reclaimed["late_complete"].startswith("refused"),
              f"complete(token {state.killed['token']}) was {reclaimed['late_complete']}")
    else:
        check("a worker was killed mid-task", False, f"no worker was seen on {VICTIM_TASK!r} long enough to kill")
    held = store.locks.list()
    check("no lock left held", not held, f"{len(held)} lock(s) held" + "".join(
        f"; {h.name} by {h.owner}" for h in held))
    completions: dict[int, int] = {}
    for event in _all_events(store, "task.completed"):
        completions[event.refs["task"]] = completions.get(event.refs["task"], 0) + 1
    ids = {t.id for t in tasks.values() if t}
    check("event log agrees", set(completions) == ids and set(completions.values()) == {1},
          f"{len(completions)} tasks with a task.completed event, {sum(completions.values())} events in all")
    session = store.sessions.get(SESSION)
    entries = store.transcripts.page(SESSION, limit=1000).items if session else []
    recorded = [e.message_id or "" for e in entries if e.role == "response"]
    reports = {a.task for a in store.artifacts.list(session=SESSION, limit=1000)}
    check("work recorded once", session is not None and sorted(recorded) == sorted(f"task-{i}" for i in ids)
          and reports == ids and session.entry_count == len(PLAN) + 1 and session.artifact_count == len(PLAN),
          f"{len(recorded)} transcript entries and {len(reports)} reports for {len(ids)} tasks in session "
          f"{SESSION!r}")
    signals = {key: (sig.value if sig else None) for key in MILESTONES for sig in [store.signals.get(key)]}
    check("milestones signalled", all(v is True for v in signals.values()),
          ", ".join(f"{k}={v}" for k, v in signals.items()))
    per_agent: dict[str, int] = {}
    for runs in history.values():
        for r in runs:
            if r.outcome == "done":
                per_agent[r.agent] = per_agent.get(r.agent, 0) + 1
    return {
        "ok": all(c["ok"] for c in checks),
        "backend": store.backend,
        "url": store.settings.url.masked,
        "project": state.project,
        "directory": str(state.directory),
        "seconds": round(time.monotonic() - state.started, 1),
        "tasks": {"planned": len(PLAN), "done": len(done), "completed_once": len(once)},
        "completed_by": dict(sorted(per_agent.items())),
        "killed": reclaimed,
        "signals": signals,
        "locks_held": len(held),
        "session": None if session is None else {
            "entries": session.entry_count, "artifacts": session.artifact_count,
            "observations": session.observation_count},
        "checks": checks,
        "log": state.log,
    }


def _all_events(store: Store, topic: str) -> list[Event]:
    found, cursor = [], "start"
    while page := store.events.query(topic, after=cursor, limit=1000):
        found.extend(page)
        cursor = page[-1].cursor
    return found


def _dependency_order(tasks: dict[str, Any], history: dict[str, list[Any]]) -> tuple[bool, str]:
    """Each task's completing claim began after every task it depends on had finished."""
    late = []
    for step in PLAN:
        runs = [r for r in history.get(step.ref, []) if r.outcome == "done"]
        if not runs:
            continue
        for dep in step.after:
            task = tasks.get(dep)
            finished = task.finished_at if task is not None else None
            if finished is None or runs[0].claimed_at < finished:
                late.append(f"{step.ref} before {dep}")
    return not late, "every task started after its dependencies finished" if not late else "; ".join(late)


def main(argv: list[str]) -> None:
    """``python -m roost.demo manager`` or ``… worker NAME``, with ROOST_URL and ROOST_PROJECT set."""
    url, project = os.environ.get("ROOST_URL"), os.environ.get("ROOST_PROJECT")
    if not url or not project:
        sys.exit("the demo's agents need ROOST_URL and ROOST_PROJECT")
    if argv == ["manager"]:
        manager(url, project)
    elif len(argv) == 2 and argv[0] == "worker":
        worker(url, project, argv[1])
    else:
        sys.exit("usage: python -m roost.demo manager | worker NAME")


if __name__ == "__main__":
    main(sys.argv[1:])
