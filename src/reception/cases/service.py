"""Cases: registration, the stage machine, clocks, ownership, resolution, timeline, campaigns.

Plain functions that flush, never commit. Every change to a case bumps its version (the
ETag) and appends a timeline event in the same transaction.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, true, update
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases import schemas, workflow
from reception.cases.models import (
    Campaign,
    CampaignCase,
    CampaignTarget,
    CaseCategory,
    CaseClock,
    CaseCounter,
    CaseEvent,
    CaseOwnership,
    CasePetitioner,
    ClockExtension,
    PetitionCase,
    SessionCase,
)
from reception.config import get_settings, local_tz
from reception.db import paginate, utcnow
from reception.errors import Conflict, Forbidden, InvalidInput, NotFound, require_match
from reception.org.models import Leader, Unit
from reception.org.service import subtree_unit_ids
from reception.privacy import mask_id_number, mask_name, mask_phone, valid_id_number, valid_phone
from reception.scheduling.models import ReceptionSession
from reception.workcal.service import calendar_around
from reception.workdays import WorkCalendar

REPEAT_SUMMARY_SIMILARITY = 0.5


def today_local() -> date:
    return datetime.now(local_tz()).date()


def _actor_name(actor: Principal | None) -> str:
    return actor.name if actor else audit.CLI_ACTOR


def effective_date(on: date | None, *, not_before: date | None = None, label: str = "") -> date:
    """The day something happened: default today, never in the future, never before `not_before`."""
    today = today_local()
    day = on or today
    if day > today:
        raise InvalidInput(f"{day.isoformat()} is in the future", field="on")
    if not_before is not None and day < not_before:
        raise InvalidInput(
            f"{day.isoformat()} is before {label or 'the previous step'} ({not_before.isoformat()})",
            field="on",
        )
    return day


# ---------------------------------------------------------------- categories


async def ensure_default_categories(*, session: AsyncSession) -> None:
    present = set((await session.scalars(select(CaseCategory.code))).all())
    missing = [c for c in workflow.DEFAULT_CATEGORIES if c not in present]
    if not missing:
        return
    try:
        async with session.begin_nested():
            for code in missing:
                session.add(CaseCategory(code=code, name=workflow.DEFAULT_CATEGORIES[code]))
            await session.flush()
    except IntegrityError:
        pass  # seeded by a concurrent request


async def list_categories(*, session: AsyncSession) -> list[CaseCategory]:
    await ensure_default_categories(session=session)
    return list(await session.scalars(select(CaseCategory).order_by(col(CaseCategory.code))))


async def add_category(
    *, session: AsyncSession, actor: Principal, data: schemas.CategoryIn
) -> CaseCategory:
    await ensure_default_categories(session=session)
    if await session.get(CaseCategory, data.code) is not None:
        raise Conflict(f"Category '{data.code}' exists")
    category = CaseCategory(code=data.code, name=data.name)
    session.add(category)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="category.create",
        target_type="case_category",
        target_id=data.code,
        after=audit.snapshot(category),
    )
    return category


async def _category(session: AsyncSession, code: str) -> CaseCategory:
    await ensure_default_categories(session=session)
    category = await session.get(CaseCategory, code)
    if category is None or not category.active:
        codes = ", ".join((await session.scalars(select(CaseCategory.code))).all())
        raise InvalidInput(f"Unknown category '{code}'; known: {codes}", field="category")
    return category


# ---------------------------------------------------------------- access


def case_scope(principal: Principal) -> ColumnElement[bool]:
    """Which cases a caller may read (SPEC §1): clerk his unit subtree, leader his owned cases,
    secretary her leaders' owned cases, reviewer and admin all."""
    if principal.role in ("admin", "reviewer"):
        return true()
    if principal.role == "clerk" and principal.unit_path:
        return col(PetitionCase.unit_id).in_(subtree_unit_ids(principal.unit_path))
    if principal.role == "leader" and principal.leader_id:
        return col(PetitionCase.id).in_(
            select(CaseOwnership.case_id).where(CaseOwnership.leader_id == principal.leader_id)
        )
    if principal.role == "secretary":
        return col(PetitionCase.id).in_(
            select(CaseOwnership.case_id).where(
                col(CaseOwnership.leader_id).in_(sorted(principal.leader_ids))
            )
        )
    return col(PetitionCase.id) == 0


def _may_write(principal: Principal | None) -> None:
    if principal is not None and principal.role not in ("admin", "clerk"):
        raise Forbidden(f"Role '{principal.role}' cannot change cases")


async def _unit_in_scope(
    session: AsyncSession, principal: Principal | None, unit_id: int, field: str
) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise InvalidInput(f"Unit {unit_id} does not exist", field=field)
    if principal is not None and principal.role == "clerk":
        if not (principal.unit_path and unit.path.startswith(principal.unit_path)):
            raise InvalidInput(f"Unit {unit_id} is outside your unit", field=field)
    return unit


async def get_case(
    *, session: AsyncSession, case_id: int, principal: Principal | None, for_update: bool = False
) -> PetitionCase:
    query = select(PetitionCase).where(PetitionCase.id == case_id)
    if principal is not None:
        query = query.where(case_scope(principal))
    if for_update:
        query = query.with_for_update()
    case = await session.scalar(query)
    if case is None:
        raise NotFound(f"Case {case_id} does not exist")
    return case


def etag(case: PetitionCase) -> str:
    return f'"case-{case.id}-v{case.version}"'


def check_if_match(case: PetitionCase, if_match: str | None) -> None:
    require_match(etag(case), if_match, f"Case {case.id}")


