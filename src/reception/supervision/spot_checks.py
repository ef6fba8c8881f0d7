"""每月抽查: the district draws a month's sample of each base unit's cases from a stored seed
(anyone can draw it again and get the same cases), a checker marks the checklist for each
case, every failed line is a finding for the unit with a rectification deadline in working
days, the unit answers and the checker closes it or sends it back. Every step audited; a new
finding is an event for the unit's group, a late rectification an escalation (the daily job).
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.audit.service import actor_name
from reception.auth import Principal
from reception.base import month_bounds
from reception.cases import workflow
from reception.cases.models import PetitionCase
from reception.cases.timeline import effective_date
from reception.context import Context
from reception.db import get_in_scope
from reception.errors import Broken, Conflict, InvalidInput
from reception.org.access import subtree_ids
from reception.org.models import Unit
from reception.org.order import unit_order
from reception.supervision import access, checklist, findings, rules, schemas
from reception.supervision.models import Finding, SpotCheck, SpotCheckCase, SpotCheckMark
from reception.workcal import service as workcal

# The units a month's check covers: the base units under the district.
BASE_KINDS = ("township", "department")


# ---------------------------------------------------------------- drawing a month


async def base_units(session: AsyncSession) -> list[Unit]:
    """The units checked each month, in the office's order."""
    query = select(Unit).where(col(Unit.kind).in_(BASE_KINDS), col(Unit.active).is_(True))
    return list((await session.scalars(query.order_by(*unit_order()))).all())


async def population(session: AsyncSession, unit: Unit, month: str) -> list[int]:
    """The cases a unit's check of a month is drawn from: those registered that month by the
    unit or a unit under it (its villages), in id order."""
    first, last = month_bounds(month)
    rows = await session.scalars(
        select(col(PetitionCase.id))
        .where(
            col(PetitionCase.unit_id).in_(subtree_ids(unit.path)),
            col(PetitionCase.registered_on) >= first,
            col(PetitionCase.registered_on) <= last,
        )
        .order_by(col(PetitionCase.id))
    )
    return [i for i in rows.all() if i is not None]


async def draw(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: schemas.DrawIn
) -> list[SpotCheck]:
    """Draw a month's sample for each unit named (default: every base unit not yet drawn that
    month). A fresh random seed per unit, stored with the population, audited: nobody picks
    the cases, and anyone can draw them again. A unit drawn already for the month is a 409."""
    access.may_check(actor)
    _, last = month_bounds(data.month)
    today = ctx.today()
    if not rules.month_ended(last, today):
        raise InvalidInput(f"{data.month} 尚未结束:每月抽查在月份结束后进行", field="month")
    done = set(
        await session.scalars(select(col(SpotCheck.unit_id)).where(SpotCheck.month == data.month))
    )
    if data.unit_ids is None:
        units = [u for u in await base_units(session) if u.id not in done]
        if not units:
            raise Conflict(f"{data.month} 的抽查已全部抽取")
    else:
        units = []
        for unit_id in dict.fromkeys(data.unit_ids):
            unit = await session.get(Unit, unit_id)
            if unit is None or unit.kind not in BASE_KINDS or not unit.active:
                raise InvalidInput(f"单位 {unit_id} 不是被抽查的乡镇(街道)或部门", field="unit_ids")
            if unit_id in done:
                raise Conflict(f"{unit.name} {data.month} 的抽查已经抽取过")
            units.append(unit)
    size = ctx.settings.spot_check_size
    out = []
    for unit in units:
        ids = await population(session, unit, data.month)
        seed = secrets.token_hex(16)
        sample = rules.draw(seed, ids, size)
        check = SpotCheck(
            month=data.month,
            unit_id=unit.id or 0,
            seed=seed,
            size=size,
            population=ids,
            drawn_on=today,
            drawn_by_user_id=actor.user_id if actor else None,
            drawn_by_name=actor_name(actor),
        )
        session.add(check)
        await session.flush()
        for position, case_id in enumerate(sample, start=1):
            session.add(
                SpotCheckCase(spot_check_id=check.id or 0, case_id=case_id, position=position)
            )
        await audit.record(
            session=session, actor=actor, action="spot_check.drawn", target_type="spot_check",
            target_id=check.id,
            after={"month": data.month, "unit_id": unit.id, "seed": seed, "size": size,
                   "population_size": len(ids), "sample": sample},
        )  # fmt: skip
        out.append(check)
    await session.flush()
    return out


