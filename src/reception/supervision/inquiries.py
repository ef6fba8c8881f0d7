"""流调 of repeat and escalated matters: 发生原因 (from a list, and words), 办理过程 (the case's
own timeline up to the signature: never retyped), 问题责任 (units or people and what each
failed to do), 结论性意见, signed off by the leader named for it. Written by those who handle
the case; one per case; every step audited and on the case's timeline."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit.service import actor_name
from reception.auth import Principal
from reception.cases import access as case_access
from reception.cases.models import CaseEvent, CauseInquiry, PetitionCase
from reception.cases.timeline import EVENT_LABELS, effective_date, record_event, timeline
from reception.context import Context
from reception.db import get_in_scope, now_of
from reception.errors import Broken, Conflict, Forbidden, InvalidInput
from reception.etags import require_match
from reception.org.access import subtree_ids
from reception.org.choices import named_leader
from reception.org.models import Leader, Unit
from reception.supervision import access, rules, schemas


def why_eligible(case: PetitionCase) -> str:
    """Why a case takes a 流调 ("" when it does not): a repeat petition, or one that went over
    the district's head (转送 from the city or the national bureau: 越级)."""
    if not case.first_time or case.repeat_of_id is not None:
        return "重复信访"
    if case.source in ("city", "national"):
        return "越级信访(上级转送)"
    return ""


async def _responsibilities(
    session: AsyncSession, actor: Principal | None, items: list[schemas.Responsibility]
) -> list[dict[str, Any]]:
    out = []
    for i, r in enumerate(items):
        if r.unit_id is not None and await session.get(Unit, r.unit_id) is None:
            raise InvalidInput(f"单位 {r.unit_id} 不存在", field=f"responsibilities[{i}].unit_id")
        if r.unit_id is None and not r.who.strip():
            raise InvalidInput("请写明责任单位或责任人", field=f"responsibilities[{i}].who")
        out.append({"unit_id": r.unit_id, "who": r.who.strip(), "failing": r.failing.strip()})
    return out


async def open_inquiry(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case_id: int,
    data: schemas.InquiryIn,
) -> CauseInquiry:
    case = await case_access.get_case(
        session=session, case_id=case_id, principal=actor, for_update=True
    )
    case_access.may_write(actor)
    if not why_eligible(case):
        raise InvalidInput(
            "流调针对重复信访或越级信访事项:这件事项是初信初访、本级受理", field="case_id"
        )
    if await session.scalar(select(CauseInquiry.id).where(CauseInquiry.case_id == case_id)):
        raise Conflict(f"{case.reference} 已有流调记录")
    leader = await named_leader(session, actor, data.leader_id, "leader_id")
    on = effective_date(ctx, data.on, not_before=case.registered_on, label="登记日期")
    inquiry = CauseInquiry(
        case_id=case_id,
        opened_on=on,
        opened_by_user_id=actor.user_id if actor else None,
        opened_by_name=actor_name(actor),
        leader_id=leader.id or 0,
        causes=list(dict.fromkeys(data.causes)),
        cause_note=data.cause_note.strip(),
        responsibilities=await _responsibilities(session, actor, data.responsibilities),
        conclusion=data.conclusion.strip(),
    )
    session.add(inquiry)
    await session.flush()
    await record_event(
        session=session, case=case, actor=actor, kind="inquiry.opened", on=on,
        after={"inquiry_id": inquiry.id, "leader_id": leader.id, "unit_id": case.unit_id},
    )  # fmt: skip
    return inquiry


async def get_inquiry(
    *,
    session: AsyncSession,
    principal: Principal | None,
    inquiry_id: int,
    for_update: bool = False,
) -> CauseInquiry:
    inquiry: CauseInquiry = await get_in_scope(
        session, CauseInquiry, inquiry_id, access.inquiry_scope(principal),
        missing=f"流调 {inquiry_id} 不存在", for_update=for_update,
    )  # fmt: skip
    return inquiry


async def of_case(
    *, session: AsyncSession, principal: Principal | None, case_id: int
) -> CauseInquiry | None:
    """A case's 流调, if the caller reads it."""
    found: CauseInquiry | None = await session.scalar(
        select(CauseInquiry).where(CauseInquiry.case_id == case_id, access.inquiry_scope(principal))
    )
    return found


def _edits(principal: Principal | None, inquiry: CauseInquiry) -> bool:
    return inquiry.status == "open" and case_access.writes(principal)


