"""The monthly review (书记点评会): every figure of a month and a unit subtree as of a day,
assembled as plain data for the writers (XLSX, CSV, JSON).

Python only formats: the figures are SQL aggregates (`figures`, `lists`, `leaders`,
`incidents`), counted by the cases domain's own rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.base import month_bounds, shift_month
from reception.campaigns.service import all_progress
from reception.cases import workflow
from reception.context import Context
from reception.errors import InvalidInput
from reception.ledger import figures as ledger_figures
from reception.privacy import shows_whole
from reception.proxy import service as proxy_service
from reception.reports import figures, incidents, leaders, lists
from reception.supervision import decisions, inquiries, spot_checks
from reception.workcal.models import CalendarYear
from reception.workcal.service import ensure_years

# 说明: each figure in a sentence a reviewer can recount by hand. "本月" is the month exported,
# "统计日" its as-of day (default: the month's last day, or today in the current month).
DEFINITIONS: list[tuple[str, str, str]] = [
    (
        "as_of",
        "统计口径",
        "所有数字截至统计日:只计统计日当天及以前已经发生的登记、受理、答复、评价和送达;"
        "统计日以后补录(补登)的事项,在统计日以后重新导出时才计入",
    ),
    ("new_cases", "新增信访事项", "登记日期在本月1日至统计日之间的信访事项件数(按责任单位)"),
    ("first_time", "初信初访", "新增事项中不属于重复信访的件数"),
    (
        "repeat",
        "重复信访",
        "新增事项中经登记人员确认为重复信访(同一信访人、同一事项)的件数",
    ),
    ("repeat_share", "重复信访占比", "重复信访 ÷ 新增信访事项(截至统计日)"),
    (
        "remote_share",
        "信网电占比",
        "来信、网上、电话渠道的新增事项 ÷ 新增信访事项(截至统计日;网升访降)",
    ),
    (
        "timely_accept_rate",
        "及时受理率",
        "截至统计日:受理告知期限(自收到信访事项之日起15日,遇节假日顺延)在本月1日至统计日"
        "到期、且到统计日已有结果的(已按期或逾期作出受理决定,或已过期仍未决定)为分母,"
        "其中在到期日当天或以前作出决定的为分子。统计日当天到期而尚未决定的仍在期限内,"
        "不计入,也不算超期",
    ),
    (
        "on_time_handle_rate",
        "按期办结率",
        "截至统计日:办理期限(自受理之日起60日,含批准的延期;简易办理10个工作日)在本月1日"
        "至统计日到期、且到统计日已有结果的为分母,其中到期日当天或以前出具处理意见书的为分子;"
        "统计日当天到期而尚未答复的不计入",
    ),
    (
        "participation_rate",
        "群众参评率",
        "本月1日至统计日出具处理意见书的事项为分母,其中到统计日已作出满意度评价"
        "(满意、基本满意或不满意)的为分子。评价以信访人本人在查询页上的评价为准;"
        "信访人未在查询页评价的,计工作人员登记的评价",
    ),
    (
        "satisfaction_rate",
        "满意率",
        "(满意 + 基本满意) ÷ 已评价的事项;事项范围同群众参评率(本月1日至统计日答复、"
        "到统计日已评价)。有信访人本人评价的按本人评价计,没有的按工作人员登记的评价计",
    ),
    (
        "overdue_accept",
        "超期受理",
        "到统计日受理告知期限已过仍未作出受理决定的事项(不论哪个月到期),加上本月1日至统计日"
        "超期作出受理决定的事项;到期日当天尚未决定的不算超期",
    ),
    (
        "overdue_handle",
        "超期办理",
        "到统计日办理期限已过仍未答复的事项,加上本月1日至统计日超期答复的事项",
    ),
    (
        "unregistered",
        "应登不登",
        "本月1日至统计日已接待(签到或接待完毕)的预约、已举行的下访中,到统计日仍没有关联"
        "已登记信访事项的",
    ),
    (
        "delivery_irregular",
        "答复送达不规范",
        "本月1日至统计日出具处理意见书的事项中,到统计日仍无送达记录,或送达晚于办理期限的",
    ),
    (
        "leaders",
        "领导接访下访",
        "按场次计(一天两场计两场,不按天数):本月日期的接访日、下访场次(含已取消的),"
        "其中到统计日已举行的、到统计日已取消的;预约为本月1日至统计日各场次中到统计日未取消的预约",
    ),
    (
        "ownership",
        "领导包案",
        "统计日当天由该领导包案的事项数,其中到统计日已化解(含息诉罢访)的,以及到统计日有期限"
        "已超期的",
    ),
    (
        "sanwu",
        "三无乡镇",
        "当年1月1日至统计日无进京非访、无到市大规模集体访、无网上舆论炒作的乡镇(街道);目标:三分之二",
    ),
    (
        "campaign",
        "积案化解进度",
        "专项内到统计日已化解(含息诉罢访)的事项 ÷ 专项事项总数,对照统计日已到期的最近一个目标",
    ),
    (
        "spot_checks",
        "基础业务抽查",
        "本月登记的信访事项中,区信访局按保存的随机种子为每个乡镇(街道)和部门抽取的样本"
        "(抽查在月份结束后进行:统计日选在抽查之后才有结果),到统计日已检查的件数、发现的问题"
        "(按抽查清单项目)、已整改完成的和逾期整改的(整改期限已过而期限内未反馈整改情况的);"
        "与系统按数据计算的同一单位本月超期受理、超期办理、应登不登、答复送达不规范并列。"
        "本月没有登记事项的单位不列出",
    ),
    (
        "inquiries",
        "流调",
        "本月登记(到统计日为止)的重复信访事项中,到统计日已开展流调的和流调结论已经领导签批的件数"
        "(越级信访事项也可开展流调,不计入本项)",
    ),
    (
        "proxy",
        "网格员代办",
        "本月登记(到统计日为止)、由网格员代为提出(渠道为网格员代办)的信访事项,按乡镇(街道):件数、"
        "从网格员收到到登记的平均天数、到统计日按期受理的、已答复的,以及答复后信访人本人已评价的"
        "(其中满意和基本满意的)",
    ),
    (
        "stalled",
        "空转",
        "联席会议议定事项中,到统计日办结时限已过而仍未办结的(不论哪次会议议定);"
        "办结时限当天办结的不算空转",
    ),
    ("missing", "—", "分母为零:该月没有可计算的事项,不计算比率(不是0%)"),
    (
        "no_data",
        "无数据",
        "比较的月份在系统有记录之前(如系统启用第一年的同比),没有可比较的数字",
    ),
]


def _month_as_of(month: str, as_of: date | None, today: date) -> tuple[date, date, date]:
    first, last = month_bounds(month)
    if first > today:
        raise InvalidInput(f"{month} 尚未开始", field="month")
    return first, last, workflow.as_of_day(first, last, as_of, today)


async def _provisional(session: AsyncSession, first: date, last: date) -> bool:
    """Whether the figures rest on a calendar year without official data."""
    years = list(range(first.year, last.year + 2))
    await ensure_years(session=session, years=years)
    rows = await session.scalars(select(CalendarYear).where(col(CalendarYear.year).in_(years[:-1])))
    return any(not r.official for r in rows)


async def review(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    month: str,
    unit_id: int | None = None,
    as_of: date | None = None,
    unmasked: bool = False,
) -> dict[str, Any]:
    """Everything the review meeting reads, for a month and a unit subtree, as plain data."""
    # Names whole in a list of many cases: the one visibility policy says who may.
    if unmasked and not shows_whole(actor, listing=True):
        raise InvalidInput("只有管理员可以导出未脱敏的姓名", field="unmasked")
    first, last, day = _month_as_of(month, as_of, ctx.today())
    scope = await figures.scope_of(session, unit_id)
    masked = not unmasked
    overdue, late = await lists.overdue_cases(session, scope, first, last, day, masked=masked)
    rows, total = await figures.unit_figures(session, scope, first, last, day, late=late)

    comparison: dict[str, Any] = {"current": figures.headline(total)}
    # Before the first registered case there is no record to compare with: "—", not zeros
    # (an office's first year would otherwise show a fake rise 同比).
    first_record = await figures.first_record(session, scope)
    for key, other in (
        ("previous_month", shift_month(month, -1)),
        ("same_month_last_year", shift_month(month, -12)),
    ):
        o_first, o_last = month_bounds(other)
        if first_record is None or o_last < first_record:
            empty = dict.fromkeys(figures.headline(total), None)
            comparison[key] = {"month": other, "no_data": True, **empty}
            continue
        # The earlier month as it stood at the same point: its end, or today if sooner.
        o_day = min(o_last, day)
        _, o_total = await figures.unit_figures(session, scope, o_first, o_last, o_day)
        comparison[key] = {"month": other, "no_data": False, **figures.headline(o_total)}

    campaigns = [msgspec.to_builtins(p) for p in await all_progress(session=session, as_of=day)]
    report = {
        "month": month,
        "as_of": day.isoformat(),
        "unit": {"id": scope.root.id, "name": scope.root.name, "kind": scope.root.kind},
        "provisional": await _provisional(session, first, last),
        "masked": masked,
        "units": [r.as_dict() for r in rows],
        "total": total.as_dict(),
        "comparison": comparison,
        "overdue_cases": overdue,
        "unregistered": await lists.unregistered(session, scope, first, last, day, masked=masked),
        "delivery_irregular": await lists.delivery_irregular(
            session, scope, first, last, day, masked=masked
        ),
        "leaders": await leaders.leader_figures(session, scope, first, last, day, ctx.tz),
        "campaigns": campaigns,
        "sanwu": await incidents.sanwu(session, scope, first.year, day),
        # 矛盾纠纷排查台账: the month's 排查情况表 and the panel (open, overdue, 源头预防).
        "ledger": await ledger_figures.table(
            session, unit_id=scope.root.id, first=first, last=last
        ),
        "ledger_panel": await ledger_figures.panel(
            session, unit_id=scope.root.id, first=first, last=last, today=day
        ),
        "definitions": [{"key": k, "name": n, "definition": d} for k, n, d in DEFINITIONS],
    }
    report |= await _supervision(session, report, scope, month, first, last, day)
    if unmasked:
        await audit.record(
            session=session,
            actor=actor,
            action="review.unmasked",
            target_type="review",
            target_id=f"{month}:{scope.root.id}",
            after={"month": month, "unit_id": scope.root.id, "as_of": day.isoformat()},
        )
    return report


async def _supervision(
    session: AsyncSession,
    report: dict[str, Any],
    scope: figures.Scope,
    month: str,
    first: date,
    last: date,
    day: date,
) -> dict[str, Any]:
    """督查督办 in the review: the month's spot check beside the computed points, 流调 of the
    month's repeat matters, 网格员代办 per township, 联席会议 and what is 空转."""
    root = scope.root
    checked = await spot_checks.results(session, root=root, month=month, as_of=day)
    return {
        "spot_checks": _beside_points(report, checked, scope.row_of),
        "inquiries": await inquiries.month_counts(
            session, root=root, first=first, last=last, as_of=day
        ),
        "proxy": await proxy_service.review_rows(
            session, root=root, first=first, last=last, as_of=day
        ),
        "conferences": await decisions.review_figures(
            session, root=root, first=first, last=last, as_of=day
        ),
    }


