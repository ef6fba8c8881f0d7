"""A leader's own pages (console): his week and today's sessions, his 包案 cases with the time
left on each, and recording what a field visit achieved. Usable on a phone."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from reception.auth import Principal, require
from reception.cases import lists as case_lists
from reception.cases.access import get_case
from reception.context import Ctx
from reception.db import DB
from reception.errors import DomainError, Forbidden
from reception.org import service as org
from reception.scheduling import links, schemas, service, views
from reception.scheduling.pages import KIND_LABELS, load_sheet, sheet_page
from reception.scheduling.rules import APPOINTMENT_LABELS, STATUS_LABELS
from reception.web.render import FormErrors, page, read_form, refused, see_other, to_body

AnyRequest = Request[Principal, Any, Any]


def _leader_id(request: AnyRequest) -> int:
    """The signed-in leader's own record. Other roles (an administrator opening a leader's
    page) have none: refused in words, not with a crash."""
    leader_id = request.user.leader_id
    if leader_id is None:
        raise Forbidden("这是领导本人的页面:当前账号没有关联领导,请从“接访日历”查看各位领导的安排")
    return leader_id


@get("/me", guards=[require("leader")])
async def my_schedule(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    week: Annotated[date | None, QueryParameter(name="week")] = None,
) -> Template:
    """His week (Monday to Sunday), today's sessions first."""
    leader_id = _leader_id(request)
    today = ctx.today()
    monday = (week or today) - timedelta(days=(week or today).weekday())
    rows, _ = await service.list_sessions(
        session=db,
        principal=request.user,
        limit=200,
        offset=0,
        leader_id=leader_id,
        date_from=min(monday, today),
        date_to=max(monday + timedelta(days=6), today),
    )
    sessions = await views.session_rows(session=db, subjects=rows, tz=ctx.tz)
    days = [monday + timedelta(days=i) for i in range(7)]
    leader = await org.get_leader(session=db, leader_id=leader_id, principal=request.user)
    coming, _ = await service.list_sessions(
        session=db,
        principal=request.user,
        limit=6,
        offset=0,
        leader_id=leader_id,
        status="scheduled",
        date_from=today,
    )
    coming = [s for s in coming if s.ends_at > ctx.now()][:3]
    cases = _open_first(
        await case_lists.leader_cases(
            session=db, leader_id=leader_id, principal=request.user, as_of=today
        )
    )
    still_open = [c for c in cases if c.stage not in CLOSED]
    return page(
        request,
        "scheduling/me.html",
        title="我的日程",
        leader=leader,
        todays=[s for s in sessions if s.date == today],
        coming=await views.session_rows(session=db, subjects=coming, tz=ctx.tz),
        days=[(d, [s for s in sessions if s.date == d]) for d in days],
        previous=(monday - timedelta(days=7)).isoformat(),
        following=(monday + timedelta(days=7)).isoformat(),
        monday=monday,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        overdue=sum(c.overdue for c in still_open),
        open_cases=still_open,
    )


# A 包案 case is off the leader's desk once it is 办结 (it stays on his list, below).
CLOSED = ("closed",)


def _open_first(cases: list[Any]) -> list[Any]:
    """Open cases first, the overdue and the soonest due at the top; then the closed ones."""
    return sorted(
        cases,
        key=lambda c: (
            c.stage in CLOSED,
            not c.overdue,
            c.days_left if c.days_left is not None else 10**6,
        ),
    )


@get("/me/cases", guards=[require("leader")])
async def my_cases(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    cases = _open_first(
        await case_lists.leader_cases(
            session=db, leader_id=_leader_id(request), principal=request.user, as_of=ctx.today()
        )
    )
    return page(
        request,
        "scheduling/my_cases.html",
        title="我的包案",
        still_open=[c for c in cases if c.stage not in CLOSED],
        done=[c for c in cases if c.stage in CLOSED],
    )


@post("/sessions/{session_id:int}/hold", status_code=200)
async def hold(db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]) -> Response[Any]:
    """接访/下访情况: the session took place, and what it achieved."""
    form = await read_form(request)
    try:
        data = to_body(schemas.HoldRequest, {"outcome": str(form.get("outcome") or "").strip()})
        await service.hold_session(
            session=db, ctx=ctx, actor=request.user, session_id=session_id, outcome=data.outcome
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        subject, sheet = await load_sheet(db, ctx, request.user, session_id)
        fields = {"hold": problem.general or next(iter(problem.fields.values()))}
        return sheet_page(
            request, ctx, subject, sheet, status=problem.status, errors=fields, form="hold"
        )
    return await see_other(request, db, f"/sessions/{session_id}", notice="已记录接访/下访情况")


@get("/cases/{case_id:int}/sessions")
async def case_sessions(db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]) -> Template:
    """The case page's 接访 / 下访 section (loaded into it; also a page of its own): the
    sessions the case was taken to and the appointments booked about it."""
    case = await get_case(session=db, case_id=case_id, principal=request.user)
    rows = await links.case_sessions(session=db, case_id=case_id)
    return page(
        request,
        "scheduling/case_sessions.html",
        title=f"{case.reference} 的接访与下访",
        case=case,
        rows=[
            {
                "id": s.id,
                "date": ctx.local(s.starts_at).date(),
                "time": ctx.local(s.starts_at).strftime("%H:%M"),
                "kind": KIND_LABELS[s.kind],
                "leader": f"{leader.name}({leader.title})",
                "how": "带案下访" if how == "visit" else "预约接访",
                "note": note if how == "visit" else APPOINTMENT_LABELS.get(note, note),
                "cancelled": s.status == "cancelled",
            }
            for s, leader, how, note in rows
        ],
    )


PAGES = [my_schedule, my_cases, hold, case_sessions]