def _signs(principal: Principal | None, inquiry: CauseInquiry) -> bool:
    return (
        inquiry.status == "open"
        and principal is not None
        and principal.role == "leader"
        and principal.leader_id == inquiry.leader_id
    )


async def _for_change(
    session: AsyncSession, actor: Principal | None, inquiry_id: int, if_match: str | None
) -> tuple[CauseInquiry, PetitionCase]:
    inquiry = await get_inquiry(
        session=session, principal=actor, inquiry_id=inquiry_id, for_update=True
    )
    require_match(access.inquiry_etag(inquiry), if_match, "这份流调")
    case = await session.get(PetitionCase, inquiry.case_id)
    if case is None:
        raise Broken("expected: the inquiry's case")
    if inquiry.status != "open":
        raise Conflict("流调已签批,不能再修改")
    return inquiry, case


async def update(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    inquiry_id: int,
    data: schemas.InquiryPatch,
    if_match: str | None = None,
) -> CauseInquiry:
    inquiry, case = await _for_change(session, actor, inquiry_id, if_match)
    # Those who handle the case now (its clerks; a case given to another unit goes with it).
    await case_access.get_case(session=session, case_id=case.id or 0, principal=actor)
    case_access.may_write(actor)
    changes = data.changes()
    before = {k: getattr(inquiry, k) for k in changes}
    if "leader_id" in changes:
        await named_leader(session, actor, changes["leader_id"], "leader_id")
    if "responsibilities" in changes:
        changes["responsibilities"] = await _responsibilities(
            session, actor, changes["responsibilities"]
        )
    if "causes" in changes:
        changes["causes"] = list(dict.fromkeys(changes["causes"]))
    for name, value in changes.items():
        setattr(inquiry, name, value.strip() if isinstance(value, str) else value)
    inquiry.version += 1
    inquiry.updated_at = now_of(session)
    await session.flush()
    await record_event(
        session=session, case=case, actor=actor, kind="inquiry.updated", on=ctx.today(),
        before={k: v for k, v in before.items() if k == "leader_id"} or None,
        after={"inquiry_id": inquiry.id, "changed": sorted(changes)},
    )  # fmt: skip
    return inquiry


async def sign(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    inquiry_id: int,
    data: schemas.SignIn,
    if_match: str | None = None,
) -> CauseInquiry:
    """The named leader signs the conclusion: causes, responsibility and conclusion must be
    there; from then on the 流调 does not change, and its 办理过程 is the timeline up to now."""
    inquiry, case = await _for_change(session, actor, inquiry_id, if_match)
    if not _signs(actor, inquiry):
        raise Forbidden("流调由指定的签批领导本人签批")
    missing = [
        label
        for label, value in (
            ("发生原因", inquiry.causes or inquiry.cause_note),
            ("问题责任", inquiry.responsibilities),
            ("结论性意见", inquiry.conclusion),
        )
        if not value
    ]
    if missing:
        raise InvalidInput(f"流调尚未写完:{'、'.join(missing)}", field="")
    on = effective_date(ctx, data.on, not_before=inquiry.opened_on, label="流调开始日期")
    inquiry.status, inquiry.signed_on = "signed", on
    inquiry.signed_at = now_of(session)
    inquiry.signed_by_name = actor_name(actor)
    inquiry.version += 1
    inquiry.updated_at = inquiry.signed_at
    await session.flush()
    await record_event(
        session=session, case=case, actor=actor, kind="inquiry.signed", on=on,
        after={"inquiry_id": inquiry.id, "leader_id": inquiry.leader_id, "unit_id": case.unit_id,
               "case_reference": case.reference},
    )  # fmt: skip
    return inquiry


# ---------------------------------------------------------------- reading


def process_of(
    events: list[CaseEvent], ctx: Context, inquiry: CauseInquiry
) -> list[schemas.ProcessStep]:
    """办理过程: the case's timeline — once signed, up to the signature (what the leader read:
    the rows before the timeline's own 签批 row) — without the 流调's own steps."""
    signed = next(
        (
            e.id
            for e in events
            if e.kind == "inquiry.signed" and (e.after or {}).get("inquiry_id") == inquiry.id
        ),
        None,
    )
    return [
        schemas.ProcessStep(
            event_id=e.id or 0,
            on=e.effective_on,
            at=e.at.astimezone(ctx.tz),
            kind=e.kind,
            label=EVENT_LABELS.get(e.kind, e.kind),
            actor_name=e.actor_name,
            note=e.note,
        )
        for e in events
        if not e.kind.startswith("inquiry.") and (signed is None or (e.id or 0) < signed)
    ]


