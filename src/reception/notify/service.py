"""Admin: endpoints (webhooks, group robots), their secrets (sealed; a webhook's shown once,
rotatable with the previous one still signing), the delivery log, send test, retry now."""

from __future__ import annotations

import base64
import os

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.context import Context
from reception.errors import Broken, Conflict, InvalidInput, NotFound
from reception.notify import schemas
from reception.notify.models import Delivery, Endpoint, OutboxEvent

TABLE = "notify_endpoint"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def endpoint_out(ctx: Context, e: Endpoint, secret: str | None = None) -> schemas.EndpointOut:
    if e.id is None:
        raise Broken("expected: e.id is not None")
    url = ctx.keys.open(e.url_sealed, table=TABLE, column="url", row_id=e.id)
    return schemas.EndpointOut(
        id=e.id,
        name=e.name,
        kind=e.kind,
        # The host only: a robot's URL carries its key.
        host=_host(url),
        events=e.events,
        scope=e.scope,
        unit_id=e.unit_id,
        leader_id=e.leader_id,
        active=e.active,
        disabled_reason=e.disabled_reason,
        rotating=bool(e.previous_secret_sealed),
        secret=secret,
    )


async def create_endpoint(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: schemas.EndpointIn
) -> tuple[Endpoint, str | None]:
    if data.scope == "unit" and data.unit_id is None:
        raise InvalidInput("按单位推送须选择单位", field="unit_id")
    if data.scope == "leader" and data.leader_id is None:
        raise InvalidInput("按领导推送须选择领导", field="leader_id")
    if not data.url.startswith(("https://", "http://")):
        raise InvalidInput("地址须以 https:// 开头", field="url")
    e = Endpoint(
        name=data.name,
        kind=data.kind,
        url_sealed="",
        events=list(data.events),
        scope=data.scope,
        unit_id=data.unit_id,
        leader_id=data.leader_id,
        after_event_id=await session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0)))
        or 0,
    )
    session.add(e)
    await session.flush()
    if e.id is None:
        raise Broken("expected: e.id is not None")
    secret = new_secret() if data.kind == "webhook" else data.secret
    e.url_sealed = ctx.keys.seal(data.url, table=TABLE, column="url", row_id=e.id)
    if secret:
        e.secret_sealed = ctx.keys.seal(secret, table=TABLE, column="secret", row_id=e.id)
    await audit.changed(
        session=session,
        actor=actor,
        action="notify.endpoint_create",
        target=e,
        exclude={"url_sealed", "secret_sealed", "previous_secret_sealed"},
    )
    return e, secret if data.kind == "webhook" else None


async def get_endpoint(session: AsyncSession, endpoint_id: int) -> Endpoint:
    e = await session.get(Endpoint, endpoint_id)
    if e is None:
        raise NotFound(f"推送地址 {endpoint_id} 不存在")
    return e


async def rotate_secret(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, endpoint_id: int
) -> tuple[Endpoint, str]:
    """A new secret; the old one keeps signing until `finish_rotation` (two valid at once)."""
    e = await get_endpoint(session, endpoint_id)
    if e.kind != "webhook":
        raise Conflict("群机器人的密钥在钉钉/企业微信中更换后,请重新登记地址")
    if e.id is None:
        raise Broken("expected: e.id is not None")
    old = ctx.keys.open(e.secret_sealed, table=TABLE, column="secret", row_id=e.id)
    secret = new_secret()
    e.previous_secret_sealed = ctx.keys.seal(
        old, table=TABLE, column="previous_secret", row_id=e.id
    )
    e.secret_sealed = ctx.keys.seal(secret, table=TABLE, column="secret", row_id=e.id)
    await audit.record(
        session=session,
        actor=actor,
        action="notify.secret_rotate",
        target_type="notify_endpoint",
        target_id=e.id,
    )
    return e, secret


async def finish_rotation(
    *, session: AsyncSession, actor: Principal | None, endpoint_id: int
) -> Endpoint:
    e = await get_endpoint(session, endpoint_id)
    e.previous_secret_sealed = ""
    await audit.record(
        session=session,
        actor=actor,
        action="notify.secret_rotated",
        target_type="notify_endpoint",
        target_id=e.id,
    )
    return e


async def set_active(
    *, session: AsyncSession, actor: Principal | None, endpoint_id: int, active: bool
) -> Endpoint:
    e = await get_endpoint(session, endpoint_id)
    e.active = active
    if active:
        e.disabled_reason, e.failing_since = "", None
    await audit.record(
        session=session,
        actor=actor,
        action="notify.endpoint_enable" if active else "notify.endpoint_disable",
        target_type="notify_endpoint",
        target_id=e.id,
    )
    return e


async def send_test(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, endpoint_id: int
) -> OutboxEvent:
    """An event for this endpoint only."""
    e = await get_endpoint(session, endpoint_id)
    if e.id is None:
        raise Broken("expected: e.id is not None")
    now = ctx.now()
    event = OutboxEvent(
        uid=f"evt_test_{os.urandom(8).hex()}",
        type="test",
        aggregate=f"test:{e.id}:{os.urandom(4).hex()}",
        payload={"text": f"**测试消息**:{ctx.settings.office_name} 信访系统推送已接通"},
        fanned_out=True,
        created_at=now,
    )
    session.add(event)
    await session.flush()
    if event.id is None:
        raise Broken("expected: event.id is not None")
    session.add(Delivery(event_id=event.id, endpoint_id=e.id))
    await audit.record(
        session=session,
        actor=actor,
        action="notify.send_test",
        target_type="notify_endpoint",
        target_id=e.id,
    )
    return event


async def deliveries(
    *, session: AsyncSession, endpoint_id: int, limit: int, offset: int
) -> list[schemas.DeliveryOut]:
    await get_endpoint(session, endpoint_id)
    rows = await session.execute(
        select(Delivery, OutboxEvent)
        .join(OutboxEvent, col(OutboxEvent.id) == col(Delivery.event_id))
        .where(col(Delivery.endpoint_id) == endpoint_id)
        .order_by(col(Delivery.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        schemas.DeliveryOut(
            id=d.id or 0,
            event_uid=e.uid,
            type=e.type,
            status=d.status,
            attempts=d.attempts,
            last_status=d.last_status,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            delivered_at=d.delivered_at,
        )
        for d, e in rows.all()
    ]


async def retry_now(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, delivery_id: int
) -> Delivery:
    d = await session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound(f"推送记录 {delivery_id} 不存在")
    if d.status == "delivered":
        raise Conflict("已送达,无需重试")
    d.status, d.next_attempt_at, d.claimed_until = "pending", None, None
    await audit.record(
        session=session,
        actor=actor,
        action="notify.retry",
        target_type="notify_delivery",
        target_id=d.id,
    )
    return d
