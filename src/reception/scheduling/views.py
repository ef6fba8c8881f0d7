"""Response shaping for reception days: sessions with names and totals, slots, appointments,
the day sheet. Whether petitioners' data shows whole is `reception.privacy`'s call."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import Principal
from reception.crypto import Keyring
from reception.errors import Broken
from reception.org.models import Leader, Venue
from reception.privacy import mask_id_number, mask_name, mask_phone, shown_whole, shows_whole
from reception.responses import read_as
from reception.scheduling import rules, schemas, sealed
from reception.scheduling.models import Appointment, ReceptionRule, ReceptionSession, SessionSlot


def rule_read(rule: ReceptionRule, tz: tzinfo) -> schemas.RuleRead:
    return read_as(
        schemas.RuleRead,
        rule,
        tz,
        start_time=rule.start_time.isoformat(),
        end_time=rule.end_time.isoformat(),
    )


async def session_rows(
    *, session: AsyncSession, subjects: list[ReceptionSession], tz: tzinfo
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

    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(tz) if value else None

    out = []
    for s in subjects:
        leader = leaders[s.leader_id]
        venue = venues.get(s.venue_id) if s.venue_id else None
        if s.id is None:
            raise Broken("expected: s.id is not None")
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


async def session_row(
    *, session: AsyncSession, subject: ReceptionSession, tz: tzinfo
) -> schemas.SessionRead:
    (row,) = await session_rows(session=session, subjects=[subject], tz=tz)
    return row


async def slot_of(*, session: AsyncSession, appointment: Appointment) -> SessionSlot:
    """The slot an appointment holds (one primary-key read)."""
    slot = await session.get(SessionSlot, appointment.slot_id)
    if slot is None:  # a foreign key
        raise Broken("expected: slot is not None")
    return slot


async def slots_of(*, session: AsyncSession, session_id: int) -> list[SessionSlot]:
    rows = await session.scalars(
        select(SessionSlot)
        .where(SessionSlot.session_id == session_id)
        .order_by(col(SessionSlot.slot_index))
    )
    return list(rows.all())


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


def slot_read(slot: SessionSlot, tz: tzinfo) -> schemas.SlotRead:
    return schemas.SlotRead(
        index=slot.slot_index,
        starts_at=slot.starts_at.astimezone(tz),
        ends_at=slot.ends_at.astimezone(tz),
        capacity=slot.capacity,
        booked=slot.booked,
        free=slot.capacity - slot.booked,
    )


def appointment_read(
    appointment: Appointment, slot: SessionSlot, *, whole: bool, tz: tzinfo, keys: Keyring
) -> schemas.AppointmentRead:
    a = appointment
    if a.id is None:
        raise Broken("expected: a.id is not None")
    who = sealed.appointment(keys, a)
    return schemas.AppointmentRead(
        id=a.id,
        session_id=a.session_id,
        slot_index=slot.slot_index,
        slot_starts_at=slot.starts_at.astimezone(tz),
        petitioner_name=a.petitioner_name if whole else mask_name(a.petitioner_name),
        petitioner_phone=who.phone if whole else mask_phone(who.phone),
        petitioner_id_number=who.id_number if whole else mask_id_number(who.id_number),
        matter_summary=a.matter_summary,
        party_size=a.party_size,
        collective=a.collective,
        representatives=a.representatives if whole else [mask_name(n) for n in a.representatives],
        places=a.places,
        case_id=a.case_id,
        status=a.status,
        booked_by_name=a.booked_by_name,
        cancelled_at=a.cancelled_at.astimezone(tz) if a.cancelled_at else None,
        cancelled_by_name=a.cancelled_by_name,
        cancel_reason=a.cancel_reason,
        created_at=a.created_at.astimezone(tz),
        updated_at=a.updated_at.astimezone(tz),
        masked=not whole,
        notified_at=a.notified_at.astimezone(tz) if a.notified_at else None,
        notified_by_name=a.notified_by_name,
        notified_note=a.notified_note,
    )


def appointment_reads(
    pairs: list[tuple[Appointment, SessionSlot]],
    *,
    principal: Principal | None,
    leader_id: int,
    tz: tzinfo,
    keys: Keyring,
) -> list[schemas.AppointmentRead]:
    """Appointments of one session (one leader), shown as the privacy policy allows."""
    whole = shows_whole(principal, leader_id=leader_id)
    if whole and principal is not None and pairs:
        for a, _ in pairs:
            fields = tuple(
                f
                for f, v in (
                    ("id_number", a.petitioner_id_number_sealed),
                    ("phone", a.petitioner_phone_sealed),
                )
                if v
            )
            shown_whole("appointment", a.id, fields)
    return [appointment_read(a, s, whole=whole, tz=tz, keys=keys) for a, s in pairs]


async def day_sheet(
    *,
    session: AsyncSession,
    subject: ReceptionSession,
    principal: Principal,
    tz: tzinfo,
    keys: Keyring,
) -> schemas.DaySheet:
    if subject.id is None:
        raise Broken("expected: subject.id is not None")
    slots = await slots_of(session=session, session_id=subject.id)
    pairs = await appointments_of(session=session, session_id=subject.id)
    return schemas.DaySheet(
        session=await session_row(session=session, subject=subject, tz=tz),
        slots=[slot_read(s, tz) for s in slots],
        appointments=appointment_reads(
            pairs, principal=principal, leader_id=subject.leader_id, tz=tz, keys=keys
        ),
    )


def call_list(sheet: schemas.DaySheet) -> list[schemas.AppointmentRead]:
    """Whom to ring after a cancellation: the appointments the session's cancellation itself
    cancelled (stamped with the same instant), not those cancelled earlier one by one."""
    cancelled_at = sheet.session.cancelled_at
    if cancelled_at is None:
        return []
    return [
        a for a in sheet.appointments if not rules.kept(a.status) and a.cancelled_at == cancelled_at
    ]
