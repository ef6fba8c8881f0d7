"""Bodies of the documents API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from reception.base import Id, Strict
from reception.cases.schemas import DeliveryIn, DeliveryOut
from reception.documents.kinds import KindCode

Kind = KindCode
Line = Annotated[str, Meta(max_length=200)]
Passage = Annotated[str, Meta(max_length=2000)]


class DocumentIssue(Strict):
    kind: Kind
    # The day it is issued (default today): the 意见书 also date the reply or decision.
    on: date | None = None
    # What only the clerk can write (which ones a kind needs: GET /api/document-kinds).
    facts: Passage = ""
    basis: Passage = ""
    decision: Passage = ""
    redirect_to: Line = ""
    transferred_to: Line = ""
    organ: Line = ""
    review_body: Line = ""
    re_review_body: Line = ""
    note: Line = ""
    # A 送达回证 is for this document.
    for_document_id: Id | None = None
    # A correction: the document this one replaces (both are kept).
    supersedes: Id | None = None
    # An 意见书 delivered as it is issued (e.g. handed over at the reception desk).
    delivery: DeliveryIn | None = None


class DocumentRead(Struct):
    id: int
    case_id: int
    kind: str
    title: str
    number: str
    issued_on: date
    template_version: int
    # "sm3:<hex>" or "sha256:<hex>": the algorithm of the cipher suite it was stored under.
    checksum: str
    # What the document states (dates, deadlines, the fields written).
    fields: dict[str, Any]
    supersedes_id: int | None
    superseded_by_id: int | None
    for_document_id: int | None
    issued_by_name: str
    created_at: datetime
    # The delivery that served it (the attempts: GET /api/cases/{id}/deliveries).
    delivery: DeliveryOut | None
    docx_url: str
    pdf_url: str


class KindRead(Struct):
    kind: str
    title: str
    stages: list[str]
    required: list[str]
    template_version: int


class TemplateRead(Struct):
    kind: str
    title: str
    version: int
    filename: str
    # "sm3:<hex>" or "sha256:<hex>": the algorithm of the cipher suite it was stored under.
    checksum: str
    uploaded_by_name: str
    created_at: datetime | None
