"""The petitioner's page (/public, no account) and its JSON twin (/public/api/): mobile first,
no script at all, a strict Content-Security-Policy, nothing cached by proxies."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Template

from reception.cases.models import PetitionCase
from reception.context import Context, Ctx
from reception.db import DB
from reception.documents import files
from reception.documents.models import CaseDocument
from reception.errors import Broken, DomainError, NotFound
from reception.portal import schemas, service
from reception.web.render import FormErrors, page, read_form, refused, to_body

AnyRequest = Request[Any, Any, Any]

# No script, no frame, no third party: styles and images from here only.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SATISFACTION = (
    ("satisfied", "满意"),
    ("basically_satisfied", "基本满意"),
    ("dissatisfied", "不满意"),
)


def _secure(response: Response[Any]) -> Response[Any]:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _client(request: AnyRequest, ctx: Context) -> str:
    return service.client_address(request.scope, request.headers, ctx.settings.trusted_proxies)


def _form(request: AnyRequest, *, status: int = 200, error: str = "", code: str = "") -> Template:
    return page(
        request, "portal/lookup.html", status=status, title="信访事项查询", error=error, code=code
    )


async def _view(
    request: AnyRequest, db: DB, ctx: Context, case: Any, *, thanks: str = ""
) -> Template:
    view = await service.public_view(
        session=db, ctx=ctx, case=case, ticket=service.ticket_for(ctx, case.id)
    )
    return page(
        request,
        "portal/case.html",
        title=f"信访事项 {view.reference}",
        v=view,
        choices=SATISFACTION,
        labels=dict(SATISFACTION),
        thanks=thanks,
        error="",
    )


@get("/public")
async def lookup_form(request: AnyRequest) -> Template:
    return _form(request)


@post("/public", status_code=200)
async def lookup(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    form = await read_form(request)
    code = str(form.get("code") or "")[:40]
    try:
        data = to_body(schemas.LookupIn, {"code": code, "factor": form.get("factor", "")})
        case = await service.lookup(
            session=db, ctx=ctx, code=data.code, factor=data.factor, client=_client(request, ctx)
        )
    except (service.Throttled, service.WrongLookup) as exc:
        # The failure counts stay (committed): only the lookup itself is refused.
        return _form(request, status=exc.status, error=exc.detail, code=code)
    except FormErrors:
        return _form(request, status=400, error="请填写查询码和身份证号或手机号的后4位", code=code)
    return await _view(request, db, ctx, case)


@post("/public/evaluation", status_code=200)
async def evaluate(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    form = await read_form(request)
    try:
        case_id = service.case_of_ticket(ctx, str(form.get("ticket") or ""))
    except service.WrongLookup as exc:
        return _form(request, status=400, error=exc.detail)
    try:
        data = to_body(
            schemas.EvaluationIn,
            {
                "ticket": form.get("ticket", ""),
                "satisfaction": form.get("satisfaction", ""),
                "comment": form.get("comment", ""),
            },
        )
        await service.rate(
            session=db,
            ctx=ctx,
            case_id=case_id,
            satisfaction=data.satisfaction,
            comment=data.comment,
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        case = await db.get(PetitionCase, case_id)
        view = await _view(request, db, ctx, case)
        view.context["error"] = problem.general or "请选择满意、基本满意或不满意"
        view.status_code = problem.status
        return view
    case = await db.get(PetitionCase, case_id)
    return await _view(request, db, ctx, case, thanks="感谢您的评价!评价已记录,提交后不能修改。")


Ticket = Annotated[str, QueryParameter(max_length=200)]


async def _document(db: DB, ctx: Context, document_id: int, ticket: str) -> int:
    """A notice of the ticket's own case (404 for any other: nothing to learn)."""
    case_id = service.case_of_ticket(ctx, ticket)
    doc = await db.get(CaseDocument, document_id)
    if doc is None or doc.case_id != case_id:
        raise NotFound("没有这份文书")
    return document_id


@get("/public/documents/{document_id:int}/file.pdf")
async def notice_pdf(
    db: DB, ctx: Ctx, state: State, document_id: FromPath[int], ticket: Ticket
) -> Response[bytes]:
    await _document(db, ctx, document_id, ticket)
    return await files.pdf_response(db, state.sessionmaker, ctx, None, document_id)


@get("/public/documents/{document_id:int}/file.docx")
async def notice_docx(
    db: DB, ctx: Ctx, document_id: FromPath[int], ticket: Ticket
) -> Response[bytes]:
    await _document(db, ctx, document_id, ticket)
    return await files.docx_response(db, ctx, None, document_id)


# ---------------------------------------------------------------- the JSON twin


@post("/public/api/lookup", status_code=200)
async def api_lookup(
    db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.LookupIn]
) -> schemas.PublicCase:
    """A matter's progress by its 查询码 and the last 4 characters of the ID number or phone.
    Wrong code and wrong factor answer alike (400); too many failures answer 429."""
    try:
        case = await service.lookup(
            session=db, ctx=ctx, code=data.code, factor=data.factor, client=_client(request, ctx)
        )
    except (service.Throttled, service.WrongLookup):
        # The failure is counted and audited even though the request is refused.
        await db.commit()
        raise
    return await service.public_view(
        session=db, ctx=ctx, case=case, ticket=service.ticket_for(ctx, case.id or 0)
    )


@post("/public/api/evaluation", status_code=200)
async def api_evaluation(
    db: DB, ctx: Ctx, data: JSONBody[schemas.EvaluationIn]
) -> schemas.PublicCase:
    """Rate the reply held now (once; within the window), with the lookup's ticket."""
    case_id = service.case_of_ticket(ctx, data.ticket)
    await service.rate(
        session=db, ctx=ctx, case_id=case_id, satisfaction=data.satisfaction, comment=data.comment
    )
    case = await db.get(PetitionCase, case_id)
    if case is None:
        raise Broken("expected: case is not None")
    return await service.public_view(session=db, ctx=ctx, case=case, ticket=data.ticket)


def portal_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            lookup_form,
            lookup,
            evaluate,
            notice_pdf,
            notice_docx,
            api_lookup,
            api_evaluation,
        ],
        after_request=_secure,
        include_in_schema=True,
        tags=["public"],
    )
