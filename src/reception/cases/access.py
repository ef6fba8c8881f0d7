"""Who reads and who changes a case, and loading one under that rule (SPEC §1).

Reading: a clerk the cases of his unit subtree; a leader the cases he owns *now*; a secretary
those her linked leaders own now; reviewers and admins all. Ownership history stays readable
to the office (clerks of the unit, reviewers, admins), not to a leader who no longer owns it.
Changing: clerks (within their subtree) and admins. Outside a caller's scope a case is 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import Principal
from reception.base import role_label
from reception.cases.models import CaseOwnership, CasePetitioner, PetitionCase
from reception.db import get_in_scope
from reception.errors import Forbidden, InvalidInput
from reception.etags import etag, require_match
from reception.org.access import READ_ALL, reach_clause, unit_in_reach
from reception.org.models import Unit

WRITERS = ("admin", "clerk")


def _owned_now_by(leader_ids: list[int]) -> ColumnElement[bool]:
    if not leader_ids:
        return false()
    return col(PetitionCase.id).in_(
        select(CaseOwnership.case_id).where(
            col(CaseOwnership.leader_id).in_(leader_ids), col(CaseOwnership.ended_at).is_(None)
        )
    )


def case_scope(principal: Principal) -> ColumnElement[bool]:
    """The cases a caller may read, as a WHERE clause over `petition_case`."""
    if principal.role in READ_ALL:
        return true()
    if principal.role == "clerk":
        return reach_clause(principal, col(PetitionCase.unit_id))
    if principal.role == "leader" and principal.leader_id:
        return _owned_now_by([principal.leader_id])
    if principal.role == "secretary":
        return _owned_now_by(sorted(principal.leader_ids))
    return false()


@dataclass(frozen=True)
class EarlierMatters:
    """A petitioner's registered matters as one caller may learn of them: every matter by its
    registration day (how many, when), and of the latest one the caller may read its case."""

    days: list[date]
    latest_readable: PetitionCase | None


async def earlier_matters(
    session: AsyncSession, principal: Principal | None, person: ColumnElement[bool]
) -> EarlierMatters:
    """The matters registered for the petitioner that `person` (a WHERE over case_petitioner)
    finds. Beyond the caller's read scope only the count and the days are told — a secretary
    booking a repeat petitioner is warned, but reads no case her leaders do not own."""
    matched = col(PetitionCase.id).in_(select(CasePetitioner.case_id).where(person))
    days = list(
        await session.scalars(
            select(col(PetitionCase.registered_on))
            .where(matched)
            .order_by(col(PetitionCase.registered_on).desc())
        )
    )
    readable = select(PetitionCase).where(matched)
    if principal is not None:
        readable = readable.where(case_scope(principal))
    latest = await session.scalar(
        readable.order_by(
            col(PetitionCase.registered_on).desc(), col(PetitionCase.id).desc()
        ).limit(1)
    )
    return EarlierMatters(days, latest)


def writes(principal: Principal | None) -> bool:
    """Whether a caller handles cases (registers, moves them on, issues their notices): the
    clerks (within their scope) and admins; the command line."""
    return principal is None or principal.role in WRITERS


def handles(principal: Principal | None, unit: Unit) -> bool:
    """Whether a caller works on a unit's records — moves its ledger entries on, answers its
    spot-check findings and conference decisions, registers its villages' 代办: one who handles
    cases (`writes`) and whose reach holds the unit."""
    return writes(principal) and unit_in_reach(principal, unit)


def resolves(principal: Principal | None, owner_leader_id: int | None) -> bool:
    """Whether a caller records a case's 化解: those who handle it, or the leader who owns it
    now."""
    owner = (
        principal is not None
        and principal.role == "leader"
        and owner_leader_id is not None
        and principal.leader_id == owner_leader_id
    )
    return owner or writes(principal)


def may_write(principal: Principal | None) -> None:
    if not writes(principal):
        role = role_label(principal.role) if principal else ""
        raise Forbidden(f"{role}不能修改信访事项")


async def unit_in_scope(
    session: AsyncSession, principal: Principal | None, unit_id: int, field: str
) -> Unit:
    """A responsible unit the caller may give a case to (a clerk: within his subtree)."""
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise InvalidInput(f"单位 {unit_id} 不存在", field=field)
    if not unit_in_reach(principal, unit):
        raise InvalidInput(f"单位 {unit_id} 不在您所在单位的范围内", field=field)
    return unit


async def get_case(
    *, session: AsyncSession, case_id: int, principal: Principal | None, for_update: bool = False
) -> PetitionCase:
    case: PetitionCase = await get_in_scope(
        session,
        PetitionCase,
        case_id,
        case_scope(principal) if principal else None,
        missing=f"信访事项 {case_id} 不存在",
        for_update=for_update,
    )
    return case


async def check_case_visible(
    *, session: AsyncSession, case_id: int, principal: Principal | None, field: str = "case_id"
) -> None:
    """For links from elsewhere (appointments, sessions, incidents): the case exists and the
    caller may see it — else a 422 on the field, as for any other reference in a body."""
    query = select(PetitionCase.id).where(PetitionCase.id == case_id)
    if principal is not None:
        query = query.where(case_scope(principal))
    if await session.scalar(query) is None:
        raise InvalidInput(f"信访事项 {case_id} 不存在", field=field)


def case_etag(case: PetitionCase) -> str:
    return etag("case", case.id, f"v{case.version}")


def check_if_match(case: PetitionCase, if_match: str | None) -> None:
    require_match(case_etag(case), if_match, f"信访事项{case.reference}")


async def for_change(
    session: AsyncSession, actor: Principal | None, case_id: int, if_match: str | None
) -> PetitionCase:
    """The case to change, row-locked, after the read scope, the write role and If-Match."""
    case = await get_case(session=session, case_id=case_id, principal=actor, for_update=True)
    may_write(actor)
    check_if_match(case, if_match)
    return case
