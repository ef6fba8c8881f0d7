"""Reading cases: the filtered list, summaries, the detail, clocks, ownership and leaders'
case lists — the response shaping. Petitioners' data shows whole only as
`reception.privacy.shows_whole` allows."""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from reception import pii
from reception.auth import Principal
from reception.cases import schemas, workflow
from reception.cases.access import case_scope
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
from reception.crypto import Keyring
from reception.errors import Broken, InvalidInput
from reception.expr import where
from reception.org.access import subtree_ids
from reception.org.models import Leader, Unit
from reception.petitioner import normal_id_number, normal_phone
from reception.privacy import mask_address, mask_id_number, mask_name, mask_phone, shows_whole
from reception.workcal import service as workcal

Clocks = list[tuple[CaseClock, list[ClockExtension]]]


async def list_cases(
    *,
    session: AsyncSession,
    keys: Keyring,
    principal: Principal,
    as_of: date,
    limit: int,
    offset: int,
    overdue: bool | None = None,
    due_before: date | None = None,
    owner_leader_id: int | None = None,
    unit_id: int | None = None,
    stage: str | None = None,
    channel: str | None = None,
    category: str | None = None,
    first_time: bool | None = None,
    q: str | None = None,
    sort: str = "registered",
    open_only: bool = False,
    count_up_to: int | None = None,
) -> tuple[list[PetitionCase], int]:
    """`sort`: "registered" (newest first) or "due" (the office's next deadline first, the
    most overdue at the top; cases with no running clock last)."""
    if session.get_bind().dialect.name == "postgresql":
        # As in the review: asyncpg's cached statements may get a generic plan after five
        # runs, blind to the subtree and the dates (measured: 375 ms instead of 75 ms for a
        # district's filtered worklist, bench/worklist.py). Transaction-local.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    query = select(PetitionCase).where(case_scope(principal))
    if overdue is not None:
        late = exists().where(
            col(CaseClock.case_id) == col(PetitionCase.id),
            where(workflow.overdue, CaseClock, as_of),
        )
        query = query.where(late if overdue else ~late)
    if due_before is not None:
        # An office deadline (not the petitioner's own 复查 window) due before the day.
        query = query.where(
            exists().where(
                col(CaseClock.case_id) == col(PetitionCase.id),
                col(CaseClock.status) == "running",
                col(CaseClock.kind).in_(workflow.OFFICE_CLOCKS),
                col(CaseClock.current_due) < due_before,
            )
        )
    if owner_leader_id is not None:
        query = query.where(
            exists().where(
                col(CaseOwnership.case_id) == col(PetitionCase.id),
                col(CaseOwnership.leader_id) == owner_leader_id,
                col(CaseOwnership.ended_at).is_(None),
            )
        )
    if unit_id is not None:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise InvalidInput(f"单位 {unit_id} 不存在", field="unit_id")
        query = query.where(col(PetitionCase.unit_id).in_(subtree_ids(unit.path)))
    if stage:
        query = query.where(PetitionCase.stage == stage)
    elif open_only:
        # An IN list, not `<> 'closed'`: the (unit_id, stage) index serves it.
        query = query.where(col(PetitionCase.stage).in_(workflow.OPEN_STAGES))
    if channel:
        query = query.where(PetitionCase.channel == channel)
    if category:
        query = query.where(PetitionCase.category_code == category)
    if first_time is not None:
        query = query.where(PetitionCase.first_time == first_time)
    if q:
        query = query.where(_search(keys, q.strip()))
    total = await _count(session, query, count_up_to)
    if sort == "due":
        # Overdue, or due before a day: the case's earliest office deadline is before it, so
        # the walk over running clocks in due order can stop there.
        bound = (
            min(d for d in (due_before, as_of if overdue else None) if d)
            if (due_before or overdue)
            else None
        )
        return await _due_first(session, query, limit=limit, offset=offset, bound=bound), total
    order = (col(PetitionCase.registered_on).desc(), col(PetitionCase.id).desc())
    rows = await session.scalars(query.order_by(*order).limit(limit).offset(offset))
    return list(rows.all()), total


async def _count(session: AsyncSession, query: Any, up_to: int | None) -> int:
    """How many cases match; with `up_to`, counting stops past it (a page says "10000+": a
    district's open cases need not all be counted to show the first page)."""
    if up_to is not None:
        query = query.limit(up_to + 1)
    return await session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _search(keys: Keyring, term: str) -> ColumnElement[bool]:
    """A petitioner's exact name, ID number or phone (each an indexed equality; ID number and
    phone by their blind indexes), or a reference number or part of one (蓟信〔2026〕00012,
    〔2026〕12, 00012) — the slow LIKE only for what can be part of a reference, never for an
    ID number or a phone."""
    person: list[ColumnElement[bool]] = [col(CasePetitioner.name) == term]
    # A term with no ID or phone in it ("-") must not match everyone without one.
    if id_number := normal_id_number(term):
        person.append(col(CasePetitioner.id_number_index) == pii.blind_id_number(keys, id_number))
    if phone := normal_phone(term):
        person.append(col(CasePetitioner.phone_index) == pii.blind_phone(keys, phone))
    by_person = col(PetitionCase.id).in_(select(CasePetitioner.case_id).where(or_(*person)))
    if len(term) > REFERENCE_MAX or not any(ch in "〔〕" or ch.isdigit() for ch in term):
        return by_person
    if term.isdigit() and len(term) > 5:
        return by_person
    return or_(col(PetitionCase.reference).contains(term, autoescape=True), by_person)


