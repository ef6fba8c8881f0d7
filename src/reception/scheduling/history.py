"""Before booking: has this petitioner been here before? Warnings a secretary reads while she
types, from the same rules the booking applies (a second booking in one session is refused)
and within what she may see (her leaders' sessions, the cases they own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, func, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.auth import Principal
from reception.cases.access import earlier_matters
from reception.cases.models import CasePetitioner
from reception.cases.workflow import STAGE_LABELS
from reception.context import Context
from reception.crypto import Keyring
from reception.org.models import Leader
from reception.petitioner import normalised
from reception.scheduling import rules, schemas
from reception.scheduling.access import get_session, session_scope
from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot
from reception.wording import chinese_date


@dataclass(frozen=True)
class Matching:
    """The conditions that find the same petitioner: on bookings and on case petitioners, by
    the blind indexes (nothing is decrypted to compare)."""

    booking: list[ColumnElement[bool]]
    person: list[ColumnElement[bool]]


def _matching(keys: Keyring, data: schemas.PetitionerCheck) -> Matching:
    who = normalised(data.petitioner_name, data.petitioner_id_number, data.petitioner_phone)
    booking: list[ColumnElement[bool]] = []
    person: list[ColumnElement[bool]] = []
    if who.id_number:
        booking.append(
            pii.matches(
                col(Appointment.petitioner_id_number_index), keys, pii.ID_NUMBER, who.id_number
            )
        )
        person.append(
            pii.matches(col(CasePetitioner.id_number_index), keys, pii.ID_NUMBER, who.id_number)
        )
    if who.name and who.phone:
        booking.append(
            and_(
                col(Appointment.petitioner_name) == who.name,
                pii.matches(col(Appointment.petitioner_phone_index), keys, pii.PHONE, who.phone),
            )
        )
        person.append(
            and_(
                col(CasePetitioner.name) == who.name,
                pii.matches(col(CasePetitioner.phone_index), keys, pii.PHONE, who.phone),
            )
        )
    return Matching(booking, person)


async def _double_booking(
    session: AsyncSession, ctx: Context, session_id: int, match: Matching
) -> schemas.BookingWarning | None:
    here = (
        await session.execute(
            select(Appointment, SessionSlot)
            .join(SessionSlot, col(SessionSlot.id) == col(Appointment.slot_id))
            .where(
                Appointment.session_id == session_id,
                rules.holds_place(col(Appointment.status)),
                or_(*match.booking),
            )
            .order_by(col(Appointment.id))
            .limit(1)
        )
    ).first()
    if here is None:
        return None
    first, slot = here
    return schemas.BookingWarning(
        kind="double_booking",
        message=(
            f"{first.petitioner_name}已预约本场次 {ctx.local(slot.starts_at):%H:%M} 时段:"
            "同一信访人一个场次只约一次;确为另一事项才可再约"
        ),
        appointment_id=first.id,
    )


async def _earlier_visits(
    session: AsyncSession, principal: Principal | None, before: date, match: Matching
) -> schemas.BookingWarning | None:
    visible = session_scope(principal) if principal is not None else true()
    visits, last = (
        await session.execute(
            select(func.count(), func.max(col(ReceptionSession.local_date)))
            .select_from(Appointment)
            .join(ReceptionSession, col(ReceptionSession.id) == col(Appointment.session_id))
            .where(
                or_(*match.booking),
                rules.kept(col(Appointment.status)),
                col(ReceptionSession.local_date) < before,
                visible,
            )
        )
    ).one()
    if not visits:
        return None
    leader = await session.scalar(
        select(Leader.name)
        .join(ReceptionSession, col(ReceptionSession.leader_id) == col(Leader.id))
        .join(Appointment, col(Appointment.session_id) == col(ReceptionSession.id))
        .where(or_(*match.booking), col(ReceptionSession.local_date) == last, visible)
        .limit(1)
    )
    return schemas.BookingWarning(
        kind="repeat_visit",
        message=f"此前已预约来访 {visits} 次,最近一次 {chinese_date(last)}({leader})",
    )


async def _registered_matters(
    session: AsyncSession, principal: Principal | None, match: Matching
) -> schemas.BookingWarning | None:
    if not match.person:
        return None
    found = await earlier_matters(session, principal, or_(*match.person))
    if not found.days:
        return None
    days = found.days
    when = (
        f"{chinese_date(days[-1])}至{chinese_date(days[0])}"
        if len(days) > 1
        else chinese_date(days[0])
    )
    recent = "、".join(chinese_date(d) for d in days[:3])
    message = f"重复信访:此人已登记信访事项 {len(days)} 件({when}),最近登记于 {recent}"
    latest = found.latest_readable
    if latest is not None:
        message += (
            f"。您可查看的最近一件:{latest.reference}"
            f"({STAGE_LABELS[latest.stage]}):{latest.summary[:40]}"
        )
    return schemas.BookingWarning(
        kind="repeat_petition",
        message=message,
        case_id=latest.id if latest is not None else None,
    )


async def before_booking(
    *,
    session: AsyncSession,
    ctx: Context,
    principal: Principal | None,
    session_id: int,
    data: schemas.PetitionerCheck,
) -> list[schemas.BookingWarning]:
    """What the secretary should know while she types a petitioner: already booked here,
    booked before, matters already registered."""
    subject = await get_session(session=session, session_id=session_id, principal=principal)
    match = _matching(ctx.keys, data)
    if not match.booking:
        return []
    found = [
        await _double_booking(session, ctx, session_id, match),
        await _earlier_visits(session, principal, subject.local_date, match),
        await _registered_matters(session, principal, match),
    ]
    return [w for w in found if w is not None]
