"""Stored working-day calendar: one row per year, one row per exceptional day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from reception.db import stamped


class CalendarYear(SQLModel, table=True):
    __tablename__ = "calendar_year"

    year: int = Field(primary_key=True)
    # True once the State Council's schedule for the year is in; until then: provisional.
    official: bool = Field(default=False)
    # Where the data came from: "holidays-package", "json", "ics".
    source: str = Field(max_length=40)
    updated_at: datetime = stamped()
    updated_by_name: str = Field(default="", max_length=50)


class CalendarDay(SQLModel, table=True):
    """A day that is not what the default week says: a holiday or a make-up working day."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)

    day: date = Field(primary_key=True)
    year: int = Field(foreign_key="calendar_year.year", index=True)
    kind: str = Field(max_length=10)
    name: str = Field(default="", max_length=60)