async def _for_change(
    session: AsyncSession, actor: Principal | None, case_id: int, if_match: str | None
) -> PetitionCase:
    case = await get_case(session=session, case_id=case_id, principal=actor, for_update=True)
    _may_write(actor)
    check_if_match(case, if_match)
    return case


# ---------------------------------------------------------------- timeline


def _facts(case: PetitionCase, names: Iterable[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(case, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


async def record_event(
    *,
    session: AsyncSession,
    case: PetitionCase,
    actor: Principal | None,
    kind: str,
    on: date,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> CaseEvent:
    """Append a timeline event and bump the case's version (its ETag)."""
    assert case.id is not None
    event = CaseEvent(
        case_id=case.id,
        effective_on=on,
        actor_user_id=actor.user_id if actor else None,
        actor_name=_actor_name(actor),
        kind=kind,
        note=note,
        before=before,
        after=after,
    )
    session.add(event)
    case.version += 1
    case.updated_at = utcnow()
    await session.flush()
    return event


async def timeline(*, session: AsyncSession, case_id: int) -> list[CaseEvent]:
    rows = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
    )
    return list(rows.all())


# ---------------------------------------------------------------- clocks


async def _calendar_for(session: AsyncSession, start: date) -> WorkCalendar:
    return await calendar_around(session=session, start=start, end=start + timedelta(days=130))


async def start_clock(
    session: AsyncSession, case: PetitionCase, kind: str, started_on: date, *, round_: int = 1
) -> CaseClock:
    assert case.id is not None
    calendar = await _calendar_for(session, started_on)
    due = workflow.due_date(calendar, kind, started_on)
    rule = workflow.CLOCK_RULES[kind]
    clock = CaseClock(
        case_id=case.id,
        kind=kind,
        round=round_,
        started_on=started_on,
        length=rule.length,
        working_days=rule.working_days,
        original_due=due.value,
        current_due=due.value,
        provisional=due.provisional,
    )
    session.add(clock)
    await session.flush()
    return clock


async def _clock(
    session: AsyncSession, case_id: int, kind: str, *, running_only: bool = True
) -> CaseClock | None:
    query = select(CaseClock).where(CaseClock.case_id == case_id, CaseClock.kind == kind)
    if running_only:
        query = query.where(CaseClock.status == "running")
    return await session.scalar(query.order_by(col(CaseClock.round).desc()).limit(1))


def meet(clock: CaseClock, on: date) -> None:
    """Stop a clock; its on-time verdict is frozen here and never recomputed."""
    if on < clock.started_on:
        raise InvalidInput(
            f"{on.isoformat()} is before the {workflow.CLOCK_LABELS[clock.kind]} period started "
            f"({clock.started_on.isoformat()})",
            field="on",
        )
    clock.met_on = on
    clock.on_time = on <= clock.current_due
    clock.status = "met"
    clock.updated_at = utcnow()


async def _meet(session: AsyncSession, case_id: int, kind: str, on: date) -> CaseClock | None:
    clock = await _clock(session, case_id, kind)
    if clock is not None:
        meet(clock, on)
        await session.flush()
    return clock


async def _void(session: AsyncSession, case_id: int, kind: str) -> None:
    clock = await _clock(session, case_id, kind)
    if clock is not None:
        clock.status = "void"
        clock.updated_at = utcnow()
        await session.flush()


async def clocks_of(
    *, session: AsyncSession, case_ids: Sequence[int]
) -> dict[int, list[tuple[CaseClock, list[ClockExtension]]]]:
    out: dict[int, list[tuple[CaseClock, list[ClockExtension]]]] = {cid: [] for cid in case_ids}
    if not case_ids:
        return out
    clocks = list(
        await session.scalars(
            select(CaseClock)
            .where(col(CaseClock.case_id).in_(list(case_ids)))
            .order_by(col(CaseClock.id))
        )
    )
    extensions: dict[int, list[ClockExtension]] = {c.id: [] for c in clocks if c.id}
    if clocks:
        for ext in await session.scalars(
            select(ClockExtension)
            .where(col(ClockExtension.clock_id).in_(list(extensions)))
            .order_by(col(ClockExtension.id))
        ):
            extensions[ext.clock_id].append(ext)
    for clock in clocks:
        out[clock.case_id].append((clock, extensions.get(clock.id or 0, [])))
    return out


async def recompute_running_clocks(*, session: AsyncSession, years: Iterable[int]) -> int:
    """After a calendar year changed: recompute every running clock that may touch it.

    Met clocks keep their frozen verdict. Returns how many clocks changed.
    """
    years = sorted(set(years))
    if not years:
        return 0
    first, last = date(years[0] - 1, 9, 1), date(years[-1], 12, 31)
    running = list(
        await session.scalars(
            select(CaseClock).where(
                CaseClock.status == "running",
                col(CaseClock.started_on) >= first,
                col(CaseClock.started_on) <= last,
            )
        )
    )
    if not running:
        return 0
    calendar = await calendar_around(
        session=session, start=min(c.started_on for c in running), end=last + timedelta(days=130)
    )
    changed = 0
    for clock in running:
        original = workflow.due_date(calendar, clock.kind, clock.started_on)
        current = workflow.due_date(calendar, clock.kind, clock.started_on, clock.extended_days)
        if (clock.original_due, clock.current_due, clock.provisional) != (
            original.value,
            current.value,
            current.provisional,
        ):
            clock.original_due, clock.current_due = original.value, current.value
            clock.provisional = current.provisional
            clock.updated_at = utcnow()
            changed += 1
    await session.flush()
    return changed


# ---------------------------------------------------------------- registration


def _check_petitioners(petitioners: Sequence[schemas.PetitionerIn]) -> None:
    for i, p in enumerate(petitioners):
        if p.id_number and not valid_id_number(p.id_number):
            raise InvalidInput(
                "Not a valid 18-character resident ID number (check digit)",
                field=f"petitioners[{i}].id_number",
            )
        if p.phone and not valid_phone(p.phone):
            raise InvalidInput("Not a phone number", field=f"petitioners[{i}].phone")


async def _next_reference(session: AsyncSession, year: int) -> tuple[int, str]:
    """Allocate the year's next sequence: one UPDATE … RETURNING, serialised by the row lock."""
    try:
        async with session.begin_nested():
            session.add(CaseCounter(year=year, last=0))
            await session.flush()
    except IntegrityError:
        pass
    seq = (
        await session.execute(
            update(CaseCounter)
            .where(col(CaseCounter.year) == year)
            .values(last=col(CaseCounter.last) + 1)
            .returning(col(CaseCounter.last))
        )
    ).scalar_one()
    prefix = get_settings().case_ref_prefix
    return seq, f"{prefix}〔{year}〕{seq:05d}"


async def repeat_candidates(
    *,
    session: AsyncSession,
    principal: Principal | None,
    petitioners: Sequence[schemas.PetitionerIn],
    category: str,
    unit_id: int | None,
    summary: str,
    exclude_case_id: int | None = None,
) -> list[schemas.RepeatCandidate]:
    """Earlier cases of the same petitioner identity (ID number, or name + phone) with a
    similar matter (same category or responsible unit, or a similar summary)."""
    identity: list[ColumnElement[bool]] = []
    for p in petitioners:
        if p.id_number:
            identity.append(col(CasePetitioner.id_number) == p.id_number.strip().upper())
        if p.name and p.phone:
            identity.append(
                and_(
                    col(CasePetitioner.name) == p.name.strip(),
                    col(CasePetitioner.phone) == p.phone.strip(),
                )
            )
    if not identity:
        return []
    query = (
        select(PetitionCase)
        .where(col(PetitionCase.id).in_(select(CasePetitioner.case_id).where(or_(*identity))))
        .order_by(col(PetitionCase.registered_on).desc(), col(PetitionCase.id).desc())
        .limit(50)
    )
    if principal is not None:
        query = query.where(case_scope(principal))
    if exclude_case_id is not None:
        query = query.where(PetitionCase.id != exclude_case_id)
    out = []
    for case in await session.scalars(query):
        assert case.id is not None
        reasons = []
        if category and case.category_code == category:
            reasons.append("same category")
        if unit_id and case.unit_id == unit_id:
            reasons.append("same responsible unit")
        similarity = (
            difflib.SequenceMatcher(None, summary, case.summary).ratio() if summary else 0.0
        )
        if similarity >= REPEAT_SUMMARY_SIMILARITY:
            reasons.append(f"similar summary ({similarity:.0%})")
        if not reasons:
            continue
        out.append(
            schemas.RepeatCandidate(
                case_id=case.id,
                reference=case.reference,
                registered_on=case.registered_on,
                category=case.category_code,
                unit_id=case.unit_id,
                summary=case.summary,
                stage=case.stage,
                reasons=["same petitioner", *reasons],
                score=round(len(reasons) + similarity, 3),
            )
        )
    out.sort(key=lambda c: (-c.score, c.registered_on), reverse=False)
    return out


async def _check_repeat_of(
    session: AsyncSession, principal: Principal | None, repeat_of: int | None, case_id: int | None
) -> None:
    if repeat_of is None:
        return
    if repeat_of == case_id:
        raise InvalidInput("A case cannot repeat itself", field="repeat_of")
    query = select(PetitionCase.id).where(PetitionCase.id == repeat_of)
    if principal is not None:
        query = query.where(case_scope(principal))
    if await session.scalar(query) is None:
        raise InvalidInput(f"Case {repeat_of} does not exist", field="repeat_of")


async def register(
    *, session: AsyncSession, actor: Principal | None, data: schemas.CaseCreate
) -> tuple[PetitionCase, list[schemas.RepeatCandidate]]:
    _may_write(actor)
    if data.received_on > today_local():
        raise InvalidInput(f"{data.received_on.isoformat()} is in the future", field="received_on")
    on = effective_date(data.on, not_before=data.received_on, label="the day it was received")
    category = await _category(session, data.category)
    await _unit_in_scope(session, actor, data.unit_id, "unit_id")
    _check_petitioners(data.petitioners)
    await _check_repeat_of(session, actor, data.repeat_of, None)
    candidates = await repeat_candidates(
        session=session,
        principal=actor,
        petitioners=data.petitioners,
        category=category.code,
        unit_id=data.unit_id,
        summary=data.summary,
    )
    seq, reference = await _next_reference(session, on.year)
    case = PetitionCase(
        reference=reference,
        ref_year=on.year,
        ref_seq=seq,
        channel=data.channel,
        category_code=category.code,
        summary=data.summary,
        unit_id=data.unit_id,
        people_count=data.people_count,
        collective=data.people_count >= workflow.COLLECTIVE_FROM,
        source=data.source,
        source_batch=data.source_batch,
        received_on=data.received_on,
        registered_on=on,
        first_time=data.repeat_of is None,
        repeat_of_id=data.repeat_of,
        registered_by_user_id=actor.user_id if actor else None,
        registered_by_name=_actor_name(actor),
        version=0,
    )
    session.add(case)
    await session.flush()
    assert case.id is not None
    for i, p in enumerate(data.petitioners):
        session.add(
            CasePetitioner(
                case_id=case.id,
                position=i,
                name=p.name.strip(),
                id_number=p.id_number.strip().upper(),
                phone=p.phone.strip(),
                address=p.address.strip(),
            )
        )
    await start_clock(session, case, "accept", on)
    if case.source != "own":
        # Assigned (交办) by the city or national bureau: the unit has 5 working days from
        # receiving it to object to the assignment (异议); its decision on acceptance meets it.
        await start_clock(session, case, "objection", case.received_on)
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="registered",
        on=on,
        after=_facts(
            case,
            (
                "reference",
                "channel",
                "category_code",
                "unit_id",
                "stage",
                "first_time",
                "repeat_of_id",
                "people_count",
            ),
        ),
    )
    return case, [c for c in candidates if c.case_id != case.id]


async def update_case(
    *,
    session: AsyncSession,
    actor: Principal | None,
    case_id: int,
    data: schemas.CaseUpdate,
    if_match: str | None,
) -> PetitionCase:
    case = await _for_change(session, actor, case_id, if_match)
    changes = data.changes()
    if not changes:
        raise InvalidInput("Nothing to change", field="body")
    fields = {"category": "category_code", "repeat_of": "repeat_of_id"}
    before = _facts(case, [fields.get(n, n) for n in changes] + ["first_time"])
    if "category" in changes:
        changes["category"] = (await _category(session, changes["category"])).code
    if "unit_id" in changes:
        await _unit_in_scope(session, actor, changes["unit_id"], "unit_id")
    if "repeat_of" in changes:
        await _check_repeat_of(session, actor, changes["repeat_of"], case.id)
        case.first_time = changes["repeat_of"] is None
    for name, value in changes.items():
        setattr(case, fields.get(name, name), value)
    if "people_count" in changes:
        case.collective = case.people_count >= workflow.COLLECTIVE_FROM
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="updated",
        on=today_local(),
        before=before,
        after=_facts(case, list(before)),
    )
    return case


# ---------------------------------------------------------------- the stage machine


async def _matter_re_reviewed(session: AsyncSession, case: PetitionCase) -> bool:
    """Whether an earlier case of this matter (its repeat_of chain) went through 复核."""
    seen: set[int] = set()
    current = case.repeat_of_id
    while current is not None and current not in seen:
        seen.add(current)
        earlier = await session.get(PetitionCase, current)
        if earlier is None:
            return False
        if earlier.re_review_decided_on is not None:
            return True
        current = earlier.repeat_of_id
    return False


async def allowed(session: AsyncSession, case: PetitionCase) -> list[str]:
    return workflow.allowed_actions(
        case, matter_re_reviewed=await _matter_re_reviewed(session, case)
    )


def _last_step(case: PetitionCase) -> date:
    days = [
        d
        for d in (
            case.registered_on,
            case.accepted_on,
            case.replied_on,
            case.delivered_on,
            case.review_requested_on,
            case.review_decided_on,
            case.re_review_requested_on,
            case.re_review_decided_on,
            case.closed_on,
        )
        if d is not None
    ]
    return max(days)


TRACKED = (
    "stage",
    "simple_procedure",
    "accepted_on",
    "rejection_reason",
    "diverted_to",
    "reply_doc_number",
    "replied_on",
    "delivery_method",
    "delivered_on",
    "review_requested_on",
    "review_decided_on",
    "re_review_requested_on",
    "re_review_decided_on",
    "closed_on",
)


async def transition(
    *,
    session: AsyncSession,
    actor: Principal | None,
    case_id: int,
    data: schemas.Transition,
    if_match: str | None = None,
) -> PetitionCase:
    """The one place a case changes stage: checks the move, stamps dates, runs the clocks and
    writes the timeline event, all in the caller's transaction."""
    case = await _for_change(session, actor, case_id, if_match)
    possible = await allowed(session, case)
    action = data.action
    if action not in possible:
        why = ""
        if action == "accept" and case.stage == "registered":
            why = " (this matter went through 复核 before: 不再受理)"
        raise Conflict(
            f"'{action}' is not possible for a case that is {case.stage}{why}",
            stage=case.stage,
            allowed=possible,
        )
    on = effective_date(data.on, not_before=_last_step(case), label="the case's previous step")
    before = _facts(case, TRACKED)
    assert case.id is not None
    target = workflow.MOVES[action][1]

    if action in ("accept", "reject", "divert"):
        await _meet(session, case.id, "objection", on)
    if action == "accept":
        case.accepted_on = on
        await _meet(session, case.id, "accept", on)
        await start_clock(session, case, "handle", on)
    elif action in ("reject", "divert"):
        if action == "reject":
            if not data.reason.strip():
                raise InvalidInput("不予受理 needs a reason", field="reason")
            case.rejection_reason = data.reason
        else:
            if data.procedure is None:
                raise InvalidInput(
                    "Which legal procedure: litigation, arbitration or reconsideration",
                    field="procedure",
                )
            case.diverted_to = data.procedure
        await _meet(session, case.id, "accept", on)
    elif action == "simple_procedure":
        assert case.accepted_on is not None
        case.simple_procedure = True
        await _void(session, case.id, "handle")
        await start_clock(session, case, "simple", case.accepted_on)
    elif action == "extend":
        await _extend(session, actor, case, data, on)
    elif action == "reply":
        if not data.doc_number.strip():
            raise InvalidInput("处理意见书 needs its document number", field="doc_number")
        case.reply_doc_number = data.doc_number.strip()
        case.replied_on = on
        await _meet(session, case.id, "simple" if case.simple_procedure else "handle", on)
        if data.delivered_on is not None or data.delivery_method:
            await _deliver(session, case, data, on)
    elif action == "deliver":
        await _deliver(session, case, data, case.replied_on or on)
    elif action == "request_review":
        window = await _clock(session, case.id, "review_request")
        if window is not None and on > window.current_due:
            raise Conflict(
                f"The 30-day window to request 复查 closed on {window.current_due.isoformat()}",
                window_closed_on=window.current_due.isoformat(),
            )
        await _meet(session, case.id, "review_request", on)
        case.review_requested_on = on
        await start_clock(session, case, "review", on)
    elif action == "decide_review":
        case.review_decided_on = on
        await _meet(session, case.id, "review", on)
        await start_clock(session, case, "review_request", on, round_=2)
    elif action == "request_re_review":
        window = await _clock(session, case.id, "review_request")
        if window is not None and on > window.current_due:
            raise Conflict(
                f"The 30-day window to request 复核 closed on {window.current_due.isoformat()}",
                window_closed_on=window.current_due.isoformat(),
            )
        await _meet(session, case.id, "review_request", on)
        case.re_review_requested_on = on
        await start_clock(session, case, "re_review", on)
    elif action == "decide_re_review":
        case.re_review_decided_on = on
        await _meet(session, case.id, "re_review", on)
    elif action == "close":
        case.closed_on = on
    if target is not None:
        case.stage = target
    await session.flush()
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind=f"transition.{action}",
        on=on,
        before=before,
        after=_facts(case, TRACKED),
        note=data.note,
    )
    return case


