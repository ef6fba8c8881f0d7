"""Audit log: one row per write, kept even after the actor is deactivated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from reception.db import stamped


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = stamped(index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    # Copied, not joined: the name must survive the user's deactivation or renaming.
    actor_name: str = Field(max_length=50)
    action: str = Field(max_length=50, index=True)
    target_type: str = Field(max_length=50)
    target_id: str = Field(max_length=50, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
