"""HTTP endpoints for backlog campaigns (积案化解专项)."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from reception.auth import Principal, require
from reception.base import MIN_DAY
from reception.campaigns import schemas, service
from reception.cases.workflow import as_of_day
from reception.context import Ctx
from reception.db import DB
from reception.errors import Broken

AnyRequest = Request[Principal, Any, Any]


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["cases"]

    @post("/", guards=[require("clerk")])
    async def create(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.CampaignCreate]
    ) -> schemas.CampaignProgress:
        campaign = await service.create_campaign(session=db, actor=request.user, data=data)
        if campaign.id is None:
            raise Broken("expected: campaign.id is not None")
        return await service.campaign_progress(
            session=db, campaign_id=campaign.id, as_of=ctx.today()
        )

    @get("/", guards=[require("clerk", "reviewer")])
    async def list_campaigns(
        self, db: DB, ctx: Ctx, as_of: FromQuery[date | None] = None
    ) -> list[schemas.CampaignProgress]:
        return await service.all_progress(
            session=db, as_of=as_of_day(MIN_DAY, None, as_of, ctx.today())
        )

    @get("/{campaign_id:int}", guards=[require("clerk", "reviewer")])
    async def progress(
        self, db: DB, ctx: Ctx, campaign_id: FromPath[int], as_of: FromQuery[date | None] = None
    ) -> schemas.CampaignProgress:
        """Resolved ÷ total as of a date, against the target in force."""
        return await service.campaign_progress(
            session=db,
            campaign_id=campaign_id,
            as_of=as_of_day(MIN_DAY, None, as_of, ctx.today()),
        )

    @post("/{campaign_id:int}/cases", guards=[require("clerk")], status_code=200)
    async def add_cases(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        campaign_id: FromPath[int],
        data: JSONBody[schemas.CampaignCases],
    ) -> schemas.CampaignProgress:
        await service.add_campaign_cases(
            session=db, actor=request.user, campaign_id=campaign_id, case_ids=data.case_ids
        )
        return await service.campaign_progress(
            session=db, campaign_id=campaign_id, as_of=ctx.today()
        )
