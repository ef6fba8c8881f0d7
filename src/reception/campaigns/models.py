"""积案化解专项: backlog campaigns, their cases and dated targets (persistence only)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from reception.db import stamped


class Campaign(SQLModel, table=True):
    """积案化解专项: a set of cases with dated targets."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=2000)
    created_at: datetime = stamped()


class CampaignTarget(SQLModel, table=True):
    __tablename__ = "campaign_target"
    __table_args__ = (
        UniqueConstraint("campaign_id", "due_on"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    due_on: date
    # Share of the campaign's cases resolved by due_on, in whole percent (32, 80, 100).
    percent: int


class CampaignCase(SQLModel, table=True):
    __tablename__ = "campaign_case"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", primary_key=True, index=True)
