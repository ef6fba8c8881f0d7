"""Console sign-in sessions (persistence only): server-side, so signing out, deactivating a
user or an idle timeout ends them at once in every worker process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint, text
from sqlmodel import Field, SQLModel

from reception.db import UTCDateTime


class ConsoleSession(SQLModel, table=True):
    __tablename__ = "console_session"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    # SHA-256 of the cookie's value (256 random bits): the value itself is never stored.
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Moved forward at most once a minute; idle longer than the timeout ends the session.
    last_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # However active, a session ends after this (a working day).
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Why it ended: signed_out, idle, expired, password_changed, deactivated.
    end_reason: str = Field(default="", max_length=20)
    user_agent: str = Field(default="", max_length=200)
    # The line the next page shows ("已登记 …"), written by the change that earned it and
    # cleared as it is shown: a message after a redirect comes from here, never from the URL
    # (where anyone could put words in the system's mouth).
    flash: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": text("''")})
    # When the person passed the second factor in this session (None: not yet — until then
    # it reaches only the second-factor pages, reception.web.console).
    second_factor_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