def _beside_points(
    report: dict[str, Any], checked: dict[str, Any], row_of: dict[int, int]
) -> dict[str, Any]:
    """The spot check's results per unit beside the points the system computed for the same
    unit and month (超期受理, 超期办理, 应登不登, 答复送达不规范): what the checker found and
    what the data shows, side by side — a village's record counted under its township, as
    the unit rows are."""
    rows = {r["unit_id"]: r for r in report["units"]}
    root = report["unit"]["id"]

    def under(unit_id: Any, checked_unit: int) -> bool:
        return checked_unit == root or row_of.get(unit_id, unit_id) == checked_unit

    for row in checked["units"]:
        unit = report["total"] if row["unit_id"] == root else rows.get(row["unit_id"])
        row["computed"] = {
            "overdue_accept": unit["overdue_accept"] if unit else 0,
            "overdue_handle": unit["overdue_handle"] if unit else 0,
            "unregistered": sum(
                1 for x in report["unregistered"] if under(x["unit_id"], row["unit_id"])
            ),
            "delivery_irregular": sum(
                1 for x in report["delivery_irregular"] if under(x["unit_id"], row["unit_id"])
            ),
        }
    return checked


MAX_TREND_MONTHS = 36


async def trend(
    *,
    session: AsyncSession,
    ctx: Context,
    first_month: str,
    last_month: str,
    unit_id: int | None = None,
) -> dict[str, Any]:
    """The review's headline figures for each month of a range (the same SQL aggregates as
    the review: a month's figures here equal the review's of that month). A month before the
    first registered case says `no_data`; a rate whose denominator is zero is null."""
    if last_month < first_month:
        raise InvalidInput("结束月份不能早于开始月份", field="to")
    months = [first_month]
    while months[-1] < last_month:
        months.append(shift_month(months[-1], 1))
        if len(months) > MAX_TREND_MONTHS:
            raise InvalidInput(f"一次最多 {MAX_TREND_MONTHS} 个月", field="to")
    scope = await figures.scope_of(session, unit_id)
    first_record = await figures.first_record(session, scope)
    today = ctx.today()
    out = []
    for month in months:
        first, last = month_bounds(month)
        if first_record is None or last < first_record or first > today:
            empty = dict.fromkeys(figures.HEADLINE, None)
            out.append({"month": month, "no_data": True, **empty})
            continue
        _, total = await figures.unit_figures(session, scope, first, last, min(last, today))
        out.append({"month": month, "no_data": False, **figures.headline(total)})
    return {
        "unit": {"id": scope.root.id, "name": scope.root.name, "kind": scope.root.kind},
        "from": first_month,
        "to": last_month,
        "as_of": today.isoformat(),
        "months": out,
    }
