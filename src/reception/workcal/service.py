"""Stored working-day calendar: seeding from the `holidays` package, import, and loading."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.db import flush_refused, now_of
from reception.errors import Broken, InvalidInput
from reception.workcal import schemas
from reception.workcal.models import CalendarDay, CalendarYear
from reception.workdays import CalendarError, WorkCalendar, YearCalendar, from_holidays_package

MIN_YEAR, MAX_YEAR = 2000, 2100


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"年份须在 {MIN_YEAR} 至 {MAX_YEAR} 之间", field="year")


async def _seed_year(session: AsyncSession, year: int) -> None:
    calendar, names = from_holidays_package(year)

    async def days() -> None:
        session.add_all(
            [
                CalendarDay(day=d, year=year, kind="holiday", name=names[d])
                for d in calendar.holidays
            ]
            + [
                CalendarDay(day=d, year=year, kind="workday", name="调休上班")
                for d in calendar.workdays
            ]
        )
        await session.flush()

    # The year first (its days refer to it). Refused: another request seeded it meanwhile.
    await flush_refused(
        session,
        CalendarYear(year=year, official=calendar.official, source="holidays-package"),
        then=days,
    )


async def ensure_years(*, session: AsyncSession, years: Iterable[int]) -> None:
    wanted = {y for y in years}
    for y in wanted:
        _check_year(y)
    present = set(
        (
            await session.scalars(
                select(CalendarYear.year).where(col(CalendarYear.year).in_(sorted(wanted)))
            )
        ).all()
    )
    for year in sorted(wanted - present):
        await _seed_year(session, year)


# The years a database session has read, kept for the rest of it: a request or a command
# counts many deadlines on the same few years. A write to a year (put_year) forgets it, and a
# rollback after such a write forgets them all (a preview tries an import and rolls it back).
YEARS = "reception.calendar_years"
WRITTEN = "reception.calendar_written"


def _read_years(session: AsyncSession | Session) -> dict[int, YearCalendar]:
    cached: dict[int, YearCalendar] = session.info.setdefault(YEARS, {})
    return cached


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_years(session: Session, _previous: Any) -> None:
    if session.info.pop(WRITTEN, False):
        session.info.pop(YEARS, None)


def _year_rows(years: list[int]) -> Any:
    """The stored years with their days, in one statement (a year with no special day has
    one row, its day empty)."""
    return (
        select(
            col(CalendarYear.year),
            col(CalendarYear.official),
            col(CalendarDay.day),
            col(CalendarDay.kind),
        )
        .outerjoin(CalendarDay, col(CalendarDay.year) == col(CalendarYear.year))
        .where(col(CalendarYear.year).in_(years))
    )


async def load_calendar(*, session: AsyncSession, years: Iterable[int]) -> WorkCalendar:
    """The calendar for `years`, seeding any year not stored yet from the holidays package."""
    wanted = sorted(set(years))
    known = _read_years(session)
    missing = [y for y in wanted if y not in known]
    if missing:
        rows = (await session.execute(_year_rows(missing))).all()
        if {r.year for r in rows} != set(missing):
            # A year not stored yet: seeded from the holidays package, then read again.
            await ensure_years(session=session, years=missing)
            rows = (await session.execute(_year_rows(missing))).all()
        official = {r.year: r.official for r in rows}
        holidays: dict[int, set[date]] = {y: set() for y in missing}
        workdays: dict[int, set[date]] = {y: set() for y in missing}
        for r in rows:
            if r.day is not None:
                (holidays if r.kind == "holiday" else workdays)[r.year].add(r.day)
        for y in missing:
            known[y] = YearCalendar(
                year=y,
                holidays=frozenset(holidays[y]),
                workdays=frozenset(workdays[y]),
                official=official[y],
            )
    return WorkCalendar({y: known[y] for y in wanted})


async def calendar_around(*, session: AsyncSession, start: date, end: date) -> WorkCalendar:
    """Calendar covering [start, end] plus the next year, for periods that roll past New Year."""
    return await load_calendar(session=session, years=range(start.year, end.year + 2))


async def get_year(*, session: AsyncSession, year: int) -> tuple[CalendarYear, list[CalendarDay]]:
    await ensure_years(session=session, years=[year])
    row = await session.get(CalendarYear, year)
    if row is None:
        raise Broken("expected: row is not None")
    days = await session.scalars(
        select(CalendarDay).where(CalendarDay.year == year).order_by(col(CalendarDay.day))
    )
    return row, list(days.all())


async def put_year(
    *,
    session: AsyncSession,
    actor: Principal | None,
    year: int,
    holidays: dict[date, str],
    workdays: dict[date, str],
    official: bool,
    source: str,
) -> CalendarYear:
    """Replace a year's schedule. The caller recomputes whatever depends on it."""
    _check_year(year)
    try:
        YearCalendar(
            year=year,
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            official=official,
        )
    except CalendarError as exc:
        raise InvalidInput(str(exc), field="holidays") from exc
    if official and not holidays:
        raise InvalidInput(
            f"{year} 年的正式安排没有一个假日:请检查文件,或作为暂定(official: false)导入",
            field="holidays",
        )
    for day in workdays:
        if day.weekday() < 5:
            raise InvalidInput(
                f"{day.isoformat()} 是工作日:调休上班日只能是周六或周日",
                field="workdays",
            )
    await ensure_years(session=session, years=[year])
    row = await session.get(CalendarYear, year)
    if row is None:
        raise Broken("expected: row is not None")
    before_days = await session.scalars(select(CalendarDay).where(CalendarDay.year == year))
    before = {
        "official": row.official,
        "source": row.source,
        "days": sorted(f"{d.day.isoformat()}:{d.kind}" for d in before_days),
    }
    _read_years(session).pop(year, None)
    session.info[WRITTEN] = True
    await session.execute(delete(CalendarDay).where(col(CalendarDay.year) == year))
    for day, name in sorted(holidays.items()):
        session.add(CalendarDay(day=day, year=year, kind="holiday", name=name))
    for day, name in sorted(workdays.items()):
        session.add(CalendarDay(day=day, year=year, kind="workday", name=name or "调休上班"))
    row.official = official
    row.source = source
    row.updated_at = now_of(session)
    row.updated_by_name = audit.actor_name(actor)
    await audit.changed(
        session=session,
        actor=actor,
        action="calendar.put",
        target=row,
        before=before,
        after={
            "official": official,
            "source": source,
            "days": sorted(
                [f"{d.isoformat()}:holiday" for d in holidays]
                + [f"{d.isoformat()}:workday" for d in workdays]
            ),
        },
    )
    return row


