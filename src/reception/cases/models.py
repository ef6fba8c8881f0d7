"""Petition cases (信访事项), their statutory clocks, ownership (包案), timeline, campaigns.

Invariants the database enforces:
- one reference number per case and per (year, sequence): UNIQUE;
- at most one current owning leader per case: a partial unique index over case_ownership
  (case_id) WHERE ended_at IS NULL, on PostgreSQL and SQLite alike;
- one clock of a kind per round per case: UNIQUE (case_id, kind, round).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from reception.base import sql_in
from reception.cases.delivery import METHODS, OUTCOMES
from reception.cases.workflow import CHANNELS, RESOLUTIONS, SATISFACTION, SOURCES, STAGES
from reception.db import UTCDateTime, stamped

CLOCK_KINDS = ("accept", "handle", "simple", "review_request", "review", "re_review", "objection")


class CaseCategory(SQLModel, table=True):
    """涉房, 涉薪, 涉众, 涉军, 征地拆迁, 其他 … (admin-extensible)."""

    __tablename__ = "case_category"

    code: str = Field(primary_key=True, max_length=30)
    name: str = Field(max_length=30)
    active: bool = Field(default=True)


class CaseCounter(SQLModel, table=True):
    """Last reference sequence used per year; incremented with one UPDATE … RETURNING."""

    __tablename__ = "case_counter"

    year: int = Field(primary_key=True)
    last: int = Field(default=0)


class PetitionCase(SQLModel, table=True):
    # "case" is a reserved word in SQL.
    __tablename__ = "petition_case"
    __table_args__ = (
        UniqueConstraint("reference"),
        UniqueConstraint("ref_year", "ref_seq"),
        CheckConstraint(sql_in("channel", CHANNELS), name="channel"),
        CheckConstraint(sql_in("stage", STAGES), name="stage"),
        CheckConstraint(sql_in("resolution", RESOLUTIONS), name="resolution"),
        CheckConstraint(sql_in("satisfaction", SATISFACTION), name="satisfaction"),
        CheckConstraint(sql_in("source", SOURCES), name="source"),
        CheckConstraint("people_count >= 1", name="people_count_positive"),
        # A unit subtree's open cases, and of a category (the worklist's filters).
        Index("ix_petition_case_unit_id_stage", "unit_id", "stage", "category_code"),
        # The worklist's "next deadline first" and "due within N days", for any scope: the
        # open cases in due order (partial: a case with no running office clock is not in it),
        # and within a unit's open stages or a category.
        Index(
            "ix_petition_case_next_office_due",
            "next_office_due",
            "id",
            postgresql_where=text("next_office_due IS NOT NULL"),
            sqlite_where=text("next_office_due IS NOT NULL"),
        ),
        Index(
            "ix_petition_case_unit_id_stage_next_office_due", "unit_id", "stage", "next_office_due"
        ),
        # 包案 as of a day reads, of each owned case, when it was registered and whether it
        # was resolved by then: from this index alone (no visit to the table's rows).
        Index(
            "ix_petition_case_id_state",
            "id",
            "unit_id",
            "registered_on",
            "resolution",
            "resolution_on",
        ),
        Index(
            "ix_petition_case_category_code_next_office_due",
            "category_code",
            "next_office_due",
            postgresql_where=text("next_office_due IS NOT NULL"),
            sqlite_where=text("next_office_due IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40)
    ref_year: int
    ref_seq: int
    channel: str = Field(max_length=20)
    category_code: str = Field(foreign_key="case_category.code", max_length=30, index=True)
    summary: str = Field(max_length=4000)
    # 责任单位: the unit responsible for handling the matter.
    unit_id: int = Field(foreign_key="unit.id")
    people_count: int = Field(default=1)
    collective: bool = Field(default=False)
    source: str = Field(default="own", max_length=20)
    source_batch: str = Field(default="", max_length=100)
    received_on: date
    registered_on: date = Field(index=True)
    stage: str = Field(default="registered", max_length=20)
    simple_procedure: bool = Field(default=False)
    # 初信初访 (first-time) unless it repeats an earlier case of the same petitioner and matter.
    first_time: bool = Field(default=True)
    repeat_of_id: int | None = Field(default=None, foreign_key="petition_case.id", index=True)
    accepted_on: date | None = Field(default=None)
    rejection_reason: str = Field(default="", max_length=1000)
    diverted_to: str = Field(default="", max_length=30)
    reply_doc_number: str = Field(default="", max_length=60)
    replied_on: date | None = Field(default=None, index=True)
    delivery_method: str = Field(default="", max_length=30)
    delivered_on: date | None = Field(default=None)
    review_requested_on: date | None = Field(default=None)
    review_decided_on: date | None = Field(default=None)
    re_review_requested_on: date | None = Field(default=None)
    re_review_decided_on: date | None = Field(default=None)
    closed_on: date | None = Field(default=None)
    resolution: str = Field(default="unresolved", max_length=20)
    resolution_on: date | None = Field(default=None)
    resolution_method: str = Field(default="", max_length=500)
    resolution_evidence: str = Field(default="", max_length=200)
    satisfaction: str = Field(default="not_evaluated", max_length=30)
    evaluated_on: date | None = Field(default=None)
    # The petitioner's own rating of the latest reply (from their page; case_evaluation
    # keeps each one): the review counts it where present, the staff-recorded one otherwise.
    petitioner_satisfaction: str = Field(
        default="not_evaluated",
        max_length=30,
        sa_column_kwargs={"server_default": text("'not_evaluated'")},
    )
    petitioner_evaluated_on: date | None = Field(default=None)
    registered_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    registered_by_name: str = Field(max_length=50)
    # 查询码: sealed (AES-GCM, to print it again on the 受理告知书) and its blind index (to
    # look it up from the petitioner's page). Never in lists or logs.
    query_code_sealed: str = Field(
        default="", max_length=200, sa_column_kwargs={"server_default": text("''")}
    )
    query_code_index: str | None = Field(default=None, max_length=64, unique=True)
    # The earliest due date of the case's running office clocks (None: none running), kept by
    # the clocks' own flush (cases.clocks) in the same transaction: the worklist sorts and
    # filters by it in an index instead of walking the clocks.
    next_office_due: date | None = Field(default=None)
    # Bumped on every change: the ETag, checked against If-Match.
    version: int = Field(default=1)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class CasePetitioner(SQLModel, table=True):
    """A petitioner of a case. The ID number, phone and address are stored sealed (AES-GCM,
    this row's id in the associated data) with keyed-hash blind indexes for exact lookups:
    read and write them only through `reception.pii`."""

    __tablename__ = "case_petitioner"
    __table_args__ = (
        # Repeat detection by name and phone; search by an exact phone (the worklist, q=).
        Index("ix_case_petitioner_name_phone", "name", "phone_index"),
        Index("ix_case_petitioner_phone", "phone_index"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    position: int = Field(default=0)
    name: str = Field(max_length=50)
    id_number_sealed: str = Field(default="", max_length=120)
    id_number_index: str = Field(default="", max_length=64, index=True)
    phone_sealed: str = Field(default="", max_length=120)
    phone_index: str = Field(default="", max_length=64)
    address_sealed: str = Field(default="", max_length=1000)


class CaseClock(SQLModel, table=True):
    """A statutory period: its original and current due dates, and a frozen verdict once met."""

    __tablename__ = "case_clock"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "round"),
        CheckConstraint(sql_in("kind", CLOCK_KINDS), name="kind"),
        CheckConstraint("status IN ('running', 'met', 'void')", name="status"),
        CheckConstraint("extended_days >= 0", name="extended_days_non_negative"),
        CheckConstraint("paused_days >= 0", name="paused_days_non_negative"),
        Index("ix_case_clock_status_current_due", "status", "current_due"),
        Index("ix_case_clock_kind_current_due", "kind", "current_due"),
        # The worklist's "next deadline first": the running clocks in due order (a partial
        # index: the met ones, most of them, are not in it).
        Index(
            "ix_case_clock_running_due",
            "current_due",
            "id",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        # What was still unmet on a past day: the clocks met after it (workflow.overdue), and
        # the month's clocks met late (workflow.late_in).
        Index("ix_case_clock_met_on", "met_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    kind: str = Field(max_length=20)
    # 1 for the first window; 2 e.g. for the re-review request window after a review decision.
    round: int = Field(default=1)
    started_on: date
    length: int
    working_days: bool = Field(default=False)
    original_due: date
    current_due: date = Field(index=True)
    extended_days: int = Field(default=0)
    # Days not counted (复核's hearing, 听证: art. 36): the due date moves by them.
    paused_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    status: str = Field(default="running", max_length=10)
    met_on: date | None = Field(default=None)
    # Frozen when the clock is met; never recomputed afterwards.
    on_time: bool | None = Field(default=None)
    provisional: bool = Field(default=False)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class ClockExtension(SQLModel, table=True):
    __tablename__ = "clock_extension"
    __table_args__ = (CheckConstraint("days > 0", name="days_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="case_clock.id", index=True)
    days: int
    reason: str = Field(max_length=1000)
    approver: str = Field(max_length=50)
    granted_on: date
    # 告知信访人: when the petitioner was told of the extension.
    petitioner_told_on: date
    created_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()


class ClockPause(SQLModel, table=True):
    """Days a clock does not count (复核's hearing, 听证), from `starts_on` to `ends_on`
    inclusive; its due date moves by `days`."""

    __tablename__ = "clock_pause"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ends_after_starts"),
        CheckConstraint("days > 0", name="days_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="case_clock.id", index=True)
    starts_on: date
    ends_on: date
    days: int
    reason: str = Field(max_length=1000)
    created_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()


class CaseOwnership(SQLModel, table=True):
    """包案: one row per assignment, never deleted; the current one has no end."""

    __tablename__ = "case_ownership"
    __table_args__ = (
        Index(
            "uq_case_ownership_current",
            "case_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    leader_id: int = Field(foreign_key="leader.id", index=True)
    responsible_unit_id: int = Field(foreign_key="unit.id")
    plan: str = Field(default="", max_length=4000)
    target_date: date | None = Field(default=None)
    stability_contact: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=500)
    started_on: date
    started_at: datetime = stamped()
    ended_on: date | None = Field(default=None)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    end_reason: str = Field(default="", max_length=500)
    assigned_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    assigned_by_name: str = Field(max_length=50)


class CaseEvent(SQLModel, table=True):
    """Append-only timeline: who, when, what, before/after."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    at: datetime = stamped()
    # The day it happened (补录: entered later, dated when it happened).
    effective_on: date
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_name: str = Field(max_length=50)
    kind: str = Field(max_length=40)
    note: str = Field(default="", max_length=2000)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


EVALUATION_SOURCES = ("petitioner", "staff")


class CaseEvaluation(SQLModel, table=True):
    """满意度评价 of one reply (round 1: the 处理意见; 2: the 复查意见; 3: the 复核意见), by its
    source. One per reply and source (UNIQUE), never changed afterwards."""

    __tablename__ = "case_evaluation"
    __table_args__ = (
        UniqueConstraint("case_id", "round", "source"),
        CheckConstraint(sql_in("source", EVALUATION_SOURCES), name="source"),
        CheckConstraint(
            sql_in("satisfaction", ("satisfied", "basically_satisfied", "dissatisfied")),
            name="satisfaction",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    round: int
    source: str = Field(max_length=20)
    satisfaction: str = Field(max_length=30)
    comment: str = Field(default="", max_length=500)
    evaluated_on: date
    created_at: datetime = stamped()


class CaseDelivery(SQLModel, table=True):
    """送达: one attempt to serve a notice on the petitioner — the case's reply (issued here
    or numbered by hand) or any other notice of the case. At most one that reached them per
    document; failed attempts are kept (公告送达 comes only after one)."""

    __tablename__ = "case_delivery"
    __table_args__ = (
        CheckConstraint(sql_in("method", METHODS), name="method"),
        CheckConstraint(sql_in("outcome", OUTCOMES), name="outcome"),
        Index(
            "uq_case_delivery_number",
            "case_id",
            "doc_number",
            unique=True,
            postgresql_where=text("outcome = 'delivered'"),
            sqlite_where=text("outcome = 'delivered'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    # The notice served, by its 文号 (an issued document's, or a reply numbered by hand): the
    # same record whichever route entered it.
    doc_number: str = Field(max_length=60)
    method: str = Field(max_length=20)
    outcome: str = Field(default="delivered", max_length=20)
    # 送达日期 (for 公告送达: the day the notice counts as served).
    delivered_on: date
    place: str = Field(default="", max_length=200)
    # 签收人, or why nobody signed.
    recipient: str = Field(default="", max_length=100)
    no_recipient_reason: str = Field(default="", max_length=200)
    witnesses: str = Field(default="", max_length=200)
    entrusted_to: str = Field(default="", max_length=200)
    mail_number: str = Field(default="", max_length=60)
    consent: str = Field(default="", max_length=200)
    carrier: str = Field(default="", max_length=200)
    posted_on: date | None = Field(default=None)
    failure_reason: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=500)
    # The method as an older record wrote it, when it named none the law knows (the review
    # lists it as 送达方式不明).
    legacy_method: str = Field(default="", max_length=60)
    # 送达人: the staff member who recorded it (the name kept if the user goes).
    staff_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    staff_name: str = Field(max_length=50)
    # A scan of the signed 送达回证 or the postal receipt: sealed like the notices.
    evidence: bytes = Field(default=b"", sa_type=LargeBinary)
    evidence_type: str = Field(default="", max_length=40)
    evidence_checksum: str = Field(default="", max_length=80)
    created_at: datetime = stamped()


INQUIRY_STATUSES = ("open", "signed")


class CauseInquiry(SQLModel, table=True):
    """流调 of a repeat or escalated matter: why it happened (causes from a list, and words),
    who failed in what, the conclusion, signed off by the leader named for it. 办理过程 is not
    kept here: it is the case's own timeline up to the signature. One per case (UNIQUE); the
    worklist finds the open ones by status."""

    __tablename__ = "cause_inquiry"
    __table_args__ = (
        UniqueConstraint("case_id"),
        CheckConstraint(sql_in("status", INQUIRY_STATUSES), name="status"),
        Index("ix_cause_inquiry_status_case", "status", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id")
    opened_on: date
    opened_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    opened_by_name: str = Field(max_length=50)
    # The leader who signs the conclusion.
    leader_id: int = Field(foreign_key="leader.id", index=True)
    causes: list[str] = Field(default_factory=list, sa_type=JSON)
    cause_note: str = Field(default="", max_length=2000)
    # [{"unit_id": int | None, "who": str, "failing": str}]
    responsibilities: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    conclusion: str = Field(default="", max_length=4000)
    status: str = Field(default="open", max_length=10)
    signed_on: date | None = Field(default=None)
    signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    signed_by_name: str = Field(default="", max_length=50)
    version: int = Field(default=1)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()
