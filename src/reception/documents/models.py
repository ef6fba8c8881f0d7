"""Written notices (告知书, 意见书, 送达回证): templates, numbering, issued documents and their
PDFs. Persistence only (their 送达 is the case's delivery record, cases.models.CaseDelivery).

Invariants the database enforces:
- one 文号 per kind, year and sequence: UNIQUE (kind, year, seq), numbers drawn from a counter
  row locked by its UPDATE, so concurrent issues get consecutive numbers and a rolled-back
  issue gives its number back (no gaps);
- an issued document and its PDF are never changed or deleted: triggers refuse UPDATE and
  DELETE (but re-sealing the bytes) — a correction is a new document that supersedes the old;
- one PDF per document: UNIQUE (document_id), so two first downloads store one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from reception.base import sql_in
from reception.db import stamped
from reception.documents.kinds import KIND_CODES


class DocumentTemplate(SQLModel, table=True):
    """An office's own template for a kind (a .docx with Jinja fields); the newest is in force.
    Without one, the built-in template of the kind is used (version 0)."""

    __tablename__ = "document_template"
    __table_args__ = (
        UniqueConstraint("kind", "version"),
        CheckConstraint(sql_in("kind", KIND_CODES), name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    version: int
    filename: str = Field(max_length=200)
    content: bytes = Field(sa_type=LargeBinary)
    # The file's checksum naming its algorithm: "sm3:<hex>" or "sha256:<hex>" (the suite).
    checksum: str = Field(max_length=80)
    uploaded_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()


class DocumentCounter(SQLModel, table=True):
    """Last 文号 sequence used per kind and year."""

    __tablename__ = "document_counter"

    kind: str = Field(primary_key=True, max_length=30)
    year: int = Field(primary_key=True)
    last: int = Field(default=0)


class CaseDocument(SQLModel, table=True):
    """An issued notice: its number, the bytes as issued, what it printed. Never changed."""

    __tablename__ = "case_document"
    __table_args__ = (
        UniqueConstraint("kind", "year", "seq"),
        UniqueConstraint("number"),
        CheckConstraint(sql_in("kind", KIND_CODES), name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", index=True)
    kind: str = Field(max_length=30)
    year: int
    seq: int
    # 文号, e.g. 蓟信受〔2026〕12号.
    number: str = Field(max_length=60)
    title: str = Field(max_length=60)
    issued_on: date
    # The template it was rendered from: its version (0 = built in) and checksum.
    template_version: int = Field(default=0)
    template_checksum: str = Field(max_length=80)
    content: bytes = Field(sa_type=LargeBinary)
    # The file's checksum naming its algorithm: "sm3:<hex>" or "sha256:<hex>" (the suite).
    checksum: str = Field(max_length=80)
    # What the document stated (dates, names, the deadlines it announced), as rendered.
    fields: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # A correction: the document it replaces (both are kept).
    supersedes_id: int | None = Field(default=None, foreign_key="case_document.id", index=True)
    # A 送达回证 is for another document.
    for_document_id: int | None = Field(default=None, foreign_key="case_document.id", index=True)
    issued_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    issued_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()


class DocumentPdf(SQLModel, table=True):
    """A notice's PDF, made once from the DOCX as issued (at issue, or at the first download)
    and kept like it: sealed, with the checksum of the plain file."""

    __tablename__ = "document_pdf"

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="case_document.id", unique=True)
    content: bytes = Field(sa_type=LargeBinary)
    # The file's checksum naming its algorithm: "sm3:<hex>" or "sha256:<hex>" (the suite).
    checksum: str = Field(max_length=80)
    created_at: datetime = stamped()