async def _deliver(
    session: AsyncSession, case: PetitionCase, data: schemas.Transition, replied_on: date
) -> None:
    delivered = data.delivered_on or data.on or today_local()
    if delivered > today_local():
        raise InvalidInput("Delivery date is in the future", field="delivered_on")
    if delivered < replied_on:
        raise InvalidInput("Delivered before the reply was issued", field="delivered_on")
    if not data.delivery_method.strip():
        raise InvalidInput("How was the reply delivered (送达方式)", field="delivery_method")
    case.delivery_method = data.delivery_method.strip()
    case.delivered_on = delivered
    # The petitioner's 30 days to ask for 复查 run from delivery.
    await start_clock(session, case, "review_request", delivered)


async def _extend(
    session: AsyncSession,
    actor: Principal | None,
    case: PetitionCase,
    data: schemas.Transition,
    on: date,
) -> None:
    assert case.id is not None
    clock = await _clock(session, case.id, "handle")
    if clock is None:
        raise Conflict("No running handling period to extend")
    if data.days is None:
        raise InvalidInput("How many days (at most 30 in all)", field="days")
    if not data.reason.strip():
        raise InvalidInput("An extension needs a reason", field="reason")
    if not data.approver.strip():
        raise InvalidInput("An extension needs its approver", field="approver")
    if data.petitioner_told_on is None:
        raise InvalidInput(
            "When was the petitioner told of the extension (告知信访人)",
            field="petitioner_told_on",
        )
    if on > clock.current_due:
        raise Conflict(
            f"The handling period already ended on {clock.current_due.isoformat()}: "
            "an extension is granted before it runs out"
        )
    total = clock.extended_days + data.days
    if total > workflow.MAX_HANDLE_EXTENSION_DAYS:
        raise Conflict(
            f"Extensions are capped at {workflow.MAX_HANDLE_EXTENSION_DAYS} days in all; "
            f"{clock.extended_days} already granted",
            already_extended_days=clock.extended_days,
        )
    calendar = await _calendar_for(session, clock.started_on)
    due = workflow.due_date(calendar, "handle", clock.started_on, total)
    clock.extended_days = total
    clock.current_due = due.value
    clock.provisional = due.provisional
    clock.updated_at = utcnow()
    assert clock.id is not None
    session.add(
        ClockExtension(
            clock_id=clock.id,
            days=data.days,
            reason=data.reason,
            approver=data.approver.strip(),
            granted_on=on,
            petitioner_told_on=data.petitioner_told_on,
            created_by_name=_actor_name(actor),
        )
    )
    await session.flush()


