"""HTTP endpoints of the dispute screening ledger (矛盾纠纷排查台账) and its sensitive periods.
Thin: parse, call, shape."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from reception.auth import Principal, require, require_only
from reception.base import MONTH_PATTERN
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import InvalidInput
from reception.ledger import (
    access,
    figures,
    moves,
    periods,
    rules,
    schemas,
    service,
    views,
    writers,
)
from reception.ledger.models import LedgerEntry
from reception.reads import Reads
from reception.responses import Limit, Offset, Page

AnyRequest = Request[Principal, Any, Any]
READERS = [require("clerk", "leader", "reviewer")]
IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description="The ETag you read; 412 if the entry changed"),
]
Month = Annotated[str | None, QueryParameter(pattern=MONTH_PATTERN, description="2026-11")]
Year = Annotated[int | None, QueryParameter(ge=2000, le=2100, description="A whole year")]


async def _detail(
    db: Any, ctx: Context, principal: Principal, entry: LedgerEntry, status: int = 200
) -> Response[schemas.EntryDetail]:
    body = await views.detail_of(session=db, ctx=ctx, principal=principal, entry=entry)
    return Response(body, status_code=status, headers={"ETag": access.entry_etag(entry)})


def _filters(
    status: str | None,
    domain: str | None,
    risk: str | None,
    unit_id: int | None,
    overdue: bool | None,
    leader_id: int | None,
    found_from: date | None,
    found_to: date | None,
    q: str | None,
) -> service.Filters:
    if status not in (None, "", "all", *rules.STATUSES):
        raise InvalidInput(f"没有状态 {status}", field="status")
    if risk not in (None, "", *rules.RISKS):
        raise InvalidInput(f"没有风险等级 {risk}", field="risk")
    return service.Filters(
        status=None if status == "all" else (status or "open"),
        domain=domain or None,
        risk=risk or None,
        unit_id=unit_id,
        overdue=overdue,
        leader_id=leader_id,
        found_from=found_from,
        found_to=found_to,
        q=q,
    )


class LedgerController(Controller):
    path = "/ledger"
    tags = ["ledger"]

    @post("/", guards=[require("clerk")])
    async def create(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.EntryCreate]
    ) -> Response[schemas.EntryDetail]:
        """建账: the parties are sealed; a 重大 entry tells its unit's and leader's groups."""
        entry = await service.create_entry(session=db, ctx=ctx, actor=request.user, data=data)
        return await _detail(db, ctx, request.user, entry, 201)

    @get("/", guards=READERS)
    async def list_entries(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        status: Annotated[
            str | None, QueryParameter(description="open (default), resolved, converted, all")
        ] = None,
        domain: Annotated[str | None, QueryParameter(max_length=30)] = None,
        risk: Annotated[str | None, QueryParameter(max_length=20)] = None,
        unit_id: Annotated[int | None, QueryParameter(description="This unit and below")] = None,
        overdue: FromQuery[bool | None] = None,
        leader_id: FromQuery[int | None] = None,
        found_from: FromQuery[date | None] = None,
        found_to: FromQuery[date | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=50)] = None,
    ) -> Page[schemas.EntrySummary]:
        f = _filters(status, domain, risk, unit_id, overdue, leader_id, found_from, found_to, q)
        rows, total = await service.list_entries(
            session=db,
            principal=request.user,
            today=ctx.today(),
            filters=f,
            limit=limit,
            offset=offset,
        )
        return Page(await views.summaries(db, rows, ctx.today()), total, limit, offset)

    @get("/export", guards=READERS)
    async def export(
        self,
        reads: Reads,
        ctx: Ctx,
        request: AnyRequest,
        format: FromQuery[Literal["csv", "xlsx"]] = "xlsx",
        status: Annotated[str | None, QueryParameter(max_length=20)] = None,
        domain: Annotated[str | None, QueryParameter(max_length=30)] = None,
        risk: Annotated[str | None, QueryParameter(max_length=20)] = None,
        unit_id: FromQuery[int | None] = None,
        overdue: FromQuery[bool | None] = None,
        leader_id: FromQuery[int | None] = None,
        found_from: FromQuery[date | None] = None,
        found_to: FromQuery[date | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=50)] = None,
    ) -> Response[bytes]:
        """The filtered ledger as a file (parties as a count only)."""
        f = _filters(status, domain, risk, unit_id, overdue, leader_id, found_from, found_to, q)
        rows, _ = await service.list_entries(
            session=reads, principal=request.user, today=ctx.today(), filters=f,
            limit=service.EXPORT_MAX, offset=0,
        )  # fmt: skip
        items = await views.summaries(reads, rows, ctx.today())
        return writers.entries_file(items, format, ctx.today())

    @get("/table", guards=[require("clerk", "reviewer")])
    async def table(
        self,
        reads: Reads,
        ctx: Ctx,
        request: AnyRequest,
        month: Month = None,
        year: Year = None,
        unit_id: FromQuery[int | None] = None,
        domain: Annotated[str | None, QueryParameter(max_length=30)] = None,
        format: FromQuery[Literal["json", "xlsx"]] = "json",
    ) -> Response[Any]:
        """排查情况表 of a month (or a whole year) for a unit and everything under it."""
        first, last = figures.period_bounds(month, year, ctx.today())
        unit = await access.table_unit(session=reads, principal=request.user, unit_id=unit_id)
        data = await figures.table(reads, unit_id=unit, first=first, last=last, domain=domain)
        if format == "xlsx":
            return writers.table_file(data)
        return Response(data)

    @get("/check-ins/due", guards=[require("clerk", "leader")])
    async def due(self, db: DB, ctx: Ctx, request: AnyRequest) -> list[schemas.DueCheckIn]:
        """Today's 稳控 check-ins the caller gives (empty outside a sensitive period)."""
        return await periods.due_check_ins(session=db, ctx=ctx, principal=request.user)

    @get("/{entry_id:int}", guards=READERS)
    async def detail(
        self, db: DB, ctx: Ctx, request: AnyRequest, entry_id: FromPath[int]
    ) -> Response[schemas.EntryDetail]:
        entry = await access.get_entry(session=db, principal=request.user, entry_id=entry_id)
        return await _detail(db, ctx, request.user, entry)

    @post("/{entry_id:int}/moves", guards=[require("clerk")], status_code=200)
    async def move(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        entry_id: FromPath[int],
        data: JSONBody[schemas.MoveIn],
        if_match: IfMatch = None,
    ) -> Response[schemas.MoveResult]:
        """跟进, 调整责任人, 升级 (to the unit above), 销账, 转为信访事项 (a case is registered,
        the repeat check run, the two linked)."""
        done = await moves.move(
            session=db, ctx=ctx, actor=request.user, entry_id=entry_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        detail = await views.detail_of(
            session=db, ctx=ctx, principal=request.user, entry=done.entry
        )
        result = schemas.MoveResult(
            entry=detail,
            case_id=done.case.id if done.case else None,
            case_reference=done.case.reference if done.case else "",
            repeat_candidates=done.candidates or [],
        )
        return Response(
            result,
            status_code=201 if done.case else 200,
            headers={"ETag": access.entry_etag(done.entry)},
        )

    @post("/{entry_id:int}/check-ins", guards=[require("clerk", "leader")])
    async def check_in(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        entry_id: FromPath[int],
        data: JSONBody[schemas.CheckInIn],
    ) -> schemas.CheckInOut:
        row = await periods.check_in(
            session=db, ctx=ctx, actor=request.user, entry_id=entry_id, data=data
        )
        return schemas.CheckInOut(
            day=row.day,
            state=row.state,
            state_label=rules.CHECK_STATE_LABELS[row.state],
            note=row.note,
            by_name=row.by_name,
            at=row.at.astimezone(ctx.tz),
        )


class SensitivePeriodController(Controller):
    path = "/sensitive-periods"
    tags = ["ledger"]

    @get("/", guards=[require("clerk", "leader", "reviewer")])
    async def list_periods(self, db: DB) -> list[schemas.PeriodOut]:
        return [periods.period_out(p) for p in await periods.list_periods(session=db)]

    @post("/", guards=[require_only("admin")])
    async def create(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.PeriodIn]
    ) -> schemas.PeriodOut:
        period = await periods.create_period(
            session=db, actor=request.user, data=data, today=ctx.today()
        )
        return periods.period_out(period)

    @delete("/{period_id:int}", guards=[require_only("admin")])
    async def remove(self, db: DB, ctx: Ctx, request: AnyRequest, period_id: FromPath[int]) -> None:
        await periods.delete_period(session=db, ctx=ctx, actor=request.user, period_id=period_id)


class LedgerOfCaseController(Controller):
    path = "/cases"
    tags = ["ledger"]

    @get("/{case_id:int}/ledger", guards=READERS)
    async def of_case(
        self, db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
    ) -> schemas.EntryDetail | None:
        """The ledger entry a petition case came from (转为信访事项), if the caller may read it."""
        entry = await views.entry_of_case(session=db, principal=request.user, case_id=case_id)
        if entry is None:
            return None
        return await views.detail_of(session=db, ctx=ctx, principal=request.user, entry=entry)
