"""What forms offer to choose a unit from: the active units in a caller's reach, as the org
tree reads (each level indented under its parent) — registration, imports and the ledger."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal
from reception.org.access import unit_in_reach
from reception.org.order import as_tree
from reception.org.service import list_units


async def units_in_reach(session: AsyncSession, principal: Principal) -> list[tuple[int, str]]:
    rows, _ = await list_units(session=session, limit=5000, offset=0, active=True)
    reach = [u for u in rows if unit_in_reach(principal, u)]
    return [(int(u.id or 0), "\u3000" * depth + u.name) for u, depth in as_tree(reach)]