async def get_check(
    *, session: AsyncSession, principal: Principal | None, check_id: int
) -> SpotCheck:
    check: SpotCheck = await get_in_scope(
        session, SpotCheck, check_id, access.check_scope(principal),
        missing=f"抽查 {check_id} 不存在",
    )  # fmt: skip
    return check


async def list_checks(
    *, session: AsyncSession, principal: Principal | None, month: str | None
) -> list[SpotCheck]:
    query = select(SpotCheck).join(Unit, col(Unit.id) == col(SpotCheck.unit_id))
    query = query.where(access.check_scope(principal))
    if month:
        query = query.where(SpotCheck.month == month)
    query = query.order_by(col(SpotCheck.month).desc(), *unit_order())
    return list((await session.scalars(query.limit(1000))).all())


async def _samples(session: AsyncSession, check_ids: list[int]) -> list[Any]:
    failed = (
        select(func.count())
        .select_from(SpotCheckMark)
        .where(
            col(SpotCheckMark.sample_id) == col(SpotCheckCase.id),
            col(SpotCheckMark.passed).is_(False),
        )
        .scalar_subquery()
    )
    rows = await session.execute(
        select(SpotCheckCase, PetitionCase, Unit.name, failed)
        .join(PetitionCase, col(PetitionCase.id) == col(SpotCheckCase.case_id))
        .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
        .where(col(SpotCheckCase.spot_check_id).in_(check_ids))
        .order_by(col(SpotCheckCase.spot_check_id), col(SpotCheckCase.position))
    )
    return list(rows.all())


async def checks_out(session: AsyncSession, checks: list[SpotCheck]) -> list[schemas.CheckOut]:
    """Each check with its sample (the cases in the order drawn) and its findings' counts."""
    ids = [c.id or 0 for c in checks]
    by_check: dict[int, list[schemas.SampleOut]] = {i: [] for i in ids}
    for s, case, unit_name, failed in await _samples(session, ids):
        by_check[s.spot_check_id].append(
            schemas.SampleOut(
                id=s.id or 0,
                position=s.position,
                case_id=case.id or 0,
                case_reference=case.reference,
                case_unit=unit_name,
                registered_on=case.registered_on,
                stage_label=workflow.STAGE_LABELS.get(case.stage, case.stage),
                checked_on=s.checked_on,
                checker_name=s.checker_name,
                failed=int(failed or 0),
            )
        )
    counts = {
        (check_id, status): n
        for check_id, status, n in (
            await session.execute(
                select(col(Finding.spot_check_id), col(Finding.status), func.count())
                .where(col(Finding.spot_check_id).in_(ids))
                .group_by(col(Finding.spot_check_id), col(Finding.status))
            )
        ).all()
    }
    names = {
        u.id: u.name
        for u in await session.scalars(
            select(Unit).where(col(Unit.id).in_({c.unit_id for c in checks}))
        )
    }
    return [
        schemas.CheckOut(
            id=c.id or 0,
            month=c.month,
            unit_id=c.unit_id,
            unit_name=names.get(c.unit_id, ""),
            seed=c.seed,
            size=c.size,
            population_size=len(c.population),
            drawn_on=c.drawn_on,
            drawn_by_name=c.drawn_by_name,
            samples=by_check[c.id or 0],
            findings=sum(n for (i, _), n in counts.items() if i == c.id),
            open_findings=counts.get((c.id or 0, "open"), 0),
        )
        for c in checks
    ]


async def redraw(session: AsyncSession, check: SpotCheck) -> schemas.Redraw:
    """The draw again from the stored seed and population."""
    stored = list(
        await session.scalars(
            select(col(SpotCheckCase.case_id))
            .where(SpotCheckCase.spot_check_id == check.id)
            .order_by(col(SpotCheckCase.position))
        )
    )
    again = rules.draw(check.seed, check.population, check.size)
    unit = await session.get(Unit, check.unit_id)
    if unit is None:
        raise Broken("expected: the check's unit")
    now = await population(session, unit, check.month)
    return schemas.Redraw(
        check_id=check.id or 0,
        seed=check.seed,
        stored=stored,
        redrawn=again,
        same=stored == again,
        population_size=len(check.population),
        registered_since=sorted(set(now) - set(check.population)),
    )


