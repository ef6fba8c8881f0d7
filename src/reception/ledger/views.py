"""The ledger as people read it: a list's rows (names of units, leaders and domains in a few
statements, parties as a count), and one entry whole — parties masked or whole as the one
visibility policy says (reception.privacy), its history, check-ins and what the caller may do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.auth import Principal
from reception.cases.access import get_case
from reception.cases.models import CaseCategory, PetitionCase
from reception.context import Context
from reception.crypto import Keyring
from reception.errors import Broken
from reception.ledger import rules, schemas
from reception.ledger.access import entry_scope, keeps, may_check_in
from reception.ledger.models import LedgerCheckIn, LedgerEntry, LedgerMove, LedgerParty
from reception.org.models import Leader, Unit
from reception.petitioner import Identity
from reception.privacy import mask_id_number, mask_name, mask_phone, shown_whole, shows_whole


@dataclass
class Names:
    units: dict[int, Unit]
    leaders: dict[int, Leader]
    domains: dict[str, str]
    parties: dict[int, int]


async def names_for(session: AsyncSession, entries: Sequence[LedgerEntry]) -> Names:
    """The units, leaders, domains and party counts a list of entries shows (4 statements)."""
    unit_ids = {e.unit_id for e in entries} | {e.found_by_unit_id for e in entries}
    leader_ids = {e.stability_leader_id for e in entries} | {
        e.resolution_leader_id for e in entries
    }
    ids = [e.id for e in entries]
    units = {
        u.id or 0: u for u in await session.scalars(select(Unit).where(col(Unit.id).in_(unit_ids)))
    }
    leaders = {
        x.id or 0: x
        for x in await session.scalars(select(Leader).where(col(Leader.id).in_(leader_ids)))
    }
    domains = {c.code: c.name for c in await session.scalars(select(CaseCategory))}
    parties = {
        entry_id: int(n)
        for entry_id, n in (
            await session.execute(
                select(LedgerParty.entry_id, func.count())
                .where(col(LedgerParty.entry_id).in_(ids))
                .group_by(col(LedgerParty.entry_id))
            )
        ).all()
    }
    return Names(units, leaders, domains, parties)


def summary_of(entry: LedgerEntry, names: Names, today: date) -> schemas.EntrySummary:
    if entry.id is None:
        raise Broken("expected: entry.id is not None")
    unit = names.units.get(entry.unit_id)
    found_by = names.units.get(entry.found_by_unit_id)
    stability = names.leaders.get(entry.stability_leader_id)
    resolution = names.leaders.get(entry.resolution_leader_id)
    return schemas.EntrySummary(
        id=entry.id,
        reference=entry.reference,
        found_on=entry.found_on,
        found_by_unit=found_by.name if found_by else "",
        how_found=entry.how_found,
        domain=entry.domain_code,
        domain_name=names.domains.get(entry.domain_code, entry.domain_code),
        summary=entry.summary,
        risk=entry.risk,
        risk_label=rules.RISK_LABELS[entry.risk],
        people_count=entry.people_count,
        amount_disputed=entry.amount_disputed,
        amount_recovered=entry.amount_recovered,
        unit_id=entry.unit_id,
        unit_name=unit.name if unit else "",
        stability_leader=stability.name if stability else "",
        resolution_leader=resolution.name if resolution else "",
        target_on=entry.target_on,
        review_on=entry.review_on,
        overdue=bool(rules.review_overdue(entry, today)),
        status=entry.status,
        status_label=rules.STATUS_LABELS[entry.status],
        closed_on=entry.closed_on,
        case_id=entry.case_id,
        parties=names.parties.get(entry.id, 0),
    )


async def summaries(
    session: AsyncSession, entries: Sequence[LedgerEntry], today: date
) -> list[schemas.EntrySummary]:
    names = await names_for(session, entries)
    return [summary_of(e, names, today) for e in entries]


def _party_out(keys: Keyring, row: LedgerParty, whole: bool) -> schemas.PartyOut:
    id_number, phone = pii.opened(keys, row, "id_number_sealed", "phone_sealed")
    if whole:
        return schemas.PartyOut(row.name, id_number, phone)
    return schemas.PartyOut(mask_name(row.name), mask_id_number(id_number), mask_phone(phone))


async def parties_of(keys: Keyring, session: AsyncSession, entry_id: int) -> list[Identity]:
    rows = await session.scalars(
        select(LedgerParty)
        .where(LedgerParty.entry_id == entry_id)
        .order_by(col(LedgerParty.position))
    )
    out = []
    for row in rows:
        id_number, phone = pii.opened(keys, row, "id_number_sealed", "phone_sealed")
        out.append(Identity(name=row.name, id_number=id_number, phone=phone))
    return out


async def detail_of(
    *, session: AsyncSession, ctx: Context, principal: Principal | None, entry: LedgerEntry
) -> schemas.EntryDetail:
    if entry.id is None:
        raise Broken("expected: entry.id is not None")
    today = ctx.today()
    moves = list(
        await session.scalars(
            select(LedgerMove)
            .where(LedgerMove.entry_id == entry.id)
            .order_by(col(LedgerMove.on), col(LedgerMove.id))
        )
    )
    names = await names_for(session, [entry])
    extra_units = {m.from_unit_id for m in moves} | {m.to_unit_id for m in moves}
    extra_units -= set(names.units) | {None}
    for u in await session.scalars(select(Unit).where(col(Unit.id).in_(extra_units))):
        names.units[u.id or 0] = u
    unit = names.units[entry.unit_id]
    whole = shows_whole(principal, unit_path=unit.path)
    party_rows = list(
        await session.scalars(
            select(LedgerParty)
            .where(LedgerParty.entry_id == entry.id)
            .order_by(col(LedgerParty.position))
        )
    )
    if whole and party_rows:
        shown_whole("ledger_entry", entry.id, ("name", "id_number", "phone"))
    check_ins = await session.scalars(
        select(LedgerCheckIn)
        .where(LedgerCheckIn.entry_id == entry.id)
        .order_by(col(LedgerCheckIn.day).desc(), col(LedgerCheckIn.id).desc())
        .limit(60)
    )
    case_reference = ""
    if entry.case_id is not None:
        case_reference = (
            await session.scalar(
                select(PetitionCase.reference).where(PetitionCase.id == entry.case_id)
            )
            or ""
        )
    base = summary_of(entry, names, today)

    def unit_name(unit_id: int | None) -> str:
        return names.units[unit_id].name if unit_id in names.units else ""

    return schemas.EntryDetail(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        plan=entry.plan,
        resolve_method=entry.resolve_method,
        case_reference=case_reference,
        parties_shown=[_party_out(ctx.keys, p, whole) for p in party_rows],
        masked=not whole,
        moves=[
            schemas.MoveOut(
                kind=m.kind,
                label=rules.MOVE_LABELS[m.kind],
                on=m.on,
                at=m.at.astimezone(ctx.tz),
                actor_name=m.actor_name,
                note=m.note,
                from_unit=unit_name(m.from_unit_id),
                to_unit=unit_name(m.to_unit_id),
                changes={
                    k: [(m.before or {}).get(k), v]
                    for k, v in (m.after or {}).items()
                    if m.before is not None and (m.before or {}).get(k) != v
                },
            )
            for m in moves
        ],
        check_ins=[
            schemas.CheckInOut(
                day=c.day,
                state=c.state,
                state_label=rules.CHECK_STATE_LABELS[c.state],
                note=c.note,
                by_name=c.by_name,
                at=c.at.astimezone(ctx.tz),
            )
            for c in check_ins
        ],
        allowed_moves=rules.allowed_moves(entry.status) if keeps(principal, unit) else [],
        may_check_in=may_check_in(principal, entry, unit),
        version=entry.version,
    )


async def entry_of_case(
    *, session: AsyncSession, principal: Principal | None, case_id: int
) -> LedgerEntry | None:
    """The ledger entry a petition case came from (the case page's 台账 section): the entry the
    caller may read, if any (the case itself is 404 outside the caller's scope)."""
    await get_case(session=session, case_id=case_id, principal=principal)
    entry: LedgerEntry | None = await session.scalar(
        select(LedgerEntry).where(LedgerEntry.case_id == case_id, entry_scope(principal))
    )
    return entry