# ---------------------------------------------------------------- ownership (包案)


async def current_owner(session: AsyncSession, case_id: int) -> CaseOwnership | None:
    return await session.scalar(
        select(CaseOwnership).where(
            CaseOwnership.case_id == case_id, col(CaseOwnership.ended_at).is_(None)
        )
    )


async def assign_owner(
    *,
    session: AsyncSession,
    actor: Principal | None,
    case_id: int,
    data: schemas.OwnershipAssign,
    if_match: str | None = None,
) -> CaseOwnership:
    """Make a leader the case's accountable leader; the previous assignment ends, with a reason."""
    case = await _for_change(session, actor, case_id, if_match)
    assert case.id is not None
    leader = await session.get(Leader, data.leader_id)
    if leader is None or not leader.active:
        raise InvalidInput(
            f"Leader {data.leader_id} does not exist or is inactive", field="leader_id"
        )
    unit_id = data.responsible_unit_id or case.unit_id
    if await session.get(Unit, unit_id) is None:
        raise InvalidInput(f"Unit {unit_id} does not exist", field="responsible_unit_id")
    previous = await current_owner(session, case.id)
    on = effective_date(
        data.on,
        not_before=max(case.registered_on, previous.started_on) if previous else case.registered_on,
        label="the case's registration or the current assignment",
    )
    if previous is not None and previous.leader_id == data.leader_id:
        raise Conflict(f"{leader.name} already owns case {case.id}")
    if previous is not None and not data.reason.strip():
        raise InvalidInput("Reassigning needs a reason", field="reason")
    now = utcnow()
    if previous is not None:
        previous.ended_at = now
        previous.ended_on = on
        previous.end_reason = data.reason
        await session.flush()
    ownership = CaseOwnership(
        case_id=case.id,
        leader_id=data.leader_id,
        responsible_unit_id=unit_id,
        plan=data.plan,
        target_date=data.target_date,
        stability_contact=data.stability_contact,
        reason=data.reason,
        started_on=on,
        started_at=now,
        assigned_by_user_id=actor.user_id if actor else None,
        assigned_by_name=_actor_name(actor),
    )
    try:
        async with session.begin_nested():
            session.add(ownership)
            await session.flush()
    except IntegrityError as exc:
        # Two assignments at once: the partial unique index lets one through.
        raise Conflict(f"Case {case.id} was assigned by someone else just now; reload") from exc
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="ownership.reassigned" if previous else "ownership.assigned",
        on=on,
        before={"leader_id": previous.leader_id} if previous else None,
        after={
            "leader_id": leader.id,
            "leader_name": leader.name,
            "responsible_unit_id": unit_id,
            "target_date": data.target_date.isoformat() if data.target_date else None,
        },
        note=data.reason,
    )
    return ownership


