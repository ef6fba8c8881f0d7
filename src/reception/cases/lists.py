"""Lists of cases: the filtered worklist (search, "next deadline first", bounded counts), the
summaries it shows, and a leader's 包案. Petitioners' names show masked in every list
(`reception.privacy.shows_whole`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
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
from reception.errors import Broken, InvalidInput
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
    # The page and its (bounded) count in one statement: the count is an uncorrelated scalar
    # subquery, computed once. A page past the end has no row to carry it: counted apart.
    total_column = _counted(query, count_up_to).correlate(None).scalar_subquery()
    if sort == "due":
        return await _due_first(session, query, total_column, count_up_to, limit, offset)
    order = (col(PetitionCase.registered_on).desc(), col(PetitionCase.id).desc())
    rows = (
        await session.execute(
            query.add_columns(total_column).order_by(*order).limit(limit).offset(offset)
        )
    ).all()
    if not rows:
        return [], await _count(session, query, count_up_to)
    return [row[0] for row in rows], int(rows[0][1])


async def _due_first(
    session: AsyncSession, query: Any, total_column: Any, up_to: int | None, limit: int, offset: int
) -> tuple[list[PetitionCase], int]:
    """The next office deadline first (the most overdue on top), then the cases with no
    running office clock (by id). The first part walks `next_office_due`'s partial index in
    order for any scope — a district's open cases are never all sorted for a page of 20."""
    due = col(PetitionCase.next_office_due)
    clocked = query.where(due.is_not(None))
    rows = (
        await session.execute(
            clocked.add_columns(total_column)
            .order_by(due, col(PetitionCase.id))
            .limit(limit)
            .offset(offset)
        )
    ).all()
    cases = [row[0] for row in rows]
    total = int(rows[0][1]) if rows else await _count(session, query, up_to)
    if len(cases) == limit or offset + len(cases) >= total:
        return cases, total
    # Past the clocked cases: the rest, whose place starts after all of them (a page that
    # began among the clocked ones takes the rest from its start).
    before = offset - await _count(session, clocked, None) if offset and not cases else 0
    rest = await session.scalars(
        query.where(due.is_(None))
        .order_by(col(PetitionCase.id))
        .limit(limit - len(cases))
        .offset(max(0, before))
    )
    return cases + list(rest.all()), total


def _by_clocks(query: Any, as_of: date, overdue: bool | None, due_before: date | None) -> Any:
    """Cases with (or without) an overdue office clock as of today; with an office deadline
    (not the petitioner's own 复查 window) due before a day. Both read the case's
    `next_office_due` (its earliest running office clock): a clock is met on a day not after
    today, so as of today an office clock is overdue exactly when it runs past its due date."""
    due = col(PetitionCase.next_office_due)
    if overdue is not None:
        query = query.where(due < as_of if overdue else or_(due.is_(None), due >= as_of))
    if due_before is not None:
        query = query.where(due < due_before)
    return query


def _counted(query: Any, up_to: int | None) -> Any:
    """SELECT of how many cases match; with `up_to`, counting stops past it (a page says
    "10000+": a district's open cases need not all be counted to show the first page)."""
    bounded = query if up_to is None else query.limit(up_to + 1)
    return select(func.count()).select_from(bounded.subquery())


async def _count(session: AsyncSession, query: Any, up_to: int | None) -> int:
    return await session.scalar(_counted(query, up_to)) or 0


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


def next_due(clocks: Clocks) -> CaseClock | None:
    """The office's next deadline (the petitioner's own 复查 window is not the office's)."""
    running = [c for c, _ in clocks if c.status == "running" and c.kind in workflow.OFFICE_CLOCKS]
    return min(running, key=lambda c: c.current_due) if running else None


def any_overdue(clocks: Clocks, as_of: date) -> bool:
    return any(workflow.overdue(c, as_of) for c, _ in clocks)