async def inquiry_out(
    *, session: AsyncSession, ctx: Context, principal: Principal | None, inquiry: CauseInquiry
) -> schemas.InquiryOut:
    case = await session.get(PetitionCase, inquiry.case_id)
    leader = await session.get(Leader, inquiry.leader_id)
    if case is None or leader is None:
        raise Broken("expected: the inquiry's case and leader")
    unit = await session.get(Unit, case.unit_id)
    ids = {r["unit_id"] for r in inquiry.responsibilities if r.get("unit_id")}
    names = {u.id: u.name for u in await session.scalars(select(Unit).where(col(Unit.id).in_(ids)))}
    # Those who handle the case now (its unit's clerks; the 流调 goes with a case given on).
    may_edit = (
        _edits(principal, inquiry) and unit is not None and case_access.handles(principal, unit)
    )
    return schemas.InquiryOut(
        id=inquiry.id or 0,
        case_id=case.id or 0,
        case_reference=case.reference,
        case_unit=unit.name if unit else "",
        why_eligible=why_eligible(case),
        opened_on=inquiry.opened_on,
        opened_by_name=inquiry.opened_by_name,
        leader_id=inquiry.leader_id,
        leader_name=f"{leader.name}({leader.title})",
        causes=inquiry.causes,
        cause_labels=[rules.CAUSE_LABELS.get(c, c) for c in inquiry.causes],
        cause_note=inquiry.cause_note,
        responsibilities=[
            schemas.ResponsibilityOut(
                unit_id=r.get("unit_id"),
                unit_name=names.get(r.get("unit_id"), ""),
                who=r.get("who", ""),
                failing=r.get("failing", ""),
            )
            for r in inquiry.responsibilities
        ],
        conclusion=inquiry.conclusion,
        status=inquiry.status,
        status_label=rules.INQUIRY_STATUS_LABELS[inquiry.status],
        signed_on=inquiry.signed_on,
        signed_by_name=inquiry.signed_by_name,
        process=process_of(await timeline(session=session, case_id=case.id or 0), ctx, inquiry),
        may_edit=may_edit,
        may_sign=_signs(principal, inquiry),
    )


async def list_inquiries(
    *,
    session: AsyncSession,
    principal: Principal | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[schemas.InquirySummary], int]:
    query = (
        sa_select(
            CauseInquiry,
            col(PetitionCase.reference),
            col(Unit.name),
            col(Leader.name),
            col(Leader.title),
        )
        .join(PetitionCase, col(PetitionCase.id) == col(CauseInquiry.case_id))
        .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
        .join(Leader, col(Leader.id) == col(CauseInquiry.leader_id))
        .where(access.inquiry_scope(principal))
    )
    if status:
        query = query.where(col(CauseInquiry.status) == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(
            col(CauseInquiry.status),
            col(CauseInquiry.opened_on).desc(),
            col(CauseInquiry.id).desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    return [
        schemas.InquirySummary(
            id=i.id or 0,
            case_id=i.case_id,
            case_reference=ref,
            case_unit=unit_name,
            opened_on=i.opened_on,
            leader_name=f"{name}({title})",
            status=i.status,
            status_label=rules.INQUIRY_STATUS_LABELS[i.status],
            signed_on=i.signed_on,
        )
        for i, ref, unit_name, name, title in rows.all()
    ], total


async def month_counts(
    session: AsyncSession, *, root: Unit, first: date, last: date, as_of: date
) -> dict[str, int]:
    """The review's 流调 figures: the month's repeat matters registered by the as-of day (by
    the unit responsible), how many had a 流调 opened and signed by then."""
    repeat = select(PetitionCase.id).where(
        col(PetitionCase.unit_id).in_(subtree_ids(root.path)),
        col(PetitionCase.registered_on) >= first,
        col(PetitionCase.registered_on) <= min(last, as_of),
        col(PetitionCase.first_time).is_(False),
    )
    counted = select(CauseInquiry).where(col(CauseInquiry.case_id).in_(repeat))
    rows = list(await session.scalars(counted.where(col(CauseInquiry.opened_on) <= as_of)))
    total = await session.scalar(select(func.count()).select_from(repeat.subquery())) or 0
    return {
        "repeat": int(total),
        "opened": len(rows),
        "signed": sum(1 for r in rows if r.signed_on is not None and r.signed_on <= as_of),
    }
