"""Reception rules, sessions and appointments: plain functions that flush, never commit.

Capacity and overlap are enforced by the database (CHECK, exclusion constraint, triggers);
the checks here exist to give people a clear message, not to guard correctness.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import idempotency
from reception.audit import service as audit
from reception.auth import Principal
from reception.config import local_tz
from reception.db import paginate, utcnow
from reception.errors import Conflict, Forbidden, InvalidInput, NotFound, require_match
from reception.org.models import Leader, Unit, Venue
from reception.org.service import leader_scope, subtree_unit_ids
from reception.privacy import mask_id_number, mask_name, mask_phone, valid_id_number, valid_phone
from reception.scheduling import rules, schemas
from reception.scheduling.models import Appointment, ReceptionRule, ReceptionSession, SessionSlot
from reception.workcal.service import calendar_around
from reception.workdays import CalendarError

OVERLAP_GUARD = "no_overlap"
MAX_GENERATE_YEARS = 3


def _actor_name(actor: Principal | None) -> str:
    return actor.name if actor else audit.CLI_ACTOR


def new_uid() -> str:
    return f"{uuid.uuid4()}@reception"


# ---------------------------------------------------------------- access


def visible_leader_ids(principal: Principal) -> Any:
    return select(Leader.id).where(leader_scope(principal))


def require_manage(principal: Principal | None, leader_id: int) -> None:
    """Booking, moving and cancelling: admins, and secretaries for their linked leaders."""
    if principal is None or principal.may_act_for_leader(leader_id):
        return
    if principal.role == "secretary":
        raise Forbidden(f"You are not linked to leader {leader_id}: ask an admin to link you")
    raise Forbidden(f"Role '{principal.role}' cannot change reception schedules")


# ---------------------------------------------------------------- rules


async def _venue(session: AsyncSession, venue_id: int) -> Venue:
    venue = await session.get(Venue, venue_id)
    if venue is None:
        raise InvalidInput(f"Venue {venue_id} does not exist", field="venue_id")
    if not venue.active:
        raise InvalidInput(f"Venue {venue_id} ({venue.name}) is deactivated", field="venue_id")
    return venue


async def _leader(session: AsyncSession, leader_id: int) -> Leader:
    leader = await session.get(Leader, leader_id)
    if leader is None:
        raise InvalidInput(f"Leader {leader_id} does not exist", field="leader_id")
    if not leader.active:
        raise InvalidInput(f"Leader {leader_id} is deactivated", field="leader_id")
    return leader


def _check_rule_shape(rule: ReceptionRule) -> None:
    if rule.end_time <= rule.start_time:
        raise InvalidInput("end_time must be after start_time", field="end_time")
    minutes = (
        datetime.combine(date.min, rule.end_time) - datetime.combine(date.min, rule.start_time)
    ) / timedelta(minutes=1)
    if minutes < rule.slot_minutes:
        raise InvalidInput("The session is shorter than one slot", field="slot_minutes")
    if rule.valid_to is not None and rule.valid_to < rule.valid_from:
        raise InvalidInput("valid_to is before valid_from", field="valid_to")


async def create_rule(
    *, session: AsyncSession, actor: Principal | None, data: schemas.RuleCreate
) -> ReceptionRule:
    await _leader(session, data.leader_id)
    require_manage(actor, data.leader_id)
    await _venue(session, data.venue_id)
    fields = msgspec.structs.asdict(data)
    fields["start_time"] = time.fromisoformat(data.start_time)
    fields["end_time"] = time.fromisoformat(data.end_time)
    rule = ReceptionRule(**fields)
    _check_rule_shape(rule)
    session.add(rule)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="rule.create",
        target_type="reception_rule",
        target_id=rule.id,
        after=audit.snapshot(rule),
    )
    return rule


async def get_rule(
    *, session: AsyncSession, rule_id: int, principal: Principal | None
) -> ReceptionRule:
    query = select(ReceptionRule).where(ReceptionRule.id == rule_id)
    if principal is not None:
        query = query.where(col(ReceptionRule.leader_id).in_(visible_leader_ids(principal)))
    rule = await session.scalar(query)
    if rule is None:
        raise NotFound(f"Reception rule {rule_id} does not exist")
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
    if "venue_id" in changes:
        await _venue(session, changes["venue_id"])
    for name in ("start_time", "end_time"):
        if name in changes:
            changes[name] = time.fromisoformat(changes[name])
    for name, value in changes.items():
        setattr(rule, name, value)
    _check_rule_shape(rule)
    rule.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="rule.update",
        target_type="reception_rule",
        target_id=rule.id,
        before=before,
        after=audit.snapshot(rule),
    )
    return rule


@dataclass
class Generated:
    created: list[ReceptionSession]
    updated: list[ReceptionSession]
    skipped: list[schemas.GenerateSkip]


async def generate(
    *,
    session: AsyncSession,
    actor: Principal | None,
    rule_id: int,
    until: date,
    today: date | None = None,
) -> Generated:
    """Create the rule's sessions up to `until`. Idempotent.

    A nominal date that already has this rule's session is skipped, except that a session
    nobody has touched (not edited, no appointments, not cancelled) is re-aligned with the
    rule and the calendar — e.g. once the official schedule of a provisional year is in.
    """
    rule = await get_rule(session=session, rule_id=rule_id, principal=actor)
    require_manage(actor, rule.leader_id)
    today = today or datetime.now(local_tz()).date()
    if until > date(today.year + MAX_GENERATE_YEARS, today.month, min(today.day, 28)):
        raise InvalidInput(f"Generate at most {MAX_GENERATE_YEARS} years ahead", field="until")
    if not rule.active:
        raise Conflict(f"Reception rule {rule_id} is deactivated")
    venue = await _venue(session, rule.venue_id)
    days = rules.nominal_dates(
        day_of_month=rule.day_of_month,
        valid_from=rule.valid_from,
        valid_to=rule.valid_to,
        until=until,
    )
    result = Generated([], [], [])
    if not days:
        return result
    calendar = await calendar_around(session=session, start=days[0], end=days[-1])
    existing = {
        s.rule_date: s
        for s in await session.scalars(
            select(ReceptionSession).where(
                ReceptionSession.rule_id == rule.id, col(ReceptionSession.rule_date).in_(days)
            )
        )
    }
    tz = local_tz()
    for nominal in days:
        try:
            computed = rules.reception_day(calendar, nominal, rule.holiday_policy)  # type: ignore[arg-type]
        except CalendarError as exc:
            result.skipped.append(schemas.GenerateSkip(nominal, str(exc)))
            continue
        starts_at = rules.local_instant(computed.value, rule.start_time, tz)
        ends_at = rules.local_instant(computed.value, rule.end_time, tz)
        current = existing.get(nominal)
        if current is not None:
            reason = await _why_kept(session, current)
            if reason:
                result.skipped.append(schemas.GenerateSkip(nominal, reason, current.id))
                continue
            same = (
                current.starts_at == starts_at
                and current.ends_at == ends_at
                and current.venue_id == rule.venue_id
                and current.provisional == computed.provisional
                and current.slot_minutes == rule.slot_minutes
                and current.people_per_slot == rule.people_per_slot
            )
            if same:
                result.skipped.append(
                    schemas.GenerateSkip(nominal, "already generated", current.id)
                )
                continue
            before = audit.snapshot(current)
            try:
                async with session.begin_nested():
                    current.local_date = computed.value
                    current.starts_at, current.ends_at = starts_at, ends_at
                    current.venue_id = rule.venue_id
                    current.provisional = computed.provisional
                    current.slot_minutes, current.people_per_slot = (
                        rule.slot_minutes,
                        rule.people_per_slot,
                    )
                    current.sequence += 1
                    current.updated_at = utcnow()
                    await session.flush()
                    await _reset_slots(session, current)
            except IntegrityError as exc:
                await session.refresh(current)
                result.skipped.append(
                    schemas.GenerateSkip(
                        nominal,
                        await _clash_message(session, current, exc, starts_at, ends_at),
                        current.id,
                    )
                )
                continue
            await audit.record(
                session=session,
                actor=actor,
                action="session.realign",
                target_type="reception_session",
                target_id=current.id,
                before=before,
                after=audit.snapshot(current),
            )
            result.updated.append(current)
            continue
        new = ReceptionSession(
            uid=new_uid(),
            leader_id=rule.leader_id,
            kind="reception",
            rule_id=rule.id,
            rule_date=nominal,
            venue_id=venue.id,
            local_date=computed.value,
            starts_at=starts_at,
            ends_at=ends_at,
            slot_minutes=rule.slot_minutes,
            people_per_slot=rule.people_per_slot,
            provisional=computed.provisional,
        )
        try:
            async with session.begin_nested():
                session.add(new)
                await session.flush()
                await _reset_slots(session, new)
        except IntegrityError as exc:
            message = await _clash_message(session, new, exc, starts_at, ends_at)
            result.skipped.append(schemas.GenerateSkip(nominal, message))
            continue
        await audit.record(
            session=session,
            actor=actor,
            action="session.generate",
            target_type="reception_session",
            target_id=new.id,
            after=audit.snapshot(new),
        )
        result.created.append(new)
    return result


async def _why_kept(session: AsyncSession, current: ReceptionSession) -> str | None:
    if current.status == "cancelled":
        return "cancelled: left as it is"
    if current.edited:
        return "edited by a person: left as it is"
    has_appointments = await session.scalar(
        select(func.count()).select_from(Appointment).where(Appointment.session_id == current.id)
    )
    if has_appointments:
        return "has appointments: left as it is"
    return None


async def _clash_message(
    session: AsyncSession,
    subject: ReceptionSession,
    exc: IntegrityError,
    starts_at: datetime,
    ends_at: datetime,
) -> str:
    if OVERLAP_GUARD not in str(exc.orig):
        return "already generated by a concurrent request"
    async with AsyncSession(session.bind) as probe:
        other = await find_clash(
            session=probe,
            leader_id=subject.leader_id,
            starts_at=starts_at,
            ends_at=ends_at,
            exclude_id=subject.id,
        )
    return _clash_text(other)


def _clash_text(other: ReceptionSession | None) -> str:
    if other is None:
        return "overlaps another session of this leader"
    local = other.starts_at.astimezone(local_tz())
    kind = "接访" if other.kind == "reception" else "下访"
    return (
        f"overlaps session {other.id} ({kind}, {local:%Y-%m-%d %H:%M}–"
        f"{other.ends_at.astimezone(local_tz()):%H:%M}) of the same leader"
    )


# ---------------------------------------------------------------- sessions


async def find_clash(
    *,
    session: AsyncSession,
    leader_id: int,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
) -> ReceptionSession | None:
    query = select(ReceptionSession).where(
        ReceptionSession.leader_id == leader_id,
        ReceptionSession.status != "cancelled",
        col(ReceptionSession.starts_at) < ends_at,
        col(ReceptionSession.ends_at) > starts_at,
    )
    if exclude_id is not None:
        query = query.where(ReceptionSession.id != exclude_id)
    return await session.scalar(query.order_by(col(ReceptionSession.starts_at)).limit(1))


async def _guarded_flush(session: AsyncSession, subject: ReceptionSession) -> None:
    """Flush a new or moved session; an overlap refused by the database becomes a 409."""
    other = await find_clash(
        session=session,
        leader_id=subject.leader_id,
        starts_at=subject.starts_at,
        ends_at=subject.ends_at,
        exclude_id=subject.id,
    )
    if other is not None and subject.status != "cancelled":
        raise Conflict(_clash_text(other), other_session_id=other.id)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if OVERLAP_GUARD in str(exc.orig):
            # A concurrent writer won the race; this transaction is spent, so name the
            # winner from a fresh one (it has committed: the constraint waited for it).
            async with AsyncSession(session.bind) as probe:
                other = await find_clash(
                    session=probe,
                    leader_id=subject.leader_id,
                    starts_at=subject.starts_at,
                    ends_at=subject.ends_at,
                    exclude_id=subject.id,
                )
            raise Conflict(
                _clash_text(other), other_session_id=other.id if other else None
            ) from exc
        raise


async def _reset_slots(session: AsyncSession, subject: ReceptionSession) -> None:
    """Lay out a reception session's slots anew; refuses if booked slots would be lost.

    Slot i keeps its appointments and moves to the session's new i-th slot time.
    """
    if subject.kind != "reception":
        return
    assert subject.slot_minutes and subject.people_per_slot and subject.id
    starts = rules.slot_starts(subject.starts_at, subject.ends_at, subject.slot_minutes)
    if not starts:
        raise InvalidInput("The session is shorter than one slot", field="ends_at")
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
                    f"Slot {index + 1} has {slot.booked} booked place(s) that would not fit in "
                    f"the moved session ({len(starts)} slots): move or cancel them first",
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


async def _check_place(
    session: AsyncSession, *, kind: str, venue_id: int | None, unit_id: int | None, address: str
) -> None:
    if kind == "reception":
        if venue_id is None:
            raise InvalidInput("A reception session takes place at a venue", field="venue_id")
        await _venue(session, venue_id)
    else:
        if unit_id is None and not address.strip():
            raise InvalidInput("A field visit goes to a unit or an address", field="unit_id")
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise InvalidInput(f"Unit {unit_id} does not exist", field="unit_id")


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")
    if ends_at - starts_at > timedelta(hours=24):
        raise InvalidInput("A session lasts at most 24 hours", field="ends_at")


async def create_session(
    *, session: AsyncSession, actor: Principal | None, data: schemas.SessionCreate
) -> ReceptionSession:
    await _leader(session, data.leader_id)
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
        local_date=data.starts_at.astimezone(local_tz()).date(),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        slot_minutes=data.slot_minutes if is_reception else None,
        people_per_slot=data.people_per_slot if is_reception else None,
        edited=True,
    )
    session.add(subject)
    await _guarded_flush(session, subject)
    await _reset_slots(session, subject)
    await audit.record(
        session=session,
        actor=actor,
        action="session.create",
        target_type="reception_session",
        target_id=subject.id,
        after=audit.snapshot(subject),
    )
    return subject


def session_scope(principal: Principal) -> ColumnElement[bool]:
    return col(ReceptionSession.leader_id).in_(visible_leader_ids(principal))


async def get_session(
    *, session: AsyncSession, session_id: int, principal: Principal | None
) -> ReceptionSession:
    query = select(ReceptionSession).where(ReceptionSession.id == session_id)
    if principal is not None:
        query = query.where(session_scope(principal))
    subject = await session.scalar(query)
    if subject is None:
        raise NotFound(f"Session {session_id} does not exist")
    return subject


async def get_session_for_write(
    *, session: AsyncSession, session_id: int, actor: Principal | None
) -> ReceptionSession:
    """A session to change: 404 if the caller cannot see it, 403 if they cannot change it."""
    query = select(ReceptionSession).where(ReceptionSession.id == session_id)
    subject = await session.scalar(query.with_for_update())
    if subject is None:
        raise NotFound(f"Session {session_id} does not exist")
    require_manage(actor, subject.leader_id)
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
            raise InvalidInput(f"Unit {unit_id} does not exist", field="unit_id")
        units = subtree_unit_ids(unit.path)
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


def session_etag(subject: ReceptionSession) -> str:
    """Changes with every move, cancellation or record of the session (not with bookings)."""
    stamp = int(subject.updated_at.timestamp() * 1_000_000)
    return f'"session-{subject.id}-{subject.sequence}-{stamp}"'


def check_if_match(subject: ReceptionSession, if_match: str | None) -> None:
    require_match(session_etag(subject), if_match, f"Session {subject.id}")


async def move_session(
    *,
    session: AsyncSession,
    actor: Principal,
    session_id: int,
    data: schemas.SessionMove,
    if_match: str | None = None,
) -> ReceptionSession:
    subject = await get_session_for_write(session=session, session_id=session_id, actor=actor)
    check_if_match(subject, if_match)
    if subject.status != "scheduled":
        raise Conflict(f"Session {session_id} is {subject.status}: it cannot be moved")
    changes = data.changes()
    if not changes:
        raise InvalidInput("Nothing to change", field="body")
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
    subject.starts_at, subject.ends_at = starts_at, ends_at
    subject.local_date = starts_at.astimezone(local_tz()).date()
    for name in ("venue_id", "unit_id", "address", "purpose"):
        if name in changes:
            setattr(subject, name, changes[name])
    # A date chosen by a person is not a calendar estimate.
    subject.provisional = False
    subject.edited = True
    subject.sequence += 1
    subject.updated_at = utcnow()
    await _guarded_flush(session, subject)
    await _reset_slots(session, subject)
    await audit.record(
        session=session,
        actor=actor,
        action="session.move",
        target_type="reception_session",
        target_id=subject.id,
        before=before,
        after=audit.snapshot(subject),
    )
    return subject


async def cancel_session(
    *,
    session: AsyncSession,
    actor: Principal | None,
    session_id: int,
    reason: str,
    if_match: str | None = None,
) -> tuple[ReceptionSession, list[Appointment]]:
    subject = await get_session_for_write(session=session, session_id=session_id, actor=actor)
    check_if_match(subject, if_match)
    if subject.status == "cancelled":
        raise Conflict(f"Session {session_id} is already cancelled")
    if subject.status == "held":
        raise Conflict(f"Session {session_id} has taken place: it cannot be cancelled")
    before = audit.snapshot(subject)
    now = utcnow()
    subject.status = "cancelled"
    subject.cancelled_at = now
    subject.cancelled_by_name = _actor_name(actor)
    subject.cancel_reason = reason
    subject.sequence += 1
    subject.edited = True
    subject.updated_at = now
    live = list(
        await session.scalars(
            select(Appointment)
            .where(
                Appointment.session_id == session_id,
                col(Appointment.status).in_(["booked", "checked_in"]),
            )
            .order_by(col(Appointment.id))
        )
    )
    for appointment in live:
        appointment.status = "cancelled"
        appointment.cancelled_at = now
        appointment.cancelled_by_name = _actor_name(actor)
        appointment.cancel_reason = f"接访场次取消:{reason}"
        appointment.status_changed_at = now
        appointment.updated_at = now
    await session.execute(
        update(SessionSlot).where(col(SessionSlot.session_id) == session_id).values(booked=0)
    )
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="session.cancel",
        target_type="reception_session",
        target_id=subject.id,
        before=before,
        after={**(audit.snapshot(subject) or {}), "cancelled_appointments": [a.id for a in live]},
    )
    return subject, live


async def hold_session(
    *, session: AsyncSession, actor: Principal | None, session_id: int, outcome: str
) -> ReceptionSession:
    """Mark a session held (接访/下访 took place), with its outcome."""
    subject = await get_session(session=session, session_id=session_id, principal=actor)
    own_visit = (
        actor is not None and actor.role == "leader" and actor.leader_id == subject.leader_id
    )
    if not own_visit:
        require_manage(actor, subject.leader_id)
    if subject.status != "scheduled":
        raise Conflict(f"Session {session_id} is {subject.status}")
    if subject.starts_at > utcnow():
        raise Conflict(f"Session {session_id} has not started yet")
    before = audit.snapshot(subject)
    subject.status = "held"
    subject.outcome = outcome
    subject.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="session.hold",
        target_type="reception_session",
        target_id=subject.id,
        before=before,
        after=audit.snapshot(subject),
    )
    return subject


async def session_rows(
    *, session: AsyncSession, subjects: list[ReceptionSession]
) -> list[schemas.SessionRead]:
    """Response bodies for sessions, with leader and venue names and booking totals."""
    if not subjects:
        return []
    ids = [s.id for s in subjects]
    leaders = {
        leader.id: leader
        for leader in await session.scalars(
            select(Leader).where(col(Leader.id).in_({s.leader_id for s in subjects}))
        )
    }
    venue_ids = {s.venue_id for s in subjects if s.venue_id}
    venues = (
        {v.id: v for v in await session.scalars(select(Venue).where(col(Venue.id).in_(venue_ids)))}
        if venue_ids
        else {}
    )
    totals = {
        row[0]: (row[1], row[2])
        for row in await session.execute(
            select(
                SessionSlot.session_id, func.sum(SessionSlot.capacity), func.sum(SessionSlot.booked)
            )
            .where(col(SessionSlot.session_id).in_(ids))
            .group_by(col(SessionSlot.session_id))
        )
    }
    tz = local_tz()

    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(tz) if value else None

    out = []
    for s in subjects:
        leader = leaders[s.leader_id]
        venue = venues.get(s.venue_id) if s.venue_id else None
        assert s.id is not None
        places, booked = totals.get(s.id, (0, 0))
        out.append(
            schemas.SessionRead(
                id=s.id,
                uid=s.uid,
                kind=s.kind,
                leader_id=s.leader_id,
                leader_name=leader.name,
                leader_title=leader.title,
                date=s.local_date,
                starts_at=s.starts_at.astimezone(tz),
                ends_at=s.ends_at.astimezone(tz),
                status=s.status,
                sequence=s.sequence,
                provisional=s.provisional,
                edited=s.edited,
                rule_id=s.rule_id,
                venue_id=s.venue_id,
                venue_name=venue.name if venue else None,
                unit_id=s.unit_id,
                address=s.address,
                purpose=s.purpose,
                slot_minutes=s.slot_minutes,
                people_per_slot=s.people_per_slot,
                places=int(places or 0),
                booked=int(booked or 0),
                outcome=s.outcome,
                cancelled_at=local(s.cancelled_at),
                cancelled_by_name=s.cancelled_by_name,
                cancel_reason=s.cancel_reason,
                created_at=s.created_at.astimezone(tz),
                updated_at=s.updated_at.astimezone(tz),
            )
        )
    return out


async def slot_of(*, session: AsyncSession, appointment: Appointment) -> SessionSlot:
    """The slot an appointment holds (one primary-key read)."""
    slot = await session.get(SessionSlot, appointment.slot_id)
    assert slot is not None  # a foreign key
    return slot


async def slots_of(*, session: AsyncSession, session_id: int) -> list[SessionSlot]:
    rows = await session.scalars(
        select(SessionSlot)
        .where(SessionSlot.session_id == session_id)
        .order_by(col(SessionSlot.slot_index))
    )
    return list(rows.all())


# ---------------------------------------------------------------- appointments


def _validate_petitioner(data: schemas.AppointmentCreate) -> None:
    if data.petitioner_phone and not valid_phone(data.petitioner_phone):
        raise InvalidInput("Not a phone number", field="petitioner_phone")
    if data.petitioner_id_number and not valid_id_number(data.petitioner_id_number):
        raise InvalidInput(
            "Not a valid 18-character resident ID number (check digit)",
            field="petitioner_id_number",
        )
    if data.party_size >= 5:
        if not data.representatives:
            raise InvalidInput(
                "A collective visit (5 people or more) names its representatives (1–5)",
                field="representatives",
            )
        if len(data.representatives) > 5:
            raise InvalidInput(
                "A collective visit names at most 5 representatives", field="representatives"
            )
    elif len(data.representatives) > data.party_size:
        raise InvalidInput("More representatives than people in the party", field="representatives")


async def _take(
    session: AsyncSession, *where: ColumnElement[bool], places: int
) -> SessionSlot | None:
    """One conditional UPDATE: the database decides, even with many processes at once.

    Takes `places` in the slot matching `where` if it has room, and returns it (else None).
    """
    taken = await session.scalars(
        update(SessionSlot)
        .where(*where, col(SessionSlot.booked) + places <= col(SessionSlot.capacity))
        .values(booked=col(SessionSlot.booked) + places)
        .returning(SessionSlot),
        execution_options={"synchronize_session": False},
    )
    return taken.one_or_none()


async def _take_place(
    session: AsyncSession, subject: ReceptionSession, data: schemas.AppointmentCreate, places: int
) -> SessionSlot:
    """Take `places` in the slot the booking names, or in the first slot with room."""
    session_id = subject.id or 0
    if data.slot_index is not None and data.slot_starts_at is not None:
        raise InvalidInput("Give slot_index or slot_starts_at, not both", field="slot_index")
    if data.slot_index is not None or data.slot_starts_at is not None:
        which = (
            col(SessionSlot.slot_index) == data.slot_index
            if data.slot_index is not None
            else col(SessionSlot.starts_at) == data.slot_starts_at
        )
        slot = await _take(session, col(SessionSlot.session_id) == session_id, which, places=places)
        if slot is not None:
            return slot
        # Nothing taken: look once to tell a slot outside the session (422) from a full one.
        slots = await slots_of(session=session, session_id=session_id)
        if data.slot_index is not None:
            chosen = [s for s in slots if s.slot_index == data.slot_index]
            if not chosen:
                raise InvalidInput(
                    f"Session {session_id} has slots 0–{len(slots) - 1}", field="slot_index"
                )
        else:
            chosen = [s for s in slots if s.starts_at == data.slot_starts_at]
            if not chosen:
                starts = ", ".join(f"{s.starts_at.astimezone(local_tz()):%H:%M}" for s in slots)
                raise InvalidInput(
                    f"No slot of session {session_id} starts then; slots start at {starts}",
                    field="slot_starts_at",
                )
        raise Conflict(
            f"No room in slot {chosen[0].slot_index + 1} of session {session_id} "
            f"for {places} place(s)",
            places_requested=places,
        )
    for candidate in await slots_of(session=session, session_id=session_id):
        slot = await _take(session, col(SessionSlot.id) == candidate.id, places=places)
        if slot is not None:
            return slot
    raise Conflict(
        f"No room in any slot of session {session_id} for {places} place(s)",
        places_requested=places,
    )


@dataclass(frozen=True)
class Booking:
    appointment: Appointment
    # The slot the appointment is in (for the response: its index and start time).
    slot: SessionSlot
    # True when an Idempotency-Key replay returned an earlier booking.
    replayed: bool


async def book(
    *,
    session: AsyncSession,
    actor: Principal | None,
    session_id: int,
    data: schemas.AppointmentCreate,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[Appointment, bool]:
    """Book a petitioner into a slot. Returns (appointment, replayed); see `book_slot`."""
    booking = await book_slot(
        session=session,
        actor=actor,
        session_id=session_id,
        data=data,
        idempotency_key=idempotency_key,
        now=now,
    )
    return booking.appointment, booking.replayed


async def book_slot(
    *,
    session: AsyncSession,
    actor: Principal | None,
    session_id: int,
    data: schemas.AppointmentCreate,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Booking:
    """Book a petitioner into a slot: the appointment, the slot it took, and whether this was
    an Idempotency-Key replay."""
    # FOR SHARE: bookings run side by side, but a cancellation or a move (FOR UPDATE) waits for
    # them, and they for it, so no booking lands in a session cancelled under its feet.
    subject = await session.scalar(
        select(ReceptionSession)
        .where(ReceptionSession.id == session_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    if subject is None:
        raise NotFound(f"Session {session_id} does not exist")
    require_manage(actor, subject.leader_id)
    row, replay_id = (
        await idempotency.claim(
            session=session,
            user_id=actor.user_id if actor else 0,
            key=idempotency_key,
            scope=f"appointment:{session_id}",
            payload=msgspec.to_builtins(data),
        )
        if actor
        else (None, None)
    )
    if replay_id is not None:
        existing = await session.get(Appointment, replay_id)
        assert existing is not None
        existing_slot = await session.get(SessionSlot, existing.slot_id)
        assert existing_slot is not None
        return Booking(existing, existing_slot, True)
    if subject.kind != "reception":
        raise Conflict(f"Session {session_id} is a field visit: it has no appointment slots")
    if subject.status != "scheduled":
        raise Conflict(f"Session {session_id} is {subject.status}: no new appointments")
    if subject.ends_at <= (now or utcnow()):
        raise Conflict(f"Session {session_id} is over: no new appointments")
    _validate_petitioner(data)
    if data.case_id is not None:
        from reception.cases.service import check_case_exists

        await check_case_exists(session, data.case_id, actor)
    places = rules.places_for(data.party_size, len(data.representatives))
    slot = await _take_place(session, subject, data, places)
    appointment = Appointment(
        session_id=session_id,
        slot_id=slot.id or 0,
        petitioner_name=data.petitioner_name.strip(),
        petitioner_phone=data.petitioner_phone.strip(),
        petitioner_id_number=data.petitioner_id_number.strip().upper(),
        matter_summary=data.matter_summary,
        party_size=data.party_size,
        collective=data.party_size >= 5,
        representatives=list(data.representatives),
        places=places,
        case_id=data.case_id,
        booked_by_user_id=actor.user_id if actor else None,
        booked_by_name=_actor_name(actor),
    )
    session.add(appointment)
    await session.flush()
    assert appointment.id is not None
    await idempotency.complete(
        session=session, row=row, resource_type="appointment", resource_id=appointment.id
    )
    await audit.record(
        session=session,
        actor=actor,
        action="appointment.create",
        target_type="appointment",
        target_id=appointment.id,
        after=appointment_snapshot(appointment),
    )
    return Booking(appointment, slot, False)


def appointment_snapshot(a: Appointment) -> dict[str, Any]:
    """Audit view of an appointment: personal data masked even here."""
    data = audit.snapshot(a) or {}
    data["petitioner_name"] = mask_name(a.petitioner_name)
    data["petitioner_phone"] = mask_phone(a.petitioner_phone)
    data["petitioner_id_number"] = mask_id_number(a.petitioner_id_number)
    data["representatives"] = [mask_name(n) for n in a.representatives]
    return data


# Allowed moves of an appointment: from → to.
APPOINTMENT_MOVES: dict[str, frozenset[str]] = {
    "booked": frozenset({"checked_in", "no_show", "cancelled"}),
    "checked_in": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "no_show": frozenset(),
    "cancelled": frozenset(),
}


async def get_appointment(
    *, session: AsyncSession, appointment_id: int, principal: Principal | None
) -> Appointment:
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound(f"Appointment {appointment_id} does not exist")
    await get_session(session=session, session_id=appointment.session_id, principal=principal)
    return appointment


async def transition_appointment(
    *,
    session: AsyncSession,
    actor: Principal | None,
    appointment_id: int,
    to: str,
    reason: str = "",
) -> Appointment:
    appointment = await get_appointment(
        session=session, appointment_id=appointment_id, principal=actor
    )
    subject = await get_session_for_write(
        session=session, session_id=appointment.session_id, actor=actor
    )
    # Read the status again under the session's lock: a concurrent twin (a double-click)
    # may have moved it since, and must not free the same places twice.
    await session.refresh(appointment, with_for_update=True)
    allowed = APPOINTMENT_MOVES[appointment.status]
    if to not in allowed:
        raise Conflict(
            f"An appointment that is {appointment.status} cannot become {to}",
            allowed=sorted(allowed),
        )
    if to == "cancelled" and not reason.strip():
        raise InvalidInput("Cancelling needs a reason", field="reason")
    if (
        to in ("checked_in", "completed", "no_show")
        and subject.starts_at.astimezone(local_tz()).date() > datetime.now(local_tz()).date()
    ):
        raise Conflict("The session's day has not come yet")
    before = appointment_snapshot(appointment)
    now = utcnow()
    appointment.status = to
    appointment.status_changed_at = now
    appointment.updated_at = now
    if to == "cancelled":
        appointment.cancelled_at = now
        appointment.cancelled_by_name = _actor_name(actor)
        appointment.cancel_reason = reason
        await session.execute(
            update(SessionSlot)
            .where(col(SessionSlot.id) == appointment.slot_id)
            .values(booked=col(SessionSlot.booked) - appointment.places)
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action=f"appointment.{to}",
        target_type="appointment",
        target_id=appointment.id,
        before=before,
        after=appointment_snapshot(appointment),
    )
    return appointment


async def appointments_of(
    *, session: AsyncSession, session_id: int
) -> list[tuple[Appointment, SessionSlot]]:
    rows = await session.execute(
        select(Appointment, SessionSlot)
        .join(SessionSlot, col(SessionSlot.id) == col(Appointment.slot_id))
        .where(Appointment.session_id == session_id)
        .order_by(col(SessionSlot.slot_index), col(Appointment.id))
    )
    return [(a, s) for a, s in rows.all()]


def appointment_read(
    appointment: Appointment, slot: SessionSlot, *, masked: bool
) -> schemas.AppointmentRead:
    tz = local_tz()
    a = appointment
    assert a.id is not None
    return schemas.AppointmentRead(
        id=a.id,
        session_id=a.session_id,
        slot_index=slot.slot_index,
        slot_starts_at=slot.starts_at.astimezone(tz),
        petitioner_name=mask_name(a.petitioner_name) if masked else a.petitioner_name,
        petitioner_phone=mask_phone(a.petitioner_phone) if masked else a.petitioner_phone,
        petitioner_id_number=(
            mask_id_number(a.petitioner_id_number) if masked else a.petitioner_id_number
        ),
        matter_summary=a.matter_summary,
        party_size=a.party_size,
        collective=a.collective,
        representatives=[mask_name(n) for n in a.representatives] if masked else a.representatives,
        places=a.places,
        case_id=a.case_id,
        status=a.status,
        booked_by_name=a.booked_by_name,
        cancelled_at=a.cancelled_at.astimezone(tz) if a.cancelled_at else None,
        cancelled_by_name=a.cancelled_by_name,
        cancel_reason=a.cancel_reason,
        created_at=a.created_at.astimezone(tz),
        updated_at=a.updated_at.astimezone(tz),
        masked=masked,
    )


async def set_appointment_case(
    *, session: AsyncSession, actor: Principal | None, appointment_id: int, case_id: int | None
) -> Appointment:
    """Link an appointment to the case registered for it (a clerk, after the reception day)."""
    from reception.cases.service import check_case_exists

    appointment = await get_appointment(
        session=session, appointment_id=appointment_id, principal=actor
    )
    subject = await get_session(session=session, session_id=appointment.session_id, principal=None)
    if actor is not None and actor.role != "clerk":
        require_manage(actor, subject.leader_id)
    if case_id is not None:
        await check_case_exists(session, case_id, actor)
    before = appointment_snapshot(appointment)
    appointment.case_id = case_id
    appointment.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="appointment.case",
        target_type="appointment",
        target_id=appointment.id,
        before=before,
        after=appointment_snapshot(appointment),
    )
    return appointment
