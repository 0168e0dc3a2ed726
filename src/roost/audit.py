"""The audit log: privileged actions (force release, writes to protected signals), who and when.

Rows are written in the same transaction as the action they record, so neither exists without the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost._op import Op, Query, to_datetime
from roost._validate import stored_json


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


def record(project: str, actor: str, action: str, subject: str, detail: dict[str, Any]) -> Op[None]:
    yield Query("audit_insert", {"project": project, "actor": actor, "action": action, "subject": subject,
                                 "detail": json.dumps(detail, ensure_ascii=False)})


def entries(project: str, limit: int) -> Op[list[AuditEntry]]:
    rows = (yield Query("audit_list", {"project": project, "limit": limit})).rows
    return [AuditEntry(int(i), to_datetime(at), actor, action, subject, stored_json(detail))
            for i, at, actor, action, subject, detail in rows]