def days_of(items: list[schemas.DayIn | date]) -> dict[date, str]:
    """A schedule's days with their names (a plain date has none)."""
    out: dict[date, str] = {}
    for item in items:
        if isinstance(item, date):
            out[item] = ""
        else:
            out[item.date] = item.name
    return out


# One holiday period of the State Council schedule is at most a couple of weeks (春节, 国庆);
# an event spanning more is a mistake in the file, not a holiday.
MAX_EVENT_DAYS = 31


def parse_ics(data: bytes, year: int) -> tuple[dict[date, str], dict[date, str]]:
    """Holidays and make-up working days of `year` from an ICS of the State Council schedule.

    Each all-day VEVENT covers one or more days (DTEND exclusive). An event whose summary
    says 班 (补班 / 上班 / 调休上班) marks working days; any other marks days off. A file that
    cannot be read, a date that does not exist, or an event longer than a month is refused
    with the event named.
    """
    from icalendar import Calendar

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("iCalendar 文件须为 UTF-8 编码", field="file") from None
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises many kinds for a broken file
        raise InvalidInput(
            "无法读取的 iCalendar 文件:请上传国务院办公厅节假日安排的 .ics 文件", field="file"
        ) from exc
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    for number, event in enumerate(calendar.walk("VEVENT"), start=1):
        summary = str(event.get("SUMMARY", "")).strip() or f"第 {number} 个事件"
        try:
            start_prop = event.get("DTSTART")
            if start_prop is None:
                continue
            start = start_prop.dt
            end_prop = event.get("DTEND")
            end = end_prop.dt if end_prop is not None else start + timedelta(days=1)
        except Exception as exc:  # a date that does not exist (20300230), or no date at all
            raise InvalidInput(f"事件“{summary}”的日期无法读取", field="file") from exc
        if not isinstance(start, date) or isinstance(start, datetime):
            raise InvalidInput(f"事件“{summary}”不是全天事件", field="file")
        if not isinstance(end, date) or isinstance(end, datetime) or end <= start:
            raise InvalidInput(f"事件“{summary}”的结束日期有误", field="file")
        if (end - start).days > MAX_EVENT_DAYS:
            raise InvalidInput(
                f"事件“{summary}”跨 {(end - start).days} 天:一个假期不会超过 {MAX_EVENT_DAYS} 天",
                field="file",
            )
        is_workday = "班" in summary
        day = start
        while day < end:
            if day.year == year:
                (workdays if is_workday else holidays)[day] = summary[:60]
            day += timedelta(days=1)
    if not holidays and not workdays:
        raise InvalidInput(f"文件中没有 {year} 年的日期", field="file")
    return holidays, workdays
