"""A case's notices in the console: the list with their 送达, issuing one, and the files.

The case page (reception.cases.pages) shows this section by loading it (htmx), as it does the
sessions a case was taken to: cases knows nothing of documents, documents builds on cases.
Each kind has its own small form (only its fields); the 意见书 forms are the case's reply and
decisions (the case page's 答复 points to `#issue-reply`); each notice not yet served has a
登记送达 form — the same fields as the case page's 送达, into the same record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from reception.auth import Principal, require
from reception.cases import deliveries
from reception.cases.access import get_case, writes
from reception.cases.delivery import METHOD_LABELS, OUTCOME_LABELS
from reception.cases.models import CaseDelivery
from reception.cases.pages import delivery_body
from reception.cases.schemas import DeliveryIn
from reception.context import Ctx
from reception.db import DB
from reception.documents import files, pdfs, service
from reception.documents.kinds import FIELD_HINTS, FIELD_LABELS, KINDS, PASSAGES, Kind
from reception.documents.models import CaseDocument
from reception.documents.schemas import DocumentIssue
from reception.errors import DomainError
from reception.web.render import (
    FormErrors,
    page,
    read_form,
    refused,
    see_other,
    to_body,
    unchecked_form,
)

AnyRequest = Request[Principal, Any, Any]
# Notices a case's step calls for at once: the page offers the one not yet issued first.
NEXT = ("accept_notice", "reject_notice", "diversion_notice")


@dataclass
class Row:
    """One issued notice: its 送达 (the attempts, the one that served it), its receipts."""

    doc: CaseDocument
    attempts: list[CaseDelivery] = field(default_factory=list)
    served: CaseDelivery | None = None
    receipts: list[CaseDocument] = field(default_factory=list)
    superseded: bool = False

    @property
    def servable(self) -> bool:
        return self.doc.kind != "service_receipt" and not self.superseded


def _form_id(kind: Kind) -> str:
    return f"issue-{kind.performs or kind.code}"


def _issue_form(kind: Kind) -> dict[str, Any]:
    return {
        "id": _form_id(kind),
        "kind": kind.code,
        "title": kind.title,
        "performs": kind.performs,
        "fields": [
            {
                "name": name,
                "label": FIELD_LABELS[name],
                "type": "textarea" if name in PASSAGES else "text",
                "required": name in kind.required,
                "hint": FIELD_HINTS.get(name, ""),
            }
            for name in kind.asks
        ],
    }


async def _section(
    request: AnyRequest,
    db: DB,
    case_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    open_form: str = "",
    values: dict[str, str] | None = None,
) -> Template:
    case = await get_case(session=db, case_id=case_id, principal=request.user)
    docs = await service.documents_of(session=db, principal=request.user, case_id=case_id)
    attempts = await deliveries.of_case(db, case_id)
    rows = {d.id: Row(d, superseded=by is not None) for d, _, by in docs}
    for d, served, _ in docs:
        rows[d.id].served = served
        rows[d.id].attempts = [a for a in attempts if a.doc_number == d.number]
        if d.for_document_id in rows:
            rows[d.for_document_id].receipts.append(d)
    writer = writes(request.user)
    issued = {d.kind for d, _, _ in docs}
    # What may be issued now: a step's notice once (a correction is made through the API),
    # the reply until it is given.
    kinds = [
        k
        for k in KINDS.values()
        if writer
        and k.code != "service_receipt"
        and (not k.stages or case.stage in k.stages)
        and not (k.code in NEXT and k.code in issued)
        and not (k.performs == "reply" and case.replied_on is not None)
    ]
    upcoming = next((k for k in kinds if k.code in NEXT and k.code not in issued), None)
    return page(
        request,
        "documents/case_documents.html",
        status=status,
        title=f"{case.reference} 的文书",
        case=case,
        rows=list(rows.values()),
        may_write=writer,
        may_download=await service.downloads(db, request.user, case),
        methods=METHOD_LABELS,
        outcomes=OUTCOME_LABELS,
        delivery_methods=list(METHOD_LABELS.items()),
        upcoming=_issue_form(upcoming) if upcoming else None,
        forms=[_issue_form(k) for k in kinds if k is not upcoming],
        errors=errors or {},
        open_form=open_form,
        form_values=values or {},
    )


@get("/cases/{case_id:int}/documents")
async def case_documents(db: DB, request: AnyRequest, case_id: FromPath[int]) -> Template:
    """The case page's 文书 section (loaded into it; also a page of its own)."""
    return await _section(request, db, case_id)


def _typed(form: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in form.items() if k != "_csrf_token"}


@post("/cases/{case_id:int}/documents", guards=[require("clerk")], status_code=200)
async def issue_notice(
    db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
) -> Response[Any]:
    """Issue the notice of one kind's form (a 送达回证 names the notice it is for)."""
    typed: dict[str, str] = {}
    open_form = ""
    try:
        form = await unchecked_form(request)
        typed = _typed(form)
        kind = KINDS.get(typed.get("kind", ""))
        open_form = _form_id(kind) if kind else ""
        read = await read_form(request)
        names = ("kind", "on", "note", "for_document_id", *(kind.asks if kind else ()))
        data = to_body(DocumentIssue, {k: read.get(k, "") for k in names})
        doc = await service.issue(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _section(
            request,
            db,
            case_id,
            status=problem.status,
            errors=problem.fields,
            open_form=open_form,
            values=typed,
        )
    done = await see_other(
        request, db, f"/cases/{case_id}", notice=f"已出具{doc.title} {doc.number}"
    )
    done.background = pdfs.ahead(request.app.state, ctx, doc.id or 0)
    return done


@post("/documents/{document_id:int}/delivery", guards=[require("clerk")], status_code=200)
async def deliver_notice(
    db: DB, ctx: Ctx, request: AnyRequest, document_id: FromPath[int]
) -> Response[Any]:
    """登记送达 of one notice: served, or an attempt that failed (the same record as the case
    page's 送达 and the API's)."""
    doc = await service.get_document(session=db, principal=request.user, document_id=document_id)
    case_id, title, number = doc.case_id, doc.title, doc.number
    typed: dict[str, str] = {}
    try:
        typed = _typed(await unchecked_form(request))
        data = to_body(DeliveryIn, delivery_body(await read_form(request)))
        row = await service.deliver(
            session=db, ctx=ctx, actor=request.user, document_id=document_id, data=data
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _section(
            request,
            db,
            case_id,
            status=problem.status,
            errors=problem.fields,
            open_form=f"deliver-{document_id}",
            values=typed,
        )
    said = "已登记送达" if row.outcome == "delivered" else "已登记未能送达"
    return await see_other(request, db, f"/cases/{case_id}", notice=f"{title} {number}:{said}")


@get("/documents/{document_id:int}/file.docx")
async def document_docx(
    db: DB, ctx: Ctx, request: AnyRequest, document_id: FromPath[int]
) -> Response[bytes]:
    return await files.docx_response(db, ctx, request.user, document_id)


@get("/documents/{document_id:int}/file.pdf")
async def document_pdf(
    db: DB, ctx: Ctx, request: AnyRequest, document_id: FromPath[int]
) -> Response[bytes]:
    maker = request.app.state.sessionmaker
    return await files.pdf_response(db, maker, ctx, request.user, document_id)


PAGES = [case_documents, issue_notice, deliver_notice, document_docx, document_pdf]
