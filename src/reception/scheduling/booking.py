"""Appointments (预约): booking a petitioner into a slot, and an appointment's status moves.

Capacity is the database's: one conditional UPDATE of the slot against CHECK (booked <=
capacity), so any number of concurrent requests and processes book at most its places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception import idempotency
from reception.audit import service as audit
from reception.auth import Principal
from reception.base import COLLECTIVE_FROM
from reception.cases.access import check_case_visible
from reception.context import Context
from reception.db import utcnow
from reception.errors import Conflict, InvalidInput
from reception.petitioner import checked
from reception.privacy import mask_id_number, mask_name, mask_phone
from reception.scheduling import rules, schemas
from reception.scheduling.access import get_appointment, get_session_for_write
from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot
from reception.scheduling.views import slots_of


def _check_party(data: schemas.AppointmentCreate) -> None:
    if data.party_size >= COLLECTIVE_FROM:
        if not data.representatives:
            raise InvalidInput(
                "A collective visit (5 people or more) names its representatives (1–5)",
                field="representatives",
            )
        if len(data.representatives) > rules.MAX_REPRESENTATIVES:
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
    session: AsyncSession,
    ctx: Context,
    subject: ReceptionSession,
    data: schemas.AppointmentCreate,
    places: int,
) -> SessionSlot:
    """Take `places` in the slot the booking names, or in the first slot with room."""
    session_id = subject.id or 0
    if data.slot_index is not None and data.slot_starts_at is not None:
        raise InvalidInput("Give slot_index or slot_starts_at, not both", field="slot_index")
    if data.slot_index is None and data.slot_starts_at is None:
        for candidate in await slots_of(session=session, session_id=session_id):
            slot = await _take(session, col(SessionSlot.id) == candidate.id, places=places)
            if slot is not None:
                return slot
        raise Conflict(
            f"No room in any slot of session {session_id} for {places} place(s)",
            places_requested=places,
        )
    which = (
        col(SessionSlot.slot_index) == data.slot_index
        if data.slot_index is not None
        else col(SessionSlot.starts_at) == data.slot_starts_at
    )
    slot = await _take(session, col(SessionSlot.session_id) == session_id, which, places=places)
    if slot is not None:
        return slot
    # Nothing taken: look once to tell a slot outside the session (422) from a full one (409).
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
            starts = ", ".join(f"{ctx.local(s.starts_at):%H:%M}" for s in slots)
            raise InvalidInput(
                f"No slot of session {session_id} starts then; slots start at {starts}",
                field="slot_starts_at",
            )
    raise Conflict(
        f"No room in slot {chosen[0].slot_index + 1} of session {session_id} for {places} place(s)",
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
    ctx: Context,
    actor: Principal | None,
    session_id: int,
    data: schemas.AppointmentCreate,
    idempotency_key: str | None = None,
) -> Booking:
    """Book a petitioner into a slot: the appointment, the slot it took, and whether this was
    an Idempotency-Key replay."""
    # FOR SHARE: bookings run side by side, but a cancellation or a move (FOR UPDATE) waits for
    # them, and they for it, so no booking lands in a session cancelled under its feet.
    subject = await get_session_for_write(
        session=session, session_id=session_id, actor=actor, share=True
    )
    row, replay_id = (
        await idempotency.claim(
            session=session,
            user_id=actor.user_id,
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
    if subject.ends_at <= ctx.now():
        raise Conflict(f"Session {session_id} is over: no new appointments")
    who = checked(
        data.petitioner_name,
        data.petitioner_id_number,
        data.petitioner_phone,
        field="petitioner_",
    )
    _check_party(data)
    if data.case_id is not None:
        await check_case_visible(session=session, case_id=data.case_id, principal=actor)
    places = rules.places_for(data.party_size, len(data.representatives))
    slot = await _take_place(session, ctx, subject, data, places)
    appointment = Appointment(
        session_id=session_id,
        slot_id=slot.id or 0,
        petitioner_name=who.name,
        petitioner_phone=who.phone,
        petitioner_id_number=who.id_number,
        matter_summary=data.matter_summary,
        party_size=data.party_size,
        collective=data.party_size >= COLLECTIVE_FROM,
        representatives=list(data.representatives),
        places=places,
        case_id=data.case_id,
        booked_by_user_id=actor.user_id if actor else None,
        booked_by_name=audit.actor_name(actor),
    )
    session.add(appointment)
    await session.flush()
    assert appointment.id is not None
    await idempotency.complete(
        session=session, row=row, resource_type="appointment", resource_id=appointment.id
    )
    await audit.changed(
        session=session,
        actor=actor,
        action="appointment.create",
        target=appointment,
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


async def transition_appointment(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    appointment_id: int,
    to: str,
    reason: str = "",
) -> Appointment:
    """booked → checked_in → completed | no_show, or cancelled (with a reason): the table is
    `rules.APPOINTMENT_MOVES`."""
    found = await get_appointment(session=session, appointment_id=appointment_id, principal=actor)
    subject = await get_session_for_write(session=session, session_id=found.session_id, actor=actor)
    # Read the status again under the session's lock: a concurrent twin (a double-click)
    # may have moved it since, and must not free the same places twice.
    appointment = await get_appointment(
        session=session, appointment_id=appointment_id, principal=None, for_update=True
    )
    allowed = rules.APPOINTMENT_MOVES[appointment.status]
    if to not in allowed:
        raise Conflict(
            f"An appointment that is {appointment.status} cannot become {to}",
            allowed=sorted(allowed),
        )
    if to == "cancelled" and not reason.strip():
        raise InvalidInput("Cancelling needs a reason", field="reason")
    if to in rules.ON_THE_DAY and ctx.local(subject.starts_at).date() > ctx.today():
        raise Conflict("The session's day has not come yet")
    before = appointment_snapshot(appointment)
    now = ctx.now()
    appointment.status = to
    appointment.status_changed_at = now
    appointment.updated_at = utcnow()
    if to == "cancelled":
        appointment.cancelled_at = now
        appointment.cancelled_by_name = audit.actor_name(actor)
        appointment.cancel_reason = reason
        await session.execute(
            update(SessionSlot)
            .where(col(SessionSlot.id) == appointment.slot_id)
            .values(booked=col(SessionSlot.booked) - appointment.places)
            .execution_options(synchronize_session=False)
        )
    await audit.changed(
        session=session,
        actor=actor,
        action=f"appointment.{to}",
        target=appointment,
        before=before,
        after=appointment_snapshot(appointment),
    )
    return appointment
