"""Appointments (预约): booking a petitioner into a slot, and an appointment's status moves.

Capacity is the database's: one conditional UPDATE of the slot against CHECK (booked <=
capacity), so any number of concurrent requests and processes book at most its places.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception import idempotency, pii
from reception.audit import service as audit
from reception.auth import Principal
from reception.base import COLLECTIVE_FROM
from reception.cases.access import check_case_visible
from reception.context import Context
from reception.crypto import Keyring
from reception.db import next_id_of, next_ids, now_of
from reception.errors import Broken, Conflict, InvalidInput
from reception.petitioner import Identity, checked
from reception.privacy import mask_id_number, mask_name, mask_phone
from reception.scheduling import once, rules, schemas, sealed
from reception.scheduling.access import get_appointment, get_session_for_write
from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot
from reception.scheduling.rules import APPOINTMENT_LABELS, STATUS_LABELS
from reception.scheduling.views import slots_of


def _check_party(data: schemas.AppointmentCreate) -> None:
    if data.party_size >= COLLECTIVE_FROM:
        if not data.representatives:
            raise InvalidInput(
                "集体访(5人及以上)须登记代表(1至5人)",
                field="representatives",
            )
        if len(data.representatives) > rules.MAX_REPRESENTATIVES:
            raise InvalidInput("集体访代表最多5人", field="representatives")
    elif len(data.representatives) > data.party_size:
        raise InvalidInput("代表人数多于来访人数", field="representatives")


# A slot taken, and the id of the appointment to insert into it (taken from the sequence by
# the same statement on PostgreSQL; None where it is not asked, or on SQLite).
Taken = tuple[SessionSlot, int | None]


async def _take(
    session: AsyncSession, *where: ColumnElement[bool], places: int, new_id: bool = False
) -> Taken | None:
    """One conditional UPDATE: the database decides, even with many processes at once.

    Takes `places` in the slot matching `where` if it has room, and returns it (else None).
    With `new_id` on PostgreSQL the same statement takes the new appointment's id from its
    sequence, so its sealed values (the id is in their associated data) go in its INSERT.
    """
    statement = (
        update(SessionSlot)
        .where(*where, col(SessionSlot.booked) + places <= col(SessionSlot.capacity))
        .values(booked=col(SessionSlot.booked) + places)
        .returning(SessionSlot)
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    if new_id and postgres:
        statement = statement.returning(next_id_of(Appointment))
    taken = await session.execute(statement, execution_options={"synchronize_session": False})
    row: Any = taken.one_or_none()
    if row is None:
        return None
    return row[0], (int(row[1]) if new_id and postgres else None)


async def _take_place(
    session: AsyncSession,
    ctx: Context,
    subject: ReceptionSession,
    *,
    slot_index: int | None,
    slot_starts_at: datetime | None,
    places: int,
    new_id: bool = False,
) -> Taken:
    """Take `places` in the slot named (by index or start time), or in the first with room
    (with the new appointment's id where the database gives it: `_take`)."""
    session_id = subject.id or 0
    if slot_index is not None and slot_starts_at is not None:
        raise InvalidInput("slot_index 与 slot_starts_at 只能给一个", field="slot_index")
    if slot_index is None and slot_starts_at is None:
        candidates = await slots_of(session=session, session_id=session_id)
        _check_fits(candidates, places)
        for candidate in candidates:
            taken = await _take(
                session, col(SessionSlot.id) == candidate.id, places=places, new_id=new_id
            )
            if taken is not None:
                return taken
        raise Conflict(
            f"场次 {session_id} 没有一个时段还剩 {places} 个名额:请换一个场次",
            places_requested=places,
        )
    which = (
        col(SessionSlot.slot_index) == slot_index
        if slot_index is not None
        else col(SessionSlot.starts_at) == slot_starts_at
    )
    taken = await _take(
        session, col(SessionSlot.session_id) == session_id, which, places=places, new_id=new_id
    )
    if taken is not None:
        return taken
    # Nothing taken: look once to tell a slot outside the session (422) from a full one (409).
    slots = await slots_of(session=session, session_id=session_id)
    if slot_index is not None:
        chosen = [s for s in slots if s.slot_index == slot_index]
        if not chosen:
            raise InvalidInput(
                f"场次 {session_id} 的时段编号为 0–{len(slots) - 1}", field="slot_index"
            )
    else:
        chosen = [s for s in slots if s.starts_at == slot_starts_at]
        if not chosen:
            starts = ", ".join(f"{ctx.local(s.starts_at):%H:%M}" for s in slots)
            raise InvalidInput(
                f"场次 {session_id} 没有在该时刻开始的时段;各时段开始于 {starts}",
                field="slot_starts_at",
            )
    _check_fits(chosen, places)
    slot = chosen[0]
    raise Conflict(
        f"场次 {session_id} 的时段 {slot.slot_index}({ctx.local(slot.starts_at):%H:%M})"
        f"已约满:剩 {slot.capacity - slot.booked} 个名额,容不下 {places} 人",
        places_requested=places,
    )


def _check_fits(slots: list[SessionSlot], places: int) -> None:
    """A party larger than any slot can never be booked whole: say so, not "full"."""
    largest = max((s.capacity for s in slots), default=0)
    if places > largest:
        raise InvalidInput(
            f"每个时段最多接待 {largest} 人,{places} 人放不下一个时段:"
            "5人及以上的集体访请登记代表(最多5人),或分几次预约",
            field="party_size",
        )


def _check_open(ctx: Context, subject: ReceptionSession) -> None:
    """A session that takes appointments: a reception day, scheduled, not over."""
    if subject.kind != "reception":
        raise Conflict(f"场次 {subject.id} 是下访,没有预约时段")
    if subject.status != "scheduled":
        raise Conflict(f"场次 {subject.id} {STATUS_LABELS[subject.status]},不能再预约")
    if subject.ends_at <= ctx.now():
        raise Conflict(f"场次 {subject.id} 已结束,不能再预约")


@dataclass(frozen=True)
class Booking:
    appointment: Appointment
    # The slot the appointment is in (for the response: its index and start time).
    slot: SessionSlot
    # True when an Idempotency-Key replay returned an earlier booking.
    replayed: bool
    # The reception session booked into (read once, under its lock).
    subject: ReceptionSession


async def _replayed(
    session: AsyncSession, appointment_id: int, subject: ReceptionSession
) -> Booking:
    """The booking an Idempotency-Key's first request made, returned again."""
    existing = await session.get(Appointment, appointment_id)
    slot = await session.get(SessionSlot, existing.slot_id) if existing else None
    if existing is None or slot is None:
        raise Broken("expected: the replayed booking and its slot")
    return Booking(existing, slot, True, subject)


def _new_row(
    ctx: Context,
    actor: Principal | None,
    data: schemas.AppointmentCreate,
    who: Identity,
    *,
    appointment_id: int,
    slot_id: int,
    places: int,
) -> dict[str, Any]:
    """A new appointment's columns, for one INSERT: its blind indexes (what the
    once-per-session rule and its unique indexes compare) and its sealed values (its id, known
    before the INSERT, is in their associated data)."""
    return {
        "id": appointment_id,
        "slot_id": slot_id,
        "petitioner_name": who.name,
        "petitioner_phone_index": pii.blind_phone(ctx.keys, who.phone),
        "petitioner_id_number_index": pii.blind_id_number(ctx.keys, who.id_number),
        **sealed.sealed_values(ctx.keys, appointment_id, who),
        "matter_summary": data.matter_summary,
        "party_size": data.party_size,
        "collective": data.party_size >= COLLECTIVE_FROM,
        "representatives": list(data.representatives),
        "places": places,
        "case_id": data.case_id,
        "duplicate_allowed": data.allow_duplicate,
        "status": "booked",
        "booked_by_user_id": actor.user_id if actor else None,
        "booked_by_name": audit.actor_name(actor),
    }


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
        return await _replayed(session, replay_id, subject)
    _check_open(ctx, subject)
    who = checked(
        data.petitioner_name,
        data.petitioner_id_number,
        data.petitioner_phone,
        field="petitioner_",
        today=ctx.today(),
    )
    _check_party(data)
    if data.case_id is not None:
        await check_case_visible(session=session, case_id=data.case_id, principal=actor)
    if not data.allow_duplicate:
        await once.refuse_second_booking(
            session, session_id, *once.indexes_of(ctx.keys, who.id_number, who.name, who.phone)
        )
    places = rules.places_for(data.party_size, len(data.representatives))
    slot, new_id = await _take_place(
        session,
        ctx,
        subject,
        slot_index=data.slot_index,
        slot_starts_at=data.slot_starts_at,
        places=places,
        new_id=True,
    )
    # SQLite: the next id, read after the slot's UPDATE (the request holds the write lock).
    appointment_id = new_id or (await next_ids(session, {Appointment: 1}))[Appointment][0]
    values = _new_row(
        ctx, actor, data, who, appointment_id=appointment_id, slot_id=slot.id or 0, places=places
    )
    values["session_id"] = session_id
    values["created_at"] = values["updated_at"] = now_of(session)
    # Core, not the ORM: one INSERT with the sealed values, no flush and no UPDATE after it.
    await once.insert_once_per_petitioner(session, values)
    appointment = Appointment(**values)
    await idempotency.complete(
        session=session, row=row, resource_type="appointment", resource_id=appointment_id
    )
    await audit.record(
        session=session,
        actor=actor,
        action="appointment.create",
        target_type=Appointment.__tablename__,
        target_id=appointment_id,
        after=appointment_snapshot(appointment, ctx.keys, who),
    )
    return Booking(appointment, slot, False, subject)


def appointment_snapshot(
    a: Appointment, keys: Keyring, who: Identity | None = None
) -> dict[str, Any]:
    """Audit view of an appointment: personal data masked even here (`who`: its petitioner,
    when the caller holds it already; else opened from the row)."""
    who = who or sealed.appointment(keys, a)
    data = audit.snapshot(a) or {}
    data["petitioner_name"] = mask_name(a.petitioner_name)
    data["petitioner_phone"] = mask_phone(who.phone)
    data["petitioner_id_number"] = mask_id_number(who.id_number)
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
    # A write: an appointment of a leader the caller is not linked to is 403, not 404.
    found = await get_appointment(session=session, appointment_id=appointment_id, principal=None)
    subject = await get_session_for_write(session=session, session_id=found.session_id, actor=actor)
    # Read the status again under the session's lock: a concurrent twin (a double-click)
    # may have moved it since, and must not free the same places twice.
    appointment = await get_appointment(
        session=session, appointment_id=appointment_id, principal=None, for_update=True
    )
    allowed = rules.APPOINTMENT_MOVES[appointment.status]
    if to not in allowed:
        raise Conflict(
            f"{APPOINTMENT_LABELS[appointment.status]}的预约不能改为{APPOINTMENT_LABELS[to]}",
            allowed=sorted(allowed),
        )
    if to == "cancelled" and not reason.strip():
        raise InvalidInput("取消须写明原因", field="reason")
    if to in rules.ON_THE_DAY and ctx.local(subject.starts_at).date() > ctx.today():
        raise Conflict("接访日还没有到")
    before = appointment_snapshot(appointment, ctx.keys)
    now = ctx.now()
    appointment.status = to
    appointment.status_changed_at = now
    appointment.updated_at = now_of(session)
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
        after=appointment_snapshot(appointment, ctx.keys),
    )
    return appointment


