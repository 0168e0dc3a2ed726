"""What retention removes, by kind of record, and what it keeps on purpose.

Each :class:`Kind` is a few :class:`Step`\\ s, each one pair of named queries (``<query>_count`` and
``<query>``: count, and delete one batch) bounded by one setting. A step whose setting is 0 is off.
Every table of the schema is either removed from by a step, removed with one by ``ON DELETE
CASCADE`` (``Kind.cascade``) or listed in :data:`KEPT` with the reason; a test holds the schema to
that, so a table added later fails it until someone decides its retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roost.config import Settings


@dataclass(frozen=True)
class Step:
    """One statement pair. ``setting`` bounds it (``age`` in seconds, or ``keep`` versions, as
    ``param`` says); None means the step always runs (rows with nothing left to describe)."""

    query: str
    table: str
    setting: str | None = None
    param: str = "age"
    scale: float = 1.0

    def bound(self, settings: Settings) -> float | None:
        """The step's parameter under ``settings``; None when the setting turns it off (0)."""
        if self.setting is None:
            return 0.0
        value = float(getattr(settings, self.setting))
        return value * self.scale if value > 0 else None

    def policy(self, settings: Settings) -> str:
        if self.setting is None:
            return "always"
        value = getattr(settings, self.setting)
        if value <= 0:
            return f"{self.setting} = 0 (off)"
        if self.param == "keep" or self.scale != 1.0:
            return f"{self.setting} = {value:g}"
        return f"{self.setting} = {duration(value)}"


def duration(seconds: float) -> str:
    """Seconds as people read a retention period: 90 s, 45 min, 24 h, 7 d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size or (seconds >= size and seconds % size == 0):
            return f"{seconds / size:.4g} {unit}"
    return f"{seconds:.4g} s"


@dataclass(frozen=True)
class Kind:
    name: str
    help: str
    steps: tuple[Step, ...]
    cascade: tuple[str, ...] = ()
    """Tables whose rows go with the steps' rows (foreign keys ``ON DELETE CASCADE``)."""


KINDS: tuple[Kind, ...] = (
    Kind("signals", "expired signals, and non-critical ones (tombstones too) not written for signal_max_age",
         (Step("retention_signals", "signals", "signal_max_age"),)),
    Kind("locks", "holder rows of ended holdings, and lock rows free and untouched for lock_max_idle "
         "(fencing tokens keep growing)",
         (Step("retention_lock_holders", "lock_holders"), Step("retention_locks", "locks", "lock_max_idle"))),
    Kind("agents", "agents without a heartbeat for agent_max_age",
         (Step("retention_agents", "agents", "agent_max_age"),)),
    Kind("audit", "audit-log entries older than audit_max_age",
         (Step("retention_audit", "audit_log", "audit_max_age"),)),
    Kind("claims", "ended claims (earlier attempts of kept tasks, and those of finished ones) older than "
         "claim_max_age",
         (Step("retention_claims", "task_runs", "claim_max_age"),)),
    Kind("tasks", "done, dead and cancelled tasks finished task_max_age ago, with their claims and dependencies",
         (Step("retention_tasks", "tasks", "task_max_age"),), cascade=("task_deps", "task_runs")),
    Kind("events", "events older than event_max_age (never the newest of the database)",
         (Step("retention_events", "events", "event_max_age"),)),
    Kind("observations", "observations older than observation_retention_days",
         (Step("retention_observations", "observations", "observation_retention_days", scale=86400.0),
          Step("retention_observation_agents", "observation_agents"))),
    Kind("transcripts", "transcripts of completed or archived sessions quiet for transcript_max_age "
         "(the sessions and their memories stay)",
         (Step("retention_transcripts", "transcript_entries", "transcript_max_age"),)),
    Kind("artifacts", "versions beyond the newest artifact_versions_kept of each name, content no version "
         "uses, and uploads idle for upload_max_age",
         (Step("retention_artifact_versions", "artifacts", "artifact_versions_kept", param="keep"),
          Step("retention_artifact_blobs", "artifact_blobs"),
          Step("retention_artifact_uploads", "artifact_blobs", "upload_max_age")), cascade=("artifact_chunks",)),
    Kind("document_history", "earlier document versions older than document_history_max_age (off by default: "
         "each collection's history count bounds them at every write)",
         (Step("retention_document_history", "document_history", "document_history_max_age"),)),
    Kind("runs", "completed, failed and cancelled workflow runs finished run_max_age ago, with all their records",
         (Step("retention_runs", "runs", "run_max_age"),),
         cascade=("run_phases", "gate_decisions", "evaluations", "run_outputs")),
    Kind("checkpoints", "LangGraph checkpoints beyond the newest checkpoints_kept of each thread and namespace "
         "(never the newest; threads using a DeltaChannel are left whole), threads whose newest checkpoint is "
         "checkpoint_thread_max_age old, with their pending writes, and channel values no checkpoint points at",
         (Step("retention_lg_checkpoints", "lg_checkpoints", "checkpoints_kept", param="keep"),
          Step("retention_lg_threads", "lg_checkpoints", "checkpoint_thread_max_age"),
          Step("retention_lg_blobs", "lg_blobs")), cascade=("lg_writes",)),
    Kind("store_items", "LangGraph store items whose time to live ran out",
         (Step("retention_lg_items", "lg_items"),)),
)

BY_NAME = {kind.name: kind for kind in KINDS}

KEPT: dict[str, str] = {
    "projects": "one row per project",
    "schema_migrations": "the schema's own record",
    "counters": "SQLite's token counters, which must only grow",
    "sqlite_sequence": "SQLite's AUTOINCREMENT record, which keeps ids from being reused",
    "listeners": "cleans itself: a listener that starts removes rows of listeners unseen for an hour",
    "event_consumers": "one cursor per named consumer",
    "sessions": "a session stays (its transcript goes under `transcripts`)",
    "memories": "long-term memory, kept until deleted",
    "artifact_names": "one row per artifact name: its latest version number",
    "doc_collections": "collection definitions",
    "documents": "documents are never removed by retention (their history is)",
    "document_keys": "derived from a document, removed with it",
    "document_links": "links between documents, removed with them",
    "workflows": "workflow definitions, which runs point at",
    "search_backfill": "the search index's upgrade progress, one row per kind",
    "search_names": "derived name counts, kept by triggers with their records",
    "cleanup_state": "when each project's cleanup last ran",
    "imports": "what each project was last imported from, one row per project",
}
"""Tables retention never removes from, and why. SQLite's full-text tables (``search_*`` and
their shadow tables) are also kept: triggers keep them in step with their records."""
