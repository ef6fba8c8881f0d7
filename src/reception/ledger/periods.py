"""重要敏感时期: the periods the admin defines, and the daily 稳控 check-in every open 较大/重大
entry needs during one — given by its 稳控责任人 (or for him by whoever keeps the entry); a day
without one is a missed check-in, which the daily job escalates (notify/jobs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.base import role_label
from reception.cases.models import CaseCategory
from reception.context import Context
from reception.errors import Conflict, Forbidden, InvalidInput, NotFound
from reception.expr import where
from reception.ledger import rules, schemas
from reception.ledger.access import entry_scope, get_entry, may_check_in
from reception.ledger.models import LedgerCheckIn, LedgerEntry, SensitivePeriod
from reception.org.models import Leader, Unit

MAX_PERIOD_DAYS = 366


def period_out(p: SensitivePeriod) -> schemas.PeriodOut:
    return schemas.PeriodOut(
        id=p.id or 0,
        name=p.name,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        note=p.note,
        created_by_name=p.created_by_name,
    )


async def list_periods(*, session: AsyncSession) -> list[SensitivePeriod]:
    return list(
        await session.scalars(
            select(SensitivePeriod).order_by(
                col(SensitivePeriod.starts_on).desc(), col(SensitivePeriod.id)
            )
        )
    )


async def periods_on(session: AsyncSession, day: date) -> list[SensitivePeriod]:
    return list(
        await session.scalars(
            select(SensitivePeriod).where(
                col(SensitivePeriod.starts_on) <= day, col(SensitivePeriod.ends_on) >= day
            )
        )
    )


async def create_period(
    *, session: AsyncSession, actor: Principal | None, data: schemas.PeriodIn, today: date
) -> SensitivePeriod:
    if data.ends_on < data.starts_on:
        raise InvalidInput("结束日期早于开始日期", field="ends_on")
    if data.starts_on < today:
        # Its past days asked for check-ins nobody could give (a check-in is for today).
        raise InvalidInput("开始日期早于今天:敏感时期从今天或以后开始", field="starts_on")
    if (data.ends_on - data.starts_on).days >= MAX_PERIOD_DAYS:
        raise InvalidInput("一个敏感时期不能超过一年", field="ends_on")
    period = SensitivePeriod(
        name=data.name.strip(),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        note=data.note,
        created_by_name=audit.actor_name(actor),
    )
    session.add(period)
    await audit.changed(
        session=session, actor=actor, action="sensitive_period.create", target=period
    )
    return period


async def delete_period(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, period_id: int
) -> None:
    period = await session.get(SensitivePeriod, period_id)
    if period is None:
        raise NotFound(f"敏感时期 {period_id} 不存在")
    if period.starts_on <= ctx.today():
        # Its days already asked for check-ins: the record of who missed one stays.
        raise Conflict(f"“{period.name}”已经开始,不能删除")
    await audit.changed(
        session=session,
        actor=actor,
        action="sensitive_period.delete",
        target=period,
        before=audit.snapshot(period),
        after={},
    )
    await session.delete(period)
    await session.flush()


async def check_in(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    entry_id: int,
    data: schemas.CheckInIn,
) -> LedgerCheckIn:
    today = ctx.today()
    entry = await get_entry(session=session, principal=actor, entry_id=entry_id, for_update=True)
    unit = await session.get(Unit, entry.unit_id)
    if unit is None:
        raise NotFound(f"单位 {entry.unit_id} 不存在")
    if not rules.needs_check_in(entry):
        raise InvalidInput("只有化解中的较大、重大台账需要稳控报告", field="state")
    if not await periods_on(session, today):
        raise InvalidInput("今天不在重要敏感时期内,无需稳控报告", field="state")
    if not may_check_in(actor, entry, unit):
        who = role_label(actor.role) if actor else ""
        raise Forbidden(f"{who}不是这条台账的稳控责任人")
    if data.state == "unrest" and not data.note.strip():
        raise InvalidInput("有异动时请写明情况", field="note")
    row = LedgerCheckIn(
        entry_id=entry.id or 0,
        day=today,
        state=data.state,
        note=data.note.strip(),
        by_user_id=actor.user_id if actor else None,
        by_name=audit.actor_name(actor),
    )
    session.add(row)
    await audit.changed(
        session=session,
        actor=actor,
        action="ledger.check_in.unrest" if data.state == "unrest" else "ledger.check_in",
        target=row,
        after={
            "entry_id": entry.id,
            "reference": entry.reference,
            "day": today.isoformat(),
            "state": data.state,
            "unit_id": entry.unit_id,
            "leader_id": entry.stability_leader_id,
        },
    )
    return row


async def due_check_ins(
    *, session: AsyncSession, ctx: Context, principal: Principal | None
) -> list[schemas.DueCheckIn]:
    """Today's check-ins the caller gives (the phone page): none outside a sensitive period; a
    leader's own entries; a clerk's those he keeps."""
    today = ctx.today()
    if not await periods_on(session, today):
        return []
    query = select(LedgerEntry).where(
        where(rules.needs_check_in, LedgerEntry), entry_scope(principal)
    )
    if principal is not None and principal.role == "leader":
        query = query.where(col(LedgerEntry.stability_leader_id) == principal.leader_id)
    entries = list(
        await session.scalars(query.order_by(col(LedgerEntry.risk).desc(), col(LedgerEntry.id)))
    )
    ids = [e.id for e in entries]
    latest: dict[int, str] = {}
    for entry_id, state in (
        await session.execute(
            select(LedgerCheckIn.entry_id, LedgerCheckIn.state)
            .where(col(LedgerCheckIn.entry_id).in_(ids), LedgerCheckIn.day == today)
            .order_by(col(LedgerCheckIn.id))
        )
    ).all():
        latest[entry_id] = state
    units = {
        u.id or 0: u
        for u in await session.scalars(
            select(Unit).where(col(Unit.id).in_({e.unit_id for e in entries}))
        )
    }
    domains = {c.code: c.name for c in await session.scalars(select(CaseCategory))}
    return [
        schemas.DueCheckIn(
            id=e.id or 0,
            reference=e.reference,
            domain_name=domains.get(e.domain_code, e.domain_code),
            risk_label=rules.RISK_LABELS[e.risk],
            summary=e.summary,
            unit_name=units[e.unit_id].name,
            checked_in=(e.id or 0) in latest,
            last_state=rules.CHECK_STATE_LABELS.get(latest.get(e.id or 0, ""), ""),
        )
        for e in entries
        if may_check_in(principal, e, units[e.unit_id])
    ]


@dataclass(frozen=True)
class Missed:
    """An entry that went a sensitive period's day without a check-in."""

    entry: LedgerEntry
    unit_name: str
    leader_name: str
    period: str


