"""GET /api/audit: the audit log, for the audit administrator (审计管理员)."""

from __future__ import annotations

from datetime import date

from litestar import Controller, get
from litestar.params import FromQuery

from reception.audit import service
from reception.audit.schemas import AuditRead, AuditVerdict
from reception.auth import require_only
from reception.context import Ctx
from reception.db import DB
from reception.responses import Limit, Offset, Page, read_as


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    # 三员分立: the audit administrator alone reads the trail.
    guards = [require_only("auditor")]

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

    @get("/verify")
    async def verify(self, db: DB, ctx: Ctx, since: FromQuery[date | None] = None) -> AuditVerdict:
        """Walk the hash chain and the signed daily checkpoints (from the checkpoint before
        `since`): the first broken link, if any."""
        verdict = await service.verify_trail(
            session=db, audit_key=ctx.keys.audit_seal()[1], since=since
        )
        broken = verdict.first_broken
        return AuditVerdict(
            intact=verdict.intact,
            checked=verdict.checked,
            unchained=verdict.unchained,
            checkpoints=verdict.checkpoints,
            broken_row_id=broken.row_id if broken else None,
            broken_at=ctx.local(broken.at) if broken and broken.at else None,
            summary=verdict.summary(),
        )
