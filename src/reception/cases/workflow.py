"""The rules of a petition case (信访工作条例, 2022): stages, the move table, statutory clocks,
and what "overdue", "on time" and "resolved" mean. Pure: no database, no web.

Each rule that is counted both in Python and in SQL is written once with `reception.expr`:
`overdue(clock, as_of)` answers for a loaded clock and becomes a WHERE clause for the
CaseClock table (or an alias of it); `resolved_as_of` likewise for cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

from reception.errors import InvalidInput
from reception.expr import all_of, any_of, is_false, is_true, member, missing, present
from reception.workdays import Computed, WorkCalendar

# The case's vocabulary, named once: the request bodies take these Literals, the tables'
# CHECK constraints the tuples made of them, the labels below are keyed by them.
Stage = Literal[
    "registered",
    "accepted",
    "rejected",
    "diverted",
    "in_progress",
    "replied",
    "review",
    "re_review",
    "closed",
]
Channel = Literal["letter", "visit", "online", "phone", "grid_proxy"]
Source = Literal["own", "city", "national"]
Resolution = Literal["unresolved", "resolved", "ceased"]
Satisfaction = Literal["satisfied", "basically_satisfied", "dissatisfied", "not_evaluated"]
# What a petitioner answers on their own page (not_evaluated is nobody's answer).
Rating = Literal["satisfied", "basically_satisfied", "dissatisfied"]
Procedure = Literal["litigation", "arbitration", "reconsideration"]
STAGES: tuple[str, ...] = get_args(Stage)
CHANNELS: tuple[str, ...] = get_args(Channel)
SOURCES: tuple[str, ...] = get_args(Source)
RESOLUTIONS: tuple[str, ...] = get_args(Resolution)
SATISFACTION: tuple[str, ...] = get_args(Satisfaction)

# 导入法定程序: where a matter goes instead (the `divert` step).
PROCEDURE_LABELS = {
    "litigation": "提起诉讼",
    "arbitration": "申请仲裁",
    "reconsideration": "申请行政复议",
}

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
# How a person reads the codes (pages, exports).
CHANNEL_LABELS = {
    "letter": "来信",
    "visit": "来访",
    "online": "网上信访",
    "phone": "电话",
    "grid_proxy": "网格员代办",
}
SOURCE_LABELS = {"own": "本级受理", "city": "市信访办转送", "national": "国家信访局转送"}
RESOLUTION_LABELS = {"unresolved": "未化解", "resolved": "已化解", "ceased": "息诉罢访"}
SATISFACTION_LABELS = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "not_evaluated": "未评价",
}
# Every stage but the last: a case still open on someone's desk.
OPEN_STAGES = tuple(stage for stage in STAGE_LABELS if stage != "closed")
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
    "decide_review": "作出复查意见",
    "request_re_review": "申请复核",
    "hearing": "听证",
    "decide_re_review": "作出复核意见",
    "close": "办结",
}


# ---------------------------------------------------------------- clocks


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


def due_date(calendar: WorkCalendar, kind: str, started_on: date, extra_days: int = 0) -> Computed:
    rule = CLOCK_RULES[kind]
    if rule.working_days:
        return calendar.add_workdays(started_on, rule.length + extra_days)
    return calendar.add_days(started_on, rule.length + extra_days)


@dataclass(frozen=True)
class TimeLeft:
    """How far a due date is from a day, counted as its clock counts (working or calendar
    days): positive left, zero due that day, negative overdue by that many."""

    days: int
    working: bool

    @property
    def label(self) -> str:
        unit = "个工作日" if self.working else "天"
        if self.days > 0:
            return f"剩 {self.days} {unit}"
        if self.days == 0:
            return "今日到期"
        return f"超期 {-self.days} {unit}"


def time_left(calendar: WorkCalendar, kind: str, due: date, as_of: date) -> TimeLeft:
    working = CLOCK_RULES[kind].working_days
    if working:
        days = (
            calendar.workdays_between(as_of, due)
            if due >= as_of
            else -calendar.workdays_between(due, as_of)
        )
    else:
        days = (due - as_of).days
    return TimeLeft(days, working)


# The petitioner's window to ask for 复查/复核 is theirs, not the office's: when it passes
# unused nothing is late. Every other clock is a deadline on the office.
OFFICE_CLOCKS = tuple(kind for kind in CLOCK_RULES if kind != "review_request")


def running_office_clock(clock: Any) -> Any:
    """A deadline on the office still running (the reminders' and escalations' clocks)."""
    return all_of(member(clock.kind, OFFICE_CLOCKS), clock.status == "running")


def overdue(clock: Any, as_of: date) -> Any:
    """An office deadline is overdue as of a day when, on that day, it was past its due date
    and not yet met (so a past month's figures stay what they were, even if it was met later).

    `clock` is a loaded CaseClock (→ bool) or the CaseClock table or an alias (→ SQL).

    Not yet met on the day: still running (a running clock has no met_on), or met after it.
    Written by status so that SQL reaches both through indexes — the running clocks in due
    order, the met ones by their met_on — instead of every clock ever due before the day."""
    return all_of(
        member(clock.kind, OFFICE_CLOCKS),
        clock.current_due < as_of,
        any_of(
            clock.status == "running",
            all_of(clock.status == "met", present(clock.met_on), lambda: clock.met_on > as_of),
        ),
    )


# ---------------------------------------------------------------- as of a day (the review)
#
# A month's figures as they stood on an as-of day count only what had happened by then.
# `first`..`last` is the month; `as_of` may fall inside it.


def as_of_day(
    first: date, last: date | None, as_of: date | None, today: date, *, after_end: bool = True
) -> date:
    """The day figures of a period (a month, a year, a campaign so far) stand at: the one
    asked for, or the period's end — today while it runs. Never later than today (what has not
    happened cannot be counted), never before the period; after its end only where the
    figures may be taken again later (`after_end`: a month's review as known in a later month)."""
    if first > today:
        raise InvalidInput("统计期尚未开始", field="as_of")
    day = as_of or (min(last, today) if last else today)
    if day > today:
        raise InvalidInput("统计日不能晚于今天:还没有发生的事无法统计", field="as_of")
    if day < first or (not after_end and last is not None and day > last):
        raise InvalidInput("统计日须在统计期内", field="as_of")
    return day


def happened(day: Any, first: date, last: date, as_of: date) -> Any:
    """A dated step (registration, reply) counts in the month if it happened in the month and
    by the as-of day."""
    return all_of(present(day), lambda: day >= first, lambda: day <= min(last, as_of))


def known_by(case: Any, as_of: date) -> Any:
    """A case exists for the figures of a day from the day it was registered (a record entered
    late, 补录, shows in a month's figures only when they are taken again after its entry)."""
    return case.registered_on <= as_of


def counted_due(clock: Any, first: date, last: date, as_of: date) -> Any:
    """A clock counts in a rate (及时受理率, 按期办结率) if it fell due in the month, on or before
    the as-of day, and its outcome was known by then: met by that day, or past due unmet. A
    clock due on the as-of day and not yet met is still running: not counted, not overdue."""
    return all_of(
        clock.status != "void",
        clock.current_due >= first,
        clock.current_due <= min(last, as_of),
        any_of(
            lambda: met_by(clock, as_of),
            clock.current_due < as_of,
        ),
    )


def met_by(clock: Any, as_of: date) -> Any:
    return all_of(clock.status == "met", present(clock.met_on), lambda: clock.met_on <= as_of)


def on_time_by(clock: Any, as_of: date) -> Any:
    """Counted as on time: met by the as-of day, by its due date (the verdict frozen then)."""
    return all_of(met_by(clock, as_of), is_true(clock.on_time))


def petitioner_evaluated_by(case: Any, as_of: date) -> Any:
    """The petitioner rated the reply themselves (their page) by the as-of day."""
    return all_of(
        present(case.petitioner_evaluated_on), lambda: case.petitioner_evaluated_on <= as_of
    )


def staff_evaluated_by(case: Any, as_of: date) -> Any:
    """A clerk recorded the petitioner's satisfaction by the as-of day."""
    return all_of(
        case.satisfaction != "not_evaluated",
        present(case.evaluated_on),
        lambda: case.evaluated_on <= as_of,
    )


def evaluated_by(case: Any, as_of: date) -> Any:
    """参评: rated by the as-of day — by the petitioner on their page, or as a clerk recorded."""
    return any_of(petitioner_evaluated_by(case, as_of), staff_evaluated_by(case, as_of))


def late_in(clock: Any, first: date, last: date, as_of: date) -> Any:
    """超期 in a month's figures: overdue on the as-of day (still unmet past its due date),
    or met late (after its due date) in the month, by the as-of day."""
    return any_of(
        overdue(clock, as_of),
        all_of(
            clock.status == "met",
            is_false(clock.on_time),
            present(clock.met_on),
            lambda: clock.met_on >= first,
            lambda: clock.met_on <= min(last, as_of),
        ),
    )


SATISFIED = ("satisfied", "basically_satisfied")


def satisfied_by(case: Any, as_of: date) -> Any:
    """满意 or 基本满意: the petitioner's own rating where there is one by the as-of day,
    otherwise the one a clerk recorded."""
    return any_of(
        all_of(
            petitioner_evaluated_by(case, as_of),
            member(case.petitioner_satisfaction, SATISFIED),
        ),
        all_of(
            any_of(
                missing(case.petitioner_evaluated_on),
                lambda: case.petitioner_evaluated_on > as_of,
            ),
            staff_evaluated_by(case, as_of),
            member(case.satisfaction, SATISFIED),
        ),
    )


RESOLVED = ("resolved", "ceased")


def resolved_as_of(case: Any, as_of: date) -> Any:
    """化解 or 息诉罢访 by that day (a loaded case → bool; the table or an alias → SQL)."""
    return all_of(member(case.resolution, RESOLVED), lambda: case.resolution_on <= as_of)


# ---------------------------------------------------------------- the move table


@dataclass(frozen=True)
class Start:
    """A clock an action starts: from the action's day, or from a date field of the case."""

    kind: str
    from_field: str | None = None
    round: int = 1


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    # The stage it leads to (None: the case stays where it is).
    target: str | None = None
    # The date field of the case the action's day is written to.
    stamps: str | None = None
    # Clocks the action meets (whichever of them is running), voids, and starts — in that order.
    meets: tuple[str, ...] = ()
    voids: tuple[str, ...] = ()
    starts: tuple[Start, ...] = ()


def _stages(*names: str) -> frozenset[str]:
    return frozenset(names)


# Meeting the acceptance decision also meets the 5-working-day objection window of an
# assigned (交办) case; `reply` meets the handling clock, normal or simple, whichever runs.
MOVES: dict[str, Move] = {
    "accept": Move(
        _stages("registered"),
        "accepted",
        "accepted_on",
        meets=("objection", "accept"),
        starts=(Start("handle"),),
    ),
    "reject": Move(_stages("registered"), "rejected", meets=("objection", "accept")),
    "divert": Move(_stages("registered"), "diverted", meets=("objection", "accept")),
    "simple_procedure": Move(
        _stages("accepted"), voids=("handle",), starts=(Start("simple", "accepted_on"),)
    ),
    "start": Move(_stages("accepted"), "in_progress"),
    "extend": Move(_stages("accepted", "in_progress")),
    "reply": Move(
        _stages("accepted", "in_progress"), "replied", "replied_on", meets=("handle", "simple")
    ),
    # The petitioner's 30 days to ask for 复查 run from delivery of the written reply.
    "deliver": Move(
        _stages("replied", "review", "re_review", "closed"),
        starts=(Start("review_request", "delivered_on"),),
    ),
    "request_review": Move(
        _stages("replied", "closed"),
        "review",
        "review_requested_on",
        meets=("review_request",),
        starts=(Start("review"),),
    ),
    "decide_review": Move(
        _stages("review"),
        stamps="review_decided_on",
        meets=("review",),
        starts=(Start("review_request", round=2),),
    ),
    "request_re_review": Move(
        _stages("review", "closed"),
        "re_review",
        "re_review_requested_on",
        meets=("review_request",),
        starts=(Start("re_review"),),
    ),
    # 听证: the hearing's days are not counted in 复核's 30 (art. 36); see clocks.pause.
    "hearing": Move(_stages("re_review")),
    "decide_re_review": Move(
        _stages("re_review"), stamps="re_review_decided_on", meets=("re_review",)
    ),
    "close": Move(
        _stages("replied", "review", "re_review", "rejected", "diverted"), "closed", "closed_on"
    ),
}


def allowed_actions(case: Any, *, matter_re_reviewed: bool = False) -> list[str]:
    """The actions possible for a case now (its stage and what has happened so far).

    `matter_re_reviewed`: an earlier case of the same matter went through 复核, so the
    matter is not accepted again (不再受理).
    """
    stage = case.stage
    conditions = {
        "accept": not matter_re_reviewed,
        "deliver": case.replied_on is not None and case.delivered_on is None,
        # The 30 days to ask for 复查 run from delivery of the written reply (art. 35).
        "request_review": case.delivered_on is not None
        and case.review_requested_on is None
        and case.re_review_requested_on is None,
        "decide_review": case.review_decided_on is None,
        "request_re_review": case.review_decided_on is not None
        and case.re_review_requested_on is None,
        "decide_re_review": case.re_review_decided_on is None,
        "hearing": case.re_review_decided_on is None,
        "simple_procedure": case.first_time and not case.simple_procedure,
        "extend": not case.simple_procedure,
        "close": not (stage == "review" and case.review_decided_on is None)
        and not (stage == "re_review" and case.re_review_decided_on is None),
    }
    return [
        action
        for action, move in MOVES.items()
        if stage in move.sources and conditions.get(action, True)
    ]