# The longest reference: prefix (a few characters), 〔year〕 and a 5-digit number.
REFERENCE_MAX = 20


async def _due_first(
    session: AsyncSession, query: Any, *, limit: int, offset: int, bound: date | None = None
) -> list[PetitionCase]:
    """The next office deadline first (the most overdue on top), cases with no running
    office clock after them. Walks the running clocks in due order (an index) instead of
    computing every open case's next deadline, so the first page of a district is quick."""
    clock, other = aliased(CaseClock), aliased(CaseClock)
    office = (
        col(clock.status) == "running",
        col(clock.kind).in_(workflow.OFFICE_CLOCKS),
    )
    # The case's earliest running office clock only: one row per case.
    earliest = ~exists().where(
        col(other.case_id) == col(clock.case_id),
        col(other.status) == "running",
        col(other.kind).in_(workflow.OFFICE_CLOCKS),
        or_(
            col(other.current_due) < col(clock.current_due),
            and_(col(other.current_due) == col(clock.current_due), col(other.id) < col(clock.id)),
        ),
    )
    with_clock = query.join(clock, col(clock.case_id) == col(PetitionCase.id)).where(
        *office, earliest
    )
    if bound is not None:
        with_clock = with_clock.where(col(clock.current_due) < bound)
    rows = list(
        (
            await session.scalars(
                with_clock.order_by(col(clock.current_due), col(PetitionCase.id))
                .limit(limit)
                .offset(offset)
            )
        ).all()
    )
    if len(rows) < limit:
        clocked = await session.scalar(select(func.count()).select_from(with_clock.subquery())) or 0
        none_running = query.where(
            ~exists().where(
                col(CaseClock.case_id) == col(PetitionCase.id),
                col(CaseClock.status) == "running",
                col(CaseClock.kind).in_(workflow.OFFICE_CLOCKS),
            )
        )
        rows += list(
            (
                await session.scalars(
                    none_running.order_by(col(PetitionCase.id))
                    .limit(limit - len(rows))
                    .offset(max(0, offset - clocked))
                )
            ).all()
        )
    return rows


def next_due(clocks: Clocks) -> CaseClock | None:
    """The office's next deadline (the petitioner's own 复查 window is not the office's)."""
    running = [c for c, _ in clocks if c.status == "running" and c.kind in workflow.OFFICE_CLOCKS]
    return min(running, key=lambda c: c.current_due) if running else None


def any_overdue(clocks: Clocks, as_of: date) -> bool:
    return any(workflow.overdue(c, as_of) for c, _ in clocks)


async def summaries(
    *, session: AsyncSession, principal: Principal | None, cases: list[PetitionCase], as_of: date
) -> list[schemas.CaseSummary]:
    whole = shows_whole(principal, listing=True)
    ids = [c.id for c in cases if c.id is not None]
    units = {
        u.id: u.name
        for u in await session.scalars(
            select(Unit).where(col(Unit.id).in_({c.unit_id for c in cases}))
        )
    }
    petitioners: dict[int, list[str]] = {i: [] for i in ids}
    for p in await session.scalars(
        select(CasePetitioner)
        .where(col(CasePetitioner.case_id).in_(ids))
        .order_by(col(CasePetitioner.position))
    ):
        petitioners[p.case_id].append(p.name if whole else mask_name(p.name))
    owners = {
        o.case_id: leader
        for o, leader in (
            await session.execute(
                select(CaseOwnership, Leader)
                .join(Leader, col(Leader.id) == col(CaseOwnership.leader_id))
                .where(col(CaseOwnership.case_id).in_(ids), col(CaseOwnership.ended_at).is_(None))
            )
        ).all()
    }
    clocks = await clocks_of(session=session, case_ids=ids)
    dues = [k.current_due for pairs in clocks.values() for k, _ in pairs] + [as_of]
    calendar = await workcal.calendar_around(session=session, start=min(dues), end=max(dues))
    out = []
    for c in cases:
        if c.id is None:
            raise Broken("expected: c.id is not None")
        nxt = next_due(clocks[c.id])
        left = workflow.time_left(calendar, nxt.kind, nxt.current_due, as_of) if nxt else None
        owner = owners.get(c.id)
        out.append(
            schemas.CaseSummary(
                id=c.id,
                reference=c.reference,
                channel=c.channel,
                category=c.category_code,
                summary=c.summary,
                unit_id=c.unit_id,
                unit_name=units.get(c.unit_id, ""),
                petitioner_names=petitioners[c.id],
                people_count=c.people_count,
                collective=c.collective,
                first_time=c.first_time,
                repeat_of=c.repeat_of_id,
                stage=c.stage,
                stage_label=workflow.STAGE_LABELS[c.stage],
                resolution=c.resolution,
                satisfaction=c.satisfaction,
                received_on=c.received_on,
                registered_on=c.registered_on,
                owner_leader_id=owner.id if owner else None,
                owner_leader_name=owner.name if owner else None,
                next_due=nxt.current_due if nxt else None,
                next_due_kind=nxt.kind if nxt else None,
                overdue=any_overdue(clocks[c.id], as_of),
                provisional=any(k.provisional for k, _ in clocks[c.id] if k.status == "running"),
                days_left=left.days if left else None,
                time_left=left.label if left else None,
            )
        )
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


