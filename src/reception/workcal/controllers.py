"""GET/PUT /api/calendar/{year}: show, correct or import a year's working-day calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, get, put
from litestar.params import FromPath, FromQuery, JSONBody

from reception.auth import Principal, require
from reception.db import DB
from reception.workcal import schemas, service
from reception.workcal.models import CalendarDay, CalendarYear

AnyRequest = Request[Principal, Any, Any]


def _year_read(row: CalendarYear, days: list[CalendarDay]) -> schemas.YearRead:
    from reception.config import local_tz

    return schemas.YearRead(
        year=row.year,
        official=row.official,
        provisional=not row.official,
        source=row.source,
        updated_at=row.updated_at.astimezone(local_tz()),
        updated_by_name=row.updated_by_name,
        holidays=[schemas.DayOut(d.day, d.name) for d in days if d.kind == "holiday"],
        workdays=[schemas.DayOut(d.day, d.name) for d in days if d.kind == "workday"],
    )


def days_of(items: list[schemas.DayIn | date]) -> dict[date, str]:
    out: dict[date, str] = {}
    for item in items:
        if isinstance(item, date):
            out[item] = ""
        else:
            out[item.date] = item.name
    return out


class CalendarController(Controller):
    path = "/calendar"
    tags = ["calendar"]

    @get("/{year:int}")
    async def get_year(self, db: DB, year: FromPath[int]) -> schemas.YearRead:
        row, days = await service.get_year(session=db, year=year)
        return _year_read(row, days)

    @get("/{year:int}/days/{day:date}")
    async def check_day(
        self, db: DB, year: FromPath[int], day: FromPath[date]
    ) -> schemas.WorkdayCheck:
        from reception.errors import InvalidInput

        if day.year != year:
            raise InvalidInput(f"{day.isoformat()} is not in {year}", field="day")
        calendar = await service.load_calendar(session=db, years=[year])
        return schemas.WorkdayCheck(day, calendar.is_workday(day), calendar.is_provisional(day))

    @put("/{year:int}", guards=[require("admin")])
    async def put_year(
        self, db: DB, request: AnyRequest, year: FromPath[int], data: JSONBody[schemas.YearPut]
    ) -> schemas.YearRead:
        row, days = await apply_year(
            db,
            request.user,
            year,
            holidays=days_of(data.holidays),
            workdays=days_of(data.workdays),
            official=data.official,
            source="json",
        )
        return _year_read(row, days)

    @put("/{year:int}/ics", guards=[require("admin")])
    async def put_year_ics(
        self,
        db: DB,
        request: AnyRequest,
        year: FromPath[int],
        official: FromQuery[bool] = True,
    ) -> schemas.YearRead:
        """Import a year from an ICS file of the State Council schedule (request body)."""
        holidays, workdays = service.parse_ics(await request.body(), year)
        row, days = await apply_year(
            db,
            request.user,
            year,
            holidays=holidays,
            workdays=workdays,
            official=official,
            source="ics",
        )
        return _year_read(row, days)


async def apply_year(
    db: Any,
    actor: Principal | None,
    year: int,
    *,
    holidays: dict[date, str],
    workdays: dict[date, str],
    official: bool,
    source: str,
) -> tuple[CalendarYear, list[CalendarDay]]:
    """Replace a year's schedule (API and CLI alike) and recompute the statutory clocks still
    running on it; met clocks keep their frozen verdicts."""
    from reception.cases import service as cases

    await service.put_year(
        session=db,
        actor=actor,
        year=year,
        holidays=holidays,
        workdays=workdays,
        official=official,
        source=source,
    )
    await cases.recompute_running_clocks(session=db, years=[year])
    return await service.get_year(session=db, year=year)
