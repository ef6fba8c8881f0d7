"""Sessions and appointments linked to the cases they are about: a field visit's cases
(带案下访) and their outcomes there, and the case registered for an appointment (应登不登 when a
received visit has none). Scheduling builds on cases here; cases never imports scheduling."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases.access import case_scope, check_case_visible, get_case
from reception.cases.models import PetitionCase
from reception.cases.timeline import effective_date, record_event
from reception.context import Context
from reception.crypto import Keyring
from reception.db import now_of
from reception.errors import Conflict, Forbidden, NotFound
from reception.org.models import Leader
from reception.scheduling.access import get_appointment, get_session, require_manage
from reception.scheduling.booking import appointment_snapshot
from reception.scheduling.models import Appointment, ReceptionSession, SessionCase

KIND_LABEL = {"reception": "接访", "field_visit": "下访"}


async def _may_change_session_cases(
    session: AsyncSession, actor: Principal | None, subject: ReceptionSession
) -> None:
    """The leader, his secretaries, admins, and clerks who can see the session."""
    if actor is None or actor.may_act_for_leader(subject.leader_id):
        return
    if actor.role == "leader" and actor.leader_id == subject.leader_id:
        return
    if actor.role == "clerk":
        await get_session(session=session, session_id=subject.id or 0, principal=actor)
        return
    raise Forbidden("只有该领导、其秘书或信访干部能修改本场次关联的事项")


async def link_session_case(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, session_id: int, case_id: int
) -> SessionCase:
    subject = await session.get(ReceptionSession, session_id)
    if subject is None:
        raise NotFound("该场次不存在,或不在您可查看的范围内")
    await _may_change_session_cases(session, actor, subject)
    case = await get_case(session=session, case_id=case_id, principal=actor, for_update=True)
    if await session.get(SessionCase, (session_id, case_id)) is not None:
        raise Conflict(f"信访事项 {case_id} 已关联场次 {session_id}")
    link = SessionCase(session_id=session_id, case_id=case_id)
    session.add(link)
    await session.flush()
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="session.linked",
        on=min(subject.local_date, ctx.today()),
        after={
            "session_id": session_id,
            "kind": subject.kind,
            "date": subject.local_date.isoformat(),
        },
        note=f"{KIND_LABEL[subject.kind]} {subject.local_date.isoformat()}",
    )
    return link


async def record_session_outcome(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    session_id: int,
    case_id: int,
    outcome: str,
    on: date | None,
) -> SessionCase:
    """A field visit's outcome for one case: kept on the link and on the case's timeline."""
    link = await session.get(SessionCase, (session_id, case_id), with_for_update=True)
    subject = await session.get(ReceptionSession, session_id)
    if link is None or subject is None:
        raise NotFound(f"信访事项 {case_id} 未关联场次 {session_id}")
    await _may_change_session_cases(session, actor, subject)
    # Writing follows the case's current owner, as reading does: a leader the case moved away
    # from (and his secretaries) no longer reaches it, not even through an old visit's link.
    case = await get_case(session=session, case_id=case_id, principal=actor, for_update=True)
    day = effective_date(ctx, on, not_before=subject.local_date, label="场次日期")
    before = {"outcome": link.outcome}
    link.outcome = outcome
    link.outcome_on = day
    await session.flush()
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="session.outcome",
        on=day,
        before=before,
        after={"session_id": session_id, "outcome": outcome},
        note=outcome,
    )
    return link


async def session_cases(
    *, session: AsyncSession, session_id: int, principal: Principal | None
) -> list[tuple[SessionCase, PetitionCase]]:
    query = (
        select(SessionCase, PetitionCase)
        .join(PetitionCase, col(PetitionCase.id) == col(SessionCase.case_id))
        .where(SessionCase.session_id == session_id)
        .order_by(col(PetitionCase.id))
    )
    if principal is not None:
        # The cases the caller may read now: a visit's leader those he still owns.
        query = query.where(case_scope(principal))
    rows = await session.execute(query)
    return [(link, case) for link, case in rows.all()]


async def case_sessions(
    *, session: AsyncSession, case_id: int
) -> list[tuple[ReceptionSession, Leader, str, str]]:
    """The sessions a case was taken to (带案下访, 接访) and the appointments booked about it:
    (session, its leader, "visit" or "appointment", the outcome or the appointment's status)."""
    visits = await session.execute(
        select(ReceptionSession, Leader, SessionCase)
        .join(SessionCase, col(SessionCase.session_id) == col(ReceptionSession.id))
        .join(Leader, col(Leader.id) == col(ReceptionSession.leader_id))
        .where(SessionCase.case_id == case_id)
    )
    booked = await session.execute(
        select(ReceptionSession, Leader, Appointment)
        .join(Appointment, col(Appointment.session_id) == col(ReceptionSession.id))
        .join(Leader, col(Leader.id) == col(ReceptionSession.leader_id))
        .where(Appointment.case_id == case_id)
    )
    rows = [(s, leader, "visit", link.outcome) for s, leader, link in visits.all()]
    rows += [(s, leader, "appointment", a.status) for s, leader, a in booked.all()]
    return sorted(rows, key=lambda r: r[0].starts_at)


async def set_appointment_case(
    *,
    session: AsyncSession,
    keys: Keyring,
    actor: Principal | None,
    appointment_id: int,
    case_id: int | None,
) -> Appointment:
    """Link an appointment to the case registered for it (a clerk, after the reception day)."""
    appointment = await get_appointment(
        session=session, appointment_id=appointment_id, principal=actor, for_update=True
    )
    subject = await get_session(session=session, session_id=appointment.session_id, principal=None)
    if actor is not None and actor.role != "clerk":
        require_manage(actor, subject.leader_id)
    if case_id is not None:
        await check_case_visible(session=session, case_id=case_id, principal=actor)
    before = appointment_snapshot(appointment, keys)
    appointment.case_id = case_id
    appointment.updated_at = now_of(session)
    await audit.changed(
        session=session,
        actor=actor,
        action="appointment.case",
        target=appointment,
        before=before,
        after=appointment_snapshot(appointment, keys),
    )
    return appointment