async def detail(
    *,
    session: AsyncSession,
    keys: Keyring,
    principal: Principal | None,
    case: PetitionCase,
    as_of: date,
    tz: tzinfo,
    candidates: list[schemas.RepeatCandidate] | None = None,
) -> schemas.CaseDetail:
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
    petitioners = [
        schemas.PetitionerOut(
            name=p.name if whole else mask_name(p.name),
            id_number=p.id_number if whole else mask_id_number(p.id_number),
            phone=p.phone if whole else mask_phone(p.phone),
            address=p.address if whole else mask_address(p.address),
        )
        for p in people
    ]
    history = await ownership_history(session=session, case_id=case.id)
    # A closed case keeps its accountable leader: the last assignment, current or not.
    owner = owner_out(*history[-1]) if history else None
    return schemas.CaseDetail(
        id=case.id,
        reference=case.reference,
        version=case.version,
        channel=case.channel,
        category=case.category_code,
        summary=case.summary,
        unit_id=case.unit_id,
        unit_name=unit.name if unit else "",
        petitioners=petitioners,
        people_count=case.people_count,
        collective=case.collective,
        source=case.source,
        source_batch=case.source_batch,
        received_on=case.received_on,
        registered_on=case.registered_on,
        first_time=case.first_time,
        repeat_of=case.repeat_of_id,
        stage=case.stage,
        stage_label=workflow.STAGE_LABELS[case.stage],
        simple_procedure=case.simple_procedure,
        accepted_on=case.accepted_on,
        rejection_reason=case.rejection_reason,
        diverted_to=case.diverted_to,
        reply_doc_number=case.reply_doc_number,
        replied_on=case.replied_on,
        delivery_method=case.delivery_method,
        delivered_on=case.delivered_on,
        review_requested_on=case.review_requested_on,
        review_decided_on=case.review_decided_on,
        re_review_requested_on=case.re_review_requested_on,
        re_review_decided_on=case.re_review_decided_on,
        closed_on=case.closed_on,
        resolution=case.resolution,
        resolution_on=case.resolution_on,
        resolution_method=case.resolution_method,
        resolution_evidence=case.resolution_evidence,
        satisfaction=case.satisfaction,
        evaluated_on=case.evaluated_on,
        registered_by_name=case.registered_by_name,
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


async def leader_cases(
    *,
    session: AsyncSession,
    leader_id: int,
    principal: Principal | None,
    as_of: date,
    include_past: bool = False,
) -> list[schemas.LeaderCase]:
    """Cases a leader owns (包案), with stage, resolution and next due date — those of them
    the caller may read."""
    query = (
        select(CaseOwnership, PetitionCase)
        .join(PetitionCase, col(PetitionCase.id) == col(CaseOwnership.case_id))
        .where(CaseOwnership.leader_id == leader_id)
        .order_by(col(CaseOwnership.started_on).desc(), col(PetitionCase.id))
    )
    if not include_past:
        query = query.where(col(CaseOwnership.ended_at).is_(None))
    if principal is not None:
        query = query.where(case_scope(principal))
    rows = (await session.execute(query)).all()
    clocks = await clocks_of(session=session, case_ids=[c.id for _, c in rows if c.id])
    dues = [c.current_due for pairs in clocks.values() for c, _ in pairs] + [as_of]
    calendar = await workcal.calendar_around(session=session, start=min(dues), end=max(dues))
    out = []
    for o, c in rows:
        if c.id is None:
            raise Broken("expected: c.id is not None")
        nxt = next_due(clocks[c.id])
        left = workflow.time_left(calendar, nxt.kind, nxt.current_due, as_of) if nxt else None
        out.append(
            schemas.LeaderCase(
                case_id=c.id,
                reference=c.reference,
                summary=c.summary,
                stage=c.stage,
                stage_label=workflow.STAGE_LABELS[c.stage],
                resolution=c.resolution,
                current_owner=o.ended_at is None,
                owned_since=o.started_on,
                target_date=o.target_date,
                next_due=nxt.current_due if nxt else None,
                next_due_kind=nxt.kind if nxt else None,
                overdue=any_overdue(clocks[c.id], as_of),
                days_left=left.days if left else None,
                time_left=left.label if left else None,
            )
        )
    return out
