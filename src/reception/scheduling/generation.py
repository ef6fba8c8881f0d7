"""Generating a rule's reception sessions (每月20日接访): idempotent, and never touching a
session that a person edited, cancelled or booked into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.context import Context
from reception.db import flush_refused, now_of
from reception.errors import Conflict, InvalidInput
from reception.scheduling import rules, schemas
from reception.scheduling.access import require_manage
from reception.scheduling.models import Appointment, ReceptionRule, ReceptionSession
from reception.scheduling.overlap import named_clash
from reception.scheduling.service import active_venue, get_rule, new_uid, reset_slots
from reception.workcal.service import calendar_around
from reception.workdays import CalendarError, Computed

MAX_GENERATE_YEARS = 3


@dataclass
class Generated:
    created: list[ReceptionSession]
    updated: list[ReceptionSession]
    skipped: list[schemas.GenerateSkip]


@dataclass(frozen=True)
class Planned:
    """Where and when the rule puts its session for one nominal date."""

    nominal: date
    day: Computed
    starts_at: datetime
    ends_at: datetime


async def generate(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    rule_id: int,
    until: date,
) -> Generated:
    """Create the rule's sessions up to `until`. Idempotent.

    A nominal date that already has this rule's session is skipped, except that a session
    nobody has touched (not edited, no appointments, not cancelled) is re-aligned with the
    rule and the calendar — e.g. once the official schedule of a provisional year is in.
    """
    rule = await get_rule(session=session, rule_id=rule_id, principal=actor)
    require_manage(actor, rule.leader_id)
    today = ctx.today()
    if until > date(today.year + MAX_GENERATE_YEARS, today.month, min(today.day, 28)):
        raise InvalidInput(f"最多生成{MAX_GENERATE_YEARS}年内的场次", field="until")
    if not rule.active:
        raise Conflict(f"接访日制度 {rule_id} 已停用")
    await active_venue(session, rule.venue_id)
    result = Generated([], [], [])
    nominal_days = rules.nominal_dates(
        day_of_month=rule.day_of_month,
        valid_from=rule.valid_from,
        valid_to=rule.valid_to,
        until=until,
    )
    if not nominal_days:
        return result
    calendar = await calendar_around(session=session, start=nominal_days[0], end=nominal_days[-1])
    existing = {
        s.rule_date: s
        for s in await session.scalars(
            select(ReceptionSession).where(
                ReceptionSession.rule_id == rule.id,
                col(ReceptionSession.rule_date).in_(nominal_days),
            )
        )
    }
    for nominal in nominal_days:
        try:
            day = rules.reception_day(calendar, nominal, rule.holiday_policy)  # type: ignore[arg-type]
        except CalendarError as exc:
            result.skipped.append(schemas.GenerateSkip(nominal, str(exc)))
            continue
        plan = Planned(
            nominal,
            day,
            rules.local_instant(day.value, rule.start_time, ctx.tz),
            rules.local_instant(day.value, rule.end_time, ctx.tz),
        )
        current = existing.get(nominal)
        if current is None:
            await _create(session, ctx, actor, rule, plan, result)
        else:
            await _realign(session, ctx, actor, rule, current, plan, result)
    return result


async def _create(
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    rule: ReceptionRule,
    plan: Planned,
    result: Generated,
) -> None:
    new = ReceptionSession(
        uid=new_uid(),
        leader_id=rule.leader_id,
        kind="reception",
        rule_id=rule.id,
        rule_date=plan.nominal,
        venue_id=rule.venue_id,
        local_date=plan.day.value,
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        slot_minutes=rule.slot_minutes,
        people_per_slot=rule.people_per_slot,
        provisional=plan.day.provisional,
    )
    refused = await flush_refused(session, new, then=lambda: reset_slots(session, new))
    if refused is not None:
        result.skipped.append(
            schemas.GenerateSkip(plan.nominal, await _why(session, ctx, new, refused))
        )
        return
    await audit.changed(session=session, actor=actor, action="session.generate", target=new)
    result.created.append(new)


def _matches(current: ReceptionSession, rule: ReceptionRule, plan: Planned) -> bool:
    return (
        current.starts_at == plan.starts_at
        and current.ends_at == plan.ends_at
        and current.venue_id == rule.venue_id
        and current.provisional == plan.day.provisional
        and current.slot_minutes == rule.slot_minutes
        and current.people_per_slot == rule.people_per_slot
    )


async def _realign(
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    rule: ReceptionRule,
    current: ReceptionSession,
    plan: Planned,
    result: Generated,
) -> None:
    reason = await _why_kept(session, current)
    if reason is None and _matches(current, rule, plan):
        reason = "已生成"
    if reason:
        result.skipped.append(schemas.GenerateSkip(plan.nominal, reason, current.id))
        return
    before = audit.snapshot(current)
    current.local_date = plan.day.value
    current.starts_at, current.ends_at = plan.starts_at, plan.ends_at
    current.venue_id = rule.venue_id
    current.provisional = plan.day.provisional
    current.slot_minutes = rule.slot_minutes
    current.people_per_slot = rule.people_per_slot
    current.sequence += 1
    current.updated_at = now_of(session)
    exc = await flush_refused(session, then=lambda: reset_slots(session, current))
    if exc is not None:
        await session.refresh(current)
        moved = ReceptionSession(
            id=current.id,
            uid=current.uid,
            leader_id=current.leader_id,
            kind=current.kind,
            local_date=plan.day.value,
            starts_at=plan.starts_at,
            ends_at=plan.ends_at,
        )
        why = await _why(session, ctx, moved, exc)
        result.skipped.append(schemas.GenerateSkip(plan.nominal, why, current.id))
        return
    await audit.changed(
        session=session, actor=actor, action="session.realign", target=current, before=before
    )
    result.updated.append(current)


async def _why(
    session: AsyncSession, ctx: Context, subject: ReceptionSession, exc: IntegrityError
) -> str:
    conflict = await named_clash(session, ctx, subject, exc)
    return conflict.detail if conflict else "已由同时进行的另一请求生成"


async def _why_kept(session: AsyncSession, current: ReceptionSession) -> str | None:
    if current.status == "cancelled":
        return "已取消:保持不变"
    if current.edited:
        return "已被人工调整:保持不变"
    has_appointments = await session.scalar(
        select(func.count()).select_from(Appointment).where(Appointment.session_id == current.id)
    )
    if has_appointments:
        return "已有预约:保持不变"
    return None
