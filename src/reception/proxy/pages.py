"""网格员代办 in the console: the grid worker's phone pages (file a matter, his own matters and
their progress, the 代办登记表, the rating slip), and the township clerk's (the filings of his
villages, register one as a petition or send it back). Faces of `proxy.service`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal, require
from reception.cases import registration
from reception.context import Context, Ctx
from reception.db import DB
from reception.org.choices import units_in_reach
from reception.proxy import form as documents
from reception.proxy import rules, schemas, service
from reception.web.render import FormErrors, form_step, page, query, to_body

AnyRequest = Request[Principal, Any, Any]
READERS = [require("grid", "clerk", "reviewer")]
GRID = [require("grid")]
CLERKS = [require("clerk")]
PER_PAGE = 30
Text = Annotated[str | None, QueryParameter(max_length=20)]
PageNo = Annotated[int | None, QueryParameter(name="page", ge=1, le=100_000)]


async def _categories(db: AsyncSession) -> list[tuple[str, str]]:
    return [(c.code, c.name) for c in await registration.list_categories(session=db) if c.active]


@get("/proxy", guards=READERS)
async def filings_page(
    db: DB, ctx: Ctx, request: AnyRequest, status: Text = None, page_no: PageNo = None
) -> Template:
    grid = request.user.role == "grid"
    # A township clerk starts with what waits for him; a grid worker sees all of his own.
    shown = status if status in (*rules.STATUSES, "all") else ("all" if grid else "filed")
    number = page_no or 1
    rows, total = await service.list_filings(
        session=db, principal=request.user, status=None if shown == "all" else shown,
        limit=PER_PAGE, offset=(number - 1) * PER_PAGE,
    )  # fmt: skip
    return page(
        request,
        "proxy/list.html",
        title="我的代办" if grid else "网格员代办",
        items=await service.filings_out(db, ctx, request.user, rows),
        total=total,
        shown=shown,
        statuses=rules.STATUS_LABELS,
        grid=grid,
        number=number,
        pages=max(1, -(-total // PER_PAGE)),
        link=lambda **change: query("/proxy", status=shown, **change),
    )


async def _new_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    return page(
        request,
        "proxy/new.html",
        status=status,
        title="代办登记",
        categories=await _categories(db),
        consents=list(rules.CONSENT_LABELS.items()),
        errors=errors or {},
        values=values or {"received_on": ctx.today().isoformat(), "people_count": "1"},
    )


@get("/proxy/new", guards=GRID)
async def new_page(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    return await _new_page(request, db, ctx)


@post("/proxy", guards=GRID, status_code=200)
async def file_matter(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        if form.get("agreed") != "true":
            raise FormErrors({"agreed": "须经信访人同意才能代办"})
        names = (
            "name", "id_number", "phone", "address", "people_count", "category", "summary",
            "consent", "received_on", "consent_note",
        )  # fmt: skip
        body = to_body(schemas.FilingIn, {n: form.get(n, "") for n in names})
        filing = await service.file(session=db, ctx=ctx, actor=request.user, data=body)
        return (
            f"已提交代办 {filing.reference}:请打印代办登记表请信访人签字,乡镇信访办将登记办理",
            f"/proxy/{filing.id}",
        )

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _new_page(
            request, db, ctx, status=problem.status, errors=problem.fields, values=values
        )

    return await form_step(request, db, act, again)


async def _filing_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    filing_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    open_form: str = "",
    values: dict[str, Any] | None = None,
) -> Template:
    filing = await service.get_filing(session=db, principal=request.user, filing_id=filing_id)
    out = (await service.filings_out(db, ctx, request.user, [filing], whole=True))[0]
    handles = request.user.role == "clerk" and filing.status == "filed"
    return page(
        request,
        "proxy/filing.html",
        status=status,
        title=f"代办 {out.reference}",
        f=out,
        etag=service.filing_etag(filing),
        # The slip carries no identity: the worker who filed it prints it, as do those who
        # see the matter whole.
        may_slip=not out.masked
        or (request.user.role == "grid" and filing.worker_user_id == request.user.user_id),
        handles=handles,
        units=await units_in_reach(db, request.user) if handles else [],
        categories=dict(await _categories(db)),
        errors=errors or {},
        open_form=open_form,
        values=values or {},
    )


@get("/proxy/{filing_id:int}", guards=READERS)
async def filing_page(db: DB, ctx: Ctx, request: AnyRequest, filing_id: FromPath[int]) -> Template:
    return await _filing_page(request, db, ctx, filing_id)


@post("/proxy/{filing_id:int}/register", guards=CLERKS, status_code=200)
async def register_filing(
    db: DB, ctx: Ctx, request: AnyRequest, filing_id: FromPath[int]
) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        body = to_body(
            schemas.RegisterIn,
            {n: form.get(n, "") for n in ("unit_id", "repeat_of", "on")},
        )
        done = await service.register(
            session=db, ctx=ctx, actor=request.user, filing_id=filing_id, data=body,
            if_match=str(form.get("etag") or "") or None,
        )  # fmt: skip
        found = len(done.candidates or [])
        case = done.case
        note = f"已登记为信访事项 {case.reference if case else ''}" + (
            f";发现 {found} 件可能重复的信访事项,请在事项页核对" if found else ""
        )
        return note, f"/cases/{case.id if case else ''}"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _filing_page(
            request, db, ctx, filing_id, status=problem.status, errors=problem.fields,
            open_form="register", values=values,
        )  # fmt: skip

    return await form_step(request, db, act, again)


@post("/proxy/{filing_id:int}/return", guards=CLERKS, status_code=200)
async def return_filing(
    db: DB, ctx: Ctx, request: AnyRequest, filing_id: FromPath[int]
) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        body = to_body(
            schemas.ReturnIn, {"reason": form.get("reason", ""), "on": form.get("on", "")}
        )
        await service.send_back(
            session=db, ctx=ctx, actor=request.user, filing_id=filing_id, data=body,
            if_match=str(form.get("etag") or "") or None,
        )  # fmt: skip
        return "已退回网格员", f"/proxy/{filing_id}"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _filing_page(
            request, db, ctx, filing_id, status=problem.status, errors=problem.fields,
            open_form="return", values=values,
        )  # fmt: skip

    return await form_step(request, db, act, again)


@get("/proxy/{filing_id:int}/form", guards=[require("grid", "clerk")])
async def filing_form(
    db: DB, ctx: Ctx, request: AnyRequest, filing_id: FromPath[int]
) -> Response[bytes]:
    filing = await service.get_filing(session=db, principal=request.user, filing_id=filing_id)
    return await documents.form_file(db, ctx, request.user, filing)


@get("/proxy/{filing_id:int}/slip", guards=[require("grid", "clerk")])
async def slip_page(db: DB, ctx: Ctx, request: AnyRequest, filing_id: FromPath[int]) -> Template:
    """评价提醒单, printed for the petitioner: where to rate the reply and the query code."""
    filing = await service.get_filing(session=db, principal=request.user, filing_id=filing_id)
    slip = await service.slip(session=db, ctx=ctx, actor=request.user, filing=filing)
    return page(request, "proxy/slip.html", title="评价提醒单", s=slip, reference=filing.reference)


PAGES = [
    filings_page,
    new_page,
    file_matter,
    filing_page,
    register_filing,
    return_filing,
    filing_form,
    slip_page,
]
