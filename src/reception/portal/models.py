"""The petitioner's page's own table: failed lookups, counted in the database."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from reception.db import UTCDateTime


class PortalThrottle(SQLModel, table=True):
    """Failed lookups on the petitioner's page, per client address and per code (both as
    keyed hashes): in the database, so every worker process counts the same."""

    __tablename__ = "portal_throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = Field(default=0)
    last_failure_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
