"""督查督办 at rest (persistence only): the checklist, a month's spot check of a unit (its seed,
population and sample), the marks a checker gave each sampled case, and the findings with
their rectification; the 联席会议, the matters they took up, their decisions (with the 督办单)
and each decision's steps. (A case's 流调 is a record of the case: `cases.models.CauseInquiry`.)

Invariants the database enforces: one check per unit and month, one mark per sampled case and
checklist item, a case sampled once per check, a matter once per conference, one 督办单 number
per decision (UNIQUE); statuses and steps from the rules' vocabularies, a matter is a case or a
ledger entry, never both (CHECK).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from reception.base import sql_in
from reception.db import stamped
from reception.supervision.rules import DECISION_STATUSES, DECISION_STEPS, FINDING_STATUSES


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
    returned_on: date | None = Field(default=None)
    version: int = Field(default=1)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class Conference(SQLModel, table=True):
    """A 信访工作联席会议: when, who convened it, which units sat, the matters it took up (rows of
    `conference_matter`) and what it decided (`conference_decision`)."""

    __tablename__ = "conference"

    id: int | None = Field(default=None, primary_key=True)
    held_on: date = Field(index=True)
    title: str = Field(max_length=100)
    convener_leader_id: int = Field(foreign_key="leader.id")
    unit_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    notes: str = Field(default="", max_length=4000)
    # The conference's secretary: who entered it (the office of the 联席会议).
    secretary_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    secretary_name: str = Field(max_length=50)
    created_at: datetime = stamped()


class ConferenceMatter(SQLModel, table=True):
    """A matter a conference took up: a petition case or a ledger entry (exactly one)."""

    __tablename__ = "conference_matter"
    __table_args__ = (
        CheckConstraint("(case_id IS NULL) <> (ledger_entry_id IS NULL)", name="one_matter"),
        UniqueConstraint("conference_id", "case_id"),
        UniqueConstraint("conference_id", "ledger_entry_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="petition_case.id", index=True)
    ledger_entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id", index=True)


class Decision(SQLModel, table=True):
    """议定事项: what the conference decided on a matter — the owner unit, the deadline, what
    counts as done — with its 督办单 (督办通知, numbered, the DOCX kept as issued)."""

    __tablename__ = "conference_decision"
    __table_args__ = (
        CheckConstraint(sql_in("status", DECISION_STATUSES), name="status"),
        UniqueConstraint("number"),
        UniqueConstraint("ref_year", "ref_seq"),
        # The open decisions in deadline order (空转, the overdue job); a unit's own.
        Index("ix_conference_decision_status_deadline", "status", "deadline"),
        Index("ix_conference_decision_unit_status", "owner_unit_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conference_id: int = Field(foreign_key="conference.id", index=True)
    matter_id: int = Field(foreign_key="conference_matter.id")
    # The matter's case (or ledger entry), kept here for the case page and the review.
    case_id: int | None = Field(default=None, foreign_key="petition_case.id", index=True)
    ledger_entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    owner_unit_id: int = Field(foreign_key="unit.id")
    content: str = Field(max_length=2000)
    done_criteria: str = Field(max_length=1000)
    deadline: date
    status: str = Field(default="open", max_length=10)
    # The owner unit's report standing (cleared when the secretary presses it back).
    reported_on: date | None = Field(default=None)
    closed_on: date | None = Field(default=None)
    pressed: int = Field(default=0)
    # 督办单: 蓟信督〔2026〕3号, and the document as issued.
    number: str = Field(max_length=60)
    ref_year: int
    ref_seq: int
    notice: bytes = Field(default=b"", sa_type=LargeBinary)
    version: int = Field(default=1)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class DecisionStep(SQLModel, table=True):
    """A dated step on a decision: the owner's report, the secretary's 催办 or 办结."""

    __tablename__ = "conference_decision_step"
    __table_args__ = (CheckConstraint(sql_in("kind", DECISION_STEPS), name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="conference_decision.id", index=True)
    kind: str = Field(max_length=10)
    on: date
    note: str = Field(default="", max_length=2000)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_name: str = Field(max_length=50)
    at: datetime = stamped()


class DecisionCounter(SQLModel, table=True):
    """Last 督办单 number used per year (one UPDATE … RETURNING, like the notices' 文号)."""

    __tablename__ = "decision_counter"

    year: int = Field(primary_key=True)
    last: int = Field(default=0)
