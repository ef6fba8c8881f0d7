"""The working-day calendar in the console (admin): a year as it stands, and importing the
State Council's schedule (JSON or ICS) with what it will change shown first — days added,
removed or renamed, the statutory clocks whose due dates move, and the reception sessions
that would fall on a day off — before anything is written.

The preview runs the very import inside a savepoint and rolls it back, so what it shows is
what applying will do. Applying is the same use case as PUT /api/calendar/{year}, handed in as
the `apply_year` dependency, and what it reads of cases and sessions as `year_effects`: this
package never imports them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Protocol

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal, require
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.messages import translate
from reception.web.render import FormErrors, page, read_form, refused, see_other
from reception.workcal import schemas, service
from reception.workcal.models import CalendarDay, CalendarYear
from reception.workcal.service import MAX_YEAR, MIN_YEAR

AnyRequest = Request[Principal, Any, Any]
ApplyYear = Callable[..., Awaitable[tuple[CalendarYear, list[CalendarDay]]]]


class YearEffects(Protocol):
    """What the preview reads of the domains above (handed in by the app)."""

    async def clock_dues(self, session: AsyncSession) -> dict[int, date]: ...

    async def scheduled_sessions(
        self, session: AsyncSession, first: date, last: date
    ) -> list[tuple[int, date, str]]: ...


ADMIN = [require("admin")]
MAX_FILE = 512 * 1024


@dataclass(frozen=True)
class Change:
    day: date
    what: str  # 新增假日 / 取消假日 / 新增调休上班 / 取消调休上班 / 改名
    name: str


def _changes(
    before: dict[date, tuple[str, str]],
    holidays: dict[date, str],
    workdays: dict[date, str],
) -> list[Change]:
    after = {d: ("holiday", n) for d, n in holidays.items()} | {
        d: ("workday", n) for d, n in workdays.items()
    }
    out = []
    for day in sorted(set(before) | set(after)):
        old, new = before.get(day), after.get(day)
        if old == new:
            continue
        if old is None and new is not None:
            out.append(Change(day, "新增假日" if new[0] == "holiday" else "新增调休上班", new[1]))
        elif new is None and old is not None:
            out.append(Change(day, "取消假日" if old[0] == "holiday" else "取消调休上班", old[1]))
        elif old is not None and new is not None and old[0] != new[0]:
            out.append(Change(day, "改为假日" if new[0] == "holiday" else "改为调休上班", new[1]))
        elif new is not None:
            out.append(Change(day, "改名", new[1]))
    return out


async def _year_page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    year: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    preview: dict[str, Any] | None = None,
) -> Template:
    row, days = await service.get_year(session=db, year=year)
    return page(
        request,
        "workcal/year.html",
        status=status,
        title=f"{year}年工作日历",
        year=year,
        row=row,
        updated=ctx.local(row.updated_at),
        holidays=[d for d in days if d.kind == "holiday"],
        workdays=[d for d in days if d.kind == "workday"],
        errors=errors or {},
        preview=preview,
        years=list(range(ctx.today().year - 1, ctx.today().year + 3)),
    )


@get("/admin/calendar", guards=ADMIN)
async def calendar_year(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    year: Annotated[int | None, QueryParameter(name="year", ge=MIN_YEAR, le=MAX_YEAR)] = None,
) -> Template:
    return await _year_page(request, db, ctx, year or ctx.today().year)


async def _read_schedule(form: Any, year: int) -> tuple[dict[date, str], dict[date, str], bool]:
    """The uploaded file (JSON as the API takes it, or the State Council's ICS), or the
    schedule carried by a preview's confirmation."""
    official = form.get("official") == "on"
    carried = form.get("schedule")
    if carried:
        # What the preview page carried: anything else is not a confirmation of it.
        try:
            data = msgspec.json.decode(str(carried), type=schemas.YearPut)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise FormErrors({"file": "导入预览已失效,请重新选择文件并预览"}) from None
        return service.days_of(data.holidays), service.days_of(data.workdays), official
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise FormErrors({"file": "请选择要导入的文件(.json 或 .ics)"})
    content = await upload.read(MAX_FILE + 1)
    if len(content) > MAX_FILE:
        raise FormErrors({"file": "文件过大(最多 512 KB)"})
    if upload.filename.lower().endswith(".ics") or content.lstrip().startswith(b"BEGIN:"):
        holidays, workdays = service.parse_ics(content, year)
        return holidays, workdays, official
    try:
        data = msgspec.json.decode(content, type=schemas.YearPut)
    except msgspec.DecodeError:
        raise FormErrors(
            {"file": "无法读取的 JSON:格式同 PUT /api/calendar/{year}(holidays、workdays)"}
        ) from None
    except msgspec.ValidationError as exc:
        raise FormErrors({"file": f"JSON 内容有误:{translate(str(exc))}"}) from None
    return service.days_of(data.holidays), service.days_of(data.workdays), official


def _source_of(form: Any) -> str:
    upload = form.get("file")
    name = upload.filename.lower() if isinstance(upload, UploadFile) and upload.filename else ""
    return "ics" if name.endswith(".ics") else "json"


@post("/admin/calendar/{year:int}", guards=ADMIN, status_code=200)
async def import_year(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    apply_year: NamedDependency[ApplyYear],
    # Any: Litestar cannot model a Protocol in a handler's signature (YearEffects is what
    # the app hands in).
    year_effects: NamedDependency[Any],
    year: FromPath[int],
) -> Response[Any]:
    effects: YearEffects = year_effects
    form = await read_form(request)
    confirm = form.get("confirm") == "yes"
    try:
        holidays, workdays, official = await _read_schedule(form, year)
        source = str(form.get("source") or "")[:20] or _source_of(form)
        if confirm:
            await apply_year(
                session=db,
                actor=request.user,
                year=year,
                holidays=holidays,
                workdays=workdays,
                official=official,
                source=source,
            )
            return await see_other(
                request, db, f"/admin/calendar?year={year}", notice=f"{year}年工作日历已更新"
            )
        _, days = await service.get_year(session=db, year=year)
        before = {d.day: (d.kind, d.name) for d in days}
        dues_before = await effects.clock_dues(db)
        trial = await db.begin_nested()
        try:
            await apply_year(
                session=db,
                actor=request.user,
                year=year,
                holidays=holidays,
                workdays=workdays,
                official=official,
                source=source,
            )
            dues_after = await effects.clock_dues(db)
            calendar = await service.load_calendar(session=db, years=[year])
        finally:
            await trial.rollback()
        scheduled = await effects.scheduled_sessions(db, date(year, 1, 1), date(year, 12, 31))
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {("file" if not k else k): v for k, v in problem.fields.items()}
        return await _year_page(request, db, ctx, year, status=problem.status, errors=fields)
    moved = [cid for cid, due in dues_after.items() if dues_before.get(cid) != due]
    sessions_off = [(sid, d, name) for sid, d, name in scheduled if not calendar.is_workday(d)]
    schedule = msgspec.json.encode(
        {
            "holidays": [{"date": d.isoformat(), "name": n} for d, n in sorted(holidays.items())],
            "workdays": [{"date": d.isoformat(), "name": n} for d, n in sorted(workdays.items())],
        }
    ).decode()
    preview = {
        "changes": _changes(before, holidays, workdays),
        "clocks_moved": len(moved),
        "sessions_off": sessions_off,
        "official": official,
        "schedule": schedule,
        "source": source,
        "holidays": len(holidays),
        "workdays": len(workdays),
    }
    return await _year_page(request, db, ctx, year, preview=preview)


PAGES = [calendar_year, import_year]
