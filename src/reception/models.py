"""Imports every domain's table models, so SQLModel.metadata is complete (Alembic, tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from reception.audit.models import AuditEvent
from reception.org.models import ApiToken, Leader, SecretaryLeader, Unit, User, Venue

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Leader",
    "SecretaryLeader",
    "Unit",
    "User",
    "Venue",
    "metadata",
]