async def move_appointment(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    appointment_id: int,
    data: schemas.AppointmentMove,
) -> Appointment:
    """改约: the same appointment (its record and id kept) to another slot of its session or to
    another session of the same leader; the target's capacity is the database's, and the old
    place is freed in the same transaction."""
    # A write: an appointment of a leader the caller is not linked to is 403, not 404.
    found = await get_appointment(session=session, appointment_id=appointment_id, principal=None)
    target_id = data.session_id or found.session_id
    # Both sessions locked, in id order (two moves the other way round cannot deadlock).
    locked = {
        sid: await get_session_for_write(session=session, session_id=sid, actor=actor)
        for sid in sorted({found.session_id, target_id})
    }
    source, target = locked[found.session_id], locked[target_id]
    appointment = await get_appointment(
        session=session, appointment_id=appointment_id, principal=None, for_update=True
    )
    if appointment.status != "booked":
        raise Conflict(
            f"{APPOINTMENT_LABELS[appointment.status]}的预约不能改约",
            appointment_status=appointment.status,
        )
    if target.leader_id != source.leader_id:
        raise InvalidInput("只能改约到同一位领导的接访场次", field="session_id")
    _check_open(ctx, target)
    if data.slot_index is None and data.slot_starts_at is None and target.id == source.id:
        raise InvalidInput("请选择要改到的时段", field="slot_index")
    old_slot = await session.get(SessionSlot, appointment.slot_id)
    if old_slot is None:
        raise Broken("expected: old_slot is not None")
    before = appointment_snapshot(appointment, ctx.keys)
    await session.execute(
        update(SessionSlot)
        .where(col(SessionSlot.id) == old_slot.id)
        .values(booked=col(SessionSlot.booked) - appointment.places)
        .execution_options(synchronize_session=False)
    )
    slot, _ = await _take_place(
        session,
        ctx,
        target,
        slot_index=data.slot_index,
        slot_starts_at=data.slot_starts_at,
        places=appointment.places,
    )
    if slot.id == old_slot.id:
        raise InvalidInput("已在这个时段,无需改约", field="slot_index")
    if target.id != source.id and not appointment.duplicate_allowed:
        await once.refuse_second_booking(
            session,
            target.id or 0,
            appointment.petitioner_id_number_index,
            appointment.petitioner_name,
            appointment.petitioner_phone_index,
        )
    appointment.session_id = target.id or 0
    appointment.slot_id = slot.id or 0
    appointment.updated_at = now_of(session)
    await once.flush_once_per_petitioner(session, appointment)
    await audit.changed(
        session=session,
        actor=actor,
        action="appointment.move",
        target=appointment,
        before=before,
        after={**appointment_snapshot(appointment, ctx.keys), "reason": data.reason},
    )
    return appointment
