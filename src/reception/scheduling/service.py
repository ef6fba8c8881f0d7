"""Reception rules and sessions: create, move, cancel, hold. Plain functions that flush, never
commit.

Overlap is enforced by the database (exclusion constraint, SQLite triggers) and capacity by a
CHECK: the checks here give people a clear message; they do not guard correctness.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import msgspec
from sqlalchemy import func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.context import Context
from reception.db import now_of, paginate
from reception.errors import Broken, Conflict, InvalidInput, NotFound
from reception.org.access import in_subtree, visible_leader_ids
from reception.org.models import Leader, Unit, Venue
from reception.scheduling import rules, schemas
from reception.scheduling.access import (
    check_if_match,
    get_session,
    get_session_for_write,
    require_manage,
    session_scope,
)
from reception.scheduling.models import Appointment, ReceptionRule, ReceptionSession, SessionSlot
from reception.scheduling.overlap import guarded_flush
from reception.workcal.service import calendar_around


def new_uid() -> str:
    return f"{uuid.uuid4()}@reception"


async def active_venue(session: AsyncSession, venue_id: int) -> Venue:
    venue = await session.get(Venue, venue_id)
    if venue is None:
        raise InvalidInput(f"接访场所 {venue_id} 不存在", field="venue_id")
    if not venue.active:
        raise InvalidInput(f"接访场所 {venue_id}({venue.name})已停用", field="venue_id")
    return venue


async def active_leader(session: AsyncSession, leader_id: int) -> Leader:
    leader = await session.get(Leader, leader_id)
    if leader is None:
        raise InvalidInput(f"领导 {leader_id} 不存在", field="leader_id")
    if not leader.active:
        raise InvalidInput(f"领导 {leader_id} 已停用", field="leader_id")
    return leader


# ---------------------------------------------------------------- rules


def _check_rule_shape(rule: ReceptionRule) -> None:
    if rule.end_time <= rule.start_time:
        raise InvalidInput("结束时间须晚于开始时间", field="end_time")
    minutes = (
        datetime.combine(date.min, rule.end_time) - datetime.combine(date.min, rule.start_time)
    ) / timedelta(minutes=1)
    if minutes < rule.slot_minutes:
        raise InvalidInput("场次时长不足一个时段", field="slot_minutes")
    if rule.valid_to is not None and rule.valid_to < rule.valid_from:
        raise InvalidInput("停止日期早于生效日期", field="valid_to")


async def create_rule(
    *, session: AsyncSession, actor: Principal | None, data: schemas.RuleCreate
) -> ReceptionRule:
    await active_leader(session, data.leader_id)
    require_manage(actor, data.leader_id)
    await active_venue(session, data.venue_id)
    fields = msgspec.structs.asdict(data)
    fields["start_time"] = time.fromisoformat(data.start_time)
    fields["end_time"] = time.fromisoformat(data.end_time)
    rule = ReceptionRule(**fields)
    _check_rule_shape(rule)
    session.add(rule)
    await audit.changed(session=session, actor=actor, action="rule.create", target=rule)
    return rule


async def get_rule(
    *, session: AsyncSession, rule_id: int, principal: Principal | None
) -> ReceptionRule:
    query = select(ReceptionRule).where(ReceptionRule.id == rule_id)
    if principal is not None:
        query = query.where(col(ReceptionRule.leader_id).in_(visible_leader_ids(principal)))
    rule = await session.scalar(query)
    if rule is None:
        raise NotFound(f"接访日制度 {rule_id} 不存在")
    return rule


async def list_rules(
    *,
    session: AsyncSession,
    principal: Principal,
    limit: int,
    offset: int,
    leader_id: int | None = None,
    active: bool | None = None,
) -> tuple[list[ReceptionRule], int]:
    query = select(ReceptionRule).where(
        col(ReceptionRule.leader_id).in_(visible_leader_ids(principal))
    )
    if leader_id is not None:
        query = query.where(ReceptionRule.leader_id == leader_id)
    if active is not None:
        query = query.where(ReceptionRule.active == active)
    return await paginate(session, query, col(ReceptionRule.id), limit=limit, offset=offset)


async def update_rule(
    *, session: AsyncSession, actor: Principal, rule_id: int, data: schemas.RuleUpdate
) -> ReceptionRule:
    rule = await get_rule(session=session, rule_id=rule_id, principal=actor)
    require_manage(actor, rule.leader_id)
    before = audit.snapshot(rule)
    changes = data.changes()
    if not changes:
        raise InvalidInput("没有要修改的内容", field="body")
    if "venue_id" in changes:
        await active_venue(session, changes["venue_id"])
    for name in ("start_time", "end_time"):
        if name in changes:
            changes[name] = time.fromisoformat(changes[name])
    for name, value in changes.items():
        setattr(rule, name, value)
    _check_rule_shape(rule)
    rule.updated_at = now_of(session)
    await audit.changed(
        session=session, actor=actor, action="rule.update", target=rule, before=before
    )
    return rule


async def reset_slots(session: AsyncSession, subject: ReceptionSession) -> None:
    """Lay out a reception session's slots anew; refuses if booked slots would be lost.

    Slot i keeps its appointments and moves to the session's new i-th slot time.
    """
    if subject.kind != "reception":
        return
    if not subject.slot_minutes or not subject.people_per_slot or not subject.id:
        raise Broken("expected: subject.slot_minutes and subject.people_per_slot and subject.id")
    starts = rules.slot_starts(subject.starts_at, subject.ends_at, subject.slot_minutes)
    if not starts:
        raise InvalidInput("场次时长不足一个时段", field="ends_at")
    step = timedelta(minutes=subject.slot_minutes)
    slots = {
        s.slot_index: s
        for s in await session.scalars(
            select(SessionSlot).where(SessionSlot.session_id == subject.id)
        )
    }
    for index, slot in sorted(slots.items()):
        if index >= len(starts):
            if slot.booked:
                raise Conflict(
                    f"时段 {index} 已有 {slot.booked} 人预约,调整后的场次只有 {len(starts)} 个时段,"
                    f"容不下:请先改约或取消这些预约",
                    slot_index=index,
                )
            await session.delete(slot)
        else:
            slot.starts_at, slot.ends_at = starts[index], starts[index] + step
    for index, start in enumerate(starts):
        if index not in slots:
            session.add(
                SessionSlot(
                    session_id=subject.id,
                    slot_index=index,
                    starts_at=start,
                    ends_at=start + step,
                    capacity=subject.people_per_slot,
                )
            )
    await session.flush()


# ---------------------------------------------------------------- sessions


async def _check_place(
    session: AsyncSession, *, kind: str, venue_id: int | None, unit_id: int | None, address: str
) -> None:
    if kind == "reception":
        if venue_id is None:
            raise InvalidInput("接访场次须指定接访场所", field="venue_id")
        await active_venue(session, venue_id)
    else:
        if unit_id is None and not address.strip():
            raise InvalidInput("下访须指定单位或地址", field="unit_id")
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise InvalidInput(f"单位 {unit_id} 不存在", field="unit_id")


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput("结束时间须晚于开始时间", field="ends_at")
    if ends_at - starts_at > timedelta(hours=24):
        raise InvalidInput("一个场次最长24小时", field="ends_at")


def _check_move(subject: ReceptionSession, action: str) -> None:
    refused = rules.session_move_refused(subject.status, action)
    if refused:
        raise Conflict(f"该场次{refused}")


async def create_session(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: schemas.SessionCreate
) -> ReceptionSession:
    await active_leader(session, data.leader_id)
    require_manage(actor, data.leader_id)
    _check_times(data.starts_at, data.ends_at)
    await _check_place(
        session,
        kind=data.kind,
        venue_id=data.venue_id,
        unit_id=data.unit_id,
        address=data.address,
    )
    is_reception = data.kind == "reception"
    subject = ReceptionSession(
        uid=new_uid(),
        leader_id=data.leader_id,
        kind=data.kind,
        venue_id=data.venue_id,
        unit_id=data.unit_id,
        address=data.address,
        purpose=data.purpose,
        local_date=ctx.local(data.starts_at).date(),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        slot_minutes=data.slot_minutes if is_reception else None,
        people_per_slot=data.people_per_slot if is_reception else None,
        edited=True,
    )
    session.add(subject)
    await guarded_flush(session, ctx, subject)
    await reset_slots(session, subject)
    await audit.changed(session=session, actor=actor, action="session.create", target=subject)
    return subject


async def list_sessions(
    *,
    session: AsyncSession,
    principal: Principal,
    limit: int,
    offset: int,
    leader_id: int | None = None,
    unit_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> tuple[list[ReceptionSession], int]:
    query = select(ReceptionSession).where(session_scope(principal))
    if leader_id is not None:
        query = query.where(ReceptionSession.leader_id == leader_id)
    if unit_id is not None:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise InvalidInput(f"单位 {unit_id} 不存在", field="unit_id")
        units = select(Unit.id).where(in_subtree(col(Unit.path), unit.path))
        query = query.where(
            or_(
                col(ReceptionSession.leader_id).in_(
                    select(Leader.id).where(col(Leader.unit_id).in_(units))
                ),
                col(ReceptionSession.unit_id).in_(units),
            )
        )
    if kind:
        query = query.where(ReceptionSession.kind == kind)
    if status:
        query = query.where(ReceptionSession.status == status)
    if date_from:
        query = query.where(col(ReceptionSession.local_date) >= date_from)
    if date_to:
        query = query.where(col(ReceptionSession.local_date) <= date_to)
    return await paginate(
        session,
        query,
        col(ReceptionSession.starts_at),
        col(ReceptionSession.id),
        limit=limit,
        offset=offset,
    )


async def move_session(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal,
    session_id: int,
    data: schemas.SessionMove,
    if_match: str | None = None,
) -> ReceptionSession:
    subject = await get_session_for_write(session=session, session_id=session_id, actor=actor)
    check_if_match(subject, if_match)
    _check_move(subject, "move")
    changes = data.changes()
    force = changes.pop("force", False)
    if not changes:
        raise InvalidInput("没有要修改的内容", field="body")
    before = audit.snapshot(subject)
    starts_at = changes.get("starts_at", subject.starts_at)
    ends_at = changes.get("ends_at", subject.ends_at)
    if "starts_at" in changes and "ends_at" not in changes:
        ends_at = starts_at + (subject.ends_at - subject.starts_at)
    _check_times(starts_at, ends_at)
    await _check_place(
        session,
        kind=subject.kind,
        venue_id=changes.get("venue_id", subject.venue_id),
        unit_id=changes.get("unit_id", subject.unit_id),
        address=changes.get("address", subject.address),
    )
    forced = await _check_booked_move(session, ctx, subject, starts_at, force=force)
    subject.starts_at, subject.ends_at = starts_at, ends_at
    subject.local_date = ctx.local(starts_at).date()
    for name in ("venue_id", "unit_id", "address", "purpose"):
        if name in changes:
            setattr(subject, name, changes[name])
    # A date chosen by a person is not a calendar estimate.
    subject.provisional = False
    subject.edited = True
    subject.sequence += 1
    subject.updated_at = now_of(session)
    await guarded_flush(session, ctx, subject)
    await reset_slots(session, subject)
    await audit.changed(
        session=session,
        actor=actor,
        action="session.move.forced" if forced else "session.move",
        target=subject,
        before=before,
        after={**(audit.snapshot(subject) or {}), "forced_over": forced} if forced else None,
    )
    return subject


async def _check_booked_move(
    session: AsyncSession,
    ctx: Context,
    subject: ReceptionSession,
    starts_at: datetime,
    *,
    force: bool,
) -> list[str]:
    """A session with live appointments is not moved to a non-working day or into the past
    unless the request says `force` (then what it overrode is returned, for the audit)."""
    if starts_at == subject.starts_at:
        return []
    live = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.session_id == subject.id,
            rules.holds_place(col(Appointment.status)),
        )
    )
    if not live:
        return []
    day = ctx.local(starts_at).date()
    calendar = await calendar_around(session=session, start=day, end=day)
    problems = []
    if not calendar.is_workday(day):
        problems.append(f"{day.isoformat()} 不是工作日")
    if starts_at < ctx.now():
        problems.append("新的时间已经过去")
    if problems and not force:
        raise InvalidInput(
            f"场次已有 {live} 个预约,{';'.join(problems)}:确需这样调整,请加上 force: true",
            field="starts_at",
        )
    return problems


async def cancel_session(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    session_id: int,
    reason: str,
    if_match: str | None = None,
) -> tuple[ReceptionSession, list[Appointment]]:
    """Cancel a session and every appointment still holding a place in it (the call list)."""
    subject = await get_session_for_write(session=session, session_id=session_id, actor=actor)
    check_if_match(subject, if_match)
    _check_move(subject, "cancel")
    before = audit.snapshot(subject)
    now = ctx.now()
    by = audit.actor_name(actor)
    subject.status = "cancelled"
    subject.cancelled_at = now
    subject.cancelled_by_name = by
    subject.cancel_reason = reason
    subject.sequence += 1
    subject.edited = True
    subject.updated_at = now_of(session)
    live = list(
        await session.scalars(
            select(Appointment)
            .where(
                Appointment.session_id == session_id,
                rules.holds_place(col(Appointment.status)),
            )
            .order_by(col(Appointment.id))
        )
    )
    for appointment in live:
        appointment.status = "cancelled"
        appointment.cancelled_at = now
        appointment.cancelled_by_name = by
        appointment.cancel_reason = f"接访场次取消:{reason}"
        appointment.status_changed_at = now
        appointment.updated_at = now_of(session)
    await session.execute(
        update(SessionSlot).where(col(SessionSlot.session_id) == session_id).values(booked=0)
    )
    await audit.changed(
        session=session,
        actor=actor,
        action="session.cancel",
        target=subject,
        before=before,
        after={**(audit.snapshot(subject) or {}), "cancelled_appointments": [a.id for a in live]},
    )
    return subject, live


async def hold_session(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    session_id: int,
    outcome: str,
) -> ReceptionSession:
    """Mark a session held (接访/下访 took place), with its outcome: its leader's secretaries,
    admins, and the leader himself."""
    visible = await get_session(session=session, session_id=session_id, principal=actor)
    own = actor is not None and actor.role == "leader" and actor.leader_id == visible.leader_id
    if not own:
        require_manage(actor, visible.leader_id)
    # The permission is checked; now take the row lock the change needs.
    subject = await get_session_for_write(session=session, session_id=session_id, actor=None)
    _check_move(subject, "hold")
    if subject.starts_at > ctx.now():
        raise Conflict("该场次还没有开始,不能登记为已举行")
    before = audit.snapshot(subject)
    subject.status = "held"
    subject.outcome = outcome
    subject.updated_at = now_of(session)
    await audit.changed(
        session=session, actor=actor, action="session.hold", target=subject, before=before
    )
    return subject


async def scheduled_between(
    session: AsyncSession, first: date, last: date
) -> list[tuple[int, date, str]]:
    """Scheduled sessions from `first` to `last` (local days) with their leader's name, in date
    order (the calendar import's preview: which would fall on a day off)."""
    rows = await session.execute(
        select(col(ReceptionSession.id), col(ReceptionSession.local_date), col(Leader.name))
        .join(Leader, col(Leader.id) == col(ReceptionSession.leader_id))
        .where(
            ReceptionSession.status == "scheduled",
            col(ReceptionSession.local_date).between(first, last),
        )
        .order_by(col(ReceptionSession.local_date))
    )
    return [(int(i or 0), d, name) for i, d, name in rows.all()]
