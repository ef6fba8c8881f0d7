"""The outbox (events written in the same transaction as the change), the endpoints they go to
(webhooks for programs; DingTalk / WeCom group robots), and each event's delivery to each
endpoint, with its attempts.

Invariants the database enforces: one delivery per event and endpoint (UNIQUE); one event per
job mark (a reminder per clock and threshold, a digest per day and leader: UNIQUE key).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from reception.base import sql_in
from reception.db import UTCDateTime, stamped

ENDPOINT_KINDS = ("webhook", "dingtalk", "wecom")
DELIVERY_STATUSES = ("pending", "delivered", "dead")


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_event"
    __table_args__ = (
        # The worker's queue of events not yet given their deliveries.
        Index(
            "ix_outbox_event_waiting",
            "id",
            postgresql_where=text("NOT fanned_out"),
            sqlite_where=text("NOT fanned_out"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The webhook-id: the same on every retry, so a receiver can drop duplicates.
    uid: str = Field(max_length=40, unique=True)
    type: str = Field(max_length=60, index=True)
    # What the event is about ("session:12"): its events reach an endpoint in order.
    aggregate: str = Field(max_length=60, index=True)
    # Ids and what changed; never a petitioner's name, ID number or phone.
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # Where it is meant for (a unit's group, a leader's, the supervisors'): routing only.
    unit_id: int | None = Field(default=None)
    leader_id: int | None = Field(default=None)
    # Given a delivery per endpoint that wants it (by the worker, so the change's own
    # transaction only writes this row).
    fanned_out: bool = Field(default=False)
    created_at: datetime = stamped()


class Endpoint(SQLModel, table=True):
    """Where events go. A webhook takes the events its filter names; a group robot takes the
    messages for its scope (a unit, a leader, or the supervisors)."""

    __tablename__ = "notify_endpoint"
    __table_args__ = (
        CheckConstraint(sql_in("kind", ENDPOINT_KINDS), name="kind"),
        CheckConstraint("scope IN ('all', 'unit', 'leader', 'supervisor')", name="scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    kind: str = Field(max_length=20)
    # Sealed (AES-GCM): the URL holds a robot's key or access token.
    url_sealed: str = Field(max_length=1000)
    # Sealed: the webhook's whsec_ secret or the DingTalk robot's signing secret; during a
    # rotation the previous one signs too, so receivers can switch without losing events.
    secret_sealed: str = Field(default="", max_length=400)
    previous_secret_sealed: str = Field(default="", max_length=400)
    # Event types (or prefixes like "case."); empty: every event.
    events: list[str] = Field(default_factory=list, sa_type=JSON)
    scope: str = Field(default="all", max_length=20)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    leader_id: int | None = Field(default=None, foreign_key="leader.id")
    active: bool = Field(default=True)
    disabled_reason: str = Field(default="", max_length=200)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # The last event written before this endpoint existed: it receives only later ones (a
    # group robot added to a running office is not flooded with the past).
    after_event_id: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = stamped()


class Delivery(SQLModel, table=True):
    __tablename__ = "notify_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        CheckConstraint(sql_in("status", DELIVERY_STATUSES), name="status"),
        Index("ix_notify_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="outbox_event.id", index=True)
    endpoint_id: int = Field(foreign_key="notify_endpoint.id", index=True)
    status: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    # When to try next; null: at once (a new delivery, written where no clock is at hand).
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # A worker's lease: while it runs, no other worker takes the delivery.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_status: int | None = Field(default=None)
    last_error: str = Field(default="", max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class JobMark(SQLModel, table=True):
    """A daily job's promise kept once: "reminder:<clock>:<threshold>", "digest:<day>:<leader>"."""

    __tablename__ = "notify_job_mark"

    key: str = Field(primary_key=True, max_length=100)
    created_at: datetime = stamped()
