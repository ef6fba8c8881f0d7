"""Incidents that decide a township's 三无 status (no irregular visit to Beijing, no large
collective visit to the city, no online public-opinion incident)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from reception.db import stamped

INCIDENT_KINDS = ("beijing_irregular", "city_collective", "online_opinion")


class Incident(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('beijing_irregular', 'city_collective', 'online_opinion')", name="kind"
        ),
        CheckConstraint("people_count IS NULL OR people_count >= 1", name="people_count_positive"),
        Index("ix_incident_unit_id_occurred_on", "unit_id", "occurred_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    # The township (乡镇/街道) it counts against.
    unit_id: int = Field(foreign_key="unit.id")
    occurred_on: date
    people_count: int | None = Field(default=None)
    case_id: int | None = Field(default=None, foreign_key="petition_case.id", index=True)
    description: str = Field(default="", max_length=2000)
    recorded_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()