async def ownership_history(
    *, session: AsyncSession, case_id: int
) -> list[tuple[CaseOwnership, Leader]]:
    rows = await session.execute(
        select(CaseOwnership, Leader)
        .join(Leader, col(Leader.id) == col(CaseOwnership.leader_id))
        .where(CaseOwnership.case_id == case_id)
        .order_by(col(CaseOwnership.id))
    )
    return [(o, leader) for o, leader in rows.all()]


# ---------------------------------------------------------------- resolution and evaluation


async def set_resolution(
    *,
    session: AsyncSession,
    actor: Principal | None,
    case_id: int,
    data: schemas.ResolutionPut,
    if_match: str | None = None,
) -> PetitionCase:
    case = await get_case(session=session, case_id=case_id, principal=actor, for_update=True)
    owner = await current_owner(session, case_id)
    is_owner = (
        actor is not None
        and actor.role == "leader"
        and owner is not None
        and owner.leader_id == actor.leader_id
    )
    if not is_owner:
        _may_write(actor)
    check_if_match(case, if_match)
    if case.stage == "registered":
        raise Conflict("A case is resolved after it has been accepted or otherwise handled")
    if data.resolution != "unresolved" and not data.method.strip():
        raise InvalidInput("How was it resolved (化解方式)", field="method")
    on = effective_date(data.on, not_before=case.registered_on, label="registration")
    before = _facts(
        case, ("resolution", "resolution_on", "resolution_method", "resolution_evidence")
    )
    case.resolution = data.resolution
    case.resolution_on = None if data.resolution == "unresolved" else on
    case.resolution_method = data.method
    case.resolution_evidence = data.evidence
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="resolution",
        on=on,
        before=before,
        after=_facts(case, list(before)),
    )
    return case


