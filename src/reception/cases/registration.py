"""Registering a case (登记): categories, reference numbers, repeat-petition detection
(重复信访), and corrections of what was registered."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.audit import service as audit
from reception.auth import Principal
from reception.base import COLLECTIVE_FROM
from reception.cases import query_code, schemas, workflow
from reception.cases.access import case_scope, for_change, may_write, unit_in_scope
from reception.cases.clocks import start_clock
from reception.cases.models import CaseCategory, CaseCounter, CasePetitioner, PetitionCase
from reception.cases.petitioners import new_petitioner, petitioner
from reception.cases.timeline import effective_date, facts, record_event
from reception.context import Context
from reception.crypto import Keyring
from reception.db import flush_refused, next_ids, next_in_counter
from reception.errors import Broken, Conflict, InvalidInput
from reception.petitioner import Identity, checked, normalised

REPEAT_SUMMARY_SIMILARITY = 0.5


# ---------------------------------------------------------------- categories


async def ensure_default_categories(*, session: AsyncSession) -> None:
    present = set((await session.scalars(select(CaseCategory.code))).all())
    missing = [c for c in workflow.DEFAULT_CATEGORIES if c not in present]
    if not missing:
        return
    # Refused: seeded by a concurrent request meanwhile.
    await flush_refused(
        session, *(CaseCategory(code=c, name=workflow.DEFAULT_CATEGORIES[c]) for c in missing)
    )


async def list_categories(*, session: AsyncSession) -> list[CaseCategory]:
    """Every category, by code; the defaults put in first where missing (one statement when
    they are there)."""
    listed = select(CaseCategory).order_by(col(CaseCategory.code))
    rows = list(await session.scalars(listed))
    if not set(workflow.DEFAULT_CATEGORIES) <= {c.code for c in rows}:
        await ensure_default_categories(session=session)
        rows = list(await session.scalars(listed))
    return rows


async def add_category(
    *, session: AsyncSession, actor: Principal, data: schemas.CategoryIn
) -> CaseCategory:
    await ensure_default_categories(session=session)
    if await session.get(CaseCategory, data.code) is not None:
        raise Conflict(f"类别 {data.code} 已存在")
    category = CaseCategory(code=data.code, name=data.name)
    session.add(category)
    await audit.changed(session=session, actor=actor, action="category.create", target=category)
    return category


async def _category(session: AsyncSession, code: str) -> CaseCategory:
    await ensure_default_categories(session=session)
    category = await session.get(CaseCategory, code)
    if category is None or not category.active:
        codes = ", ".join((await session.scalars(select(CaseCategory.code))).all())
        raise InvalidInput(f"没有类别 {code};现有类别:{codes}", field="category")
    return category


# ---------------------------------------------------------------- references


async def _next_reference(session: AsyncSession, prefix: str, year: int) -> tuple[int, str]:
    """Allocate the year's next sequence: one UPDATE … RETURNING, serialised by the row lock."""
    seq = await next_in_counter(session, CaseCounter, year=year)
    return seq, f"{prefix}〔{year}〕{seq:05d}"


# ---------------------------------------------------------------- repeat petitions


def _identities(petitioners: Sequence[schemas.PetitionerIn], today: date) -> list[Identity]:
    return [
        checked(p.name, p.id_number, p.phone, field=f"petitioners[{i}].", today=today)
        for i, p in enumerate(petitioners)
    ]


def same_petitioner(keys: Keyring, who: Identity) -> ColumnElement[bool] | None:
    """重复信访's "same petitioner": the same ID number, or the same name and phone (matched
    by their blind indexes: nothing is decrypted to compare)."""
    terms: list[ColumnElement[bool]] = []
    if who.id_number:
        terms.append(
            pii.matches(col(CasePetitioner.id_number_index), keys, pii.ID_NUMBER, who.id_number)
        )
    if who.name and who.phone:
        terms.append(
            and_(
                col(CasePetitioner.name) == who.name,
                pii.matches(col(CasePetitioner.phone_index), keys, pii.PHONE, who.phone),
            )
        )
    return or_(*terms) if terms else None


async def repeat_candidates(
    *,
    session: AsyncSession,
    keys: Keyring,
    principal: Principal | None,
    petitioners: Sequence[schemas.PetitionerIn],
    category: str,
    unit_id: int | None,
    summary: str,
    exclude_case_id: int | None = None,
) -> list[schemas.RepeatCandidate]:
    """Earlier cases of the same petitioner (ID number, or name + phone) with a similar
    matter (same category or responsible unit, or a similar summary)."""
    people = [normalised(p.name, p.id_number, p.phone) for p in petitioners]
    identity = [t for t in (same_petitioner(keys, p) for p in people) if t is not None]
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
        if case.id is None:
            raise Broken("expected: case.id is not None")
        reasons = []
        if category and case.category_code == category:
            reasons.append("同一类别")
        if unit_id and case.unit_id == unit_id:
            reasons.append("同一责任单位")
        similarity = (
            difflib.SequenceMatcher(None, summary, case.summary).ratio() if summary else 0.0
        )
        if similarity >= REPEAT_SUMMARY_SIMILARITY:
            reasons.append(f"事项相似({similarity:.0%})")
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
                reasons=["同一信访人", *reasons],
                score=round(len(reasons) + similarity, 3),
            )
        )
    # The matter still being handled first (a repeat is most often about it), then the
    # closest match, then the newest.
    out.sort(
        key=lambda c: (c.stage == "closed", -c.score, -c.registered_on.toordinal(), -c.case_id)
    )
    return out


def likely_repeat(candidates: Sequence[schemas.RepeatCandidate]) -> int | None:
    """The candidate to offer as the answer: an open matter of the same petitioner in the same
    category (the clerk confirms or changes it)."""
    if candidates and candidates[0].stage != "closed" and "同一类别" in candidates[0].reasons:
        return candidates[0].case_id
    return None


