"""HTTP endpoints for the notification admin (admins only)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from sqlmodel import col, select

from reception.auth import Principal, require
from reception.context import Ctx
from reception.db import DB
from reception.notify import schemas, service
from reception.notify.models import Endpoint
from reception.responses import Limit, Offset

AnyRequest = Request[Principal, Any, Any]


class NotifyController(Controller):
    path = "/notify"
    tags = ["notify"]
    guards = [require("admin")]

    @post("/endpoints", status_code=201)
    async def create(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.EndpointIn]
    ) -> schemas.EndpointOut:
        """Register a webhook (its whsec_ secret comes back once) or a DingTalk / WeCom robot."""
        e, secret = await service.create_endpoint(
            session=db, ctx=ctx, actor=request.user, data=data
        )
        return service.endpoint_out(ctx, e, secret)

    @get("/endpoints")
    async def list_endpoints(self, db: DB, ctx: Ctx) -> list[schemas.EndpointOut]:
        rows = await db.scalars(select(Endpoint).order_by(col(Endpoint.id)))
        return [service.endpoint_out(ctx, e) for e in rows]

    @post("/endpoints/{endpoint_id:int}/rotate-secret", status_code=200)
    async def rotate(
        self, db: DB, ctx: Ctx, request: AnyRequest, endpoint_id: FromPath[int]
    ) -> schemas.EndpointOut:
        """A new secret, shown once; the previous one keeps signing until /finish-rotation."""
        e, secret = await service.rotate_secret(
            session=db, ctx=ctx, actor=request.user, endpoint_id=endpoint_id
        )
        return service.endpoint_out(ctx, e, secret)

    @post("/endpoints/{endpoint_id:int}/finish-rotation", status_code=200)
    async def finish(
        self, db: DB, ctx: Ctx, request: AnyRequest, endpoint_id: FromPath[int]
    ) -> schemas.EndpointOut:
        e = await service.finish_rotation(session=db, actor=request.user, endpoint_id=endpoint_id)
        return service.endpoint_out(ctx, e)

    @post("/endpoints/{endpoint_id:int}/enable", status_code=200)
    async def enable(
        self, db: DB, ctx: Ctx, request: AnyRequest, endpoint_id: FromPath[int]
    ) -> schemas.EndpointOut:
        e = await service.set_active(
            session=db, actor=request.user, endpoint_id=endpoint_id, active=True
        )
        return service.endpoint_out(ctx, e)

    @post("/endpoints/{endpoint_id:int}/disable", status_code=200)
    async def disable(
        self, db: DB, ctx: Ctx, request: AnyRequest, endpoint_id: FromPath[int]
    ) -> schemas.EndpointOut:
        e = await service.set_active(
            session=db, actor=request.user, endpoint_id=endpoint_id, active=False
        )
        return service.endpoint_out(ctx, e)

    @post("/endpoints/{endpoint_id:int}/test", status_code=202)
    async def test(
        self, db: DB, ctx: Ctx, request: AnyRequest, endpoint_id: FromPath[int]
    ) -> dict[str, str]:
        """Send a test message to this endpoint (delivered by the worker, logged below)."""
        event = await service.send_test(
            session=db, ctx=ctx, actor=request.user, endpoint_id=endpoint_id
        )
        return {"event": event.uid}

    @get("/endpoints/{endpoint_id:int}/deliveries")
    async def log(
        self, db: DB, endpoint_id: FromPath[int], limit: Limit = 100, offset: Offset = 0
    ) -> list[schemas.DeliveryOut]:
        """Status, attempts, last error and next try of each event sent to this endpoint."""
        return await service.deliveries(
            session=db, endpoint_id=endpoint_id, limit=limit, offset=offset
        )

    @post("/deliveries/{delivery_id:int}/retry", status_code=200)
    async def retry(
        self, db: DB, ctx: Ctx, request: AnyRequest, delivery_id: FromPath[int]
    ) -> dict[str, str]:
        d = await service.retry_now(
            session=db, ctx=ctx, actor=request.user, delivery_id=delivery_id
        )
        return {"status": d.status}