# ---------------------------------------------------------------- marking a case


async def get_sample(
    *, session: AsyncSession, principal: Principal | None, sample_id: int, for_update: bool = False
) -> tuple[SpotCheckCase, SpotCheck]:
    sample: SpotCheckCase = await get_in_scope(
        session, SpotCheckCase, sample_id,
        col(SpotCheckCase.spot_check_id).in_(select(SpotCheck.id).where(access.check_scope(principal))),
        missing=f"抽查案件 {sample_id} 不存在", for_update=for_update,
    )  # fmt: skip
    check = await session.get(SpotCheck, sample.spot_check_id)
    if check is None:
        raise Broken("expected: the sample's check")
    return sample, check


async def fix_deadline(session: AsyncSession, ctx: Context, on: date) -> date:
    calendar = await workcal.calendar_around(session=session, start=on, end=on)
    return calendar.add_workdays(on, ctx.settings.spot_check_fix_days).value


async def mark(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    sample_id: int,
    data: schemas.MarksIn,
) -> SpotCheckCase:
    """The checklist for one sampled case: every active line once, a failed line with what is
    wrong. Each failed line becomes a finding for the checked unit, due in working days."""
    access.may_check(actor)
    sample, check = await get_sample(
        session=session, principal=actor, sample_id=sample_id, for_update=True
    )
    if sample.checked_on is not None:
        raise Conflict(f"这件事项已于 {sample.checked_on.isoformat()} 抽查,不能再次填写")
    case = await session.get(PetitionCase, sample.case_id)
    if case is None:
        raise Broken("expected: the sampled case")
    on = effective_date(ctx, data.on, not_before=check.drawn_on, label="抽取日期")
    items = {i.id: i for i in await checklist.list_items(session, active_only=True)}
    given = [m.item_id for m in data.marks]
    if len(set(given)) != len(given):
        raise InvalidInput("同一抽查项目只能填写一次", field="marks")
    unknown = [i for i in given if i not in items]
    if unknown:
        raise InvalidInput(f"抽查项目 {unknown[0]} 不存在或已停用", field="marks")
    left = [items[i].label for i in items if i not in given]
    if left:
        raise InvalidInput(f"还有抽查项目未填写:{'、'.join(left)}", field="marks")
    for m in data.marks:
        if not m.passed and not m.note.strip():
            raise InvalidInput(
                f"「{items[m.item_id].label}」不合格,请写明存在的问题", field="marks"
            )
    deadline = await fix_deadline(session, ctx, on)
    sample.checked_on = on
    sample.checker_user_id = actor.user_id if actor else None
    sample.checker_name = actor_name(actor)
    for m in data.marks:
        session.add(
            SpotCheckMark(
                sample_id=sample.id or 0, item_id=m.item_id, passed=m.passed, note=m.note.strip()
            )
        )
    await session.flush()
    failed = [m for m in data.marks if not m.passed]
    await audit.record(
        session=session, actor=actor, action="spot_check.checked", target_type="spot_check_case",
        target_id=sample.id,
        after={"spot_check_id": check.id, "case_id": case.id, "on": on.isoformat(),
               "failed": [items[m.item_id].code for m in failed]},
    )  # fmt: skip
    for m in failed:
        finding = Finding(
            spot_check_id=check.id or 0,
            sample_id=sample.id or 0,
            case_id=case.id or 0,
            unit_id=check.unit_id,
            item_id=m.item_id,
            problem=m.note.strip(),
            found_on=on,
            deadline=deadline,
        )
        session.add(finding)
        await session.flush()
        # An event for the unit's group (notify): the reference, the line and the deadline —
        # never the petitioner, never the checker's words.
        await audit.record(
            session=session, actor=actor, action="spot_check.finding", target_type="finding",
            target_id=finding.id,
            after={"unit_id": check.unit_id, "case_reference": case.reference,
                   "item": items[m.item_id].label, "deadline": deadline.isoformat(),
                   "month": check.month},
        )  # fmt: skip
    return sample


