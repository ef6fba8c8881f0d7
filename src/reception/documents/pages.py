"""A case's notices in the console: the list with their 送达, issuing one, and the files.

The case page (reception.cases.pages) shows this section by loading it (htmx), as it does the
sessions a case was taken to: cases knows nothing of documents, documents builds on cases."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from reception.auth import Principal, require
from reception.cases.access import get_case, writes
from reception.cases.delivery import METHOD_LABELS
from reception.context import Ctx
from reception.db import DB
from reception.documents import files, service
from reception.documents.kinds import FIELD_LABELS, KINDS
from reception.documents.schemas import DocumentIssue
from reception.errors import DomainError
from reception.web.render import FormErrors, page, read_form, refused, see_other, to_body

AnyRequest = Request[Principal, Any, Any]
ISSUE_FIELDS = ("kind", "on", "facts", "basis", "decision", "redirect_to", "transferred_to", "note")


async def _section(
    request: AnyRequest,
    db: DB,
    case_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    case = await get_case(session=db, case_id=case_id, principal=request.user)
    docs = await service.documents_of(session=db, principal=request.user, case_id=case_id)
    writer = writes(request.user)
    kinds = [k for k in KINDS.values() if writer and (not k.stages or case.stage in k.stages)]
    return page(
        request,
        "documents/case_documents.html",
        status=status,
        title=f"{case.reference} 的文书",
        case=case,
        documents=[(d, delivery) for d, delivery, _ in docs],
        superseded={d.supersedes_id for d, _, _ in docs if d.supersedes_id},
        methods=METHOD_LABELS,
        notice_options=[("", "—")] + [(k.code, k.title) for k in kinds],
        notice_kinds=[
            (k.code, k.title, [(f, FIELD_LABELS.get(f, f)) for f in k.required]) for k in kinds
        ],
        errors=errors or {},
    )


@get("/cases/{case_id:int}/documents")
async def case_documents(db: DB, request: AnyRequest, case_id: FromPath[int]) -> Template:
    """The case page's 文书 section (loaded into it; also a page of its own)."""
    return await _section(request, db, case_id)


@post("/cases/{case_id:int}/documents", guards=[require("clerk")], status_code=200)
async def issue_notice(
    db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
) -> Response[Any]:
    try:
        form = await read_form(request)
        data = to_body(DocumentIssue, {k: form.get(k, "") for k in ISSUE_FIELDS})
        doc = await service.issue(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _section(request, db, case_id, status=problem.status, errors=problem.fields)
    return await see_other(
        request, db, f"/cases/{case_id}", notice=f"已出具{doc.title} {doc.number}"
    )


@get("/documents/{document_id:int}/file.docx")
async def document_docx(
    db: DB, ctx: Ctx, request: AnyRequest, document_id: FromPath[int]
) -> Response[bytes]:
    return await files.docx_response(db, ctx, request.user, document_id)


@get("/documents/{document_id:int}/file.pdf")
async def document_pdf(
    db: DB, ctx: Ctx, request: AnyRequest, document_id: FromPath[int]
) -> Response[bytes]:
    return await files.pdf_response(db, ctx, request.user, document_id)


PAGES = [case_documents, issue_notice, document_docx, document_pdf]