async def _check_repeat_of(
    session: AsyncSession,
    keys: Keyring,
    principal: Principal | None,
    repeat_of: int | None,
    case_id: int | None,
    people: Sequence[Identity],
) -> None:
    """重复信访 is the same petitioner's earlier case: a case of someone else is refused (it
    would also carry over that case's 不再受理)."""
    if repeat_of is None:
        return
    if repeat_of == case_id:
        raise InvalidInput("信访事项不能重复自身", field="repeat_of")
    query = select(PetitionCase.id).where(PetitionCase.id == repeat_of)
    if principal is not None:
        query = query.where(case_scope(principal))
    if await session.scalar(query) is None:
        raise InvalidInput(f"信访事项 {repeat_of} 不存在", field="repeat_of")
    same = [t for t in (same_petitioner(keys, p) for p in people) if t is not None]
    match = (
        await session.scalar(
            select(CasePetitioner.id)
            .where(CasePetitioner.case_id == repeat_of, or_(*same))
            .limit(1)
        )
        if same
        else None
    )
    if match is None:
        raise InvalidInput(
            f"信访事项 {repeat_of} 不是同一信访人(身份证号,或姓名和电话)的事项,不能确认为重复信访",
            field="repeat_of",
        )


# ---------------------------------------------------------------- registration


REGISTERED_FACTS = (
    "reference",
    "channel",
    "category_code",
    "unit_id",
    "stage",
    "first_time",
    "repeat_of_id",
    "people_count",
)


@dataclass(frozen=True)
class Registered:
    case: PetitionCase
    candidates: list[schemas.RepeatCandidate]
    # The 查询码, shown once here (for the receipt) and printed on the 受理告知书.
    query_code: str


async def register(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: schemas.CaseCreate
) -> Registered:
    may_write(actor)
    if data.received_on > ctx.today():
        raise InvalidInput(f"收到日期 {data.received_on.isoformat()} 晚于今天", field="received_on")
    on = effective_date(ctx, data.on, not_before=data.received_on, label="收到日期")
    category = await _category(session, data.category)
    await unit_in_scope(session, actor, data.unit_id, "unit_id")
    people = _identities(data.petitioners, ctx.today())
    await _check_repeat_of(session, ctx.keys, actor, data.repeat_of, None, people)
    candidates = await repeat_candidates(
        session=session,
        keys=ctx.keys,
        principal=actor,
        petitioners=data.petitioners,
        category=category.code,
        unit_id=data.unit_id,
        summary=data.summary,
    )
    seq, reference = await _next_reference(session, ctx.settings.case_ref_prefix, on.year)
    # The ids first, so the sealed query code and petitioners go in their INSERTs (no UPDATEs).
    ids = await next_ids(session, {PetitionCase: 1, CasePetitioner: len(people)})
    (case_id,), petitioner_ids = ids[PetitionCase], ids[CasePetitioner]
    case = PetitionCase(
        id=case_id,
        reference=reference,
        ref_year=on.year,
        ref_seq=seq,
        channel=data.channel,
        category_code=category.code,
        summary=data.summary,
        unit_id=data.unit_id,
        people_count=data.people_count,
        collective=data.people_count >= COLLECTIVE_FROM,
        source=data.source,
        source_batch=data.source_batch,
        received_on=data.received_on,
        registered_on=on,
        first_time=data.repeat_of is None,
        repeat_of_id=data.repeat_of,
        registered_by_user_id=actor.user_id if actor else None,
        registered_by_name=audit.actor_name(actor),
        version=0,
    )
    code = query_code.give(ctx, case)
    session.add(case)
    await session.flush()  # the case first: the ORM orders no INSERTs by foreign key alone
    for i, (given, who, row_id) in enumerate(
        zip(data.petitioners, people, petitioner_ids, strict=True)
    ):
        who = replace(who, address=given.address.strip())
        session.add(new_petitioner(ctx.keys, case_id=case_id, position=i, who=who, row_id=row_id))
    await session.flush()
    # Art. 23: 15 days from receiving the matter (收到之日), not from the day it was entered:
    # a paper record entered late (补录) may be overdue the moment it is registered.
    await start_clock(session, case, "accept", case.received_on)
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
        after=facts(case, REGISTERED_FACTS),
    )
    return Registered(case, [c for c in candidates if c.case_id != case.id], code)


async def update_case(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case_id: int,
    data: schemas.CaseUpdate,
    if_match: str | None,
) -> PetitionCase:
    case = await for_change(session, actor, case_id, if_match)
    changes = data.changes()
    if not changes:
        raise InvalidInput("没有要修改的内容", field="body")
    fields = {"category": "category_code", "repeat_of": "repeat_of_id"}
    before = facts(case, [fields.get(n, n) for n in changes] + ["first_time"])
    if "category" in changes:
        changes["category"] = (await _category(session, changes["category"])).code
    if "unit_id" in changes:
        await unit_in_scope(session, actor, changes["unit_id"], "unit_id")
    if "repeat_of" in changes:
        mine = await session.scalars(
            select(CasePetitioner).where(CasePetitioner.case_id == case.id)
        )
        await _check_repeat_of(
            session,
            ctx.keys,
            actor,
            changes["repeat_of"],
            case.id,
            [petitioner(ctx.keys, p) for p in mine],
        )
        case.first_time = changes["repeat_of"] is None
    for name, value in changes.items():
        setattr(case, fields.get(name, name), value)
    if "people_count" in changes:
        case.collective = case.people_count >= COLLECTIVE_FROM
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="updated",
        on=ctx.today(),
        before=before,
        after=facts(case, list(before)),
    )
    return case
