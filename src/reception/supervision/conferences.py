"""联席会议: a conference (its day, convening leader, the units that sat) and the matters it
takes up — petition cases and ledger entries, listed by reference — as a person reads them.
What it decides is `decisions`."""

from __future__ import annotations

from sqlalchemy import func, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.audit.service import actor_name
from reception.auth import Principal
from reception.cases import access as case_access
from reception.cases.models import PetitionCase
from reception.cases.timeline import effective_date
from reception.context import Context
from reception.db import get_in_scope
from reception.errors import InvalidInput
from reception.ledger import access as ledger_access
from reception.ledger.models import LedgerEntry
from reception.org.choices import named_leader
from reception.org.models import Unit
from reception.supervision import access, schemas
from reception.supervision.models import (
    Conference,
    ConferenceMatter,
    Decision,
)

NOTICE_MARK = "督"


# ---------------------------------------------------------------- conferences


async def _matter(
    session: AsyncSession, actor: Principal | None, m: schemas.MatterIn, i: int
) -> tuple[int | None, int | None]:
    if (m.case_id is None) == (m.ledger_entry_id is None):
        raise InvalidInput("每项议题是一件信访事项或一条台账", field=f"matters[{i}]")
    if m.case_id is not None:
        await case_access.check_case_visible(
            session=session, case_id=m.case_id, principal=actor, field=f"matters[{i}].case_id"
        )
    else:
        found = await session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.id == m.ledger_entry_id, ledger_access.entry_scope(actor)
            )
        )
        if found is None:
            raise InvalidInput(
                f"台账 {m.ledger_entry_id} 不存在", field=f"matters[{i}].ledger_entry_id"
            )
    return m.case_id, m.ledger_entry_id


async def create_conference(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: schemas.ConferenceIn
) -> Conference:
    """A conference as held (entered on or after its day, never ahead of it)."""
    access.may_check(actor)
    held_on = effective_date(ctx, data.held_on, field="held_on")
    leader = await named_leader(session, actor, data.convener_leader_id, "convener_leader_id")
    units = list(dict.fromkeys(data.unit_ids))
    for unit_id in units:
        if await session.get(Unit, unit_id) is None:
            raise InvalidInput(f"单位 {unit_id} 不存在", field="unit_ids")
    matters = [await _matter(session, actor, m, i) for i, m in enumerate(data.matters)]
    if len(set(matters)) != len(matters):
        raise InvalidInput("同一事项在一次会议中只列一次", field="matters")
    conference = Conference(
        held_on=held_on,
        title=data.title.strip(),
        convener_leader_id=leader.id or 0,
        unit_ids=units,
        notes=data.notes.strip(),
        secretary_user_id=actor.user_id if actor else None,
        secretary_name=actor_name(actor),
    )
    session.add(conference)
    await session.flush()
    for case_id, entry_id in matters:
        session.add(
            ConferenceMatter(
                conference_id=conference.id or 0, case_id=case_id, ledger_entry_id=entry_id
            )
        )
    await session.flush()
    await audit.record(
        session=session, actor=actor, action="conference.create", target_type="conference",
        target_id=conference.id,
        after={"held_on": held_on.isoformat(), "title": conference.title,
               "convener_leader_id": leader.id, "unit_ids": units, "matters": len(matters)},
    )  # fmt: skip
    return conference


async def get_conference(
    *, session: AsyncSession, principal: Principal | None, conference_id: int
) -> Conference:
    """Conferences are the district's: its checkers read them all; a clerk those where a
    decision is his subtree's (404 otherwise)."""
    scope = None
    if principal is not None and not access.checks(principal):
        scope = col(Conference.id).in_(
            select(Decision.conference_id).where(access.decision_scope(principal))
        )
    conference: Conference = await get_in_scope(
        session, Conference, conference_id, scope, missing=f"联席会议 {conference_id} 不存在"
    )
    return conference


async def list_conferences(
    *, session: AsyncSession, principal: Principal | None, limit: int, offset: int
) -> tuple[list[Conference], int]:
    query = select(Conference)
    if principal is not None and not access.checks(principal):
        query = query.where(
            col(Conference.id).in_(
                select(Decision.conference_id).where(access.decision_scope(principal))
            )
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(col(Conference.held_on).desc(), col(Conference.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), total


async def matters_of(session: AsyncSession, conference_id: int) -> list[schemas.MatterOut]:
    rows = await session.execute(
        select(ConferenceMatter, PetitionCase.reference, LedgerEntry.reference)
        .outerjoin(PetitionCase, col(PetitionCase.id) == col(ConferenceMatter.case_id))
        .outerjoin(LedgerEntry, col(LedgerEntry.id) == col(ConferenceMatter.ledger_entry_id))
        .where(ConferenceMatter.conference_id == conference_id)
        .order_by(col(ConferenceMatter.id))
    )
    return [
        schemas.MatterOut(
            id=m.id or 0,
            case_id=m.case_id,
            ledger_entry_id=m.ledger_entry_id,
            reference=case_ref or entry_ref or "",
            kind="信访事项" if m.case_id else "矛盾纠纷台账",
        )
        for m, case_ref, entry_ref in rows.all()
    ]


async def matters_by_id(session: AsyncSession, matters: list[ConferenceMatter]) -> dict[int, str]:
    """Each matter as a person reads it: the case's or the entry's reference (never a name)."""
    out = {}
    for m in matters:
        if m.case_id is not None:
            case = await session.get(PetitionCase, m.case_id)
            out[m.id or 0] = f"信访事项{case.reference}" if case else ""
        else:
            entry = await session.get(LedgerEntry, m.ledger_entry_id)
            out[m.id or 0] = f"矛盾纠纷台账{entry.reference}" if entry else ""
    return out


async def matters_from_references(
    session: AsyncSession, actor: Principal | None, text: str
) -> list[schemas.MatterIn]:
    """The matters a person lists by reference, one a line (蓟信〔2026〕00001 a case, 蓟矛〔2026〕
    00001 a ledger entry): each must exist within the caller's scope."""
    out = []
    for line in filter(None, (x.strip() for x in text.splitlines())):
        case_id = await session.scalar(
            select(PetitionCase.id).where(
                PetitionCase.reference == line,
                case_access.case_scope(actor) if actor else true(),
            )
        )
        if case_id is not None:
            out.append(schemas.MatterIn(case_id=case_id))
            continue
        entry_id = await session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.reference == line, ledger_access.entry_scope(actor)
            )
        )
        if entry_id is None:
            raise InvalidInput(f"没有编号为 {line} 的信访事项或台账", field="matters")
        out.append(schemas.MatterIn(ledger_entry_id=entry_id))
    return out
