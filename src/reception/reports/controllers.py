"""GET /api/reports/review (书记点评会 monthly review) and /api/incidents (三无 status)."""

from __future__ import annotations

import asyncio
from datetime import date, tzinfo
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from reception.auth import Principal, require
from reception.base import MONTH_PATTERN
from reception.context import Ctx
from reception.db import DB
from reception.reads import Reads
from reception.reports import incidents, schemas, service, writers
from reception.responses import attachment

AnyRequest = Request[Principal, Any, Any]


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]
    guards = [require("reviewer")]

    @get("/review")
    async def review(
        self,
        reads: Reads,
        ctx: Ctx,
        request: AnyRequest,
        month: Annotated[str, QueryParameter(pattern=MONTH_PATTERN, description="YYYY-MM")],
        unit_id: Annotated[
            int | None, QueryParameter(description="Root of the subtree (default: the district)")
        ] = None,
        as_of: FromQuery[date | None] = None,
        format: FromQuery[Literal["json", "csv", "xlsx"]] = "json",
        unmasked: Annotated[bool, QueryParameter(description="Admins only; audited")] = False,
    ) -> Response[Any]:
        """The monthly review: one row per unit and a total, the case lists behind them,
        leaders' reception days and 包案, campaigns and 三无 townships, with 同比/环比."""
        report = await service.review(
            session=reads,
            ctx=ctx,
            actor=request.user,
            month=month,
            unit_id=unit_id,
            as_of=as_of,
            unmasked=unmasked,
        )
        body = await asyncio.to_thread(writers.WRITERS[format], report)
        headers = {}
        if format != "json":
            headers["Content-Disposition"] = attachment(
                writers.filename(month, report["unit"]["name"], format),
                f"review-{month}-unit{report['unit']['id']}.{format}",
            )
        return Response(body, media_type=writers.CONTENT_TYPES[format], headers=headers)

    @get("/trend")
    async def trend(
        self,
        reads: Reads,
        ctx: Ctx,
        first_month: Annotated[
            str,
            QueryParameter(name="from", pattern=MONTH_PATTERN, description="YYYY-MM"),
        ],
        last_month: Annotated[
            str,
            QueryParameter(name="to", pattern=MONTH_PATTERN, description="YYYY-MM"),
        ],
        unit_id: Annotated[
            int | None, QueryParameter(description="Root of the subtree (default: the district)")
        ] = None,
    ) -> dict[str, Any]:
        """The review's headline figures month by month (at most 36 months): the same
        aggregates as the review, so each month equals the review of that month."""
        return await service.trend(
            session=reads, ctx=ctx, first_month=first_month, last_month=last_month, unit_id=unit_id
        )


class IncidentController(Controller):
    path = "/incidents"
    tags = ["reports"]

    @post("/", guards=[require("clerk")])
    async def record(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.IncidentCreate]
    ) -> schemas.IncidentRead:
        """进京非访 · 到市大规模集体访 · 网上舆论炒作 — each costs a township its 三无 status."""
        incident = await incidents.record_incident(
            session=db, ctx=ctx, actor=request.user, data=data
        )
        return _read(incident, ctx.tz)

    @get("/", guards=[require("clerk", "reviewer")])
    async def list_incidents(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        year: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None,
        unit_id: FromQuery[int | None] = None,
        kind: FromQuery[schemas.IncidentKind | None] = None,
    ) -> list[schemas.IncidentRead]:
        rows = await incidents.list_incidents(
            session=db, year=year, unit_id=unit_id, kind=kind, principal=request.user
        )
        return [_read(r, ctx.tz) for r in rows]

    @get("/sanwu", guards=[require("clerk", "reviewer")])
    async def sanwu(
        self,
        reads: Reads,
        ctx: Ctx,
        year: Annotated[int, QueryParameter(ge=2000, le=2100)],
        as_of: FromQuery[date | None] = None,
        unit_id: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """三无 status of each township for a year, as of a day, against the two-thirds goal."""
        return await incidents.sanwu_status(
            session=reads, ctx=ctx, year=year, as_of=as_of, unit_id=unit_id
        )


def _read(incident: Any, tz: tzinfo) -> schemas.IncidentRead:
    return schemas.IncidentRead(
        id=incident.id,
        kind=incident.kind,
        kind_label=schemas.INCIDENT_LABELS[incident.kind],
        unit_id=incident.unit_id,
        occurred_on=incident.occurred_on,
        people_count=incident.people_count,
        case_id=incident.case_id,
        description=incident.description,
        recorded_by_name=incident.recorded_by_name,
        created_at=incident.created_at.astimezone(tz),
    )