async def set_evaluation(
    *,
    session: AsyncSession,
    actor: Principal | None,
    case_id: int,
    data: schemas.EvaluationPut,
    if_match: str | None = None,
) -> PetitionCase:
    case = await _for_change(session, actor, case_id, if_match)
    if case.replied_on is None:
        raise Conflict("The petitioner evaluates (参评) a case after its reply")
    on = effective_date(data.on, not_before=case.replied_on, label="the reply")
    before = _facts(case, ("satisfaction", "evaluated_on"))
    case.satisfaction = data.satisfaction
    case.evaluated_on = None if data.satisfaction == "not_evaluated" else on
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="evaluation",
        on=on,
        before=before,
        after=_facts(case, list(before)),
    )
    return case


# ---------------------------------------------------------------- reading


async def list_cases(
    *,
    session: AsyncSession,
    principal: Principal,
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
    as_of: date | None = None,
) -> tuple[list[PetitionCase], int]:
    as_of = as_of or today_local()
    query = select(PetitionCase).where(case_scope(principal))
    if overdue is not None:
        late = exists().where(
            col(CaseClock.case_id) == col(PetitionCase.id),
            workflow.overdue_clause(CaseClock, as_of),
        )
        query = query.where(late if overdue else ~late)
    if due_before is not None:
        query = query.where(
            exists().where(
                col(CaseClock.case_id) == col(PetitionCase.id),
                col(CaseClock.status) == "running",
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
            raise InvalidInput(f"Unit {unit_id} does not exist", field="unit_id")
        query = query.where(col(PetitionCase.unit_id).in_(subtree_unit_ids(unit.path)))
    if stage:
        query = query.where(PetitionCase.stage == stage)
    if channel:
        query = query.where(PetitionCase.channel == channel)
    if category:
        query = query.where(PetitionCase.category_code == category)
    if first_time is not None:
        query = query.where(PetitionCase.first_time == first_time)
    if q:
        # A reference number (or part of it), or a petitioner's exact name, ID number or phone.
        term = q.strip()
        query = query.where(
            or_(
                col(PetitionCase.reference).contains(term, autoescape=True),
                col(PetitionCase.id).in_(
                    select(CasePetitioner.case_id).where(
                        or_(
                            col(CasePetitioner.name) == term,
                            col(CasePetitioner.id_number) == term.upper(),
                            col(CasePetitioner.phone) == term,
                        )
                    )
                ),
            )
        )
    return await paginate(
        session,
        query,
        col(PetitionCase.registered_on).desc(),
        col(PetitionCase.id).desc(),
        limit=limit,
        offset=offset,
    )


def _next_due(clocks: list[tuple[CaseClock, list[ClockExtension]]]) -> CaseClock | None:
    running = [c for c, _ in clocks if c.status == "running"]
    return min(running, key=lambda c: c.current_due) if running else None


async def summaries(
    *, session: AsyncSession, cases: list[PetitionCase], masked: bool, as_of: date | None = None
) -> list[schemas.CaseSummary]:
    as_of = as_of or today_local()
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
        petitioners[p.case_id].append(mask_name(p.name) if masked else p.name)
    owners = {
        o.case_id: (o, leader)
        for o, leader in (
            await session.execute(
                select(CaseOwnership, Leader)
                .join(Leader, col(Leader.id) == col(CaseOwnership.leader_id))
                .where(col(CaseOwnership.case_id).in_(ids), col(CaseOwnership.ended_at).is_(None))
            )
        ).all()
    }
    clocks = await clocks_of(session=session, case_ids=ids)
    out = []
    for c in cases:
        assert c.id is not None
        nxt = _next_due(clocks[c.id])
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
                owner_leader_id=owner[1].id if owner else None,
                owner_leader_name=owner[1].name if owner else None,
                next_due=nxt.current_due if nxt else None,
                next_due_kind=nxt.kind if nxt else None,
                overdue=any(workflow.clock_overdue(k, as_of) for k, _ in clocks[c.id]),
                provisional=any(k.provisional for k, _ in clocks[c.id] if k.status == "running"),
            )
        )
    return out


