"""Reading one case: its detail, clocks, ownership, evaluations and timeline — the response
shaping (lists of cases: cases/lists.py). Petitioners' data shows whole only as
`reception.privacy.shows_whole` allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import Principal
from reception.cases import query_code, registration, schemas, workflow
from reception.cases.clocks import clocks_of, pauses_of
from reception.cases.models import (
    CaseClock,
    CaseEvaluation,
    CaseEvent,
    CaseOwnership,
    CasePetitioner,
    ClockExtension,
    ClockPause,
    PetitionCase,
)
from reception.cases.ownership import ownership_history
from reception.cases.petitioners import petitioner
from reception.cases.service import allowed
from reception.cases.timeline import timeline
from reception.context import Context
from reception.crypto import Keyring
from reception.errors import Broken
from reception.org.models import Leader, Unit
from reception.privacy import (
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    shown_whole,
    shows_whole,
)

Clocks = list[tuple[CaseClock, list[ClockExtension]]]


# A response field named otherwise on the case's row.
ROW_NAMES = {"category": "category_code", "repeat_of": "repeat_of_id"}


def case_fields(case: PetitionCase, shape: type[Any], *given: str) -> dict[str, Any]:
    """The fields of a response shape (CaseSummary, CaseDetail) that the case's row holds as
    they are — each mapped once, by name — but those the caller `given` itself."""
    out = {}
    for name in shape.__struct_fields__:
        attribute = ROW_NAMES.get(name, name)
        if attribute in PetitionCase.model_fields and name not in given:
            out[name] = getattr(case, attribute)
    return out


def clock_out(
    clock: CaseClock,
    extensions: list[ClockExtension],
    as_of: date,
    pauses: list[ClockPause] | None = None,
) -> schemas.ClockOut:
    if clock.id is None:
        raise Broken("expected: clock.id is not None")
    return schemas.ClockOut(
        id=clock.id,
        kind=clock.kind,
        label=workflow.CLOCK_LABELS[clock.kind],
        round=clock.round,
        started_on=clock.started_on,
        length=clock.length,
        working_days=clock.working_days,
        original_due=clock.original_due,
        current_due=clock.current_due,
        extended_days=clock.extended_days,
        paused_days=clock.paused_days,
        status=clock.status,
        met_on=clock.met_on,
        on_time=clock.on_time,
        overdue=bool(workflow.overdue(clock, as_of)),
        provisional=clock.provisional,
        extensions=[
            {
                "days": e.days,
                "reason": e.reason,
                "approver": e.approver,
                "granted_on": e.granted_on.isoformat(),
                "petitioner_told_on": e.petitioner_told_on.isoformat(),
                "by": e.created_by_name,
            }
            for e in extensions
        ],
        pauses=[
            {
                "starts_on": p.starts_on.isoformat(),
                "ends_on": p.ends_on.isoformat(),
                "days": p.days,
                "reason": p.reason,
                "by": p.created_by_name,
            }
            for p in pauses or []
        ],
    )


async def case_clocks(
    *, session: AsyncSession, case_id: int, as_of: date
) -> list[schemas.ClockOut]:
    clocks = (await clocks_of(session=session, case_ids=[case_id]))[case_id]
    pauses = await pauses_of(session=session, clock_ids=[c.id for c, _ in clocks if c.id])
    return [clock_out(c, ext, as_of, pauses.get(c.id or 0)) for c, ext in clocks]


def owner_out(o: CaseOwnership, leader: Leader) -> schemas.OwnerOut:
    if o.id is None:
        raise Broken("expected: o.id is not None")
    return schemas.OwnerOut(
        id=o.id,
        leader_id=o.leader_id,
        leader_name=leader.name,
        responsible_unit_id=o.responsible_unit_id,
        plan=o.plan,
        target_date=o.target_date,
        stability_contact=o.stability_contact,
        reason=o.reason,
        started_on=o.started_on,
        ended_on=o.ended_on,
        end_reason=o.end_reason,
        assigned_by_name=o.assigned_by_name,
        current=o.ended_at is None,
    )


async def owners(*, session: AsyncSession, case_id: int) -> list[schemas.OwnerOut]:
    return [
        owner_out(o, leader)
        for o, leader in await ownership_history(session=session, case_id=case_id)
    ]


async def detail_of(
    *,
    session: AsyncSession,
    keys: Keyring,
    principal: Principal | None,
    case: PetitionCase,
    as_of: date,
    tz: tzinfo,
    candidates: list[schemas.RepeatCandidate] | None = None,
    history: list[tuple[CaseOwnership, Leader]] | None = None,
) -> schemas.CaseDetail:
    """`history`: the case's ownership history, when the caller has read it already."""
    if case.id is None:
        raise Broken("expected: case.id is not None")
    unit = await session.get(Unit, case.unit_id)
    whole = shows_whole(principal, unit_path=unit.path if unit else None)
    people = [
        petitioner(keys, p)
        for p in await session.scalars(
            select(CasePetitioner)
            .where(CasePetitioner.case_id == case.id)
            .order_by(col(CasePetitioner.position))
        )
    ]
    if whole and principal is not None:
        fields = tuple(
            f for f in ("id_number", "phone", "address") if any(getattr(p, f) for p in people)
        )
        shown_whole("petition_case", case.id, fields)
    petitioners = [
        schemas.PetitionerOut(
            name=p.name if whole else mask_name(p.name),
            id_number=p.id_number if whole else mask_id_number(p.id_number),
            phone=p.phone if whole else mask_phone(p.phone),
            address=p.address if whole else mask_address(p.address),
        )
        for p in people
    ]
    if history is None:
        history = await ownership_history(session=session, case_id=case.id)
    # A closed case keeps its accountable leader: the last assignment, current or not.
    owner = owner_out(*history[-1]) if history else None
    return schemas.CaseDetail(
        **case_fields(case, schemas.CaseDetail, "created_at", "updated_at"),
        unit_name=unit.name if unit else "",
        petitioners=petitioners,
        stage_label=workflow.STAGE_LABELS[case.stage],
        owner=owner,
        clocks=await case_clocks(session=session, case_id=case.id, as_of=as_of),
        allowed_actions=await allowed(session, case),
        masked=not whole,
        created_at=case.created_at.astimezone(tz),
        updated_at=case.updated_at.astimezone(tz),
        repeat_candidates=candidates or [],
        evaluations=await evaluations(session=session, case=case),
    )


