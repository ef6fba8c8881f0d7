"""流调 in the console: the case page's 督查 section (its 流调, or the form to open one for a
repeat or escalated matter; what the spot check found on the case), the list, the record with
its 办理过程 (the case's own timeline), and the leader's signature. Faces of `inquiries`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal, require
from reception.cases import access as case_access
from reception.context import Context, Ctx
from reception.db import DB
from reception.org.choices import leader_choices, units_in_reach
from reception.supervision import access, decisions, findings, inquiries, rules, schemas
from reception.web.render import FormErrors, form_step, page, query, to_body

AnyRequest = Request[Principal, Any, Any]
INQUIRY_READERS = [require("clerk", "leader", "reviewer")]
PER_PAGE = 50
RESPONSIBILITY_ROWS = 4
Text = Annotated[str | None, QueryParameter(max_length=30)]
PageNo = Annotated[int | None, QueryParameter(name="page", ge=1, le=100_000)]


def _inquiry_values(form: Any) -> dict[str, Any]:
    """A 流调 form as the API's body: causes ticked, responsibility rows filled."""
    rows = []
    for i in range(RESPONSIBILITY_ROWS):
        unit_id = str(form.get(f"resp_unit_{i}") or "")
        who = str(form.get(f"resp_who_{i}") or "").strip()
        failing = str(form.get(f"resp_failing_{i}") or "").strip()
        if unit_id or who or failing:
            if not failing:
                raise FormErrors({"responsibilities": f"第 {i + 1} 行:请写明未履行的职责"})
            rows.append({"unit_id": unit_id or None, "who": who, "failing": failing})
    return {
        "leader_id": form.get("leader_id", ""),
        "causes": form.getall("causes") if "causes" in form else [],
        "cause_note": form.get("cause_note", ""),
        "responsibilities": rows,
        "conclusion": form.get("conclusion", ""),
    }


async def _case_section(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    case_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    case = await case_access.get_case(session=db, case_id=case_id, principal=request.user)
    inquiry = await inquiries.of_case(session=db, principal=request.user, case_id=case_id)
    found, _ = await findings.list_findings(
        session=db, principal=request.user, today=ctx.today(),
        filters=findings.FindingFilters(case_id=case_id), limit=50, offset=0,
    )  # fmt: skip
    rows, _ = await decisions.list_decisions(
        session=db, principal=request.user, today=ctx.today(), case_id=case_id, limit=50
    )
    eligible = inquiries.why_eligible(case)
    may_open = inquiry is None and bool(eligible) and case_access.writes(request.user)
    return page(
        request,
        "supervision/case_section.html",
        status=status,
        title="督查督办",
        case=case,
        inquiry=inquiry,
        inquiry_status=rules.INQUIRY_STATUS_LABELS,
        eligible=eligible,
        may_open=may_open,
        leaders=await leader_choices(db, request.user) if may_open else [],
        findings=await findings.findings_out(db, found, ctx.today()),
        decisions=await decisions.decisions_out(db, rows, ctx.today()),
        errors=errors or {},
    )


@get("/cases/{case_id:int}/supervision", guards=INQUIRY_READERS)
async def case_section(db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]) -> Template:
    """The case page's 督查 section (loaded into it): its 流调, or the form to open one for a
    repeat or escalated matter; and what the spot check found on it."""
    return await _case_section(request, db, ctx, case_id)


