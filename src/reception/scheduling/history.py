"""Before booking: has this petitioner been here before? Warnings a secretary reads while she
types, from the same rules the booking applies (a second booking in one session is refused)
and within what she may see (her leaders' sessions, the cases they own)."""

from __future__ import annotations

from sqlalchemy import and_, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.auth import Principal
from reception.cases.access import case_scope
from reception.cases.models import CasePetitioner, PetitionCase
from reception.cases.workflow import STAGE_LABELS
from reception.context import Context
from reception.org.models import Leader
from reception.petitioner import normalised
from reception.scheduling import rules, schemas
from reception.scheduling.access import get_session, session_scope
from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot


def _chinese_date(value: object) -> str:
    return f"{value.year}年{value.month}月{value.day}日"  # type: ignore[attr-defined]


async def before_booking(
    *,
    session: AsyncSession,
    ctx: Context,
    principal: Principal | None,
    session_id: int,
    data: schemas.PetitionerCheck,
) -> list[schemas.BookingWarning]:
    subject = await get_session(session=session, session_id=session_id, principal=principal)
    who = normalised(data.petitioner_name, data.petitioner_id_number, data.petitioner_phone)
    same_booking = []
    same_person = []
    # By the blind indexes: nothing is decrypted to compare.
    if who.id_number:
        id_index = pii.blind_id_number(ctx.keys, who.id_number)
        same_booking.append(col(Appointment.petitioner_id_number_index) == id_index)
        same_person.append(col(CasePetitioner.id_number_index) == id_index)
    if who.name and who.phone:
        phone_index = pii.blind_phone(ctx.keys, who.phone)
        same_booking.append(
            and_(
                col(Appointment.petitioner_name) == who.name,
                col(Appointment.petitioner_phone_index) == phone_index,
            )
        )
        same_person.append(
            and_(
                col(CasePetitioner.name) == who.name,
                col(CasePetitioner.phone_index) == phone_index,
            )
        )
    if not same_booking:
        return []
    warnings: list[schemas.BookingWarning] = []
    here = (
        await session.execute(
            select(Appointment, SessionSlot)
            .join(SessionSlot, col(SessionSlot.id) == col(Appointment.slot_id))
            .where(
                Appointment.session_id == session_id,
                rules.holds_place(col(Appointment.status)),
                or_(*same_booking),
            )
            .order_by(col(Appointment.id))
            .limit(1)
        )
    ).first()
    if here is not None:
        first, slot = here
        warnings.append(
            schemas.BookingWarning(
                kind="double_booking",
                message=(
                    f"{first.petitioner_name}已预约本场次 {ctx.local(slot.starts_at):%H:%M} 时段"
                    f"(预约 {first.id}):同一信访人一个场次只约一次;确为另一事项才可再约"
                ),
                appointment_id=first.id,
            )
        )
    visits_query = (
        select(func.count(), func.max(col(ReceptionSession.local_date)))
        .select_from(Appointment)
        .join(ReceptionSession, col(ReceptionSession.id) == col(Appointment.session_id))
        .where(
            or_(*same_booking),
            rules.kept(col(Appointment.status)),
            col(ReceptionSession.local_date) < subject.local_date,
        )
    )
    if principal is not None:
        visits_query = visits_query.where(session_scope(principal))
    visits, last = (await session.execute(visits_query)).one()
    if visits:
        leader_query = (
            select(Leader.name)
            .join(ReceptionSession, col(ReceptionSession.leader_id) == col(Leader.id))
            .join(Appointment, col(Appointment.session_id) == col(ReceptionSession.id))
            .where(or_(*same_booking), col(ReceptionSession.local_date) == last)
            .limit(1)
        )
        if principal is not None:
            leader_query = leader_query.where(session_scope(principal))
        leader = await session.scalar(leader_query)
        warnings.append(
            schemas.BookingWarning(
                kind="repeat_visit",
                message=f"此前已预约来访 {visits} 次,最近一次 {_chinese_date(last)}({leader})",
            )
        )
    if same_person:
        cases_query = (
            select(PetitionCase)
            .where(
                col(PetitionCase.id).in_(select(CasePetitioner.case_id).where(or_(*same_person)))
            )
            .order_by(col(PetitionCase.registered_on).desc(), col(PetitionCase.id).desc())
        )
        if principal is not None:
            cases_query = cases_query.where(case_scope(principal))
        cases = list(await session.scalars(cases_query.limit(20)))
        if cases:
            latest = cases[0]
            more = "及以上" if len(cases) == 20 else ""
            warnings.append(
                schemas.BookingWarning(
                    kind="repeat_petition",
                    message=(
                        f"重复信访:已登记信访事项 {len(cases)} 件{more},最近一件 {latest.reference}"
                        f"({STAGE_LABELS[latest.stage]}):{latest.summary[:40]}"
                    ),
                    case_id=latest.id,
                )
            )
    return warnings
