"""What a caller may choose: the active units in his reach, as the org tree reads (each level
indented under its parent) — registration, imports and the ledger's forms; and a leader he
names in a body (the ledger's 稳控/化解责任人, the 流调's signing leader), checked against his
scope."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import Principal
from reception.errors import InvalidInput
from reception.org.access import leader_scope, unit_in_reach
from reception.org.models import Leader
from reception.org.order import as_tree
from reception.org.service import assignable_leaders, list_units


async def units_in_reach(
    session: AsyncSession, principal: Principal, kinds: tuple[str, ...] | None = None
) -> list[tuple[int, str]]:
    """`kinds`: only units of these kinds (a conference's participants are the district, its
    townships and departments — not the district's thousand villages)."""
    rows, _ = await list_units(session=session, limit=5000, offset=0, active=True)
    reach = [u for u in rows if unit_in_reach(principal, u) and (kinds is None or u.kind in kinds)]
    return [(int(u.id or 0), "\u3000" * depth + u.name) for u, depth in as_tree(reach)]


async def leader_choices(session: AsyncSession, principal: Principal) -> list[tuple[int, str]]:
    """The leaders a form offers a caller to name (包案, 稳控/化解责任人, a 流调's signer, a
    conference's convener): exactly those `named_leader` accepts, as "name(title)"."""
    return [
        (int(x.id or 0), f"{x.name}({x.title})")
        for x in await assignable_leaders(session=session, principal=principal)
    ]


async def named_leader(
    session: AsyncSession, actor: Principal | None, leader_id: int, field: str
) -> Leader:
    """A leader the caller names in a body: checked against his scope like any id a request
    names (one he may not see does not exist for him), and active."""
    query = select(Leader).where(col(Leader.id) == leader_id)
    if actor is not None:
        query = query.where(leader_scope(actor))
    leader = await session.scalar(query)
    if leader is None or not leader.active:
        raise InvalidInput(f"领导 {leader_id} 不存在或已停用", field=field)
    return leader