@post("/cases/{case_id:int}/inquiry", guards=[require("clerk")], status_code=200)
async def open_inquiry(
    db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        body = to_body(schemas.InquiryIn, {"leader_id": form.get("leader_id", "")})
        inquiry = await inquiries.open_inquiry(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=body
        )
        return (
            "已开展流调:请填写发生原因、问题责任和结论性意见,报领导签批",
            f"/supervision/inquiries/{inquiry.id}",
        )

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _case_section(
            request, db, ctx, case_id, status=problem.status, errors=problem.fields
        )

    return await form_step(request, db, act, again)


@get("/supervision/inquiries", guards=INQUIRY_READERS)
async def inquiries_page(
    db: DB, request: AnyRequest, status: Text = None, page_no: PageNo = None
) -> Template:
    shown = status if status in ("open", "signed", "all") else "open"
    number = page_no or 1
    rows, total = await inquiries.list_inquiries(
        session=db, principal=request.user, status=None if shown == "all" else shown,
        limit=PER_PAGE, offset=(number - 1) * PER_PAGE,
    )  # fmt: skip
    return page(
        request,
        "supervision/inquiries.html",
        title="流调",
        items=rows,
        total=total,
        shown=shown,
        statuses=rules.INQUIRY_STATUS_LABELS,
        number=number,
        pages=max(1, -(-total // PER_PAGE)),
        link=lambda **change: query("/supervision/inquiries", status=shown, **change),
    )


async def _inquiry_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    inquiry_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    inquiry = await inquiries.get_inquiry(session=db, principal=request.user, inquiry_id=inquiry_id)
    out = await inquiries.inquiry_out(session=db, ctx=ctx, principal=request.user, inquiry=inquiry)
    return page(
        request,
        "supervision/inquiry.html",
        status=status,
        title=f"流调 {out.case_reference}",
        x=out,
        etag=access.inquiry_etag(inquiry),
        causes=rules.CAUSE_LABELS,
        leaders=await leader_choices(db, request.user) if out.may_edit else [],
        units=await units_in_reach(db, request.user) if out.may_edit else [],
        rows=range(RESPONSIBILITY_ROWS),
        errors=errors or {},
        values=values,
    )


@get("/supervision/inquiries/{inquiry_id:int}", guards=INQUIRY_READERS)
async def inquiry_page(
    db: DB, ctx: Ctx, request: AnyRequest, inquiry_id: FromPath[int]
) -> Template:
    return await _inquiry_page(request, db, ctx, inquiry_id)


@post("/supervision/inquiries/{inquiry_id:int}", guards=[require("clerk")], status_code=200)
async def edit_inquiry(
    db: DB, ctx: Ctx, request: AnyRequest, inquiry_id: FromPath[int]
) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        body = to_body(schemas.InquiryPatch, _inquiry_values(form))
        # Cleared fields are cleared (to_body leaves out what is empty).
        for name in ("causes", "cause_note", "conclusion", "responsibilities"):
            if getattr(body, name) is UNSET:
                setattr(body, name, "" if name in ("cause_note", "conclusion") else [])
        await inquiries.update(
            session=db, ctx=ctx, actor=request.user, inquiry_id=inquiry_id, data=body,
            if_match=str(form.get("etag") or "") or None,
        )  # fmt: skip
        return "已保存流调记录", f"/supervision/inquiries/{inquiry_id}"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _inquiry_page(
            request, db, ctx, inquiry_id, status=problem.status, errors=problem.fields,
            values=values,
        )  # fmt: skip

    return await form_step(request, db, act, again)


@post("/supervision/inquiries/{inquiry_id:int}/sign", guards=[require("leader")], status_code=200)
async def sign_inquiry(
    db: DB, ctx: Ctx, request: AnyRequest, inquiry_id: FromPath[int]
) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        await inquiries.sign(
            session=db, ctx=ctx, actor=request.user, inquiry_id=inquiry_id,
            data=to_body(schemas.SignIn, {"on": form.get("on") or None}),
            if_match=str(form.get("etag") or "") or None,
        )  # fmt: skip
        return "已签批流调结论", f"/supervision/inquiries/{inquiry_id}"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _inquiry_page(
            request, db, ctx, inquiry_id, status=problem.status, errors=problem.fields
        )

    return await form_step(request, db, act, again)


PAGES = [
    case_section,
    open_inquiry,
    inquiries_page,
    inquiry_page,
    edit_inquiry,
    sign_inquiry,
]