def clock_out(clock: CaseClock, extensions: list[ClockExtension], as_of: date) -> schemas.ClockOut:
    assert clock.id is not None
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
        status=clock.status,
        met_on=clock.met_on,
        on_time=clock.on_time,
        overdue=workflow.clock_overdue(clock, as_of),
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
    )


async def detail(
    *,
    session: AsyncSession,
    case: PetitionCase,
    masked: bool,
    candidates: list[schemas.RepeatCandidate] | None = None,
) -> schemas.CaseDetail:
    assert case.id is not None
    as_of = today_local()
    unit = await session.get(Unit, case.unit_id)
    petitioners = [
        schemas.PetitionerOut(
            name=mask_name(p.name) if masked else p.name,
            id_number=mask_id_number(p.id_number) if masked else p.id_number,
            phone=mask_phone(p.phone) if masked else p.phone,
            address="" if masked and p.address else p.address,
        )
        for p in await session.scalars(
            select(CasePetitioner)
            .where(CasePetitioner.case_id == case.id)
            .order_by(col(CasePetitioner.position))
        )
    ]
    history = await ownership_history(session=session, case_id=case.id)
    # A closed case keeps its accountable leader: the last assignment, current or not.
    owner = owner_out(*history[-1]) if history else None
    clocks = (await clocks_of(session=session, case_ids=[case.id]))[case.id]
    tz = local_tz()
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
        clocks=[clock_out(c, ext, as_of) for c, ext in clocks],
        allowed_actions=await allowed(session, case),
        masked=masked,
        created_at=case.created_at.astimezone(tz),
        updated_at=case.updated_at.astimezone(tz),
        repeat_candidates=candidates or [],
    )


def owner_out(o: CaseOwnership, leader: Leader) -> schemas.OwnerOut:
    assert o.id is not None
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


async def leader_cases(
    *,
    session: AsyncSession,
    leader_id: int,
    principal: Principal | None,
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
    as_of = today_local()
    out = []
    for o, c in rows:
        assert c.id is not None
        nxt = _next_due(clocks[c.id])
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
                overdue=any(workflow.clock_overdue(k, as_of) for k, _ in clocks[c.id]),
            )
        )
    return out


# ---------------------------------------------------------------- campaigns (积案化解)


async def create_campaign(
    *, session: AsyncSession, actor: Principal | None, data: schemas.CampaignCreate
) -> Campaign:
    dues = [t.due_on for t in data.targets]
    if len(set(dues)) != len(dues):
        raise InvalidInput("Two targets on the same date", field="targets")
    ordered = sorted(data.targets, key=lambda t: t.due_on)
    if any(a.percent > b.percent for a, b in itertools.pairwise(ordered)):
        raise InvalidInput("A later target cannot be lower than an earlier one", field="targets")
    campaign = Campaign(name=data.name, description=data.description)
    session.add(campaign)
    await session.flush()
    assert campaign.id is not None
    for t in ordered:
        session.add(CampaignTarget(campaign_id=campaign.id, due_on=t.due_on, percent=t.percent))
    await session.flush()
    if data.case_ids:
        await add_campaign_cases(
            session=session, actor=actor, campaign_id=campaign.id, case_ids=data.case_ids
        )
    await audit.record(
        session=session,
        actor=actor,
        action="campaign.create",
        target_type="campaign",
        target_id=campaign.id,
        after={
            "name": data.name,
            "targets": [[t.due_on.isoformat(), t.percent] for t in ordered],
            "case_ids": sorted(set(data.case_ids)),
        },
    )
    return campaign


async def add_campaign_cases(
    *, session: AsyncSession, actor: Principal | None, campaign_id: int, case_ids: Sequence[int]
) -> None:
    if await session.get(Campaign, campaign_id) is None:
        raise NotFound(f"Campaign {campaign_id} does not exist")
    wanted = sorted(set(case_ids))
    query = select(PetitionCase.id).where(col(PetitionCase.id).in_(wanted))
    if actor is not None:
        query = query.where(case_scope(actor))
    found = set((await session.scalars(query)).all())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"Unknown cases: {missing}", field="case_ids")
    present = set(
        (
            await session.scalars(
                select(CampaignCase.case_id).where(CampaignCase.campaign_id == campaign_id)
            )
        ).all()
    )
    for case_id in wanted:
        if case_id not in present:
            session.add(CampaignCase(campaign_id=campaign_id, case_id=case_id))
    await session.flush()


