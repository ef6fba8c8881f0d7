"""The secretary's booking desk (console pages): her leaders' month, a session's day sheet and
its print view, booking, 改约, check-in, moving and cancelling a session with the call list.

Each page calls the same service as the JSON API and shows the service's own message when it
says no; nothing here decides who may do what.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from reception.auth import Principal
from reception.base import MONTH_PATTERN
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.org import service as org
from reception.org.models import Leader
from reception.scheduling import calls, rules, schemas, service, views
from reception.scheduling.access import get_appointment, get_session, session_etag
from reception.scheduling.rules import APPOINTMENT_LABELS, APPOINTMENT_MOVES, STATUS_LABELS
from reception.web.render import (
    FormErrors,
    cn_date,
    page,
    read_form,
    refused,
    see_other,
    to_body,
    values_of,
)
from reception.workcal import service as workcal

AnyRequest = Request[Principal, Any, Any]
Month = Annotated[str | None, QueryParameter(name="month", pattern=MONTH_PATTERN)]
KIND_LABELS = {"reception": "接访日", "field_visit": "下访"}
STATUS_ACTIONS = {"checked_in": "签到", "no_show": "未到", "completed": "已接待"}


async def _leaders(db: DB, principal: Principal) -> list[Leader]:
    rows, _ = await org.list_leaders(
        session=db, principal=principal, limit=1000, offset=0, active=True
    )
    return rows


# ---------------------------------------------------------------- the month


@dataclass(frozen=True)
class DayCell:
    day: date
    in_month: bool
    # 休 (a day off: weekend or holiday) / 班 (a make-up working day), with the holiday's name.
    off: bool
    mark: str
    sessions: list[schemas.SessionRead]


async def _month_cells(
    db: DB, ctx: Context, first: date, sessions: list[schemas.SessionRead]
) -> tuple[list[list[DayCell]], list[int]]:
    start = first - timedelta(days=first.weekday())
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    end = last + timedelta(days=6 - last.weekday())
    years = sorted({start.year, end.year})
    cal = await workcal.load_calendar(session=db, years=years)
    names: dict[date, tuple[str, str]] = {}
    for year in years:
        _, days = await workcal.get_year(session=db, year=year)
        names.update({d.day: (d.kind, d.name) for d in days})
    provisional = [y for y in years if cal.is_provisional(date(y, 1, 1))]
    by_day: dict[date, list[schemas.SessionRead]] = {}
    for s in sessions:
        by_day.setdefault(s.date, []).append(s)
    weeks: list[list[DayCell]] = []
    day = start
    while day <= end:
        week = []
        for _ in range(7):
            kind, name = names.get(day, ("", ""))
            mark = (name or "假日") if kind == "holiday" else "班" if kind == "workday" else ""
            week.append(
                DayCell(
                    day=day,
                    in_month=day.month == first.month,
                    off=not cal.is_workday(day),
                    mark=mark,
                    sessions=by_day.get(day, []),
                )
            )
            day += timedelta(days=1)
        weeks.append(week)
    return weeks, provisional


@get("/desk")
async def desk(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    month: Month = None,
    leader: Annotated[int | None, QueryParameter(name="leader", ge=1)] = None,
) -> Template:
    today = ctx.today()
    first = date.fromisoformat(f"{month}-01") if month else today.replace(day=1)
    leaders = await _leaders(db, request.user)
    start = first - timedelta(days=first.weekday())
    end = start + timedelta(days=41)
    rows, _ = await service.list_sessions(
        session=db,
        principal=request.user,
        limit=2000,
        offset=0,
        leader_id=leader,
        date_from=start,
        date_to=end,
    )
    sessions = await views.session_rows(session=db, subjects=rows, tz=ctx.tz)
    weeks, provisional = await _month_cells(db, ctx, first, sessions)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    upcoming = [
        s for s in sessions if s.date >= today and s.status == "scheduled" and s.kind == "reception"
    ][:5]
    return page(
        request,
        "scheduling/desk.html",
        title="接访日历",
        first=first,
        weeks=weeks,
        leaders=leaders,
        leader=leader,
        provisional=provisional,
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        this_month=today.strftime("%Y-%m"),
        upcoming=upcoming,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
    )


# ---------------------------------------------------------------- the day sheet


async def load_sheet(db: DB, ctx: Context, principal: Principal, session_id: int) -> Any:
    subject = await get_session(session=db, session_id=session_id, principal=principal)
    sheet = await views.day_sheet(
        session=db, subject=subject, principal=principal, tz=ctx.tz, keys=ctx.keys
    )
    return subject, sheet


def _grouped(sheet: schemas.DaySheet) -> list[tuple[schemas.SlotRead, list[Any]]]:
    by_slot: dict[int, list[Any]] = {}
    for a in sheet.appointments:
        by_slot.setdefault(a.slot_index, []).append(a)
    return [(s, by_slot.get(s.index, [])) for s in sheet.slots]


def sheet_page(
    request: AnyRequest,
    ctx: Context,
    subject: Any,
    sheet: schemas.DaySheet,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    form: str = "",
) -> Template:
    s = sheet.session
    return page(
        request,
        "scheduling/day_sheet.html",
        status=status,
        title=f"{s.leader_name} {cn_date(s.date)}{KIND_LABELS[s.kind]}",
        s=s,
        sheet=sheet,
        slots=_grouped(sheet),
        etag=session_etag(subject),
        may_manage=request.user.may_act_for_leader(s.leader_id),
        # 接访/下访情况: the leader himself records his own, as hold_session allows.
        may_hold=request.user.may_act_for_leader(s.leader_id)
        or (request.user.role == "leader" and request.user.leader_id == s.leader_id),
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        labels=APPOINTMENT_LABELS,
        moves=APPOINTMENT_MOVES,
        actions=STATUS_ACTIONS,
        on_the_day=s.date <= ctx.today(),
        errors=errors or {},
        values=values or {},
        open_form=form,
        live=[a for a in sheet.appointments if rules.kept(a.status)],
        to_ring=[a for a in calls.to_ring(sheet.appointments) if a.notified_at is None],
    )


@get("/sessions/{session_id:int}")
async def day_sheet(db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]) -> Template:
    subject, sheet = await load_sheet(db, ctx, request.user, session_id)
    return sheet_page(request, ctx, subject, sheet)


@get("/sessions/{session_id:int}/print")
async def print_sheet(db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]) -> Template:
    _, sheet = await load_sheet(db, ctx, request.user, session_id)
    return _print([sheet], request, ctx)


@get("/sessions/print")
async def print_day(
    db: DB, ctx: Ctx, request: AnyRequest, day: Annotated[date, QueryParameter(name="date")]
) -> Template:
    """Every reception session of a day the caller may see, one A4 page each."""
    rows, _ = await service.list_sessions(
        session=db,
        principal=request.user,
        limit=200,
        offset=0,
        kind="reception",
        date_from=day,
        date_to=day,
    )
    sheets = [
        await views.day_sheet(
            session=db, subject=r, principal=request.user, tz=ctx.tz, keys=ctx.keys
        )
        for r in rows
    ]
    return _print(sheets, request, ctx, day=day)


def _print(
    sheets: list[schemas.DaySheet], request: AnyRequest, ctx: Context, day: date | None = None
) -> Template:
    return page(
        request,
        "scheduling/print.html",
        title="接访登记表",
        sheets=[(sheet, _grouped(sheet)) for sheet in sheets],
        day=day,
        labels=APPOINTMENT_LABELS,
        printed_at=ctx.local(ctx.now()),
    )


# ---------------------------------------------------------------- moving and cancelling


def _local(ctx: Context, day: Any, at: Any, field: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(str(day)), time.fromisoformat(str(at)), ctx.tz)
    except ValueError:
        raise FormErrors({field: "请填写日期和时间(如 2026-12-21 与 09:00)"}) from None


@post("/sessions/{session_id:int}/move", status_code=200)
async def move_session(
    db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]
) -> Response[Any]:
    form = await read_form(request)
    values = values_of(form)
    try:
        starts = _local(ctx, form.get("date"), form.get("start"), "date")
        ends = _local(ctx, form.get("date"), form.get("end"), "end")
        data = schemas.SessionMove(starts_at=starts, ends_at=ends, force=form.get("force") == "on")
        await service.move_session(
            session=db,
            ctx=ctx,
            actor=request.user,
            session_id=session_id,
            data=data,
            if_match=str(form.get("etag") or "") or None,
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {
            ("move" if k in ("", "starts_at", "ends_at") else k): v
            for k, v in problem.fields.items()
        }
        subject, sheet = await load_sheet(db, ctx, request.user, session_id)
        return sheet_page(
            request,
            ctx,
            subject,
            sheet,
            status=problem.status,
            errors=fields,
            values=values,
            form="move",
        )
    return await see_other(
        request, db, f"/sessions/{session_id}", notice="场次已调整;已预约的信访人请电话告知新时间"
    )


@post("/sessions/{session_id:int}/cancel", status_code=200)
async def cancel_session(
    db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]
) -> Response[Any]:
    form = await read_form(request)
    try:
        data = to_body(schemas.CancelRequest, {"reason": str(form.get("reason") or "").strip()})
        _, cancelled = await service.cancel_session(
            session=db,
            ctx=ctx,
            actor=request.user,
            session_id=session_id,
            reason=data.reason,
            if_match=str(form.get("etag") or "") or None,
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {("cancel" if k in ("", "reason") else k): v for k, v in problem.fields.items()}
        subject, sheet = await load_sheet(db, ctx, request.user, session_id)
        return sheet_page(
            request, ctx, subject, sheet, status=problem.status, errors=fields, form="cancel"
        )
    return await see_other(
        request,
        db,
        f"/sessions/{session_id}/calls",
        notice=f"场次已取消,{len(cancelled)} 个预约随之取消:请逐一电话告知",
    )


async def _calls_page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    session_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    _, sheet = await load_sheet(db, ctx, request.user, session_id)
    return page(
        request,
        "scheduling/calls.html",
        status=status,
        title="电话通知名单",
        s=sheet.session,
        calls=calls.to_ring(sheet.appointments),
        errors=errors or {},
    )


@get("/sessions/{session_id:int}/calls")
async def call_list(db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]) -> Template:
    """Whom to ring: the petitioners whose appointments were cancelled (with the session or
    one by one), each ticked off when rung, each with 改约 into another session."""
    return await _calls_page(request, db, ctx, session_id)


@post("/appointments/{appointment_id:int}/rung", status_code=200)
async def rung(
    db: DB, ctx: Ctx, request: AnyRequest, appointment_id: FromPath[int]
) -> Response[Any]:
    found = await get_appointment(session=db, appointment_id=appointment_id, principal=request.user)
    # Kept now: a refusal rolls back, and the row's attributes with it.
    session_id = found.session_id
    try:
        form = await read_form(request)
        done = await calls.mark_rung(
            session=db,
            ctx=ctx,
            actor=request.user,
            appointment_id=appointment_id,
            note=str(form.get("note") or ""),
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        message = problem.general or next(iter(problem.fields.values()), "")
        return await _calls_page(
            request,
            db,
            ctx,
            session_id,
            status=problem.status,
            errors={f"a{appointment_id}": message},
        )
    return await see_other(
        request,
        db,
        f"/sessions/{session_id}/calls",
        notice=f"已记录:{done.petitioner_name},{done.notified_note}",
    )


PAGES = [desk, day_sheet, print_sheet, print_day, move_session, cancel_session, call_list, rung]
