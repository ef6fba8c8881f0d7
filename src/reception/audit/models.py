"""Audit log: one row per write, kept even after the actor is deactivated — hash-chained, with
a signed checkpoint per day (reception.audit.chain)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from reception.db import UTCDateTime, stamped


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
    # H(previous row's chain ‖ this row's content): "sm3:<hex>" or "sha256:<hex>"; empty for
    # the rows written before the chain (0021).
    chain: str = Field(default="", max_length=80)


class AuditHead(SQLModel, table=True):
    """The chain's head (one row, id 1): the last row chained, and the chain of the last row
    archived away (where verification starts when older rows are gone)."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True)
    chain: str = Field(default="", max_length=80)
    last_id: int = Field(default=0)
    # The Beijing day of the last row chained (a new day's first row closes it).
    day: date | None = Field(default=None)
    archived_chain: str = Field(default="", max_length=80)


class AuditCheckpoint(SQLModel, table=True):
    """A closed day: its last row and chain, HMAC'd under the audit key."""

    __tablename__ = "audit_checkpoint"

    day: date = Field(primary_key=True)
    last_id: int
    chain: str = Field(max_length=80)
    mac: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
