"""Pure rules of reception days: which dates a rule yields, and how a session splits into slots."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from reception.base import COLLECTIVE_FROM, HolidayPolicy
from reception.expr import any_of, member
from reception.workdays import Computed, WorkCalendar


def rule_day(year: int, month: int, day_of_month: int) -> date:
    """The rule's nominal day in a month; day 29–31 falls back to the month's last day."""
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def nominal_dates(
    *, day_of_month: int, valid_from: date, valid_to: date | None, until: date
) -> list[date]:
    """Every nominal reception day of a rule from `valid_from` through `until` (inclusive)."""
    last = min(until, valid_to) if valid_to else until
    out: list[date] = []
    year, month = valid_from.year, valid_from.month
    while (year, month) <= (last.year, last.month):
        day = rule_day(year, month, day_of_month)
        if valid_from <= day <= last:
            out.append(day)
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def slot_starts(starts_at: datetime, ends_at: datetime, slot_minutes: int) -> list[datetime]:
    """Start of each whole slot that fits between starts_at and ends_at."""
    step = timedelta(minutes=slot_minutes)
    count = int((ends_at - starts_at) / step)
    return [starts_at + i * step for i in range(count)]


# A collective visit is received through at most this many representatives.
MAX_REPRESENTATIVES = 5


def places_for(party_size: int, representatives: int) -> int:
    """Places a booking takes in its slot: the people received.

    A collective visit (集体访, five people or more) is received through its named
    representatives (at most five); a smaller party comes in whole.
    """
    return representatives if party_size >= COLLECTIVE_FROM else party_size


def reception_day(calendar: WorkCalendar, nominal: date, policy: HolidayPolicy) -> Computed:
    """The reception day for a nominal date under the rule's holiday policy, kept in its month.

    A shift that would leave the month goes the other way instead, so every month keeps exactly
    one reception day: day 31 of May 2026 is a Sunday, and June 1 would give June two — the
    session is held on Friday May 29 instead.
    """
    computed = calendar.apply_policy(nominal, policy)
    if policy != "keep" and computed.value.month != nominal.month:
        other: HolidayPolicy = "previous_workday" if policy == "next_workday" else "next_workday"
        fallback = calendar.apply_policy(nominal, other)
        if fallback.value.month == nominal.month:
            return fallback
    return computed


# ---------------------------------------------------------------- state machines

STATUS_LABELS = {"scheduled": "已安排", "held": "已举行", "cancelled": "已取消"}
APPOINTMENT_LABELS = {
    "booked": "已预约",
    "checked_in": "已签到",
    "completed": "已接待",
    "no_show": "未到",
    "cancelled": "已取消",
}

# A session's moves: action → (the statuses it may start from, the status it leads to).
SESSION_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "move": (frozenset({"scheduled"}), "scheduled"),
    "cancel": (frozenset({"scheduled"}), "cancelled"),
    "hold": (frozenset({"scheduled"}), "held"),
}

# An appointment's moves: status → the statuses it may become.
APPOINTMENT_MOVES: dict[str, frozenset[str]] = {
    "booked": frozenset({"checked_in", "no_show", "cancelled"}),
    "checked_in": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "no_show": frozenset(),
    "cancelled": frozenset(),
}
# Statuses that record what happened on the day: not before the session's day has come.
ON_THE_DAY = frozenset({"checked_in", "completed", "no_show"})
# An appointment's statuses (the table's CHECK and the bodies take them from here), and those
# a status change may set.
AppointmentStatus = Literal["booked", "checked_in", "completed", "no_show", "cancelled"]
APPOINTMENT_STATUSES: tuple[str, ...] = get_args(AppointmentStatus)
StatusChange = Literal["checked_in", "completed", "no_show", "cancelled"]

# What an appointment's status means, decided here once (Python and SQL alike, reception.expr):
# still holding its place (capacity, once per session, who is still to come) …
LIVE_APPOINTMENTS = ("booked", "checked_in")
# … received on the day (a case should be registered for it: 应登不登) …
RECEIVED = ("checked_in", "completed")


def holds_place(status: Any) -> Any:
    return member(status, LIVE_APPOINTMENTS)


def received(status: Any) -> Any:
    return member(status, RECEIVED)


def kept(status: Any) -> Any:
    """… or simply not called off: it counts as an appointment of its session (the feeds'
    counts, the day sheet's list), whatever became of it on the day."""
    return status != "cancelled"


def called_off(status: Any) -> Any:
    """Cancelled (with its session, or on its own): its petitioner is to be told."""
    return status == "cancelled"


def kept_as_of(status: Any, cancelled_at: Any, instant: Any) -> Any:
    """Kept as things stood at an instant: not called off, or called off only after it."""
    return any_of(kept(status), lambda: cancelled_at >= instant)


def session_move_refused(status: str, action: str) -> str | None:
    """Why a session in `status` cannot take `action` (None: it can)."""
    sources, _ = SESSION_MOVES[action]
    if status in sources:
        return None
    if action == "cancel" and status == "cancelled":
        return "已经取消"
    if action == "cancel" and status == "held":
        return "已经举行,不能取消"
    if action == "move":
        return f"{STATUS_LABELS[status]},不能调整"
    return STATUS_LABELS[status]
