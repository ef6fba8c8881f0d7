"""After a cancellation: the petitioners to ring, the call ticked off (when, by whom, what came
of it), and 改约 of a cancelled appointment into another of the leader's sessions — the same
person and matter booked anew, nothing retyped."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases.access import check_case_visible
from reception.context import Context
from reception.db import now_of
from reception.errors import Conflict, InvalidInput
from reception.scheduling import booking, rules, schemas, sealed
from reception.scheduling.access import get_appointment, get_session_for_write
from reception.scheduling.models import Appointment
from reception.wording import chinese_date

NOTE_MAX = 200


def to_ring(appointments: list[schemas.AppointmentRead]) -> list[schemas.AppointmentRead]:
    """Whom a secretary rings about a session: every appointment that was cancelled — with the
    session, or one by one — in slot order."""
    return [a for a in appointments if rules.called_off(a.status)]


async def mark_rung(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    appointment_id: int,
    note: str,
) -> Appointment:
    """The petitioner of a cancelled appointment was rung: kept with who and when."""
    found = await get_appointment(session=session, appointment_id=appointment_id, principal=None)
    await get_session_for_write(session=session, session_id=found.session_id, actor=actor)
    appointment = await get_appointment(
        session=session, appointment_id=appointment_id, principal=None, for_update=True
    )
    if not rules.called_off(appointment.status):
        raise Conflict("只有已取消的预约需要电话告知")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"结果最多 {NOTE_MAX} 字", field="note")
    before = booking.appointment_snapshot(appointment, ctx.keys)
    appointment.notified_at = now_of(session)
    appointment.notified_by_name = audit.actor_name(actor)
    appointment.notified_note = note or "已电话告知"
    appointment.updated_at = now_of(session)
    await session.flush()
    await audit.changed(
        session=session,
        actor=actor,
        action="appointment.notified",
        target=appointment,
        before=before,
        after=booking.appointment_snapshot(appointment, ctx.keys),
    )
    return appointment


async def rebook(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    appointment_id: int,
    data: schemas.AppointmentMove,
) -> booking.Booking:
    """改约 of a cancelled appointment: the same petitioner, matter and party booked into
    another session of the same leader (a new appointment, by the booking's own rules), and
    the old one ticked as rung with where it went."""
    old = await get_appointment(session=session, appointment_id=appointment_id, principal=None)
    source = await get_session_for_write(session=session, session_id=old.session_id, actor=actor)
    if not rules.called_off(old.status):
        raise Conflict(
            f"{rules.APPOINTMENT_LABELS[old.status]}的预约请用改约,不必重新预约",
            appointment_status=old.status,
        )
    if data.session_id is None or data.session_id == old.session_id:
        raise InvalidInput("请选择要改到的接访场次", field="session_id")
    target = await get_session_for_write(session=session, session_id=data.session_id, actor=actor)
    if target.leader_id != source.leader_id:
        raise InvalidInput("只能改约到同一位领导的接访场次", field="session_id")
    who = sealed.appointment(ctx.keys, old)
    case_id = old.case_id
    if case_id is not None:
        try:
            await check_case_visible(session=session, case_id=case_id, principal=actor)
        except InvalidInput:
            case_id = None  # linked by someone who reads the case; the new booking is not
    result = await booking.book(
        session=session,
        ctx=ctx,
        actor=actor,
        session_id=target.id or 0,
        data=schemas.AppointmentCreate(
            petitioner_name=old.petitioner_name,
            matter_summary=old.matter_summary,
            petitioner_phone=who.phone,
            petitioner_id_number=who.id_number,
            slot_index=data.slot_index,
            slot_starts_at=data.slot_starts_at,
            party_size=old.party_size,
            representatives=list(old.representatives),
            case_id=case_id,
            allow_duplicate=old.duplicate_allowed,
        ),
    )
    when = ctx.local(result.slot.starts_at)
    if old.notified_at is None:
        await mark_rung(
            session=session,
            ctx=ctx,
            actor=actor,
            appointment_id=appointment_id,
            note=f"已改约至{chinese_date(when)} {when:%H:%M}",
        )
    return result
