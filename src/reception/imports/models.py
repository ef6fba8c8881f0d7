"""Spreadsheet ledgers brought in (台账导入): an upload and what became of it, each imported
row's fingerprint, and the column mapping an office last used.

Invariants the database enforces:
- a row's fingerprint is imported once (UNIQUE): the same file, or an overlapping one,
  imported twice creates nothing new; rolling an import back deletes its fingerprints;
- one saved mapping per office (unit) and kind of ledger (UNIQUE).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from reception.base import sql_in
from reception.db import UTCDateTime, stamped

IMPORT_KINDS = ("cases", "sessions")
IMPORT_STATUSES = ("draft", "imported", "rolled_back")


class ImportBatch(SQLModel, table=True):
    """One uploaded file: a draft while it is mapped and tried, then imported (or rolled back).
    The file is kept sealed (it holds petitioners' ID numbers and phones)."""

    __tablename__ = "import_batch"
    __table_args__ = (
        CheckConstraint(sql_in("kind", IMPORT_KINDS), name="kind"),
        CheckConstraint(sql_in("status", IMPORT_STATUSES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    # The office importing: a clerk's unit (its subtree is where the rows may go).
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # Rows naming no responsible unit go to this one.
    default_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    file_name: str = Field(max_length=200)
    file_size: int
    file_checksum: str = Field(max_length=80)
    file_sealed: bytes = Field(default=b"", sa_type=LargeBinary)
    sheet: str = Field(default="", max_length=100)
    # Column header → field (the person's last word on it).
    mapping: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    status: str = Field(default="draft", max_length=20)
    # Per verdict: what the last dry run said, and what the import did.
    dry_counts: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    counts: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()
    imported_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    rolled_back_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    rolled_back_by_name: str = Field(default="", max_length=50)


class ImportRecord(SQLModel, table=True):
    """A row an import created: its fingerprint (a keyed hash of the row's normalised facts,
    never the facts themselves) and the record it became."""

    __tablename__ = "import_record"
    __table_args__ = (UniqueConstraint("fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="import_batch.id", index=True)
    row_number: int
    fingerprint: str = Field(max_length=64)
    case_id: int | None = Field(default=None, foreign_key="petition_case.id", index=True)
    session_id: int | None = Field(default=None, foreign_key="reception_session.id", index=True)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")


class ImportMapping(SQLModel, table=True):
    """The mapping an office used last for a kind of ledger: proposed first next time."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("unit_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    # The district's own for an administrator or the command line.
    unit_id: int = Field(foreign_key="unit.id")
    kind: str = Field(max_length=20)
    headers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_by_name: str = Field(max_length=50)
    updated_at: datetime = stamped()
