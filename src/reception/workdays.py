"""China's working-day calendar and deadline arithmetic. Pure: no database, no web.

A year's data is its statutory holidays (days off, including 调休 rest days) and its make-up
working days (调休上班, e.g. Sunday 2026-09-20). A day is a working day when it is a make-up
working day, or when it is neither a holiday nor a Saturday/Sunday: the weekend is only the
default that the year's official data overrides.

A year whose official schedule has not been entered is *provisional*: every date computed
from it carries that flag, so no one mistakes an estimate for the law.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from reception.base import HolidayPolicy

# Beyond this many days of searching for a working day the calendar data must be wrong.
_MAX_SEARCH = 60


class CalendarError(ValueError):
    """The calendar cannot answer (e.g. no data for a year and no fallback)."""


@dataclass(frozen=True)
class YearCalendar:
    year: int
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    official: bool = False

    def __post_init__(self) -> None:
        for d in self.holidays | self.workdays:
            if d.year != self.year:
                raise CalendarError(f"{d.isoformat()} 不在 {self.year} 年")
        both = self.holidays & self.workdays
        if both:
            raise CalendarError(
                "同一天不能既是假日又是工作日:" + "、".join(sorted(d.isoformat() for d in both))
            )


@dataclass(frozen=True)
class Computed:
    """A date computed from the calendar, and whether any year it used was provisional."""

    value: date
    provisional: bool


@dataclass
class WorkCalendar:
    years: Mapping[int, YearCalendar] = field(default_factory=dict)

    def year(self, year: int) -> YearCalendar:
        try:
            return self.years[year]
        except KeyError:
            raise CalendarError(f"没有 {year} 年的工作日历") from None

    def is_provisional(self, *days: date) -> bool:
        return any(not self.year(d.year).official for d in days)

    def is_workday(self, day: date) -> bool:
        cal = self.year(day.year)
        if day in cal.workdays:
            return True
        if day in cal.holidays:
            return False
        return day.weekday() < 5  # the default week, after the year's own data

    def _step_to_workday(self, day: date, step: int) -> Computed:
        touched = [day]
        for _ in range(_MAX_SEARCH):
            if self.is_workday(day):
                return Computed(day, self.is_provisional(*touched))
            day += timedelta(days=step)
            touched.append(day)
        raise CalendarError(f"{touched[0]} 前后 {_MAX_SEARCH} 天内没有工作日:请检查日历数据")

    def next_workday(self, day: date) -> Computed:
        """`day` itself if it is a working day, else the first working day after it."""
        return self._step_to_workday(day, 1)

    def previous_workday(self, day: date) -> Computed:
        """`day` itself if it is a working day, else the last working day before it."""
        return self._step_to_workday(day, -1)

    def apply_policy(self, day: date, policy: HolidayPolicy) -> Computed:
        if policy == "next_workday":
            return self.next_workday(day)
        if policy == "previous_workday":
            return self.previous_workday(day)
        return Computed(day, self.is_provisional(day))

    def add_days(self, start: date, days: int, *, roll_to_workday: bool = True) -> Computed:
        """A period of `days` calendar days from `start`.

        The start day is not counted (民法典 art. 201); when the last day is not a working
        day the period ends on the next working day (art. 203).
        """
        if days < 0:
            raise CalendarError("期限不能为负数")
        end = start + timedelta(days=days)
        if not roll_to_workday:
            return Computed(end, self.is_provisional(start, end))
        rolled = self.next_workday(end)
        return Computed(rolled.value, rolled.provisional or self.is_provisional(start))

    def add_workdays(self, start: date, days: int) -> Computed:
        """The `days`-th working day after `start` (the start day is not counted)."""
        if days < 0:
            raise CalendarError("期限不能为负数")
        day, counted, touched = start, 0, [start]
        while counted < days:
            day += timedelta(days=1)
            touched.append(day)
            if self.is_workday(day):
                counted += 1
        return Computed(day, self.is_provisional(touched[0], touched[-1]))

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 if end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count


def from_holidays_package(year: int) -> tuple[YearCalendar, dict[date, str]]:
    """Seed a year from the `holidays` package (CN), with the holidays' Chinese names.

    The package knows the State Council's 调休 only for years already announced; for a year
    without any make-up working day it is estimating, so that year is provisional.
    """
    import holidays as holidays_pkg

    cn = holidays_pkg.country_holidays("CN", years=year, language="zh_CN")
    names = {d: str(name) for d, name in cn.items() if d.year == year}
    workdays = {d for d in getattr(cn, "weekend_workdays", set()) if d.year == year}
    calendar = YearCalendar(
        year=year,
        holidays=frozenset(names),
        workdays=frozenset(workdays),
        official=bool(workdays),
    )
    return calendar, names
