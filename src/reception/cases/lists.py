"""Lists of cases: the filtered worklist (search, "next deadline first", bounded counts), the
summaries it shows, and a leader's 包案. Petitioners' names show masked in every list
(`reception.privacy.shows_whole`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from reception import pii
from reception.auth import Principal
from reception.cases import schemas, workflow
from reception.cases.access import case_scope
from reception.cases.clocks import clocks_of
from reception.cases.models import (
    CaseClock,
    CaseOwnership,
    CasePetitioner,
    CauseInquiry,
    ClockExtension,
    PetitionCase,
)
from reception.cases.views import case_fields
from reception.crypto import Keyring
from reception.db import plan_each_time
from reception.errors import Broken, InvalidInput
from reception.expr import where
from reception.org.access import subtree_ids
from reception.org.models import Leader, Unit
from reception.petitioner import normal_id_number, normal_phone
from reception.privacy import mask_name, shows_whole
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
    inquiry: str | None = None,
    q: str | None = None,
    sort: str = "registered",
    open_only: bool = False,
    count_up_to: int | None = None,
) -> tuple[list[PetitionCase], int]:
    """`sort`: "registered" (newest first) or "due" (the office's next deadline first, the
    most overdue at the top; cases with no running clock last)."""
    await plan_each_time(session)
    query = _by_clocks(
        select(PetitionCase).where(case_scope(principal)), as_of, overdue, due_before
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
    if inquiry is not None:
        # Cases whose 流调 is open (or signed): listed for the clerks who must finish it.
        query = query.where(
            exists().where(
                col(CauseInquiry.case_id) == col(PetitionCase.id),
                col(CauseInquiry.status) == inquiry,
            )
        )
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


def _by_clocks(query: Any, as_of: date, overdue: bool | None, due_before: date | None) -> Any:
    """Cases with (or without) an overdue clock; with an office deadline (not the
    petitioner's own 复查 window) due before a day."""
    if overdue is not None:
        late = exists().where(
            col(CaseClock.case_id) == col(PetitionCase.id),
            where(workflow.overdue, CaseClock, as_of),
        )
        query = query.where(late if overdue else ~late)
    if due_before is not None:
        query = query.where(
            exists().where(
                col(CaseClock.case_id) == col(PetitionCase.id),
                where(workflow.running_office_clock, CaseClock),
                col(CaseClock.current_due) < due_before,
            )
        )
    return query


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
        person.append(
            pii.matches(col(CasePetitioner.id_number_index), keys, pii.ID_NUMBER, id_number)
        )
    if phone := normal_phone(term):
        person.append(pii.matches(col(CasePetitioner.phone_index), keys, pii.PHONE, phone))
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
    inquiries = dict(
        (
            await session.execute(
                select(col(CauseInquiry.case_id), col(CauseInquiry.status)).where(
                    col(CauseInquiry.case_id).in_(ids)
                )
            )
        ).all()
    )
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
                **case_fields(c, schemas.CaseSummary),
                unit_name=units.get(c.unit_id, ""),
                petitioner_names=petitioners[c.id],
                stage_label=workflow.STAGE_LABELS[c.stage],
                owner_leader_id=owner.id if owner else None,
                owner_leader_name=owner.name if owner else None,
                next_due=nxt.current_due if nxt else None,
                next_due_kind=nxt.kind if nxt else None,
                overdue=any_overdue(clocks[c.id], as_of),
                provisional=any(k.provisional for k, _ in clocks[c.id] if k.status == "running"),
                days_left=left.days if left else None,
                time_left=left.label if left else None,
                inquiry=inquiries.get(c.id, ""),
            )
        )
    return out


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
