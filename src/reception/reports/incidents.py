"""Incidents that decide a township's 三无 status (no irregular visit to Beijing, no large
collective visit to the city, no online public-opinion incident), and that status."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases import workflow
from reception.cases.access import check_case_visible
from reception.context import Context
from reception.errors import InvalidInput
from reception.org.access import reach_clause, unit_in_reach
from reception.org.models import Unit
from reception.reports.figures import Scope, ratio, scope_of
from reception.reports.models import Incident

SANWU_GOAL = 2 / 3


async def sanwu(
    session: AsyncSession, scope: Scope, year: int, as_of: date, goal: float = SANWU_GOAL
) -> dict[str, Any]:
    """三无 townships for a year as of a day: no incident of any of the three kinds."""
    townships = [u for u in scope.rows if u.kind == "township"]
    ids = [u.id for u in townships]
    first = date(year, 1, 1)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for unit_id, kind, n in await session.execute(
        select(Incident.unit_id, Incident.kind, func.count())
        .where(
            col(Incident.unit_id).in_(ids),
            col(Incident.occurred_on).between(first, as_of),
        )
        .group_by(col(Incident.unit_id), col(Incident.kind))
    ):
        counts[unit_id][kind] = int(n)
    rows = []
    for u in townships:
        c = counts.get(u.id or 0, {})
        rows.append(
            {
                "unit_id": u.id,
                "unit_name": u.name,
                "beijing_irregular": c.get("beijing_irregular", 0),
                "city_collective": c.get("city_collective", 0),
                "online_opinion": c.get("online_opinion", 0),
                "sanwu": not c,
            }
        )
    achieved = sum(1 for r in rows if r["sanwu"])
    total = len(rows)
    return {
        "year": year,
        "as_of": as_of.isoformat(),
        "townships": total,
        "sanwu_townships": achieved,
        "share": ratio(achieved, total),
        "goal_share": round(goal, 4),
        "goal_townships": -(-total * 2 // 3) if goal == SANWU_GOAL else int(total * goal + 0.999),
        "goal_met": total > 0 and achieved / total >= goal,
        "rows": rows,
    }


async def record_incident(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: Any
) -> Incident:
    unit = await session.get(Unit, data.unit_id)
    if unit is None:
        raise InvalidInput(f"单位 {data.unit_id} 不存在", field="unit_id")
    if unit.kind != "township":
        raise InvalidInput("“三无”只统计乡镇(街道)", field="unit_id")
    if not unit_in_reach(actor, unit):
        raise InvalidInput(f"单位 {data.unit_id} 不在您所在单位的范围内", field="unit_id")
    if data.occurred_on > ctx.today():
        raise InvalidInput("发生日期晚于今天", field="occurred_on")
    if data.case_id is not None:
        await check_case_visible(session=session, case_id=data.case_id, principal=actor)
    incident = Incident(
        kind=data.kind,
        unit_id=data.unit_id,
        occurred_on=data.occurred_on,
        people_count=data.people_count,
        case_id=data.case_id,
        description=data.description,
        recorded_by_name=audit.actor_name(actor),
    )
    session.add(incident)
    await audit.changed(session=session, actor=actor, action="incident.create", target=incident)
    return incident


async def list_incidents(
    *,
    session: AsyncSession,
    year: int | None,
    unit_id: int | None,
    kind: str | None,
    principal: Principal | None = None,
) -> list[Incident]:
    query = select(Incident)
    query = query.where(reach_clause(principal, col(Incident.unit_id)))
    if year is not None:
        query = query.where(col(Incident.occurred_on).between(date(year, 1, 1), date(year, 12, 31)))
    if unit_id is not None:
        query = query.where(Incident.unit_id == unit_id)
    if kind:
        query = query.where(Incident.kind == kind)
    return list(await session.scalars(query.order_by(col(Incident.occurred_on), col(Incident.id))))


async def sanwu_status(
    *, session: AsyncSession, ctx: Context, year: int, as_of: date | None, unit_id: int | None
) -> dict[str, Any]:
    scope = await scope_of(session, unit_id)
    day = workflow.as_of_day(
        date(year, 1, 1), date(year, 12, 31), as_of, ctx.today(), after_end=False
    )
    return await sanwu(session, scope, year, day)
