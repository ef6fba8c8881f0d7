"""The monthly review's case lists: overdue acceptance and handling, 应登不登 (visits received
with no case registered), and 答复送达不规范 (replies not delivered, or delivered late)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from reception.cases import workflow
from reception.cases.delivery import FIELDS, METHOD_LABELS, shortcomings
from reception.cases.models import (
    CaseClock,
    CaseDelivery,
    CaseOwnership,
    CasePetitioner,
    PetitionCase,
)
from reception.cases.timeline import stages_as_of
from reception.expr import where
from reception.org.models import Leader, Unit
from reception.privacy import mask_name
from reception.reports.figures import ACCEPT_KINDS, HANDLE_KINDS, Scope, late_clause, subtree
from reception.scheduling import rules
from reception.scheduling.models import Appointment, ReceptionSession, SessionCase


async def _first_petitioners(session: AsyncSession, case_ids: list[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    rows = await session.execute(
        select(CasePetitioner.case_id, CasePetitioner.name).where(
            col(CasePetitioner.case_id).in_(case_ids), CasePetitioner.position == 0
        )
    )
    return {cid: name for cid, name in rows}


async def overdue_cases(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date, *, masked: bool
) -> list[dict[str, Any]]:
    owner_leader = aliased(Leader)
    rows = (
        await session.execute(
            select(CaseClock, PetitionCase, Unit.name, owner_leader.name)
            .join(PetitionCase, col(PetitionCase.id) == col(CaseClock.case_id))
            .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
            .outerjoin(
                CaseOwnership,
                and_(
                    col(CaseOwnership.case_id) == col(PetitionCase.id),
                    # The accountable leader on the as-of day.
                    col(CaseOwnership.started_on) <= as_of,
                    or_(
                        col(CaseOwnership.ended_on).is_(None),
                        col(CaseOwnership.ended_on) > as_of,
                    ),
                ),
            )
            .outerjoin(owner_leader, col(owner_leader.id) == col(CaseOwnership.leader_id))
            .where(
                col(PetitionCase.unit_id).in_(subtree(scope)),
                col(CaseClock.kind).in_(ACCEPT_KINDS + HANDLE_KINDS),
                late_clause(first, last, as_of),
                where(workflow.known_by, PetitionCase, as_of),
            )
            .order_by(col(CaseClock.current_due), col(PetitionCase.id))
        )
    ).all()
    ids = [c.id for _, c, _, _ in rows if c.id]
    names = await _first_petitioners(session, ids)
    stages = await stages_as_of(session=session, case_ids=ids, as_of=as_of)
    out = []
    for clock, case, unit_name, owner in rows:
        met = clock.met_on if clock.met_on is not None and clock.met_on <= as_of else None
        end = met if met is not None else as_of
        name = names.get(case.id or 0, "")
        out.append(
            {
                "type": "受理" if clock.kind in ACCEPT_KINDS else "办理",
                "unit_name": unit_name,
                "reference": case.reference,
                "petitioner": mask_name(name) if masked else name,
                "due": clock.current_due.isoformat(),
                "met_on": met.isoformat() if met else None,
                "days_overdue": (end - clock.current_due).days,
                "owner": owner,
                # The stage on the as-of day, not today's.
                "stage": workflow.STAGE_LABELS[stages.get(case.id or 0, case.stage)],
            }
        )
    return out


async def unregistered(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date, *, masked: bool
) -> list[dict[str, Any]]:
    """应登不登: appointments received and field visits done in the month, by the as-of day,
    with no case registered for them by then."""
    leaders_in_scope = select(Leader.id).where(col(Leader.unit_id).in_(subtree(scope)))
    until = min(last, as_of)
    linked_case = aliased(PetitionCase)
    appointments = await session.execute(
        sa_select(
            col(ReceptionSession.local_date),
            col(Leader.name),
            col(Unit.name),
            col(Appointment.id),
            col(Appointment.session_id),
            col(Appointment.petitioner_name),
            col(Unit.id),
        )
        .join(ReceptionSession, col(ReceptionSession.id) == col(Appointment.session_id))
        .join(Leader, col(Leader.id) == col(ReceptionSession.leader_id))
        .join(Unit, col(Unit.id) == col(Leader.unit_id))
        .outerjoin(linked_case, col(linked_case.id) == col(Appointment.case_id))
        .where(
            col(ReceptionSession.leader_id).in_(leaders_in_scope),
            col(ReceptionSession.local_date).between(first, until),
            rules.received(col(Appointment.status)),
            or_(col(Appointment.case_id).is_(None), col(linked_case.registered_on) > as_of),
        )
        .order_by(col(ReceptionSession.local_date), col(Appointment.id))
    )
    out = [
        {
            "type": "接访预约",
            "date": day.isoformat(),
            "leader": leader,
            "unit_name": unit,
            "unit_id": unit_id,
            "reference": "接访日来访,未登记为信访事项",
            "petitioner": mask_name(name) if masked else name,
            "days_overdue": None,
        }
        for day, leader, unit, appointment_id, session_id, name, unit_id in appointments
    ]
    visits = await session.execute(
        sa_select(
            col(ReceptionSession.local_date),
            col(Leader.name),
            col(Unit.name),
            col(ReceptionSession.id),
            col(Unit.id),
        )
        .join(Leader, col(Leader.id) == col(ReceptionSession.leader_id))
        .outerjoin(Unit, col(Unit.id) == col(ReceptionSession.unit_id))
        .where(
            col(ReceptionSession.leader_id).in_(leaders_in_scope),
            col(ReceptionSession.kind) == "field_visit",
            col(ReceptionSession.status) == "held",
            col(ReceptionSession.local_date).between(first, until),
            ~col(ReceptionSession.id).in_(
                select(SessionCase.session_id)
                .join(PetitionCase, col(PetitionCase.id) == col(SessionCase.case_id))
                .where(col(PetitionCase.registered_on) <= as_of)
            ),
        )
        .order_by(col(ReceptionSession.local_date), col(ReceptionSession.id))
    )
    out += [
        {
            "type": "下访",
            "date": day.isoformat(),
            "leader": leader,
            "unit_name": unit or "",
            "unit_id": unit_id,
            "reference": "下访已举行,未登记所接问题",
            "petitioner": "",
            "days_overdue": None,
        }
        for day, leader, unit, session_id, unit_id in visits
    ]
    return out


async def delivery_irregular(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date, *, masked: bool
) -> list[dict[str, Any]]:
    """Replies of the month not delivered by as-of, delivered after the handling period's due
    date, or whose 送达 record lacks what the method needs (cases.delivery) — read from the
    one delivery record (case_delivery), however it was entered."""
    handle = aliased(CaseClock)
    rows = (
        await session.execute(
            select(PetitionCase, col(Unit.name), col(handle.current_due), CaseDelivery)
            .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
            .outerjoin(
                handle,
                and_(
                    col(handle.case_id) == col(PetitionCase.id),
                    col(handle.kind).in_(HANDLE_KINDS),
                    col(handle.status) != "void",
                ),
            )
            .outerjoin(
                CaseDelivery,
                and_(
                    col(CaseDelivery.case_id) == col(PetitionCase.id),
                    col(CaseDelivery.doc_number) == col(PetitionCase.reply_doc_number),
                    col(CaseDelivery.outcome) == "delivered",
                    col(CaseDelivery.delivered_on) <= as_of,
                ),
            )
            .where(
                col(PetitionCase.unit_id).in_(subtree(scope)),
                col(PetitionCase.replied_on).between(first, min(last, as_of)),
            )
            .order_by(col(PetitionCase.replied_on), col(PetitionCase.id))
        )
    ).all()
    found = [(c, u, due, d, _problem(d, due)) for c, u, due, d in rows]
    found = [row for row in found if row[4]]
    names = await _first_petitioners(session, [c.id for c, *_ in found if c.id])
    out = []
    for case, unit_name, due, served, problem in found:
        delivered = served.delivered_on if served else None
        late_by = (delivered - due).days if delivered and due and delivered > due else None
        name = names.get(case.id or 0, "")
        out.append(
            {
                "unit_name": unit_name,
                "unit_id": case.unit_id,
                "reference": case.reference,
                "petitioner": mask_name(name) if masked else name,
                "replied_on": case.replied_on.isoformat() if case.replied_on else None,
                "delivered_on": delivered.isoformat() if delivered else None,
                "method": METHOD_LABELS[served.method] if served else "",
                "problem": problem,
                "days_overdue": late_by
                if late_by is not None
                else ((as_of - due).days if delivered is None and due and as_of > due else None),
            }
        )
    return out


def _problem(served: CaseDelivery | None, due: date | None) -> str:
    """Why a reply's 送达 is irregular ("" if it is not)."""
    if served is None:
        return "无送达记录"
    if due is not None and served.delivered_on > due:
        return "送达超过办理时限"
    values = {f: getattr(served, f) for f in ("recipient", "no_recipient_reason", *FIELDS)}
    lacks = shortcomings(served.method, values, served.legacy_method)
    if not lacks or served.legacy_method:
        return "".join(lacks)
    return "送达记录不全:" + ";".join(lacks)
