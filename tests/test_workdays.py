"""The working-day calendar (pure): SPEC §3.1–3.2's 2026 dates, worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from reception.workdays import CalendarError, WorkCalendar, YearCalendar, from_holidays_package

# A provisional year made by hand: what the installed `holidays` package guesses for a year
# without an official schedule may change with its releases, and no test depends on it.
PROVISIONAL_2027 = YearCalendar(year=2027, holidays=frozenset({date(2027, 1, 1)}), official=False)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    # 2026's schedule is official and published: seeding it from the package is under test.
    return WorkCalendar({2026: from_holidays_package(2026)[0], 2027: PROVISIONAL_2027})


def test_2026_is_official_and_2027_provisional(cal: WorkCalendar) -> None:
    assert cal.year(2026).official
    assert not cal.year(2027).official
    assert cal.is_provisional(date(2027, 3, 1))
    assert not cal.is_provisional(date(2026, 3, 1))


@pytest.mark.parametrize(
    "day", ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
)
def test_official_2026_make_up_workdays_are_weekends_that_work(cal: WorkCalendar, day: str) -> None:
    d = date.fromisoformat(day)
    assert d.weekday() >= 5
    assert cal.is_workday(d)


@pytest.mark.parametrize(
    ("nominal", "next_", "previous", "keep"),
    [
        # 02-20 Fri is 春节 rest (调休), 02-21/22 weekend, 02-23 Mon rest: next is Tue 02-24;
        # back: 02-16..19 Spring Festival, 02-15 Sun, 02-14 Sat is a make-up working day.
        ("2026-02-20", "2026-02-24", "2026-02-14", "2026-02-20"),
        # 06-20 is a Saturday (06-19 端午 Fri): next Mon 06-22, previous Thu 06-18.
        ("2026-06-20", "2026-06-22", "2026-06-18", "2026-06-20"),
        # 12-20 is a Sunday: next Mon 12-21, previous Fri 12-18.
        ("2026-12-20", "2026-12-21", "2026-12-18", "2026-12-20"),
        # 09-20 is a Sunday but an official working day (调休): it stays.
        ("2026-09-20", "2026-09-20", "2026-09-20", "2026-09-20"),
        # 03-20 is an ordinary Friday.
        ("2026-03-20", "2026-03-20", "2026-03-20", "2026-03-20"),
    ],
)
def test_holiday_policies(
    cal: WorkCalendar, nominal: str, next_: str, previous: str, keep: str
) -> None:
    d = date.fromisoformat(nominal)
    assert cal.apply_policy(d, "next_workday").value == date.fromisoformat(next_)
    assert cal.apply_policy(d, "previous_workday").value == date.fromisoformat(previous)
    assert cal.apply_policy(d, "keep").value == date.fromisoformat(keep)


def test_calendar_days_roll_past_the_national_day_holiday(cal: WorkCalendar) -> None:
    # Registered 2026-09-16: 15 days, start day not counted → 10-01, a holiday (10-01..07),
    # so the period ends on the next working day, Thursday 10-08.
    assert cal.add_days(date(2026, 9, 16), 15).value == date(2026, 10, 8)
    # Registered 09-10 → 09-25 is 中秋 (Friday), 09-26/27 weekend → Monday 09-28.
    assert cal.add_days(date(2026, 9, 10), 15).value == date(2026, 9, 28)
    # An ordinary end day stays.
    assert cal.add_days(date(2026, 3, 2), 15).value == date(2026, 3, 17)


def test_working_days_skip_the_holiday_and_count_the_make_up_day(cal: WorkCalendar) -> None:
    # From Monday 2026-09-28: 09-29, 09-30 (2), 10-01..07 off, 10-08, 10-09 (4),
    # 10-10 Saturday make-up (5), 10-12..10-16 (10) → 10 working days end Friday 10-16.
    assert cal.add_workdays(date(2026, 9, 28), 10).value == date(2026, 10, 16)
    # From Friday 09-18: Sunday 09-20 is a working day, so 5 working days end Thursday 09-24.
    assert cal.add_workdays(date(2026, 9, 18), 5).value == date(2026, 9, 24)
    assert cal.workdays_between(date(2026, 9, 28), date(2026, 10, 16)) == 10


def test_dates_from_a_provisional_year_say_so(cal: WorkCalendar) -> None:
    assert cal.add_days(date(2026, 12, 20), 15).provisional  # lands in 2027
    assert not cal.add_days(date(2026, 11, 2), 15).provisional


def test_bad_year_data_is_refused() -> None:
    with pytest.raises(CalendarError):
        YearCalendar(
            year=2026,
            holidays=frozenset({date(2026, 1, 1)}),
            workdays=frozenset({date(2026, 1, 1)}),
        )
    with pytest.raises(CalendarError):
        YearCalendar(year=2026, holidays=frozenset({date(2025, 1, 1)}))
    with pytest.raises(CalendarError):
        WorkCalendar({}).is_workday(date(2026, 1, 1))


def test_overdue_as_of_a_day_is_what_was_true_that_day() -> None:
    from types import SimpleNamespace

    from reception.cases.workflow import overdue as clock_overdue

    due = date(2026, 10, 8)

    def clock(status: str, met_on: date | None = None, kind: str = "handle") -> SimpleNamespace:
        return SimpleNamespace(kind=kind, status=status, met_on=met_on, current_due=due)

    # Still running after its due date: overdue; on the due date itself: not yet.
    assert clock_overdue(clock("running"), date(2026, 10, 9))
    assert not clock_overdue(clock("running"), due)
    # Met late on 10-20: at the end of September it was not due; on 10-15 it was overdue;
    # at the end of October it was met (late, counted as such elsewhere), no longer overdue.
    for as_of, expected in [
        (date(2026, 9, 30), False),
        (date(2026, 10, 15), True),
        (date(2026, 10, 31), False),
    ]:
        assert clock_overdue(clock("met", date(2026, 10, 20)), as_of) is expected
    # A void clock (replaced by the simple procedure) is never overdue, and neither is the
    # petitioner's own window to ask for 复查 that passed unused.
    assert not clock_overdue(clock("void"), date(2026, 12, 1))
    assert not clock_overdue(clock("running", kind="review_request"), date(2026, 12, 1))
