"""Org chart services: plain functions, keyword-only, flush but never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col, select

from reception.audit import service as audit
from reception.auth import Principal, hash_token, new_token
from reception.base import ADMINISTRATORS
from reception.base import UNIT_KIND_LABELS as KIND_LABELS
from reception.db import get_in_scope, now_of, paginate
from reception.errors import Broken, Conflict, Forbidden, InvalidInput, NotFound
from reception.org import schemas
from reception.org.access import in_subtree, leader_scope, subtree_ids
from reception.org.models import ApiToken, Leader, SecretaryLeader, Unit, User, Venue
from reception.org.order import pinyin_key, unit_order

# Which kind of unit may sit under which: district → township → village; departments under
# a district.
PARENT_KIND = {
    "district": None,
    "township": "district",
    "department": "district",
    "village": "township",
}


async def _get_or_404(session: AsyncSession, model: type[SQLModel], ident: int, label: str) -> Any:
    obj = await session.get(model, ident)
    if obj is None:
        raise NotFound(f"{label} {ident} 不存在")
    return obj


async def _must_exist(
    session: AsyncSession, model: type[SQLModel], ident: int, *, field: str, label: str
) -> Any:
    obj = await session.get(model, ident)
    if obj is None:
        raise InvalidInput(f"{label} {ident} 不存在", field=field)
    return obj


# ---------------------------------------------------------------- units


async def get_unit(*, session: AsyncSession, unit_id: int) -> Unit:
    unit: Unit = await _get_or_404(session, Unit, unit_id, "单位")
    return unit


async def list_units(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    kind: str | None = None,
    parent_id: int | None = None,
    under: int | None = None,
    active: bool | None = None,
) -> tuple[list[Unit], int]:
    query = select(Unit)
    if kind:
        query = query.where(Unit.kind == kind)
    if parent_id is not None:
        query = query.where(Unit.parent_id == parent_id)
    if under is not None:
        root = await get_unit(session=session, unit_id=under)
        query = query.where(in_subtree(col(Unit.path), root.path))
    if active is not None:
        query = query.where(Unit.active.is_(active))  # type: ignore[attr-defined]
    return await paginate(session, query, *unit_order(), limit=limit, offset=offset)


async def _check_parent(session: AsyncSession, kind: str, parent_id: int | None) -> Unit | None:
    wanted = PARENT_KIND[kind]
    if wanted is None:
        if parent_id is not None:
            raise InvalidInput("区是组织树的根,不能有上级单位", field="parent_id")
        return None
    if parent_id is None:
        raise InvalidInput(f"{KIND_LABELS[kind]}须有上级{KIND_LABELS[wanted]}", field="parent_id")
    parent: Unit = await _must_exist(session, Unit, parent_id, field="parent_id", label="单位")
    if parent.kind != wanted:
        raise InvalidInput(
            f"{KIND_LABELS[kind]}只能隶属于{KIND_LABELS[wanted]},不能隶属于{KIND_LABELS[parent.kind]}",
            field="parent_id",
        )
    return parent


async def create_unit(
    *, session: AsyncSession, actor: Principal | None, data: schemas.UnitCreate
) -> Unit:
    parent = await _check_parent(session, data.kind, data.parent_id)
    unit = Unit(
        name=data.name,
        kind=data.kind,
        parent_id=data.parent_id,
        sort_order=data.sort_order,
        sort_key=pinyin_key(data.name),
    )
    session.add(unit)
    await session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    await audit.changed(session=session, actor=actor, action="unit.create", target=unit)
    return unit


async def update_unit(
    *, session: AsyncSession, actor: Principal | None, unit_id: int, data: schemas.UnitUpdate
) -> Unit:
    unit = await get_unit(session=session, unit_id=unit_id)
    before = audit.snapshot(unit)
    changes = data.changes()
    if "parent_id" in changes and changes["parent_id"] != unit.parent_id:
        parent = await _check_parent(session, unit.kind, changes["parent_id"])
        if parent is None:
            raise Broken("expected: parent is not None")
        if in_subtree(parent.path, unit.path):
            raise InvalidInput("单位不能移到自己的下级之下", field="parent_id")
        old_path, new_path = unit.path, f"{parent.path}{unit.id}/"
        descendants = await session.scalars(
            select(Unit).where(in_subtree(col(Unit.path), old_path))
        )
        for node in descendants:
            node.path = new_path + node.path[len(old_path) :]
        unit.parent_id = parent.id
    if "name" in changes:
        unit.name = changes["name"]
        unit.sort_key = pinyin_key(unit.name)
    if "sort_order" in changes:
        unit.sort_order = changes["sort_order"]
    if "active" in changes:
        unit.active = changes["active"]
    unit.updated_at = now_of(session)
    await audit.changed(
        session=session, actor=actor, action="unit.update", target=unit, before=before
    )
    return unit


# ---------------------------------------------------------------- leaders


async def get_leader(
    *, session: AsyncSession, leader_id: int, principal: Principal | None = None
) -> Leader:
    leader: Leader = await get_in_scope(
        session,
        Leader,
        leader_id,
        leader_scope(principal) if principal else None,
        missing=f"领导 {leader_id} 不存在",
    )
    return leader


async def assignable_leaders(*, session: AsyncSession, principal: Principal) -> list[Leader]:
    """The active leaders a caller may give a case to (包案): those he may see
    (`org.access.sees_leader`; for a township clerk, his own subtree's and the district's)."""
    # The scope's own subquery reads `unit`: the order comes through an alias of it.
    unit = aliased(Unit)
    rows = await session.scalars(
        select(Leader)
        .join(unit, col(unit.id) == col(Leader.unit_id))
        .where(col(Leader.active).is_(True), leader_scope(principal))
        .order_by(col(unit.path), col(Leader.id))
    )
    return list(rows.all())


async def list_leaders(
    *,
    session: AsyncSession,
    principal: Principal,
    limit: int,
    offset: int,
    unit_id: int | None = None,
    active: bool | None = None,
) -> tuple[list[Leader], int]:
    query = select(Leader).where(leader_scope(principal))
    if unit_id is not None:
        unit = await get_unit(session=session, unit_id=unit_id)
        query = query.where(Leader.unit_id.in_(subtree_ids(unit.path)))  # type: ignore[attr-defined]
    if active is not None:
        query = query.where(Leader.active.is_(active))  # type: ignore[attr-defined]
    return await paginate(session, query, Leader.id, limit=limit, offset=offset)


async def create_leader(
    *, session: AsyncSession, actor: Principal | None, data: schemas.LeaderCreate
) -> Leader:
    await _must_exist(session, Unit, data.unit_id, field="unit_id", label="单位")
    leader = Leader(name=data.name, title=data.title, unit_id=data.unit_id)
    session.add(leader)
    await audit.changed(session=session, actor=actor, action="leader.create", target=leader)
    return leader


async def update_leader(
    *, session: AsyncSession, actor: Principal | None, leader_id: int, data: schemas.LeaderUpdate
) -> Leader:
    leader = await get_leader(session=session, leader_id=leader_id)
    before = audit.snapshot(leader)
    changes = data.changes()
    if "unit_id" in changes:
        await _must_exist(session, Unit, changes["unit_id"], field="unit_id", label="单位")
    for name, value in changes.items():
        setattr(leader, name, value)
    leader.updated_at = now_of(session)
    await audit.changed(
        session=session, actor=actor, action="leader.update", target=leader, before=before
    )
    return leader


# ---------------------------------------------------------------- venues


async def get_venue(*, session: AsyncSession, venue_id: int) -> Venue:
    venue: Venue = await _get_or_404(session, Venue, venue_id, "接访场所")
    return venue


async def list_venues(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    unit_id: int | None = None,
    active: bool | None = None,
) -> tuple[list[Venue], int]:
    query = select(Venue)
    if unit_id is not None:
        unit = await get_unit(session=session, unit_id=unit_id)
        query = query.where(Venue.unit_id.in_(subtree_ids(unit.path)))  # type: ignore[attr-defined]
    if active is not None:
        query = query.where(Venue.active.is_(active))  # type: ignore[attr-defined]
    return await paginate(session, query, Venue.id, limit=limit, offset=offset)


async def create_venue(
    *, session: AsyncSession, actor: Principal | None, data: schemas.VenueCreate
) -> Venue:
    await _must_exist(session, Unit, data.unit_id, field="unit_id", label="单位")
    venue = Venue(
        name=data.name, unit_id=data.unit_id, address=data.address, capacity=data.capacity
    )
    session.add(venue)
    await audit.changed(session=session, actor=actor, action="venue.create", target=venue)
    return venue


async def update_venue(
    *, session: AsyncSession, actor: Principal | None, venue_id: int, data: schemas.VenueUpdate
) -> Venue:
    venue = await get_venue(session=session, venue_id=venue_id)
    before = audit.snapshot(venue)
    changes = data.changes()
    if "unit_id" in changes:
        await _must_exist(session, Unit, changes["unit_id"], field="unit_id", label="单位")
    for name, value in changes.items():
        setattr(venue, name, value)
    venue.updated_at = now_of(session)
    await audit.changed(
        session=session, actor=actor, action="venue.update", target=venue, before=before
    )
    return venue


# ---------------------------------------------------------------- users and tokens


async def linked_leader_ids(
    *, session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, list[int]]:
    links: dict[int, list[int]] = {uid: [] for uid in user_ids}
    if user_ids:
        rows = await session.execute(
            select(SecretaryLeader.user_id, SecretaryLeader.leader_id)
            .where(SecretaryLeader.user_id.in_(list(user_ids)))  # type: ignore[attr-defined]
            .order_by(col(SecretaryLeader.leader_id))
        )
        for user_id, leader_id in rows:
            links[user_id].append(leader_id)
    return links


async def _check_user_fields(
    session: AsyncSession,
    *,
    role: str,
    unit_id: int | None,
    leader_id: int | None,
    leader_ids: Sequence[int],
) -> None:
    if role == "clerk" and unit_id is None:
        raise InvalidInput("信访干部须绑定所在单位(unit_id)", field="unit_id")
    if role == "grid":
        unit = await session.get(Unit, unit_id) if unit_id is not None else None
        if unit is None or unit.kind != "village":
            raise InvalidInput("网格员须绑定所在的村(社区)(unit_id)", field="unit_id")
    if role == "leader" and leader_id is None:
        raise InvalidInput("领导账号须关联领导本人(leader_id)", field="leader_id")
    if role != "secretary" and leader_ids:
        raise InvalidInput("只有秘书才能关联领导", field="leader_ids")
    if unit_id is not None:
        await _must_exist(session, Unit, unit_id, field="unit_id", label="单位")
    if leader_id is not None:
        await _must_exist(session, Leader, leader_id, field="leader_id", label="领导")
    for lid in leader_ids:
        await _must_exist(session, Leader, lid, field="leader_ids", label="领导")


async def _set_links(session: AsyncSession, user_id: int, leader_ids: Sequence[int]) -> None:
    await session.execute(delete(SecretaryLeader).where(SecretaryLeader.user_id == user_id))  # type: ignore[arg-type]
    for lid in sorted(set(leader_ids)):
        session.add(SecretaryLeader(user_id=user_id, leader_id=lid))
    await session.flush()


def _user_snapshot(user: User, leader_ids: list[int]) -> dict[str, Any]:
    data = audit.snapshot(user) or {}
    data["leader_ids"] = leader_ids
    return data


async def get_user(*, session: AsyncSession, user_id: int) -> User:
    user: User = await _get_or_404(session, User, user_id, "用户")
    return user


async def list_users(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    role: str | None = None,
    active: bool | None = None,
    unit_id: int | None = None,
) -> tuple[list[User], int]:
    query = select(User)
    if role:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))  # type: ignore[attr-defined]
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    return await paginate(session, query, User.id, limit=limit, offset=offset)


async def create_user(
    *, session: AsyncSession, actor: Principal | None, data: schemas.UserCreate
) -> User:
    await _check_user_fields(
        session,
        role=data.role,
        unit_id=data.unit_id,
        leader_id=data.leader_id,
        leader_ids=data.leader_ids,
    )
    user = User(name=data.name, role=data.role, unit_id=data.unit_id, leader_id=data.leader_id)
    session.add(user)
    await session.flush()
    if user.id is None:
        raise Broken("expected: user.id is not None")
    await _set_links(session, user.id, data.leader_ids)
    await audit.changed(
        session=session,
        actor=actor,
        action="user.create",
        target=user,
        target_type="user",
        after=_user_snapshot(user, sorted(set(data.leader_ids))),
    )
    return user


async def update_user(
    *, session: AsyncSession, actor: Principal | None, user_id: int, data: schemas.UserUpdate
) -> User:
    user = await get_user(session=session, user_id=user_id)
    old_links = (await linked_leader_ids(session=session, user_ids=[user_id]))[user_id]
    before = _user_snapshot(user, old_links)
    changes = data.changes()
    _check_duty(actor, user_id, changes)
    if actor is not None and actor.user_id == user_id and changes.get("active") is False:
        # The last admin locking himself out would leave nobody to let him back in.
        raise Conflict("不能停用自己的账号")
    new_links = changes.pop("leader_ids", old_links)
    await _check_user_fields(
        session,
        role=changes.get("role", user.role),
        unit_id=changes.get("unit_id", user.unit_id),
        leader_id=changes.get("leader_id", user.leader_id),
        leader_ids=new_links,
    )
    for name, value in changes.items():
        setattr(user, name, value)
    user.updated_at = now_of(session)
    await session.flush()
    await _set_links(session, user_id, new_links)
    await audit.changed(
        session=session,
        actor=actor,
        action="user.update",
        target=user,
        target_type="user",
        before=before,
        after=_user_snapshot(user, sorted(set(new_links))),
    )
    return user


# 三员分立: who changes which part of an account.
SECURITY_FIELDS = frozenset({"role", "active"})
LINK_FIELDS = frozenset({"unit_id", "leader_id", "leader_ids"})


def _check_duty(actor: Principal | None, user_id: int, changes: dict[str, Any]) -> None:
    """The security administrator grants roles and (de)activates accounts; the system
    administrator keeps names, units and links. Nobody changes their own role."""
    if actor is None:
        return  # the command line: the operator's own tool
    security = SECURITY_FIELDS & changes.keys()
    if security and actor.role != "secadmin":
        raise Forbidden("授予角色、启用或停用账号由安全管理员办理(三员分立)")
    # A new role may come with the links it needs (a clerk's unit); otherwise names, units
    # and links are the system administrator's.
    keeps = SECURITY_FIELDS | (LINK_FIELDS if "role" in changes else frozenset())
    if changes.keys() - keeps and actor.role == "secadmin":
        raise Forbidden("姓名、单位和关联领导由系统管理员维护(三员分立)")
    if "role" in changes and actor.user_id == user_id:
        raise Forbidden("不能更改自己的角色")


# How long a token lives (days): an administrator's at most 90 (等保三级), anyone's a year.
ADMIN_TOKEN_DAYS, TOKEN_DAYS = 90, 365


async def issue_token(
    *,
    session: AsyncSession,
    actor: Principal | None,
    user_id: int,
    label: str = "",
    expires_in_days: int | None = None,
    scopes: Sequence[str] = ("read", "write"),
) -> tuple[ApiToken, str]:
    """Create an API token that expires and carries scopes. The plain token is returned here
    once and never stored."""
    user = await get_user(session=session, user_id=user_id)
    if not user.active:
        raise Conflict(f"用户 {user_id} 已停用,不能再签发令牌")
    longest = ADMIN_TOKEN_DAYS if user.role in ADMINISTRATORS else TOKEN_DAYS
    days = expires_in_days or longest
    if days > longest:
        raise InvalidInput(
            f"管理员的令牌有效期不得超过 {ADMIN_TOKEN_DAYS} 天", field="expires_in_days"
        )
    token = new_token()
    row = ApiToken(
        user_id=user_id,
        token_hash=hash_token(token),
        prefix=token[:10],
        label=label,
        expires_at=now_of(session) + timedelta(days=days),
        scopes=sorted(set(scopes)),
    )
    session.add(row)
    await audit.changed(
        session=session, actor=actor, action="token.create", target=row, exclude={"token_hash"}
    )
    return row, token


async def list_tokens(*, session: AsyncSession, user_id: int) -> list[ApiToken]:
    await get_user(session=session, user_id=user_id)
    rows = await session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)  # type: ignore[arg-type]
    )
    return list(rows.all())


async def revoke_token(
    *, session: AsyncSession, actor: Principal | None, token_id: int
) -> ApiToken:
    row: ApiToken = await _get_or_404(session, ApiToken, token_id, "令牌")
    if row.revoked_at is None:
        before = audit.snapshot(row, exclude={"token_hash"})
        row.revoked_at = now_of(session)
        await audit.changed(
            session=session,
            actor=actor,
            action="token.revoke",
            target=row,
            before=before,
            exclude={"token_hash"},
        )
    return row
