"""抽查发现的问题 and their 整改: the unit answers, the checker closes it or sends it back; the
list, its filters and the late ones (the daily job's escalations). Every step audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.audit.service import actor_name
from reception.auth import Principal
from reception.cases import access as case_access
from reception.cases.models import PetitionCase
from reception.cases.timeline import effective_date, facts
from reception.context import Context
from reception.db import get_in_scope, now_of
from reception.errors import Broken, Conflict, Forbidden, InvalidInput
from reception.etags import require_match
from reception.expr import where
from reception.org.access import subtree_ids
from reception.org.models import Unit
from reception.supervision import access, checklist, rules, schemas
from reception.supervision.models import Finding, SpotCheck

# The units a month's check covers: the base units under the district.
BASE_KINDS = ("township", "department")


# ---------------------------------------------------------------- findings and 整改


@dataclass(frozen=True)
class FindingFilters:
    status: str | None = None
    unit_id: int | None = None
    month: str | None = None
    overdue: bool | None = None
    case_id: int | None = None
    spot_check_id: int | None = None


async def list_findings(
    *,
    session: AsyncSession,
    principal: Principal | None,
    today: date,
    filters: FindingFilters,
    limit: int,
    offset: int,
) -> tuple[list[Finding], int]:
    query = select(Finding).where(access.finding_scope(principal))
    f = filters
    if f.status:
        query = query.where(Finding.status == f.status)
    if f.unit_id is not None:
        unit = await session.get(Unit, f.unit_id)
        if unit is None:
            raise InvalidInput(f"单位 {f.unit_id} 不存在", field="unit_id")
        query = query.where(col(Finding.unit_id).in_(subtree_ids(unit.path)))
    if f.month:
        query = query.where(
            col(Finding.spot_check_id).in_(select(SpotCheck.id).where(SpotCheck.month == f.month))
        )
    if f.case_id is not None:
        query = query.where(Finding.case_id == f.case_id)
    if f.spot_check_id is not None:
        query = query.where(Finding.spot_check_id == f.spot_check_id)
    if f.overdue is not None:
        late = where(rules.late, Finding, today)
        query = query.where(late if f.overdue else ~late)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(col(Finding.status), col(Finding.deadline), col(Finding.id))
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), total


async def findings_out(
    session: AsyncSession, rows: list[Finding], today: date
) -> list[schemas.FindingOut]:
    if not rows:
        return []
    cases = {
        c.id: c.reference
        for c in await session.scalars(
            select(PetitionCase).where(col(PetitionCase.id).in_({f.case_id for f in rows}))
        )
    }
    units = {
        u.id: u.name
        for u in await session.scalars(
            select(Unit).where(col(Unit.id).in_({f.unit_id for f in rows}))
        )
    }
    months = {
        c.id: c.month
        for c in await session.scalars(
            select(SpotCheck).where(col(SpotCheck.id).in_({f.spot_check_id for f in rows}))
        )
    }
    labels = {i.id: i.label for i in await checklist.list_items(session)}
    return [
        schemas.FindingOut(
            id=f.id or 0,
            spot_check_id=f.spot_check_id,
            month=months.get(f.spot_check_id, ""),
            case_id=f.case_id,
            case_reference=cases.get(f.case_id, ""),
            unit_id=f.unit_id,
            unit_name=units.get(f.unit_id, ""),
            item_id=f.item_id,
            item_label=labels.get(f.item_id, ""),
            problem=f.problem,
            found_on=f.found_on,
            deadline=f.deadline,
            status=f.status,
            status_label=rules.FINDING_STATUS_LABELS[f.status],
            overdue=f.status != "closed" and bool(rules.late(f, today)),
            answer=f.answer,
            answered_on=f.answered_on,
            answered_by_name=f.answered_by_name,
            closed_on=f.closed_on,
            returned=f.returned,
            return_note=f.return_note,
            returned_on=f.returned_on,
        )
        for f in rows
    ]


async def get_finding(
    *, session: AsyncSession, principal: Principal | None, finding_id: int, for_update: bool = False
) -> Finding:
    finding: Finding = await get_in_scope(
        session, Finding, finding_id, access.finding_scope(principal),
        missing=f"抽查发现的问题 {finding_id} 不存在", for_update=for_update,
    )  # fmt: skip
    return finding


async def _for_change(
    session: AsyncSession, actor: Principal | None, finding_id: int, if_match: str | None
) -> Finding:
    finding = await get_finding(
        session=session, principal=actor, finding_id=finding_id, for_update=True
    )
    require_match(access.finding_etag(finding), if_match, "这条抽查问题")
    return finding


async def _step(
    session: AsyncSession,
    actor: Principal | None,
    finding: Finding,
    action: str,
    before: dict[str, Any],
) -> None:
    finding.version += 1
    finding.updated_at = now_of(session)
    await session.flush()
    after = facts(finding, before)
    await audit.record(
        session=session, actor=actor, action=action, target_type="finding",
        target_id=finding.id, before=before, after={**after, "unit_id": finding.unit_id},
    )  # fmt: skip


async def answer(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    finding_id: int,
    data: schemas.AnswerIn,
    if_match: str | None = None,
) -> Finding:
    """The unit's 整改情况: a clerk of the unit (or under whose subtree it is), or an admin."""
    finding = await _for_change(session, actor, finding_id, if_match)
    unit = await session.get(Unit, finding.unit_id)
    if unit is None:
        raise Broken("expected: the finding's unit")
    if not case_access.handles(actor, unit):
        raise Forbidden(f"整改情况由{unit.name}的信访干部反馈")
    if finding.status != "open":
        raise Conflict(f"这条问题{rules.FINDING_STATUS_LABELS[finding.status]},不能再反馈")
    on = ctx.today()
    if data.on is not None:
        if not access.dates_back(actor):
            raise InvalidInput("整改情况按录入当天记录,不能改填日期", field="on")
        on = effective_date(
            ctx, data.on, not_before=finding.returned_on or finding.found_on, label="上一步"
        )
    before = facts(finding, ("status", "answer", "answered_on"))
    finding.status, finding.answer, finding.answered_on = "answered", data.answer.strip(), on
    finding.answered_by_name = actor_name(actor)
    await _step(session, actor, finding, "finding.answered", before)
    return finding


