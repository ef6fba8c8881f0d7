"""The dispute screening ledger at rest (persistence only).

Invariants the database enforces: statuses, risks, moves and check-in states from the rules'
vocabularies (CHECK); one reference per entry and per (year, sequence) (UNIQUE); an entry turns
into at most one petition case and a case comes from at most one entry (UNIQUE case_id); a
period ends on or after it starts; amounts are not negative.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reception.base import sql_in
from reception.db import stamped
from reception.ledger.rules import (
    CHECK_STATES,
    HOW_FOUND,
    MOVE_LABELS,
    RESOLVE_METHODS,
    RISKS,
    STATUSES,
)


class LedgerCounter(SQLModel, table=True):
    """Last entry number used per year (one UPDATE … RETURNING, like the cases' references)."""

    __tablename__ = "ledger_counter"

    year: int = Field(primary_key=True)
    last: int = Field(default=0)


class LedgerEntry(SQLModel, table=True):
    """One dispute on the ledger (台账), from 建账 until 销账 or its petition."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("reference"),
        UniqueConstraint("ref_year", "ref_seq"),
        UniqueConstraint("case_id"),
        CheckConstraint(sql_in("status", STATUSES), name="status"),
        CheckConstraint(sql_in("risk", RISKS), name="risk"),
        CheckConstraint(sql_in("opened_risk", RISKS), name="opened_risk"),
        CheckConstraint(sql_in("how_found", HOW_FOUND), name="how_found"),
        CheckConstraint(
            "resolve_method = '' OR " + sql_in("resolve_method", RESOLVE_METHODS),
            name="resolve_method",
        ),
        CheckConstraint("people_count >= 1", name="people_count_positive"),
        CheckConstraint("amount_disputed >= 0", name="amount_disputed_non_negative"),
        CheckConstraint("amount_recovered >= 0", name="amount_recovered_non_negative"),
        # A unit subtree's open entries in review order (the ledger list and its filters).
        Index("ix_ledger_entry_unit_status_review", "unit_id", "status", "review_on"),
        Index("ix_ledger_entry_status_risk", "status", "risk"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40)
    ref_year: int
    ref_seq: int
    found_on: date = Field(index=True)
    # 发现单位: the village, township or department that found it (keeps reading it after an
    # escalation hands it up).
    found_by_unit_id: int = Field(foreign_key="unit.id", index=True)
    how_found: str = Field(max_length=20)
    # 领域: a category of the cases' table (涉薪, 涉房, 涉众, 涉军, 征地拆迁 …).
    domain_code: str = Field(foreign_key="case_category.code", max_length=30, index=True)
    summary: str = Field(max_length=4000)
    people_count: int = Field(default=1)
    # 争议金额 and 化解金额 (挽回/兑现), in whole yuan.
    amount_disputed: int = Field(default=0, sa_type=BigInteger)
    amount_recovered: int = Field(default=0, sa_type=BigInteger)
    risk: str = Field(max_length=20)
    # The risk as found (建账): the monthly table counts by it, so a past month stays as it
    # was when a later 跟进 raises or lowers the risk.
    opened_risk: str = Field(max_length=20)
    # 责任单位 now (an escalation moves it up a level; history in ledger_move).
    unit_id: int = Field(foreign_key="unit.id")
    stability_leader_id: int = Field(foreign_key="leader.id", index=True)
    resolution_leader_id: int = Field(foreign_key="leader.id", index=True)
    plan: str = Field(default="", max_length=4000)
    target_on: date
    # The next day someone must look at it again; past it, it is overdue (rules.review_overdue).
    review_on: date
    status: str = Field(default="open", max_length=20)
    closed_on: date | None = Field(default=None, index=True)
    resolve_method: str = Field(default="", max_length=20)
    # The petition case it turned into (转为信访事项), linked both ways by this column.
    case_id: int | None = Field(default=None, foreign_key="petition_case.id")
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_by_name: str = Field(max_length=50)
    version: int = Field(default=1)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class LedgerParty(SQLModel, table=True):
    """A party to the dispute: sealed like a petitioner (reception.pii), name plain."""

    __tablename__ = "ledger_party"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entry.id", index=True)
    position: int = Field(default=0)
    name: str = Field(max_length=50)
    id_number_sealed: str = Field(default="", max_length=120)
    id_number_index: str = Field(default="", max_length=64, index=True)
    phone_sealed: str = Field(default="", max_length=120)
    phone_index: str = Field(default="", max_length=64, index=True)


class LedgerMove(SQLModel, table=True):
    """An entry's history, one row per step (建账, 跟进, 升级, 销账, 转为信访事项): never changed."""

    __tablename__ = "ledger_move"
    __table_args__ = (CheckConstraint(sql_in("kind", tuple(MOVE_LABELS)), name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entry.id", index=True)
    kind: str = Field(max_length=20)
    # The day it happened (补录: entered later, dated when it happened).
    on: date
    at: datetime = stamped()
    from_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    to_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    note: str = Field(default="", max_length=2000)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_name: str = Field(max_length=50)


class SensitivePeriod(SQLModel, table=True):
    """重要敏感时期 (两会, 七一 …): every day from starts_on to ends_on inclusive."""

    __tablename__ = "sensitive_period"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_starts"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    starts_on: date = Field(index=True)
    ends_on: date = Field(index=True)
    note: str = Field(default="", max_length=500)
    created_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()


class LedgerCheckIn(SQLModel, table=True):
    """A 稳控 check-in: the entry's state on a day (在控 / 有异动), by whom. Several a day are kept
    (a 有异动 after a morning's 在控); the day is checked in once there is one."""

    __tablename__ = "ledger_check_in"
    __table_args__ = (
        CheckConstraint(sql_in("state", CHECK_STATES), name="state"),
        Index("ix_ledger_check_in_entry_day", "entry_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entry.id")
    day: date
    state: str = Field(max_length=20)
    note: str = Field(default="", max_length=500)
    by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    by_name: str = Field(max_length=50)
    at: datetime = stamped()
