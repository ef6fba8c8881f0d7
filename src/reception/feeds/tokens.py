"""Feed tokens: one secret, revocable URL per scope (a leader, a unit, a secretary), stored
hashed. Who may create which feed is decided here; what a feed then shows is `service`'s."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal, hash_token
from reception.base import role_label
from reception.db import now_of, paginate
from reception.errors import Forbidden, InvalidInput, NotFound
from reception.feeds.models import FeedToken
from reception.feeds.schemas import FeedCreate
from reception.org.access import calendar_scope, unit_in_reach
from reception.org.models import Leader, Unit, User

FEED_TOKEN_PREFIX = "fd_"


def new_feed_token() -> str:
    return FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)


def feed_urls(public_url: str, token: str) -> tuple[str, str]:
    """The feed's URL and its webcal:// twin (which calendar apps open as a subscription)."""
    url = f"{public_url.rstrip('/')}/feeds/{token}.ics"
    _, _, rest = url.partition("://")
    return url, f"webcal://{rest}"


# ---------------------------------------------------------------- tokens


async def _check_may_create(
    session: AsyncSession, actor: Principal, data: FeedCreate
) -> tuple[str, int]:
    """Who may create which feed (README "Calendar feeds"): returns (target column, id)."""
    given = {"leader_id": data.leader_id, "unit_id": data.unit_id, "user_id": data.user_id}
    wanted = {"leader": "leader_id", "unit": "unit_id", "secretary": "user_id"}[data.scope]
    for name, value in given.items():
        if name != wanted and value is not None:
            raise InvalidInput(f"订阅范围 {data.scope} 只接受 {wanted},不接受 {name}", field=name)

    if data.scope == "leader":
        if data.leader_id is None:
            raise InvalidInput("订阅范围 leader 须提供 leader_id", field="leader_id")
        if await session.get(Leader, data.leader_id) is None:
            raise InvalidInput(f"领导 {data.leader_id} 不存在", field="leader_id")
        # Creating a feed is a write: a leader the caller may not read is "not yours" (403),
        # as for every other write (SPEC §1; reading the same leader is a 404).
        visible = await session.scalar(
            select(Leader.id).where(Leader.id == data.leader_id, calendar_scope(actor))
        )
        if visible is None:
            raise Forbidden(f"您无权订阅领导 {data.leader_id} 的日程")
        if actor.role == "clerk":
            raise Forbidden("信访干部只能订阅单位日程(scope=unit)")
        return "leader_id", data.leader_id

    if data.scope == "unit":
        if data.unit_id is None:
            raise InvalidInput("订阅范围 unit 须提供 unit_id", field="unit_id")
        unit = await session.get(Unit, data.unit_id)
        if unit is None:
            raise InvalidInput(f"单位 {data.unit_id} 不存在", field="unit_id")
        if actor.role in ("admin", "reviewer"):
            return "unit_id", data.unit_id
        if actor.role == "clerk" and unit_in_reach(actor, unit):
            return "unit_id", data.unit_id
        raise Forbidden(f"{role_label(actor.role)}不能订阅单位 {data.unit_id} 的日程")

    user_id = data.user_id
    if user_id is None:
        if actor.role != "secretary":
            raise InvalidInput("订阅范围 secretary 须提供 user_id", field="user_id")
        user_id = actor.user_id
    user = await session.get(User, user_id)
    if user is None or user.role != "secretary":
        raise InvalidInput(f"用户 {user_id} 不是秘书", field="user_id")
    if actor.role == "admin" or (actor.role == "secretary" and actor.user_id == user_id):
        return "secretary_user_id", user_id
    raise Forbidden("只有秘书本人或管理员能创建她的订阅")


async def create_feed(
    *, session: AsyncSession, actor: Principal, data: FeedCreate
) -> tuple[FeedToken, str]:
    """Create a feed token. The plain token is returned here once and never stored."""
    column, target = await _check_may_create(session, actor, data)
    token = new_feed_token()
    row = FeedToken(
        token_hash=hash_token(token),
        prefix=token[:10],
        scope=data.scope,
        name=data.name.strip(),
        created_by_user_id=actor.user_id,
        created_by_name=actor.name,
    )
    setattr(row, column, target)
    session.add(row)
    await audit.changed(
        session=session, actor=actor, action="feed.create", target=row, exclude={"token_hash"}
    )
    return row, token


async def list_feeds(
    *, session: AsyncSession, actor: Principal, limit: int, offset: int
) -> tuple[list[FeedToken], int]:
    query = select(FeedToken)
    if not actor.is_admin:
        query = query.where(FeedToken.created_by_user_id == actor.user_id)
    return await paginate(session, query, col(FeedToken.id), limit=limit, offset=offset)


async def revoke_feed(*, session: AsyncSession, actor: Principal, feed_id: int) -> FeedToken:
    row = await session.get(FeedToken, feed_id)
    if row is None or not (actor.is_admin or row.created_by_user_id == actor.user_id):
        raise NotFound(f"订阅 {feed_id} 不存在")
    if row.revoked_at is None:
        before = audit.snapshot(row, exclude={"token_hash"})
        row.revoked_at = now_of(session)
        await audit.changed(
            session=session,
            actor=actor,
            action="feed.revoke",
            target=row,
            before=before,
            exclude={"token_hash"},
        )
    return row
