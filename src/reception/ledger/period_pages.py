"""The sensitive periods' pages: the leader's phone page for the daily 稳控 check-in (and the
check-in from an entry's page), and the admin's 重要敏感时期. Faces of `ledger.periods`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal, require, require_only
from reception.context import Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.ledger import periods, rules, schemas
from reception.ledger.pages import entry_view
from reception.web.render import FormErrors, page, read_form, refused, see_other, to_body, values_of

AnyRequest = Request[Principal, Any, Any]


# ---------------------------------------------------------------- 稳控 check-ins


@get("/ledger/check-in", guards=[require("clerk", "leader")])
async def check_in_page(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    """The phone page: today's entries to report on, one tap each."""
    due = await periods.due_check_ins(session=db, ctx=ctx, principal=request.user)
    return page(
        request,
        "ledger/check_in.html",
        title="稳控报告",
        due=due,
        periods=await periods.periods_on(db, ctx.today()),
        errors={},
    )


@post("/ledger/{entry_id:int}/check-ins", guards=[require("clerk", "leader")], status_code=200)
async def check_in(
    db: DB, ctx: Ctx, request: AnyRequest, entry_id: FromPath[int]
) -> Response[Any] | Template:
    back = "/ledger/check-in"
    try:
        form = await read_form(request)
        if form.get("back") == "entry":
            back = f"/ledger/{entry_id}"
        data = to_body(
            schemas.CheckInIn, {"state": form.get("state", ""), "note": form.get("note", "")}
        )
        row = await periods.check_in(
            session=db, ctx=ctx, actor=request.user, entry_id=entry_id, data=data
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        if back != "/ledger/check-in":
            return await entry_view(
                request, db, ctx, entry_id, status=problem.status, errors=problem.fields,
                open_form="check_in",
            )  # fmt: skip
        due = await periods.due_check_ins(session=db, ctx=ctx, principal=request.user)
        return page(
            request,
            "ledger/check_in.html",
            status=problem.status,
            title="稳控报告",
            due=due,
            periods=await periods.periods_on(db, ctx.today()),
            errors={"entry": entry_id, **problem.fields},
        )
    return await see_other(
        request, db, back, notice=f"已报告:{rules.CHECK_STATE_LABELS[row.state]}"
    )


# ---------------------------------------------------------------- 重要敏感时期 (admin)


async def _periods_page(
    request: AnyRequest,
    db: AsyncSession,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    return page(
        request,
        "ledger/periods.html",
        status=status,
        title="重要敏感时期",
        periods=await periods.list_periods(session=db),
        errors=errors or {},
        values=values or {},
    )


@get("/admin/periods", guards=[require_only("admin")])
async def periods_page(db: DB, request: AnyRequest) -> Template:
    return await _periods_page(request, db)


@post("/admin/periods", guards=[require_only("admin")], status_code=200)
async def create_period(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any] | Template:
    values: dict[str, Any] = {}
    try:
        form = await read_form(request)
        values = values_of(form)
        data = to_body(
            schemas.PeriodIn, {n: form.get(n, "") for n in ("name", "starts_on", "ends_on", "note")}
        )
        period = await periods.create_period(
            session=db, actor=request.user, data=data, today=ctx.today()
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _periods_page(
            request, db, status=problem.status, errors=problem.fields, values=values
        )
    return await see_other(request, db, "/admin/periods", notice=f"已设定:{period.name}")


@post("/admin/periods/{period_id:int}/delete", guards=[require_only("admin")], status_code=200)
async def delete_period(
    db: DB, ctx: Ctx, request: AnyRequest, period_id: FromPath[int]
) -> Response[Any] | Template:
    try:
        await read_form(request)
        await periods.delete_period(session=db, ctx=ctx, actor=request.user, period_id=period_id)
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _periods_page(request, db, status=problem.status, errors=problem.fields)
    return await see_other(request, db, "/admin/periods", notice="已删除")


PAGES = [check_in_page, check_in, periods_page, create_period, delete_period]
