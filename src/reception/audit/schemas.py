"""Response body of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct


class AuditVerdict(Struct):
    intact: bool
    checked: int
    unchained: int
    checkpoints: int
    broken_row_id: int | None
    broken_at: datetime | None
    # In Chinese, for the person reading it.
    summary: str


class AuditRead(Struct):
    id: int
    at: datetime
    actor_user_id: int | None
    actor_name: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
