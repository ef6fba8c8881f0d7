"""Feed tokens (persistence only): one secret URL per scope, stored hashed, revocable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from reception.db import UTCDateTime, stamped

FEED_SCOPES = ("leader", "unit", "secretary")


class FeedToken(SQLModel, table=True):
    __tablename__ = "feed_token"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        CheckConstraint("scope IN ('leader', 'unit', 'secretary')", name="scope"),
        # Exactly the target column of the scope is set.
        CheckConstraint(
            "(scope = 'leader' AND leader_id IS NOT NULL AND unit_id IS NULL"
            " AND secretary_user_id IS NULL)"
            " OR (scope = 'unit' AND unit_id IS NOT NULL AND leader_id IS NULL"
            " AND secretary_user_id IS NULL)"
            " OR (scope = 'secretary' AND secretary_user_id IS NOT NULL AND leader_id IS NULL"
            " AND unit_id IS NULL)",
            name="scope_target",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the token: the URL is shown once and never stored.
    token_hash: str = Field(max_length=64)
    # First characters of the token, so a person can tell feeds apart in a list.
    prefix: str = Field(max_length=12)
    scope: str = Field(max_length=20)
    leader_id: int | None = Field(default=None, foreign_key="leader.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    secretary_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    name: str = Field(default="", max_length=100)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    # Copied, not joined: the name must survive the user's deactivation or renaming.
    created_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class FeedLeaderVersion(SQLModel, table=True):
    """A leader's feed version: bumped by the database's own triggers (migration 0030) on
    every INSERT, UPDATE or DELETE of the leader's reception sessions and of their
    appointments — whatever wrote them (the ORM, a Core statement, an import) — with the
    latest `updated_at` written. A feed's poll reads its leaders' rows, not their sessions.
    One row per leader, not one for all: bookings of different leaders never wait on each
    other's bump."""

    __tablename__ = "feed_leader_version"

    leader_id: int = Field(primary_key=True)
    version: int = Field(default=0, sa_type=BigInteger)
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
