"""Bodies of the working-day calendar API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from reception.base import Strict


class DayIn(Strict):
    date: date
    name: Annotated[str, Meta(max_length=60)] = ""


class YearPut(Strict):
    """A year's schedule: holidays (days off) and make-up working days (调休上班)."""

    holidays: list[DayIn | date]
    workdays: list[DayIn | date] = msgspec.field(default_factory=list)
    official: bool = True


class DayOut(Struct):
    date: date
    name: str


class YearRead(Struct):
    year: int
    official: bool
    provisional: bool
    source: str
    updated_at: datetime
    updated_by_name: str
    holidays: list[DayOut]
    workdays: list[DayOut]


class WorkdayCheck(Struct):
    date: date
    workday: bool
    provisional: bool