async def campaign_progress(
    *, session: AsyncSession, campaign_id: int, as_of: date
) -> schemas.CampaignProgress:
    """Resolved ÷ total as of a date, against the target in force (the latest one due)."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Campaign {campaign_id} does not exist")
    resolved_by = and_(
        col(PetitionCase.resolution).in_(["resolved", "ceased"]),
        col(PetitionCase.resolution_on) <= as_of,
    )
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(sql_case((resolved_by, 1), else_=0)), 0),
            )
            .select_from(CampaignCase)
            .join(PetitionCase, col(PetitionCase.id) == col(CampaignCase.case_id))
            .where(CampaignCase.campaign_id == campaign_id)
        )
    ).one()
    total, resolved = int(row[0]), int(row[1])
    targets = [
        schemas.TargetOut(t.due_on, t.percent)
        for t in await session.scalars(
            select(CampaignTarget)
            .where(CampaignTarget.campaign_id == campaign_id)
            .order_by(col(CampaignTarget.due_on))
        )
    ]
    in_force = [t for t in targets if t.due_on <= as_of]
    upcoming = [t for t in targets if t.due_on > as_of]
    target = in_force[-1] if in_force else None
    share = resolved / total if total else None
    on_track = None if target is None or share is None else share * 100 >= target.percent
    if share is None:
        status = "no cases"
    elif target is None:
        status = "no target due yet"
    else:
        status = "on track" if on_track else "behind"
    assert campaign.id is not None
    return schemas.CampaignProgress(
        id=campaign.id,
        name=campaign.name,
        description=campaign.description,
        as_of=as_of,
        total=total,
        resolved=resolved,
        share=round(share, 4) if share is not None else None,
        target_in_force=target,
        next_target=upcoming[0] if upcoming else None,
        on_track=on_track,
        status=status,
        targets=targets,
    )


async def list_campaigns(*, session: AsyncSession) -> list[Campaign]:
    return list(await session.scalars(select(Campaign).order_by(col(Campaign.id))))


# ---------------------------------------------------------------- sessions ↔ cases


def _case_reader(actor: Principal | None) -> Principal | None:
    """Whose case scope applies when writing through a session link: a clerk's own."""
    return actor if actor is not None and actor.role == "clerk" else None


async def _may_change_session_cases(
    session: AsyncSession, actor: Principal | None, subject: ReceptionSession
) -> None:
    """The leader, his secretaries, admins, and clerks who can see the session."""
    if actor is None or actor.may_act_for_leader(subject.leader_id):
        return
    if actor.role == "leader" and actor.leader_id == subject.leader_id:
        return
    if actor.role == "clerk":
        from reception.scheduling.service import get_session

        await get_session(session=session, session_id=subject.id or 0, principal=actor)
        return
    raise Forbidden("Only the leader, his secretary or a clerk changes this session's cases")


async def link_session_case(
    *, session: AsyncSession, actor: Principal | None, session_id: int, case_id: int
) -> SessionCase:
    subject = await session.get(ReceptionSession, session_id)
    if subject is None:
        raise NotFound(f"Session {session_id} does not exist")
    await _may_change_session_cases(session, actor, subject)
    case = await get_case(session=session, case_id=case_id, principal=actor)
    if await session.get(SessionCase, (session_id, case_id)) is not None:
        raise Conflict(f"Case {case_id} is already linked to session {session_id}")
    link = SessionCase(session_id=session_id, case_id=case_id)
    session.add(link)
    await session.flush()
    kind = "接访" if subject.kind == "reception" else "下访"
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="session.linked",
        on=min(subject.local_date, today_local()),
        after={
            "session_id": session_id,
            "kind": subject.kind,
            "date": subject.local_date.isoformat(),
        },
        note=f"{kind} {subject.local_date.isoformat()}",
    )
    return link


async def record_session_outcome(
    *,
    session: AsyncSession,
    actor: Principal | None,
    session_id: int,
    case_id: int,
    outcome: str,
    on: date | None,
) -> SessionCase:
    """A field visit's outcome for one case: kept on the link and on the case's timeline."""
    link = await session.get(SessionCase, (session_id, case_id))
    subject = await session.get(ReceptionSession, session_id)
    if link is None or subject is None:
        raise NotFound(f"Case {case_id} is not linked to session {session_id}")
    await _may_change_session_cases(session, actor, subject)
    # The link itself lets the visiting leader (or his secretary) write on a case he does not
    # own; a clerk stays within his unit subtree.
    case = await get_case(session=session, case_id=case_id, principal=_case_reader(actor))
    day = effective_date(on, not_before=subject.local_date, label="the session")
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
    if principal is not None and principal.role not in ("leader", "secretary"):
        # The visiting leader and his secretaries see what the visit is about.
        query = query.where(case_scope(principal))
    rows = await session.execute(query)
    return [(link, case) for link, case in rows.all()]


async def check_case_exists(
    session: AsyncSession, case_id: int, principal: Principal | None
) -> None:
    """For links from elsewhere (appointments): the case exists and the caller may see it."""
    query = select(PetitionCase.id).where(PetitionCase.id == case_id)
    if principal is not None:
        query = query.where(case_scope(principal))
    if await session.scalar(query) is None:
        raise InvalidInput(f"Case {case_id} does not exist", field="case_id")
