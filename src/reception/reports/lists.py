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


def _first_petitioner() -> Any:
    """The join to a case's first petitioner (the name a list shows)."""
    return and_(
        col(CasePetitioner.case_id) == col(PetitionCase.id), col(CasePetitioner.position) == 0
    )


async def overdue_cases(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date, *, masked: bool
) -> tuple[list[dict[str, Any]], list[tuple[int, str, int]]]:
    """超期 acceptance and handling of the month (workflow.late_in), with the case's first
    petitioner, its accountable leader and its stage on the as-of day: plain columns in one
    statement (a district's month lists thousands), the stages in a second. Also each late
    clock as (unit id, kind, case id): the month's 超期 counts per unit are these."""
    owner_leader = aliased(Leader)
    rows = (
        await session.execute(
            sa_select(
                col(CaseClock.kind),
                col(CaseClock.current_due),
                col(CaseClock.met_on),
                col(PetitionCase.id),
                col(PetitionCase.reference),
                col(PetitionCase.stage),
                col(Unit.name),
                col(owner_leader.name),
                col(CasePetitioner.name),
                col(PetitionCase.unit_id),
            )
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
            .outerjoin(CasePetitioner, _first_petitioner())
            .where(
                col(PetitionCase.unit_id).in_(subtree(scope)),
                col(CaseClock.kind).in_(ACCEPT_KINDS + HANDLE_KINDS),
                late_clause(first, last, as_of),
                where(workflow.known_by, PetitionCase, as_of),
            )
            .order_by(col(CaseClock.current_due), col(PetitionCase.id))
        )
    ).all()
    stages = await stages_as_of(session=session, case_ids=[r[3] or 0 for r in rows], as_of=as_of)
    out, late = [], []
    for kind, due, met_on, case_id, reference, stage, unit_name, owner, name, unit_id in rows:
        late.append((unit_id, kind, case_id or 0))
        met = met_on if met_on is not None and met_on <= as_of else None
        end = met if met is not None else as_of
        name = name or ""
        out.append(
            {
                "type": "受理" if kind in ACCEPT_KINDS else "办理",
                "unit_name": unit_name,
                "reference": reference,
                "petitioner": mask_name(name) if masked else name,
                "due": due.isoformat(),
                "met_on": met.isoformat() if met else None,
                "days_overdue": (end - due).days,
                "owner": owner,
                # The stage on the as-of day, not today's.
                "stage": workflow.STAGE_LABELS[stages.get(case_id or 0, stage)],
            }
        )
    return out, late


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
    one delivery record (case_delivery), however it was entered. Plain columns: a district's
    month has thousands of replies, each checked here."""
    handle = aliased(CaseClock)
    rows = (
        await session.execute(
            sa_select(
                col(PetitionCase.reference),
                col(PetitionCase.unit_id),
                col(PetitionCase.replied_on),
                col(Unit.name),
                col(handle.current_due),
                col(CaseDelivery.id),
                *(getattr(CaseDelivery, f) for f in SERVED),
                col(CasePetitioner.name),
            )
            .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
            .outerjoin(CasePetitioner, _first_petitioner())
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
    out = []
    for reference, unit_id, replied_on, unit_name, due, served_id, *values, name in rows:
        served = dict(zip(SERVED, values, strict=True)) if served_id is not None else None
        problem = _problem(served, due)
        if not problem:
            continue
        delivered = served["delivered_on"] if served else None
        late_by = (delivered - due).days if delivered and due and delivered > due else None
        name = name or ""
        out.append(
            {
                "unit_name": unit_name,
                "unit_id": unit_id,
                "reference": reference,
                "petitioner": mask_name(name) if masked else name,
                "replied_on": replied_on.isoformat() if replied_on else None,
                "delivered_on": delivered.isoformat() if delivered else None,
                "method": METHOD_LABELS[served["method"]] if served else "",
                "problem": problem,
                "days_overdue": late_by
                if late_by is not None
                else ((as_of - due).days if delivered is None and due and as_of > due else None),
            }
        )
    return out


# What the review reads of a delivery record to judge it.
SERVED = tuple(
    dict.fromkeys(("method", "delivered_on", "legacy_method", "recipient", "no_recipient_reason",
                   *FIELDS))
)  # fmt: skip


def _problem(served: dict[str, Any] | None, due: date | None) -> str:
    """Why a reply's 送达 is irregular ("" if it is not)."""
    if served is None:
        return "无送达记录"
    if due is not None and served["delivered_on"] > due:
        return "送达超过办理时限"
    values = {f: served[f] for f in ("recipient", "no_recipient_reason", *FIELDS)}
    lacks = shortcomings(served["method"], values, served["legacy_method"])
    if not lacks or served["legacy_method"]:
        return "".join(lacks)
    return "送达记录不全:" + ";".join(lacks)
