"""网格员代办 at rest (persistence only). Invariants the database enforces: statuses and the
ways consent is given from the vocabularies (CHECK); one reference per filing and per (year,
sequence); a filing becomes at most one case and a case comes from at most one filing
(UNIQUE case_id). The petitioner's ID number, phone and address are sealed (pii.SEALED)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reception.base import sql_in
from reception.db import stamped
from reception.proxy.rules import CONSENTS, STATUSES


class ProxyCounter(SQLModel, table=True):
    """Last 代办 number used per year."""

    __tablename__ = "proxy_counter"

    year: int = Field(primary_key=True)
    last: int = Field(default=0)


class ProxyFiling(SQLModel, table=True):
    """A matter a grid worker filed for a petitioner (代办登记), until the township registers
    it (or sends it back)."""

    __tablename__ = "proxy_filing"
    __table_args__ = (
        UniqueConstraint("reference"),
        UniqueConstraint("ref_year", "ref_seq"),
        UniqueConstraint("case_id"),
        CheckConstraint(sql_in("status", STATUSES), name="status"),
        CheckConstraint(sql_in("consent", CONSENTS), name="consent"),
        CheckConstraint("people_count >= 1", name="people_count_positive"),
        # A township's waiting filings; a worker's own.
        Index("ix_proxy_filing_village_status", "village_id", "status"),
        Index("ix_proxy_filing_worker", "worker_user_id", "received_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=40)
    ref_year: int
    ref_seq: int
    village_id: int = Field(foreign_key="unit.id")
    worker_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    worker_name: str = Field(max_length=50)
    received_on: date
    name: str = Field(max_length=50)
    id_number_sealed: str = Field(default="", max_length=120)
    id_number_index: str = Field(default="", max_length=64, index=True)
    phone_sealed: str = Field(default="", max_length=120)
    phone_index: str = Field(default="", max_length=64)
    address_sealed: str = Field(default="", max_length=1000)
    people_count: int = Field(default=1)
    category_code: str = Field(foreign_key="case_category.code", max_length=30)
    summary: str = Field(max_length=4000)
    # How the petitioner agreed to the worker filing for them, and when.
    consent: str = Field(max_length=20)
    consented_on: date
    consent_note: str = Field(default="", max_length=500)
    status: str = Field(default="filed", max_length=12)
    case_id: int | None = Field(default=None, foreign_key="petition_case.id")
    handled_on: date | None = Field(default=None)
    handled_by_name: str = Field(default="", max_length=50)
    return_reason: str = Field(default="", max_length=500)
    version: int = Field(default=1)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()