async def summaries(
    *, session: AsyncSession, principal: Principal | None, cases: list[PetitionCase], as_of: date
) -> list[schemas.CaseSummary]:
    """What a list shows of each case beyond its row, in one statement (`_decorations`), and
    the calendar its next deadline is counted on. `as_of` is today: a met clock was met on a
    day not after it, so the case is overdue when its next office deadline is past."""
    whole = shows_whole(principal, listing=True)
    ids = [c.id for c in cases if c.id is not None]
    extra: dict[int, _Decoration] = {}
    for r in await session.execute(_decorations(ids)):
        seen = extra.setdefault(r.id, _Decoration(r.unit_name, r.owner_id, r.owner_name,
                                                  r.inquiry or "", r.next_kind,
                                                  bool(r.provisional), []))  # fmt: skip
        if r.petitioner is not None:
            seen.petitioners.append(r.petitioner if whole else mask_name(r.petitioner))
    dues = [c.next_office_due for c in cases if c.next_office_due is not None] + [as_of]
    calendar = await workcal.calendar_around(session=session, start=min(dues), end=max(dues))
    out = []
    for c in cases:
        if c.id is None:
            raise Broken("expected: c.id is not None")
        d, due = extra[c.id], c.next_office_due
        left = (
            workflow.time_left(calendar, d.next_kind, due, as_of) if due and d.next_kind else None
        )
        out.append(
            schemas.CaseSummary(
                **case_fields(c, schemas.CaseSummary),
                unit_name=d.unit_name,
                petitioner_names=d.petitioners,
                stage_label=workflow.STAGE_LABELS[c.stage],
                owner_leader_id=d.owner_id,
                owner_leader_name=d.owner_name,
                next_due=due,
                next_due_kind=d.next_kind if due else None,
                overdue=due is not None and due < as_of,
                provisional=d.provisional,
                days_left=left.days if left else None,
                time_left=left.label if left else None,
                inquiry=d.inquiry,
            )
        )
    return out


@dataclass
class _Decoration:
    unit_name: str
    owner_id: int | None
    owner_name: str | None
    inquiry: str
    next_kind: str | None
    provisional: bool
    petitioners: list[str]


def _decorations(ids: list[int]) -> Any:
    """Per case: its unit's name, its current 包案 leader, its 流调's status, the kind of its
    next office clock, whether a running clock counts on an estimated calendar — and one row
    per petitioner (in their order), so a page of cases is one statement."""
    case_id = col(PetitionCase.id)
    clock = (col(CaseClock.case_id) == case_id, col(CaseClock.status) == "running")
    next_kind = (
        select(col(CaseClock.kind))
        .where(*clock, col(CaseClock.kind).in_(workflow.OFFICE_CLOCKS))
        .order_by(col(CaseClock.current_due), col(CaseClock.id))
        .limit(1)
        .scalar_subquery()
    )
    inquiry = (
        select(col(CauseInquiry.status))
        .where(col(CauseInquiry.case_id) == case_id)
        .order_by(col(CauseInquiry.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    provisional = exists().where(*clock, col(CaseClock.provisional).is_(True))
    return (
        core_select(
            case_id.label("id"),
            col(Unit.name).label("unit_name"),
            col(Leader.id).label("owner_id"),
            col(Leader.name).label("owner_name"),
            inquiry.label("inquiry"),
            next_kind.label("next_kind"),
            provisional.label("provisional"),
            col(CasePetitioner.name).label("petitioner"),
        )
        .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
        .outerjoin(
            CaseOwnership,
            and_(col(CaseOwnership.case_id) == case_id, col(CaseOwnership.ended_at).is_(None)),
        )
        .outerjoin(Leader, col(Leader.id) == col(CaseOwnership.leader_id))
        .outerjoin(CasePetitioner, col(CasePetitioner.case_id) == case_id)
        .where(case_id.in_(ids))
        .order_by(case_id, col(CasePetitioner.position))
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
