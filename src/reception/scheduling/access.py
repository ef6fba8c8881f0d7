"""Who reads and who changes reception schedules, and loading a session or an appointment
under that rule (SPEC §1: a leader outside a secretary's links is 404 to read, 403 to change).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import Principal
from reception.base import role_label
from reception.db import get_in_scope
from reception.errors import Forbidden, NotFound
from reception.etags import etag, require_match
from reception.org.access import visible_leader_ids
from reception.scheduling.models import Appointment, ReceptionSession


def require_manage(principal: Principal | None, leader_id: int) -> None:
    """Booking, moving and cancelling: admins, and secretaries for their linked leaders."""
    if principal is None or principal.may_act_for_leader(leader_id):
        return
    if principal.role == "secretary":
        raise Forbidden(f"您未关联领导 {leader_id},请联系管理员关联")
    raise Forbidden(f"{role_label(principal.role)}不能修改接访日程")


def session_scope(principal: Principal) -> ColumnElement[bool]:
    """The sessions a caller may read: those of the leaders he may see."""
    return col(ReceptionSession.leader_id).in_(visible_leader_ids(principal))


async def get_session(
    *, session: AsyncSession, session_id: int, principal: Principal | None
) -> ReceptionSession:
    subject: ReceptionSession = await get_in_scope(
        session,
        ReceptionSession,
        session_id,
        session_scope(principal) if principal else None,
        missing="该场次不存在,或不在您可查看的范围内",
    )
    return subject


async def get_session_for_write(
    *, session: AsyncSession, session_id: int, actor: Principal | None, share: bool = False
) -> ReceptionSession:
    """A session to change, row-locked: FOR UPDATE for a change of the session itself, FOR SHARE
    (`share`) for a booking inside it, so bookings run side by side but never beside a move or
    a cancellation. 404 if it does not exist, 403 if the caller cannot change it."""
    subject = await session.scalar(
        select(ReceptionSession)
        .where(ReceptionSession.id == session_id)
        .with_for_update(read=share)
        .execution_options(populate_existing=True)
    )
    if subject is None:
        raise NotFound("该场次不存在,或不在您可查看的范围内")
    require_manage(actor, subject.leader_id)
    return subject


def session_etag(subject: ReceptionSession) -> str:
    """Changes with every move, cancellation or record of the session (not with bookings)."""
    stamp = int(subject.updated_at.timestamp() * 1_000_000)
    return etag("session", subject.id, subject.sequence, stamp)


def check_if_match(subject: ReceptionSession, if_match: str | None) -> None:
    require_match(session_etag(subject), if_match, "该场次")


async def get_appointment(
    *,
    session: AsyncSession,
    appointment_id: int,
    principal: Principal | None,
    for_update: bool = False,
) -> Appointment:
    """An appointment the caller may read (it is as visible as its session)."""
    visible = (
        col(Appointment.session_id).in_(select(ReceptionSession.id).where(session_scope(principal)))
        if principal
        else None
    )
    appointment: Appointment = await get_in_scope(
        session,
        Appointment,
        appointment_id,
        visible,
        missing="该预约不存在,或不在您可查看的范围内",
        for_update=for_update,
    )
    return appointment
