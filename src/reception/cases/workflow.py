"""The rules of a petition case (信访工作条例, 2022): stages, allowed moves, statutory clocks,
and what "overdue" and "on time" mean. Pure: no database, no web.

"Overdue" is defined here once, as a Python predicate and as the matching SQL expression
(`clock_overdue` / `overdue_clause`), so the API, lists and the monthly review agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from reception.workdays import Computed, WorkCalendar

STAGE_LABELS = {
    "registered": "登记",
    "accepted": "受理",
    "rejected": "不予受理",
    "diverted": "导入法定程序",
    "in_progress": "办理",
    "replied": "已答复",
    "review": "复查",
    "re_review": "复核",
    "closed": "办结",
}
CHANNEL_LABELS = {
    "letter": "来信",
    "visit": "来访",
    "online": "网上",
    "phone": "电话",
    "grid_proxy": "网格员代办",
}
RESOLUTION_LABELS = {"unresolved": "未化解", "resolved": "化解", "ceased": "息诉罢访"}
SATISFACTION_LABELS = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "not_evaluated": "未评价",
}
DIVERSIONS = {"litigation": "诉讼", "arbitration": "仲裁", "reconsideration": "行政复议"}
DEFAULT_CATEGORIES = {
    "housing": "涉房",
    "wages": "涉薪",
    "mass_finance": "涉众",
    "veterans": "涉军",
    "land": "征地拆迁",
    "other": "其他",
}
CLOCK_LABELS = {
    "accept": "受理告知",
    "handle": "办理",
    "simple": "简易办理",
    "review_request": "申请复查/复核期限",
    "review": "复查",
    "re_review": "复核",
    "objection": "交办异议",
}


@dataclass(frozen=True)
class ClockRule:
    length: int
    working_days: bool


# Defaults of the 信访工作条例; counting: the start day is not counted, and a calendar-day
# period ending on a holiday ends on the next working day (民法典 arts. 201, 203).
CLOCK_RULES: dict[str, ClockRule] = {
    "accept": ClockRule(15, False),
    "handle": ClockRule(60, False),
    "simple": ClockRule(10, True),
    "review_request": ClockRule(30, False),
    "review": ClockRule(30, False),
    "re_review": ClockRule(30, False),
    "objection": ClockRule(5, True),
}
MAX_HANDLE_EXTENSION_DAYS = 30
COLLECTIVE_FROM = 5


def due_date(calendar: WorkCalendar, kind: str, started_on: date, extra_days: int = 0) -> Computed:
    rule = CLOCK_RULES[kind]
    if rule.working_days:
        return calendar.add_workdays(started_on, rule.length + extra_days)
    return calendar.add_days(started_on, rule.length + extra_days)


# ---------------------------------------------------------------- overdue, once


# The petitioner's window to ask for 复查/复核 is theirs, not the office's: when it passes
# unused nothing is late. Every other clock is a deadline on the office.
OFFICE_CLOCKS = tuple(kind for kind in CLOCK_RULES if kind != "review_request")


def clock_overdue(clock: Any, as_of: date) -> bool:
    """An office deadline is overdue as of a day when, on that day, it was past its due date
    and not yet met (so a past month's figures stay what they were, even if it was met later)."""
    return (
        clock.kind in OFFICE_CLOCKS
        and clock.status != "void"
        and clock.current_due < as_of
        and (clock.met_on is None or clock.met_on > as_of)
    )


def overdue_clause(clock: Any, as_of: date) -> ColumnElement[bool]:
    """The same rule as `clock_overdue`, as SQL over a CaseClock-like table or alias."""
    return and_(
        clock.kind.in_(OFFICE_CLOCKS),
        clock.status != "void",
        clock.current_due < as_of,
        or_(clock.met_on.is_(None), clock.met_on > as_of),
    )


def late_clause(clock: Any, as_of: date) -> ColumnElement[bool]:
    """Overdue now, or met after its due date (a frozen late verdict)."""
    return or_(overdue_clause(clock, as_of), and_(clock.status == "met", clock.on_time.is_(False)))


# ---------------------------------------------------------------- stage machine

# action → (stages it may start from, stage it leads to; None = stays)
MOVES: dict[str, tuple[frozenset[str], str | None]] = {
    "accept": (frozenset({"registered"}), "accepted"),
    "reject": (frozenset({"registered"}), "rejected"),
    "divert": (frozenset({"registered"}), "diverted"),
    "simple_procedure": (frozenset({"accepted"}), None),
    "start": (frozenset({"accepted"}), "in_progress"),
    "extend": (frozenset({"accepted", "in_progress"}), None),
    "reply": (frozenset({"accepted", "in_progress"}), "replied"),
    "deliver": (frozenset({"replied", "review", "re_review", "closed"}), None),
    "request_review": (frozenset({"replied", "closed"}), "review"),
    "decide_review": (frozenset({"review"}), None),
    "request_re_review": (frozenset({"review", "closed"}), "re_review"),
    "decide_re_review": (frozenset({"re_review"}), None),
    "close": (frozenset({"replied", "review", "re_review", "rejected", "diverted"}), "closed"),
}
ACTION_LABELS = {
    "accept": "受理",
    "reject": "不予受理",
    "divert": "导入法定程序",
    "simple_procedure": "简易办理",
    "start": "开始办理",
    "extend": "延期",
    "reply": "出具处理意见书",
    "deliver": "送达",
    "request_review": "申请复查",
    "decide_review": "复查意见",
    "request_re_review": "申请复核",
    "decide_re_review": "复核意见",
    "close": "办结",
}


def allowed_actions(case: Any, *, matter_re_reviewed: bool = False) -> list[str]:
    """The actions possible for a case now (its stage and what has happened so far).

    `matter_re_reviewed`: an earlier case of the same matter went through 复核, so the
    matter is not accepted again (不再受理).
    """
    stage = case.stage
    conditions = {
        "accept": not matter_re_reviewed,
        "reply": True,
        "deliver": case.replied_on is not None and case.delivered_on is None,
        "request_review": case.replied_on is not None
        and case.review_requested_on is None
        and case.re_review_requested_on is None,
        "decide_review": case.review_decided_on is None,
        "request_re_review": case.review_decided_on is not None
        and case.re_review_requested_on is None,
        "decide_re_review": case.re_review_decided_on is None,
        "simple_procedure": case.first_time and not case.simple_procedure,
        "extend": not case.simple_procedure,
        "close": not (stage == "review" and case.review_decided_on is None)
        and not (stage == "re_review" and case.re_review_decided_on is None),
    }
    return [
        action
        for action, (sources, _) in MOVES.items()
        if stage in sources and conditions.get(action, True)
    ]
