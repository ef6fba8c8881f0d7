"""Bodies of the documents API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from reception.base import Id, Strict
from reception.cases.delivery import Method
from reception.documents.kinds import KindCode

Kind = KindCode
Line = Annotated[str, Meta(max_length=200)]
Passage = Annotated[str, Meta(max_length=2000)]


class DeliveryIn(Strict):
    """送达: how, when, to whom; a tracking number for mail, witnesses for 留置送达, the notice
    reference for 公告送达."""

    method: Method
    delivered_on: date
    recipient: Annotated[str, Meta(min_length=1, max_length=100)]
    tracking_number: Annotated[str, Meta(max_length=60)] = ""
    witnesses: Line = ""
    evidence: Line = ""


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


class DeliveryRead(Struct):
    id: int
    document_id: int
    method: str
    method_label: str
    delivered_on: date
    recipient: str
    tracking_number: str
    witnesses: str
    evidence: str
    recorded_by_name: str
    created_at: datetime


class DocumentRead(Struct):
    id: int
    case_id: int
    kind: str
    title: str
    number: str
    issued_on: date
    template_version: int
    sha256: str
    # What the document states (dates, deadlines, the fields written).
    fields: dict[str, Any]
    supersedes_id: int | None
    superseded_by_id: int | None
    for_document_id: int | None
    issued_by_name: str
    created_at: datetime
    delivery: DeliveryRead | None
    docx_url: str
    pdf_url: str


class KindRead(Struct):
    kind: str
    title: str
    stages: list[str]
    required: list[str]
    methods: list[str]
    template_version: int


class TemplateRead(Struct):
    kind: str
    title: str
    version: int
    filename: str
    sha256: str
    uploaded_by_name: str
    created_at: datetime | None
