"""督查督办 in the console: the month's spot checks (draw, the sample, the checklist for each
case), the findings and their 整改 (a unit answers, the checker closes or sends back), the
admin's checklist, and 流调 (the case page's section, the record with its 办理过程, the
leader's signature). Faces of `spot_checks` and `inquiries`: no query of their own."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal, require, require_only
from reception.base import MONTH_PATTERN, month_bounds, shift_month
from reception.context import Context, Ctx
from reception.db import DB
from reception.supervision import (
    access,
    checklist,
    findings,
    rules,
    schemas,
    spot_checks,
)
from reception.web.render import (
    FormErrors,
    form_step,
    page,
    query,
    to_body,
)

AnyRequest = Request[Principal, Any, Any]
READERS = [require("clerk", "reviewer")]
CHECKERS = [require("reviewer")]
INQUIRY_READERS = [require("clerk", "leader", "reviewer")]
PER_PAGE = 50
RESPONSIBILITY_ROWS = 4

Month = Annotated[str | None, QueryParameter(pattern=MONTH_PATTERN)]
Text = Annotated[str | None, QueryParameter(max_length=30)]
Bool = Annotated[bool | None, QueryParameter()]
PageNo = Annotated[int | None, QueryParameter(name="page", ge=1, le=100_000)]


def _last_month(today: date) -> str:
    return shift_month(f"{today:%Y-%m}", -1)


# ---------------------------------------------------------------- the month's checks


async def _checks_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    month: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    rows = await spot_checks.list_checks(session=db, principal=request.user, month=month)
    checks = await spot_checks.checks_out(db, rows)
    drawn = {c.unit_id for c in checks}
    undrawn = [u for u in await spot_checks.base_units(db) if u.id not in drawn]
    return page(
        request,
        "supervision/checks.html",
        status=status,
        title=f"基础业务抽查 {month}",
        month=month,
        checks=checks,
        undrawn=undrawn if access.checks(request.user) else [],
        may_draw=access.checks(request.user),
        month_over=rules.month_ended(month_bounds(month)[1], ctx.today()),
        size=ctx.settings.spot_check_size,
        fix_days=ctx.settings.spot_check_fix_days,
        errors=errors or {},
        previous=shift_month(month, -1),
        following=shift_month(month, 1),
    )


@get("/supervision/spot-checks", guards=READERS)
async def checks_page(db: DB, ctx: Ctx, request: AnyRequest, month: Month = None) -> Template:
    return await _checks_page(request, db, ctx, month or _last_month(ctx.today()))


@post("/supervision/spot-checks", guards=CHECKERS, status_code=200)
async def draw_checks(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        picked = form.getall("unit_ids") if "unit_ids" in form else []
        body = to_body(schemas.DrawIn, {"month": form.get("month", ""), "unit_ids": picked or None})
        checks = await spot_checks.draw(session=db, ctx=ctx, actor=request.user, data=body)
        return (
            f"已抽取 {body.month} {len(checks)} 个单位的抽查样本",
            query("/supervision/spot-checks", month=body.month),
        )

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        typed = str(values.get("month") or "")
        month = typed if re.fullmatch(MONTH_PATTERN, typed) else _last_month(ctx.today())
        return await _checks_page(
            request, db, ctx, month, status=problem.status, errors=problem.fields
        )

    return await form_step(request, db, act, again)


@get("/supervision/spot-checks/{check_id:int}", guards=READERS)
async def check_page(db: DB, request: AnyRequest, check_id: FromPath[int]) -> Template:
    check = await spot_checks.get_check(session=db, principal=request.user, check_id=check_id)
    out = (await spot_checks.checks_out(db, [check]))[0]
    found, _ = await findings.list_findings(
        session=db, principal=request.user, today=request.app.state.ctx.today(),
        filters=findings.FindingFilters(spot_check_id=check.id), limit=500, offset=0,
    )  # fmt: skip
    mine = found
    return page(
        request,
        "supervision/check.html",
        title=f"{out.unit_name} {out.month} 抽查",
        c=out,
        redraw=await spot_checks.redraw(db, check),
        findings=await findings.findings_out(db, mine, request.app.state.ctx.today()),
        may_check=access.checks(request.user),
        review_link=query("/review", month=out.month, unit_id=out.unit_id),
    )


async def _sample_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    sample_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    sample, check = await spot_checks.get_sample(
        session=db, principal=request.user, sample_id=sample_id
    )
    detail = await spot_checks.sample_detail(db, ctx, sample, check)
    return page(
        request,
        "supervision/sample.html",
        status=status,
        title=f"抽查 {detail.case_reference}",
        s=detail,
        items=await checklist.list_items(db, active_only=True),
        may_check=access.checks(request.user) and sample.checked_on is None,
        errors=errors or {},
        values=values or {},
    )


@get("/supervision/samples/{sample_id:int}", guards=READERS)
async def sample_page(db: DB, ctx: Ctx, request: AnyRequest, sample_id: FromPath[int]) -> Template:
    return await _sample_page(request, db, ctx, sample_id)


@post("/supervision/samples/{sample_id:int}/marks", guards=CHECKERS, status_code=200)
async def mark_sample(
    db: DB, ctx: Ctx, request: AnyRequest, sample_id: FromPath[int]
) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        marks = []
        for item in await checklist.list_items(db, active_only=True):
            verdict = str(form.get(f"item_{item.id}") or "")
            if verdict not in ("pass", "fail"):
                raise FormErrors({"marks": f"请对「{item.label}」作出合格或不合格的结论"})
            marks.append(
                {
                    "item_id": item.id,
                    "passed": verdict == "pass",
                    "note": str(form.get(f"note_{item.id}") or ""),
                }
            )
        body = to_body(schemas.MarksIn, {"marks": marks, "on": form.get("on") or None})
        await spot_checks.mark(
            session=db, ctx=ctx, actor=request.user, sample_id=sample_id, data=body
        )
        failed = sum(1 for m in marks if not m["passed"])
        said = f",发现问题 {failed} 项,已通知责任单位整改" if failed else ",全部合格"
        return "已完成抽查" + said, f"/supervision/samples/{sample_id}"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _sample_page(
            request, db, ctx, sample_id, status=problem.status, errors=problem.fields,
            values=values,
        )  # fmt: skip

    return await form_step(request, db, act, again)


# ---------------------------------------------------------------- findings


def _finding_filters(status: str | None, overdue: bool | None) -> dict[str, Any]:
    return {
        "status": status if status in (*rules.FINDING_STATUSES, "all") else "open",
        "overdue": bool(overdue),
    }


@get("/supervision/findings", guards=READERS)
async def findings_page(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    status: Text = None,
    overdue: Bool = None,
    month: Month = None,
    page_no: PageNo = None,
) -> Template:
    f = _finding_filters(status, overdue)
    number = page_no or 1
    rows, total = await findings.list_findings(
        session=db,
        principal=request.user,
        today=ctx.today(),
        filters=findings.FindingFilters(
            status=None if f["status"] == "all" else f["status"],
            month=month,
            overdue=True if f["overdue"] else None,
        ),
        limit=PER_PAGE,
        offset=(number - 1) * PER_PAGE,
    )
    params = {k: v for k, v in {**f, "month": month or ""}.items() if v not in ("", False)}
    return page(
        request,
        "supervision/findings.html",
        title="抽查问题整改",
        items=await findings.findings_out(db, rows, ctx.today()),
        total=total,
        f=f,
        month=month or "",
        statuses=rules.FINDING_STATUS_LABELS,
        number=number,
        pages=max(1, -(-total // PER_PAGE)),
        link=lambda **change: query("/supervision/findings", **{**params, **change}),
    )


async def _finding_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    finding_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    open_form: str = "",
    values: dict[str, Any] | None = None,
) -> Template:
    finding = await findings.get_finding(session=db, principal=request.user, finding_id=finding_id)
    out = (await findings.findings_out(db, [finding], ctx.today()))[0]
    return page(
        request,
        "supervision/finding.html",
        status=status,
        title=f"抽查问题 {out.case_reference}",
        x=out,
        etag=access.finding_etag(finding),
        may_answer=request.user.role == "clerk" and finding.status == "open",
        may_close=access.checks(request.user) and finding.status == "answered",
        errors=errors or {},
        open_form=open_form,
        values=values or {},
    )


@get("/supervision/findings/{finding_id:int}", guards=READERS)
async def finding_page(
    db: DB, ctx: Ctx, request: AnyRequest, finding_id: FromPath[int]
) -> Template:
    return await _finding_page(request, db, ctx, finding_id)


async def _finding_step(
    request: AnyRequest, db: AsyncSession, ctx: Context, finding_id: int, step: str
) -> Response[Any] | Template:
    back = f"/supervision/findings/{finding_id}"

    async def act(form: Any) -> tuple[str, str]:
        if_match = str(form.get("etag") or "") or None
        common: dict[str, Any] = {
            "session": db,
            "ctx": ctx,
            "actor": request.user,
            "finding_id": finding_id,
        }
        on = form.get("on") or None
        if step == "answer":
            body = to_body(schemas.AnswerIn, {"answer": form.get("answer", "")})
            await findings.answer(**common, data=body, if_match=if_match)
            return "已反馈整改情况", back
        if step == "close":
            await findings.close(
                **common, data=to_body(schemas.CloseIn, {"on": on}), if_match=if_match
            )
            return "已确认整改完成", back
        body_r = to_body(schemas.ReturnIn, {"note": form.get("note", ""), "on": on})
        await findings.send_back(**common, data=body_r, if_match=if_match)
        return "已退回重新整改", back

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _finding_page(
            request, db, ctx, finding_id, status=problem.status, errors=problem.fields,
            open_form=step, values=values,
        )  # fmt: skip

    return await form_step(request, db, act, again)


@post("/supervision/findings/{finding_id:int}/answer", guards=[require("clerk")], status_code=200)
async def answer_finding(
    db: DB, ctx: Ctx, request: AnyRequest, finding_id: FromPath[int]
) -> Response[Any] | Template:
    return await _finding_step(request, db, ctx, finding_id, "answer")


@post("/supervision/findings/{finding_id:int}/close", guards=CHECKERS, status_code=200)
async def close_finding(
    db: DB, ctx: Ctx, request: AnyRequest, finding_id: FromPath[int]
) -> Response[Any] | Template:
    return await _finding_step(request, db, ctx, finding_id, "close")


@post("/supervision/findings/{finding_id:int}/return", guards=CHECKERS, status_code=200)
async def return_finding(
    db: DB, ctx: Ctx, request: AnyRequest, finding_id: FromPath[int]
) -> Response[Any] | Template:
    return await _finding_step(request, db, ctx, finding_id, "return")


# ---------------------------------------------------------------- the admin's checklist


async def _items_page(
    request: AnyRequest,
    db: AsyncSession,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    editing: int | None = None,
) -> Template:
    return page(
        request,
        "supervision/items.html",
        status=status,
        title="抽查清单",
        items=await checklist.list_items(db),
        errors=errors or {},
        values=values or {},
        editing=editing,
    )


@get("/admin/check-items", guards=[require_only("admin")])
async def items_page(db: DB, request: AnyRequest) -> Template:
    return await _items_page(request, db)


@post("/admin/check-items", guards=[require_only("admin")], status_code=200)
async def add_item(db: DB, request: AnyRequest) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        body = to_body(
            schemas.ItemIn,
            {n: form.get(n, "") for n in ("label", "hint", "position")},
        )
        item = await checklist.create_item(session=db, actor=request.user, data=body)
        return f"已添加抽查项目「{item.label}」", "/admin/check-items"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _items_page(
            request, db, status=problem.status, errors=problem.fields, values=values
        )

    return await form_step(request, db, act, again)


@post("/admin/check-items/{item_id:int}", guards=[require_only("admin")], status_code=200)
async def edit_item(
    db: DB, request: AnyRequest, item_id: FromPath[int]
) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        values = {n: form.get(n, "") for n in ("label", "hint", "position")}
        body = to_body(schemas.ItemPatch, {**values, "active": form.get("active") == "true"})
        if not str(values["hint"]).strip():
            body.hint = ""  # a hint cleared is cleared (to_body leaves out what is empty)
        item = await checklist.update_item(
            session=db, actor=request.user, item_id=item_id, data=body
        )
        return f"已修改抽查项目「{item.label}」", "/admin/check-items"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _items_page(
            request, db, status=problem.status, errors=problem.fields, values=values,
            editing=item_id,
        )  # fmt: skip

    return await form_step(request, db, act, again)


PAGES = [
    checks_page,
    draw_checks,
    check_page,
    sample_page,
    mark_sample,
    findings_page,
    finding_page,
    answer_finding,
    close_finding,
    return_finding,
    items_page,
    add_item,
    edit_item,
]