async def evaluations(*, session: AsyncSession, case: PetitionCase) -> list[schemas.EvaluationOut]:
    """The petitioner's own ratings (one per reply) and the one a clerk recorded."""
    out = [
        schemas.EvaluationOut(
            source=e.source,
            round=e.round,
            satisfaction=e.satisfaction,
            comment=e.comment,
            evaluated_on=e.evaluated_on,
        )
        for e in await session.scalars(
            select(CaseEvaluation)
            .where(col(CaseEvaluation.case_id) == case.id)
            .order_by(col(CaseEvaluation.round), col(CaseEvaluation.id))
        )
    ]
    if case.satisfaction != "not_evaluated" and case.evaluated_on is not None:
        out.append(
            schemas.EvaluationOut(
                source="staff",
                round=0,
                satisfaction=case.satisfaction,
                comment="",
                evaluated_on=case.evaluated_on,
            )
        )
    return out


def event_out(e: CaseEvent, tz: tzinfo) -> schemas.EventOut:
    return schemas.EventOut(
        id=e.id or 0,
        at=e.at.astimezone(tz),
        effective_on=e.effective_on,
        actor_name=e.actor_name,
        kind=e.kind,
        note=e.note,
        before=e.before,
        after=e.after,
    )


@dataclass(frozen=True)
class CasePage:
    """What the case page shows of a case (the page adds its forms and labels)."""

    detail: schemas.CaseDetail
    # Earlier matters of the same petitioners, while this one is still to be confirmed as a
    # first petition or a repeat.
    candidates: list[schemas.RepeatCandidate]
    events: list[schemas.EventOut]
    owners: list[schemas.OwnerOut]
    # The query code as printed, for those who see the petitioners whole ("" otherwise).
    query_code: str


async def case_page(
    *, session: AsyncSession, ctx: Context, principal: Principal | None, case: PetitionCase
) -> CasePage:
    if case.id is None:
        raise Broken("expected: a registered case")
    # Read once: the detail's accountable leader and the page's ownership history.
    history = await ownership_history(session=session, case_id=case.id)
    detail = await detail_of(
        session=session,
        keys=ctx.keys,
        principal=principal,
        case=case,
        as_of=ctx.today(),
        tz=ctx.tz,
        history=history,
    )
    candidates: list[schemas.RepeatCandidate] = []
    unconfirmed = detail.first_time and not detail.repeat_of and detail.stage == "registered"
    if unconfirmed and not detail.masked and detail.petitioners:
        found = await registration.repeat_candidates(
            session=session,
            keys=ctx.keys,
            principal=principal,
            petitioners=[
                schemas.PetitionerIn(name=p.name, id_number=p.id_number, phone=p.phone)
                for p in detail.petitioners
            ],
            category=detail.category,
            unit_id=detail.unit_id,
            summary=detail.summary,
        )
        candidates = [c for c in found if c.case_id != case.id]
    code = None if detail.masked else query_code.read(ctx, case)
    return CasePage(
        detail=detail,
        candidates=candidates,
        events=[event_out(e, ctx.tz) for e in await timeline(session=session, case_id=case.id)],
        owners=[owner_out(o, leader) for o, leader in history],
        query_code=query_code.shown(code) if code else "",
    )
