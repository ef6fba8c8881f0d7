"""督查督办 at rest (persistence only): the checklist, a month's spot check of a unit (its seed,
population and sample), the marks a checker gave each sampled case, and the findings with
their rectification. (A case's 流调 is a record of the case: `cases.models.CauseInquiry`.)

Invariants the database enforces: one check per unit and month, one mark per sampled case and
checklist item, a case sampled once per check (UNIQUE); finding statuses (CHECK).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reception.base import sql_in
from reception.db import stamped
from reception.supervision.rules import FINDING_STATUSES


class CheckItem(SQLModel, table=True):
    """One line of the spot check's checklist (the admin edits the list; a line no longer used
    is set inactive, never deleted: past marks keep their meaning)."""

    __tablename__ = "check_item"
    __table_args__ = (UniqueConstraint("code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=30)
    label: str = Field(max_length=50)
    hint: str = Field(default="", max_length=200)
    position: int = Field(default=0)
    active: bool = Field(default=True)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class SpotCheck(SQLModel, table=True):
    """A month's 抽查 of one base unit: the seed it was drawn with and the population it was
    drawn from (case ids), so anyone can draw it again and get the same cases."""

    __tablename__ = "spot_check"
    __table_args__ = (
        UniqueConstraint("month", "unit_id"),
        CheckConstraint("size >= 1", name="size_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    seed: str = Field(max_length=64)
    size: int
    population: list[int] = Field(default_factory=list, sa_type=JSON)
    drawn_on: date
    drawn_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    drawn_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()


class SpotCheckCase(SQLModel, table=True):
    """A case drawn into a check, in the order drawn; checked once (its marks)."""

    __tablename__ = "spot_check_case"
    __table_args__ = (UniqueConstraint("spot_check_id", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    spot_check_id: int = Field(foreign_key="spot_check.id", index=True)
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    position: int
    checked_on: date | None = Field(default=None)
    checker_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    checker_name: str = Field(default="", max_length=50)
    created_at: datetime = stamped()


class SpotCheckMark(SQLModel, table=True):
    """A checklist line's verdict on one sampled case."""

    __tablename__ = "spot_check_mark"
    __table_args__ = (UniqueConstraint("sample_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    sample_id: int = Field(foreign_key="spot_check_case.id", index=True)
    item_id: int = Field(foreign_key="check_item.id")
    passed: bool
    note: str = Field(default="", max_length=500)


class Finding(SQLModel, table=True):
    """抽查发现的问题: a failed line of the checklist, for the unit responsible for the case,
    with a rectification deadline in working days; the unit answers, the checker closes it or
    sends it back."""

    __tablename__ = "spot_check_finding"
    __table_args__ = (
        CheckConstraint(sql_in("status", FINDING_STATUSES), name="status"),
        UniqueConstraint("sample_id", "item_id"),
        # A unit's findings by state and deadline (its list, the overdue job).
        Index("ix_spot_check_finding_unit_status_deadline", "unit_id", "status", "deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    spot_check_id: int = Field(foreign_key="spot_check.id", index=True)
    sample_id: int = Field(foreign_key="spot_check_case.id")
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    item_id: int = Field(foreign_key="check_item.id")
    problem: str = Field(max_length=500)
    found_on: date
    deadline: date
    status: str = Field(default="open", max_length=10)
    answer: str = Field(default="", max_length=2000)
    answered_on: date | None = Field(default=None)
    answered_by_name: str = Field(default="", max_length=50)
    closed_on: date | None = Field(default=None)
    returned: int = Field(default=0)
    return_note: str = Field(default="", max_length=500)
    version: int = Field(default=1)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()