async def close(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    finding_id: int,
    data: schemas.CloseIn,
    if_match: str | None = None,
) -> Finding:
    """The checker accepts the rectification."""
    access.may_check(actor)
    finding = await _for_change(session, actor, finding_id, if_match)
    if finding.status != "answered":
        raise Conflict("只有已反馈整改情况的问题才能确认整改完成")
    on = effective_date(ctx, data.on, not_before=finding.answered_on, label="反馈日期")
    before = facts(finding, ("status", "closed_on"))
    finding.status, finding.closed_on = "closed", on
    await _step(session, actor, finding, "finding.closed", before)
    return finding


async def send_back(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    finding_id: int,
    data: schemas.ReturnIn,
    if_match: str | None = None,
) -> Finding:
    """The checker finds the answer wanting: back to the unit (the deadline stays; the answer
    sent back is no rectification)."""
    access.may_check(actor)
    finding = await _for_change(session, actor, finding_id, if_match)
    if finding.status != "answered":
        raise Conflict("只有已反馈整改情况的问题才能退回")
    on = effective_date(ctx, data.on, not_before=finding.answered_on, label="反馈日期")
    before = facts(finding, ("status", "answered_on", "returned", "return_note", "returned_on"))
    finding.status, finding.answered_on, finding.returned_on = "open", None, on
    finding.returned += 1
    finding.return_note = data.note.strip()
    await _step(session, actor, finding, "finding.returned", before)
    return finding


async def overdue_findings(session: AsyncSession, today: date) -> list[tuple[Finding, str, str]]:
    """Open findings past their deadline, with the unit's name and the case's reference (the
    daily job's escalations)."""
    rows = await session.execute(
        select(Finding, Unit.name, PetitionCase.reference)
        .join(Unit, col(Unit.id) == col(Finding.unit_id))
        .join(PetitionCase, col(PetitionCase.id) == col(Finding.case_id))
        .where(Finding.status == "open", col(Finding.deadline) < today)
        .order_by(col(Finding.deadline), col(Finding.id))
    )
    return [(f, name, ref) for f, name, ref in rows.all()]
