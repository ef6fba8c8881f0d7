"""The ledger's entries: 建账 (the risk rule, sealed parties, the first history row) and the
filtered list; the shared steps every move takes (its history row and audit entry)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.audit import service as audit
from reception.auth import Principal
from reception.base import role_label
from reception.cases import registration
from reception.cases.access import unit_in_scope
from reception.cases.models import CaseCategory
from reception.cases.timeline import facts
from reception.context import Context
from reception.db import next_in_counter
from reception.errors import Broken, Forbidden, InvalidInput
from reception.ledger import rules, schemas
from reception.ledger.access import WRITERS, entry_scope
from reception.ledger.models import (
    LedgerCounter,
    LedgerEntry,
    LedgerMove,
    LedgerParty,
)
from reception.org.access import subtree_ids
from reception.org.choices import named_leader
from reception.org.models import Unit
from reception.petitioner import Identity, checked
from reception.workcal import service as workcal

# The most rows one export holds (a city's open ledger is far below it).
EXPORT_MAX = 50_000


# ---------------------------------------------------------------- 建账


def risk_rules(ctx: Context) -> tuple[rules.RiskRule, ...]:
    return tuple(
        rules.RiskRule(risk, people, amount)
        for risk, (people, amount) in sorted(ctx.settings.ledger_risk.items())
    )


def check_risk(ctx: Context, risk: str, people: int, amount: int) -> None:
    floor = rules.risk_floor(risk_rules(ctx), people, amount)
    if rules.risk_rank(risk) < rules.risk_rank(floor):
        rule = next(r for r in risk_rules(ctx) if r.risk == floor)
        raise InvalidInput(
            f"按规则({rule.describe()})风险等级至少为{rules.RISK_LABELS[floor]}", field="risk"
        )


async def review_day(session: AsyncSession, ctx: Context, start: date, risk: str) -> date:
    days = ctx.settings.ledger_review_days.get(risk, 5)
    calendar = await workcal.calendar_around(session=session, start=start, end=start)
    return calendar.add_workdays(start, days).value


async def domain_row(session: AsyncSession, code: str) -> CaseCategory:
    await registration.ensure_default_categories(session=session)
    category = await session.get(CaseCategory, code)
    if category is None or not category.active:
        names = "、".join(
            f"{c.code}({c.name})" for c in await session.scalars(select(CaseCategory))
        )
        raise InvalidInput(f"没有领域 {code};现有:{names}", field="domain")
    return category


def _parties(parties: Sequence[schemas.PartyIn], today: date) -> list[Identity]:
    return [
        checked(p.name, p.id_number, p.phone, field=f"parties[{i}].", today=today)
        for i, p in enumerate(parties)
    ]


FACTS = (
    "reference",
    "found_on",
    "found_by_unit_id",
    "how_found",
    "domain_code",
    "risk",
    "people_count",
    "amount_disputed",
    "unit_id",
    "stability_leader_id",
    "resolution_leader_id",
    "target_on",
    "review_on",
    "status",
)


async def record(
    session: AsyncSession,
    actor: Principal | None,
    entry: LedgerEntry,
    kind: str,
    on: date,
    *,
    note: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    from_unit_id: int | None = None,
    to_unit_id: int | None = None,
) -> None:
    """The move's history row and its audit entry, in the change's transaction. The audit's
    facts carry the unit and the leader an event goes to (a 重大 entry's, an 有异动)."""
    if entry.id is None:
        raise Broken("expected: entry.id is not None")
    session.add(
        LedgerMove(
            entry_id=entry.id,
            kind=kind,
            on=on,
            note=note,
            before=before,
            after=after,
            from_unit_id=from_unit_id,
            to_unit_id=to_unit_id,
            actor_user_id=actor.user_id if actor else None,
            actor_name=audit.actor_name(actor),
        )
    )
    action = f"ledger.{kind}"
    if kind == "opened" and entry.risk == "major":
        action = "ledger.opened.major"
    await audit.changed(
        session=session,
        actor=actor,
        action=action,
        target=entry,
        before=before,
        after={
            **(after or {}),
            "reference": entry.reference,
            "risk": entry.risk,
            "unit_id": entry.unit_id,
            "leader_id": entry.resolution_leader_id,
        },
    )


async def create_entry(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: schemas.EntryCreate
) -> LedgerEntry:
    today = ctx.today()
    if actor is not None and actor.role not in WRITERS:
        raise Forbidden(f"{role_label(actor.role)}不能建账")
    if data.found_on > today:
        raise InvalidInput("发现日期晚于今天", field="found_on")
    if data.target_on < data.found_on:
        raise InvalidInput("化解期限早于发现日期", field="target_on")
    if data.review_on is not None and data.review_on < data.found_on:
        raise InvalidInput("复核日期早于发现日期", field="review_on")
    domain = await domain_row(session, data.domain)
    await unit_in_scope(session, actor, data.found_by_unit_id, "found_by_unit_id")
    await unit_in_scope(session, actor, data.unit_id, "unit_id")
    await named_leader(session, actor, data.stability_leader_id, "stability_leader_id")
    await named_leader(session, actor, data.resolution_leader_id, "resolution_leader_id")
    people = _parties(data.parties, today)
    # Every party is one of the people involved: the rule judges the count stored.
    people_count = max(data.people_count, len(people))
    check_risk(ctx, data.risk, people_count, data.amount_disputed)
    review_on = data.review_on or await review_day(session, ctx, today, data.risk)
    year = data.found_on.year
    seq = await next_in_counter(session, LedgerCounter, year=year)
    entry = LedgerEntry(
        reference=f"{ctx.settings.ledger_ref_prefix}〔{year}〕{seq:05d}",
        ref_year=year,
        ref_seq=seq,
        found_on=data.found_on,
        found_by_unit_id=data.found_by_unit_id,
        how_found=data.how_found,
        domain_code=domain.code,
        summary=data.summary,
        people_count=people_count,
        opened_risk=data.risk,
        amount_disputed=data.amount_disputed,
        risk=data.risk,
        unit_id=data.unit_id,
        stability_leader_id=data.stability_leader_id,
        resolution_leader_id=data.resolution_leader_id,
        plan=data.plan,
        target_on=data.target_on,
        review_on=review_on,
        created_by_user_id=actor.user_id if actor else None,
        created_by_name=audit.actor_name(actor),
    )
    session.add(entry)
    await session.flush()
    if entry.id is None:
        raise Broken("expected: entry.id is not None")
    rows = [
        (
            LedgerParty(
                entry_id=entry.id,
                position=i,
                name=who.name,
                id_number_index=pii.blind_id_number(ctx.keys, who.id_number),
                phone_index=pii.blind_phone(ctx.keys, who.phone),
            ),
            who,
        )
        for i, who in enumerate(people)
    ]
    session.add_all([row for row, _ in rows])
    await session.flush()
    for row, who in rows:
        pii.seal(ctx.keys, row, id_number_sealed=who.id_number, phone_sealed=who.phone)
    await record(session, actor, entry, "opened", data.found_on, after=facts(entry, FACTS))
    return entry


# ---------------------------------------------------------------- the list


@dataclass(frozen=True)
class Filters:
    status: str | None = "open"
    domain: str | None = None
    risk: str | None = None
    unit_id: int | None = None
    overdue: bool | None = None
    leader_id: int | None = None
    found_from: date | None = None
    found_to: date | None = None
    q: str | None = None


async def _filtered(
    session: AsyncSession, principal: Principal | None, f: Filters, today: date
) -> Any:
    query = select(LedgerEntry).where(entry_scope(principal))
    if f.status:
        query = query.where(col(LedgerEntry.status) == f.status)
    if f.domain:
        query = query.where(col(LedgerEntry.domain_code) == f.domain)
    if f.risk:
        query = query.where(col(LedgerEntry.risk) == f.risk)
    if f.unit_id is not None:
        unit = await session.get(Unit, f.unit_id)
        if unit is None:
            raise InvalidInput(f"单位 {f.unit_id} 不存在", field="unit_id")
        query = query.where(col(LedgerEntry.unit_id).in_(subtree_ids(unit.path)))
    if f.overdue is not None:
        clause = rules.review_overdue(LedgerEntry, today)
        query = query.where(clause if f.overdue else ~clause)
    if f.leader_id is not None:
        query = query.where(
            or_(
                col(LedgerEntry.stability_leader_id) == f.leader_id,
                col(LedgerEntry.resolution_leader_id) == f.leader_id,
            )
        )
    if f.found_from is not None:
        query = query.where(col(LedgerEntry.found_on) >= f.found_from)
    if f.found_to is not None:
        query = query.where(col(LedgerEntry.found_on) <= f.found_to)
    if f.q:
        query = query.where(col(LedgerEntry.reference).contains(f.q.strip()))
    return query


async def list_entries(
    *,
    session: AsyncSession,
    principal: Principal | None,
    today: date,
    filters: Filters,
    limit: int,
    offset: int,
) -> tuple[list[LedgerEntry], int]:
    query = await _filtered(session, principal, filters, today)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # Open entries by the day they are to be looked at again; the others newest first.
    order = (
        (col(LedgerEntry.review_on), col(LedgerEntry.id))
        if filters.status == "open"
        else (col(LedgerEntry.found_on).desc(), col(LedgerEntry.id).desc())
    )
    rows = await session.scalars(query.order_by(*order).limit(limit).offset(offset))
    return list(rows.all()), total
