"""Who reads and who keeps the ledger's entries (SPEC §3.12, the cases' scope rules).

Reading: a clerk the entries of his unit subtree — those it is responsible for now, and those
it found (a village keeps seeing what it handed up); a leader those he is 稳控 or 化解责任人 of;
reviewers and admins all. Keeping (moves, check-ins for the 稳控责任人): clerks whose subtree
holds the entry's unit now, and admins. Outside a caller's scope an entry is 404.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception.auth import Principal
from reception.base import role_label
from reception.cases.access import handles
from reception.db import get_in_scope
from reception.errors import Forbidden, InvalidInput
from reception.etags import etag
from reception.ledger import rules
from reception.ledger.models import LedgerEntry
from reception.org.access import READ_ALL, reach_clause, reaches
from reception.org.models import Unit

WRITERS = ("admin", "clerk")


def entry_scope(principal: Principal | None) -> ColumnElement[bool]:
    """The entries a caller may read, as a WHERE clause over `ledger_entry`."""
    if principal is None or principal.role in READ_ALL:
        return true()
    if principal.role == "clerk":
        return or_(
            reach_clause(principal, col(LedgerEntry.unit_id)),
            reach_clause(principal, col(LedgerEntry.found_by_unit_id)),
        )
    if principal.role == "leader" and principal.leader_id:
        return or_(
            col(LedgerEntry.stability_leader_id) == principal.leader_id,
            col(LedgerEntry.resolution_leader_id) == principal.leader_id,
        )
    return false()


def keeps(principal: Principal | None, unit: Unit) -> bool:
    """Whether a caller keeps (moves on) an entry whose responsible unit is `unit`."""
    return handles(principal, unit)


def may_keep(principal: Principal | None, unit: Unit) -> None:
    if not keeps(principal, unit):
        who = role_label(principal.role) if principal else ""
        raise Forbidden(f"{who}不能修改这条台账:它由{unit.name}负责")


def entry_etag(entry: LedgerEntry) -> str:
    return etag("ledger", entry.id, f"v{entry.version}")


async def get_entry(
    *, session: AsyncSession, principal: Principal | None, entry_id: int, for_update: bool = False
) -> LedgerEntry:
    entry: LedgerEntry = await get_in_scope(
        session,
        LedgerEntry,
        entry_id,
        entry_scope(principal),
        missing=f"台账 {entry_id} 不存在",
        for_update=for_update,
    )
    return entry


async def table_unit(
    *, session: AsyncSession, principal: Principal | None, unit_id: int | None
) -> int | None:
    """The unit whose 排查情况表 a caller reads: a clerk his own unit or one under it (default:
    his own); others any (default: the district)."""
    if principal is None or principal.role != "clerk":
        return unit_id
    wanted = unit_id or principal.unit_id
    unit = await session.get(Unit, wanted) if wanted else None
    if unit is None or not reaches(principal, unit.path):
        raise InvalidInput(f"单位 {wanted} 不在您所在单位的范围内", field="unit_id")
    return unit.id


def may_check_in(principal: Principal | None, entry: LedgerEntry, unit: Unit) -> bool:
    """The 稳控责任人 himself, or whoever keeps the entry (for him)."""
    mine = (
        principal is not None
        and principal.role == "leader"
        and principal.leader_id == entry.stability_leader_id
    )
    return bool(rules.needs_check_in(entry)) and (mine or keeps(principal, unit))
