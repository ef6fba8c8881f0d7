"""The district's 矛盾纠纷调处化解中心 (矛调中心): which departments sit in it, and how —
常驻, 轮驻 or 随驻 — from a day on (history as rows; the current one has no end)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.context import Context
from reception.db import flush_or_conflict
from reception.errors import Conflict, Forbidden, InvalidInput, NotFound
from reception.org.models import PRESENCE_LABELS, MediationPresence, Unit


async def current(*, session: AsyncSession) -> dict[int, MediationPresence]:
    """Each department's current place in the centre, by unit id."""
    rows = await session.scalars(
        select(MediationPresence).where(col(MediationPresence.ended_on).is_(None))
    )
    return {r.unit_id: r for r in rows}


def summary(places: dict[int, MediationPresence]) -> dict[str, int]:
    """常驻 / 轮驻 / 随驻: how many departments each (the seed's 8 / 7 / 20)."""
    counts = Counter(p.presence for p in places.values())
    return {label: counts.get(code, 0) for code, label in PRESENCE_LABELS.items()}


async def set_presence(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    unit_id: int,
    presence: str | None,
) -> MediationPresence | None:
    """Put a department in the centre (or change how it sits there), from today; None takes
    it out. The earlier place ends today and stays as a row."""
    if actor is not None and actor.role != "admin":
        raise Forbidden("只有系统管理员可以设置矛调中心的入驻部门")
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"单位 {unit_id} 不存在")
    if unit.kind != "department":
        raise InvalidInput("只有区直部门入驻区矛调中心", field="presence")
    if presence is not None and presence not in PRESENCE_LABELS:
        raise InvalidInput("入驻方式应为 常驻、轮驻 或 随驻", field="presence")
    today = ctx.today()
    now_place = (await current(session=session)).get(unit_id)
    if now_place is not None and now_place.presence == presence:
        raise Conflict(f"{unit.name}已是{PRESENCE_LABELS[presence]}部门")
    if now_place is None and presence is None:
        raise Conflict(f"{unit.name}未入驻矛调中心")
    before = {"presence": now_place.presence} if now_place else None
    if now_place is not None:
        now_place.ended_on = today
        await session.flush()
    made = None
    if presence is not None:
        made = MediationPresence(
            unit_id=unit_id,
            presence=presence,
            started_on=today,
            set_by_name=audit.actor_name(actor),
        )
        # Two administrators at once: the partial UNIQUE lets one through.
        await flush_or_conflict(session, f"{unit.name}的入驻方式刚被他人修改,请刷新后重试", made)
    await audit.record(
        session=session,
        actor=actor,
        action="unit.mediation_presence",
        target_type="unit",
        target_id=unit_id,
        before=before,
        after={"presence": presence},
    )
    return made
