"""包案: the leader personally accountable for a case. One current owner at most (a partial
unique index); every assignment is a history row with its start and end, never deleted."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit.service import actor_name
from reception.auth import Principal
from reception.cases import schemas
from reception.cases.access import for_change, unit_in_scope
from reception.cases.models import CaseOwnership
from reception.cases.timeline import effective_date, record_event
from reception.context import Context
from reception.db import flush_or_conflict
from reception.errors import Broken, Conflict, InvalidInput
from reception.org.access import leader_scope
from reception.org.models import Leader


async def current_owner(session: AsyncSession, case_id: int) -> CaseOwnership | None:
    return await session.scalar(
        select(CaseOwnership).where(
            CaseOwnership.case_id == case_id, col(CaseOwnership.ended_at).is_(None)
        )
    )


async def assign_owner(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case_id: int,
    data: schemas.OwnershipAssign,
    if_match: str | None = None,
) -> CaseOwnership:
    """Make a leader the case's accountable leader; the previous assignment ends, with a reason."""
    case = await for_change(session, actor, case_id, if_match)
    if case.id is None:
        raise Broken("expected: case.id is not None")
    # The leader and the unit named are checked against the caller's scope like any id a
    # request names: one he may not see does not exist for him.
    leader_query = select(Leader).where(Leader.id == data.leader_id)
    if actor is not None:
        leader_query = leader_query.where(leader_scope(actor))
    leader = await session.scalar(leader_query)
    if leader is None or not leader.active:
        raise InvalidInput(f"领导 {data.leader_id} 不存在或已停用", field="leader_id")
    unit_id = data.responsible_unit_id or case.unit_id
    await unit_in_scope(session, actor, unit_id, "responsible_unit_id")
    previous = await current_owner(session, case.id)
    on = effective_date(
        ctx,
        data.on,
        not_before=max(case.registered_on, previous.started_on) if previous else case.registered_on,
        label="登记日期或现任包案的开始日期",
    )
    if previous is not None and previous.leader_id == data.leader_id:
        raise Conflict(f"{leader.name}已是该事项的包案领导")
    if previous is not None and not data.reason.strip():
        raise InvalidInput("更换包案领导须写明理由", field="reason")
    now = ctx.now()
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
        assigned_by_name=actor_name(actor),
    )
    # Two assignments at once: the partial unique index lets one through.
    await flush_or_conflict(
        session, f"信访事项 {case.id} 刚被他人指定了包案领导,请刷新后重试", ownership
    )
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