async def missed_check_ins(session: AsyncSession, day: date, entered_by: datetime) -> list[Missed]:
    """The entries that needed a check-in on `day` (a day of a sensitive period on which they
    were open, 较大/重大, and on the ledger by the day's end, `entered_by`) and got none."""
    periods = await periods_on(session, day)
    if not periods:
        return []
    checked = exists().where(
        col(LedgerCheckIn.entry_id) == col(LedgerEntry.id), col(LedgerCheckIn.day) == day
    )
    rows = (
        await session.execute(
            select(LedgerEntry, Unit.name, Leader.name)
            .join(Unit, col(Unit.id) == col(LedgerEntry.unit_id))
            .join(Leader, col(Leader.id) == col(LedgerEntry.stability_leader_id))
            .where(
                where(rules.open_on, LedgerEntry, day),
                col(LedgerEntry.created_at) < entered_by,
                col(LedgerEntry.risk).in_(rules.WATCHED_RISKS),
                ~checked,
            )
            .order_by(col(LedgerEntry.id))
        )
    ).all()
    name = "、".join(p.name for p in periods)
    return [Missed(entry, unit, leader, name) for entry, unit, leader in rows]


async def overdue_reviews(session: AsyncSession, today: date) -> list[tuple[LedgerEntry, str]]:
    """Open entries past their review date, with their unit's name (the daily escalation)."""
    rows = (
        await session.execute(
            select(LedgerEntry, Unit.name)
            .join(Unit, col(Unit.id) == col(LedgerEntry.unit_id))
            .where(where(rules.review_overdue, LedgerEntry, today))
            .order_by(col(LedgerEntry.id))
        )
    ).all()
    return [(entry, unit) for entry, unit in rows]
