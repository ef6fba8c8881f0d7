"""The reviewer's (督查) dashboard in the console: the month's headline figures with 环比 and
同比, the 12-month trend, townships, 三无, campaigns and leaders' reception days as charts
(Apache ECharts, served by the service) with each section's table under its chart, and the
same month's XLSX / CSV / JSON. The figures are the review's own (service.review, trend)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

from litestar import Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from reception.auth import Principal, require
from reception.base import MONTH_PATTERN, shift_month
from reception.context import Ctx
from reception.org import service as org
from reception.reads import Reads
from reception.reports import service, writers
from reception.responses import attachment
from reception.web.render import month_label, page

AnyRequest = Request[Principal, Any, Any]
REVIEWERS = [require("reviewer")]
Month = Annotated[str | None, QueryParameter(pattern=MONTH_PATTERN)]
UnitId = Annotated[int | None, QueryParameter(name="unit_id", ge=1)]

# The headline figures, in the order the meeting reads them: (key, label, is a rate).
FIGURES = (
    ("timely_accept_rate", "及时受理率", True),
    ("on_time_handle_rate", "按期办结率", True),
    ("participation_rate", "群众参评率", True),
    ("satisfaction_rate", "群众满意率", True),
    ("remote_share", "信网电占比", True),
    ("repeat_share", "重复信访占比", True),
    ("new_cases", "新增信访事项", False),
    ("first_time", "初信初访", False),
)
# Which counts a rate divides: shown when the denominator is zero ("本月无…").
DENOMINATORS = {
    "timely_accept_rate": "本月无到期的受理期限",
    "on_time_handle_rate": "本月无到期的办理期限",
    "participation_rate": "本月无已答复的事项",
    "satisfaction_rate": "本月无已评价的事项",
    "remote_share": "本月无新增事项",
    "repeat_share": "本月无新增事项",
}


# What each rate divides: shown beside it ("100.0%(1件)"), so a small unit's 0↔100% swings
# read as the one or two cases they are.
BASES = {
    "timely_accept_rate": "accept_due",
    "on_time_handle_rate": "handle_due",
    "participation_rate": "replied",
    "satisfaction_rate": "evaluated",
    "remote_share": "new_cases",
    "repeat_share": "new_cases",
}


# A leader's row shows in the month's table if any of these is not zero.
LEADER_ACTIVITY = ("reception_days", "appointments", "field_visits", "owned_cases")


def _default_month(today: Any) -> str:
    # The meeting reviews the month just ended.
    return shift_month(f"{today.year:04d}-{today.month:02d}", -1)


def _months(today: Any, shown: str) -> list[tuple[str, str]]:
    """The months a reviewer picks from (newest first, three years back, and the one shown):
    a list in Chinese, whatever the browser's language."""
    newest = f"{today.year:04d}-{today.month:02d}"
    months = [shift_month(newest, -i) for i in range(37)]
    if shown not in months:
        months.append(shown)
    return [(m, month_label(m)) for m in sorted(months, reverse=True)]


def _cell(value: Any, rate: bool) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if rate else str(value)


def _delta(now: Any, then: dict[str, Any], key: str, rate: bool) -> str:
    """环比 / 同比 as a person reads it: 无数据 (no record that month), 不适用 (a rate with a
    zero denominator either month), or the change."""
    if then.get("no_data"):
        return "无数据"
    before = then.get(key)
    if now is None or before is None:
        return "不适用"
    diff = now - before
    if rate:
        return f"{'+' if diff >= 0 else ''}{diff * 100:.1f} 个百分点"
    return f"{'+' if diff >= 0 else ''}{diff}"


# 统计日: a past month's review as it stood at its end (default), or as known on a later day —
# the spot check of a month's cases is done after the month, the meeting reads it then.
AsOf = Annotated[date | None, QueryParameter()]


@get("/review", guards=REVIEWERS)
async def dashboard(
    reads: Reads,
    ctx: Ctx,
    request: AnyRequest,
    month: Month = None,
    unit_id: UnitId = None,
    as_of: AsOf = None,
) -> Template:
    month = month or _default_month(ctx.today())
    report = await service.review(
        session=reads, ctx=ctx, actor=request.user, month=month, unit_id=unit_id, as_of=as_of
    )
    trend = await service.trend(
        session=reads,
        ctx=ctx,
        first_month=shift_month(month, -11),
        last_month=month,
        unit_id=unit_id,
    )
    comparison = report["comparison"]
    current = comparison["current"]
    headline = [
        {
            "key": key,
            "label": label,
            "value": _cell(current[key], rate),
            "zero": current[key] is None and key in DENOMINATORS,
            "why": DENOMINATORS.get(key, ""),
            "mom": _delta(current[key], comparison["previous_month"], key, rate),
            "yoy": _delta(current[key], comparison["same_month_last_year"], key, rate),
        }
        for key, label, rate in FIGURES
    ]
    units, _ = await org.list_units(session=reads, limit=1000, offset=0, active=True)
    choices = [(u.id, u.name) for u in units if u.kind in ("district", "township", "department")]
    # Leaders with nothing to show this month (a township's secretary who holds no reception
    # day and owns no case) are counted, not listed in 27 rows of zeros.
    leaders = [row for row in report["leaders"] if any(row[k] for k in LEADER_ACTIVITY)]
    charts = {
        "trend": trend["months"],
        "units": [u for u in report["units"] if u["kind"] != "district"],
        "sanwu": report["sanwu"],
        "campaigns": report["campaigns"],
        "leaders": leaders,
    }
    return page(
        request,
        "reports/review.html",
        title=f"{month_label(month)}月度点评",
        month=month,
        months=_months(ctx.today(), month),
        unit_id=unit_id,
        as_of=as_of.isoformat() if as_of else "",
        today_iso=ctx.today().isoformat(),
        units=choices,
        r=report,
        headline=headline,
        trend=trend["months"],
        rate_labels=[(k, label, BASES[k]) for k, label, rate in FIGURES if rate],
        charts=charts,
        leaders=leaders,
        idle_leaders=len(report["leaders"]) - len(leaders),
        cell=_cell,
    )


@get("/review/export", guards=REVIEWERS)
async def export(
    reads: Reads,
    ctx: Ctx,
    request: AnyRequest,
    month: Annotated[str, QueryParameter(pattern=MONTH_PATTERN)],
    unit_id: UnitId = None,
    format: Annotated[Literal["xlsx", "csv", "json"], QueryParameter()] = "xlsx",
    as_of: AsOf = None,
) -> Response[bytes]:
    """The same export as GET /api/reports/review, for the signed-in reviewer."""
    report = await service.review(
        session=reads, ctx=ctx, actor=request.user, month=month, unit_id=unit_id, as_of=as_of
    )
    body = await asyncio.to_thread(writers.WRITERS[format], report)
    return Response(
        body,
        media_type=writers.CONTENT_TYPES[format],
        headers={
            "Content-Disposition": attachment(
                writers.filename(month, report["unit"]["name"], format),
                f"review-{month}-unit{report['unit']['id']}.{format}",
            )
        },
    )


PAGES = [dashboard, export]
