"""GET /api/audit: the audit log, for admins."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromQuery

from reception.audit import service
from reception.audit.schemas import AuditRead
from reception.auth import require
from reception.context import Ctx
from reception.db import DB
from reception.responses import Limit, Offset, Page, read_as


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    guards = [require("admin")]

    @get("/")
    async def list_audit(
        self,
        db: DB,
        ctx: Ctx,
        limit: Limit = 100,
        offset: Offset = 0,
        target_type: FromQuery[str | None] = None,
        target_id: FromQuery[str | None] = None,
        actor_user_id: FromQuery[int | None] = None,
        action: FromQuery[str | None] = None,
    ) -> Page[AuditRead]:
        rows, total = await service.list_events(
            session=db,
            limit=limit,
            offset=offset,
            target_type=target_type,
            target_id=target_id,
            actor_user_id=actor_user_id,
            action=action,
        )
        return Page([read_as(AuditRead, r, ctx.tz) for r in rows], total, limit, offset)
