"""GET/PUT /api/calendar/{year}: show, correct or import a year's working-day calendar.

Writing a year also recomputes every statutory clock still running on it: that is the cases
domain's work, which sits above this one. The app hands the use case in as the `apply_year`
dependency (`reception.cases.clocks.apply_calendar_year`), so this package never imports cases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, tzinfo
from typing import Annotated, Any

from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from reception.auth import Principal, require
from reception.context import Ctx
from reception.db import DB
from reception.errors import InvalidInput, Malformed
from reception.workcal import schemas, service
from reception.workcal.models import CalendarDay, CalendarYear

AnyRequest = Request[Principal, Any, Any]
ApplyYear = Callable[..., Awaitable[tuple[CalendarYear, list[CalendarDay]]]]


def year_read(row: CalendarYear, days: list[CalendarDay], tz: tzinfo) -> schemas.YearRead:
    return schemas.YearRead(
        year=row.year,
        official=row.official,
        provisional=not row.official,
        source=row.source,
        updated_at=row.updated_at.astimezone(tz),
        updated_by_name=row.updated_by_name,
        holidays=[schemas.DayOut(d.day, d.name) for d in days if d.kind == "holiday"],
        workdays=[schemas.DayOut(d.day, d.name) for d in days if d.kind == "workday"],
    )


class CalendarController(Controller):
    path = "/calendar"
    tags = ["calendar"]

    @get("/{year:int}")
    async def get_year(self, db: DB, ctx: Ctx, year: FromPath[int]) -> schemas.YearRead:
        row, days = await service.get_year(session=db, year=year)
        return year_read(row, days, ctx.tz)

    @get("/{year:int}/days/{day:str}")
    async def check_day(
        self,
        db: DB,
        year: FromPath[int],
        day: Annotated[str, Parameter(description="YYYY-MM-DD")],
    ) -> schemas.WorkdayCheck:
        """Whether a day is a working day. A day that is no date (2026-02-30) is a 400."""
        try:
            checked = date.fromisoformat(day)
        except ValueError:
            raise Malformed(f"{day} 不是有效的日期(YYYY-MM-DD)", field="day") from None
        if checked.year != year:
            raise InvalidInput(f"{checked.isoformat()} 不在 {year} 年", field="day")
        calendar = await service.load_calendar(session=db, years=[year])
        return schemas.WorkdayCheck(
            checked, calendar.is_workday(checked), calendar.is_provisional(checked)
        )

    @put("/{year:int}", guards=[require("admin")])
    async def put_year(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        apply_year: NamedDependency[ApplyYear],
        year: FromPath[int],
        data: JSONBody[schemas.YearPut],
    ) -> schemas.YearRead:
        row, days = await apply_year(
            session=db,
            actor=request.user,
            year=year,
            holidays=service.days_of(data.holidays),
            workdays=service.days_of(data.workdays),
            official=data.official,
            source="json",
        )
        return year_read(row, days, ctx.tz)

    @put("/{year:int}/ics", guards=[require("admin")])
    async def put_year_ics(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        apply_year: NamedDependency[ApplyYear],
        year: FromPath[int],
        official: FromQuery[bool] = True,
    ) -> schemas.YearRead:
        """Import a year from an ICS file of the State Council schedule (request body)."""
        holidays, workdays = service.parse_ics(await request.body(), year)
        row, days = await apply_year(
            session=db,
            actor=request.user,
            year=year,
            holidays=holidays,
            workdays=workdays,
            official=official,
            source="ics",
        )
        return year_read(row, days, ctx.tz)