async def sample_detail(
    session: AsyncSession, ctx: Context, sample: SpotCheckCase, check: SpotCheck
) -> schemas.SampleDetail:
    case = await session.get(PetitionCase, sample.case_id)
    unit = await session.get(Unit, check.unit_id)
    if case is None or unit is None:
        raise Broken("expected: the sample's case and unit")
    case_unit = await session.get(Unit, case.unit_id)
    labels = {i.id: i.label for i in await checklist.list_items(session)}
    marks = await session.scalars(
        select(SpotCheckMark)
        .where(SpotCheckMark.sample_id == sample.id)
        .order_by(col(SpotCheckMark.id))
    )
    found = await session.scalars(
        select(Finding).where(Finding.sample_id == sample.id).order_by(col(Finding.id))
    )
    return schemas.SampleDetail(
        id=sample.id or 0,
        spot_check_id=check.id or 0,
        month=check.month,
        unit_name=unit.name,
        case_id=case.id or 0,
        case_reference=case.reference,
        case_unit=case_unit.name if case_unit else "",
        registered_on=case.registered_on,
        stage_label=workflow.STAGE_LABELS.get(case.stage, case.stage),
        checked_on=sample.checked_on,
        checker_name=sample.checker_name,
        marks=[
            schemas.MarkOut(
                item_id=m.item_id, label=labels.get(m.item_id, ""), passed=m.passed, note=m.note
            )
            for m in marks
        ],
        findings=await findings.findings_out(session, list(found), ctx.today()),
    )


# ---------------------------------------------------------------- the review's figures


async def results(session: AsyncSession, *, root: Unit, month: str, as_of: date) -> dict[str, Any]:
    """The month's check per base unit under `root` (as of a day): cases drawn and checked,
    findings by checklist line, rectified, late. The review shows them beside the computed
    points."""
    items = await checklist.list_items(session)
    checks = list(
        await session.scalars(
            select(SpotCheck)
            .join(Unit, col(Unit.id) == col(SpotCheck.unit_id))
            .where(
                SpotCheck.month == month,
                col(SpotCheck.unit_id).in_(subtree_ids(root.path)),
                col(SpotCheck.drawn_on) <= as_of,
            )
            .order_by(*unit_order())
        )
    )
    ids = [c.id or 0 for c in checks]
    sampled = Counter[int]()
    checked = Counter[int]()
    for check_id, checked_on in (
        await session.execute(
            select(col(SpotCheckCase.spot_check_id), col(SpotCheckCase.checked_on)).where(
                col(SpotCheckCase.spot_check_id).in_(ids)
            )
        )
    ).all():
        sampled[check_id] += 1
        if checked_on is not None and checked_on <= as_of:
            checked[check_id] += 1
    found = list(
        await session.scalars(
            select(Finding).where(
                col(Finding.spot_check_id).in_(ids), col(Finding.found_on) <= as_of
            )
        )
    )
    names = {
        u.id: u.name
        for u in await session.scalars(
            select(Unit).where(col(Unit.id).in_({c.unit_id for c in checks}))
        )
    }
    codes = {i.id: i.code for i in items}
    rows = []
    for c in checks:
        mine = [f for f in found if f.spot_check_id == c.id]
        by_item = Counter(codes.get(f.item_id, "") for f in mine)
        rows.append(
            {
                "unit_id": c.unit_id,
                "unit_name": names.get(c.unit_id, ""),
                "check_id": c.id,
                "population": len(c.population),
                "sampled": sampled[c.id or 0],
                "checked": checked[c.id or 0],
                "findings": len(mine),
                "by_item": {i.code: by_item.get(i.code, 0) for i in items},
                "rectified": sum(
                    1 for f in mine if f.closed_on is not None and f.closed_on <= as_of
                ),
                "late": sum(1 for f in mine if rules.late(f, as_of)),
            }
        )
    # A unit that registered nothing that month was drawn from nothing: counted, not listed.
    return {
        "month": month,
        "items": [{"code": i.code, "label": i.label} for i in items],
        "units": [r for r in rows if r["population"]],
        "units_without_cases": sum(1 for r in rows if not r["population"]),
    }
