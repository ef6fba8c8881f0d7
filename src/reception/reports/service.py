"""The monthly review (书记点评会): SQL aggregates over a month and an as-of date.

Python only formats: every figure is counted by the database, grouped by the responsible
unit, and the rules it counts by (overdue, on time, first-time, repeat) are the cases
domain's own (`reception.cases.workflow`), not a second definition.
"""

from __future__ import annotations

import calendar as month_calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, text
from sqlalchemy import case as sql_case
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases import service as cases
from reception.cases import workflow
from reception.cases.models import (
    Campaign,
    CaseClock,
    CaseOwnership,
    CasePetitioner,
    PetitionCase,
    SessionCase,
)
from reception.errors import InvalidInput, NotFound
from reception.org.models import Leader, Unit
from reception.privacy import mask_name
from reception.reports.models import Incident
from reception.scheduling.models import Appointment, ReceptionSession
from reception.workcal.models import CalendarYear

# 信网电: letters, online and phone (the seed report's "网升访降").
REMOTE_CHANNELS = ("letter", "online", "phone")
ACCEPT_KINDS = ("accept",)
HANDLE_KINDS = ("handle", "simple")
SANWU_GOAL = 2 / 3

DEFINITIONS: list[tuple[str, str, str]] = [
    ("new_cases", "新增信访事项", "登记日期在本月的信访事项件数(按责任单位)"),
    ("first_time", "初信初访", "新增事项中不属于重复信访的件数"),
    ("repeat", "重复信访", "新增事项中经登记人员确认为重复信访(同一信访人、同一事项)的件数"),
    ("repeat_share", "重复信访占比", "重复信访 ÷ 新增信访事项"),
    ("remote_share", "信网电占比", "来信、网上、电话渠道的新增事项 ÷ 新增信访事项(网升访降)"),
    (
        "timely_accept_rate",
        "及时受理率",
        "本月到期的受理告知时限中按期完成的 ÷ 本月到期的受理告知时限(15日,截至统计日)",
    ),
    (
        "on_time_handle_rate",
        "按期办结率",
        "本月到期的办理时限(60日,含延期;简易办理10个工作日)中按期出具处理意见的 ÷ 本月到期的办理时限",
    ),
    ("participation_rate", "群众参评率", "本月答复的事项中已评价的 ÷ 本月答复的事项"),
    ("satisfaction_rate", "满意率", "(满意 + 基本满意) ÷ 已评价的事项(本月答复)"),
    (
        "overdue_accept",
        "超期受理",
        "截至统计日受理告知时限已过仍未受理的,以及本月超期完成受理的事项",
    ),
    ("overdue_handle", "超期办理", "截至统计日办理时限已过仍未答复的,以及本月超期答复的事项"),
    ("unregistered", "应登不登", "本月已接待的预约和已完成的下访中,没有登记(关联)信访事项的"),
    (
        "delivery_irregular",
        "答复送达不规范",
        "本月答复的事项中截至统计日无送达记录,或送达晚于办理时限的",
    ),
    (
        "sanwu",
        "三无乡镇",
        "当年截至统计日无进京非访、无到市大规模集体访、无网上舆论炒作的乡镇(街道);目标:三分之二",
    ),
    (
        "campaign",
        "积案化解进度",
        "专项内已化解(含息诉罢访)的事项 ÷ 专项事项总数,对照统计日已到期的最近一个目标",
    ),
    ("missing", "—", "分母为零,不计算比率"),
]


def month_bounds(month: str) -> tuple[date, date]:
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError as exc:
        raise InvalidInput("month must be YYYY-MM", field="month") from exc
    return first, date(year, mon, month_calendar.monthrange(year, mon)[1])


def shift_month(month: str, months: int) -> str:
    first, _ = month_bounds(month)
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def ratio(numerator: int, denominator: int) -> float | None:
    """None for a zero denominator: never a crash, never a fake 100%."""
    return None if denominator == 0 else round(numerator / denominator, 4)


@dataclass
class UnitFigures:
    unit_id: int
    unit_name: str
    kind: str
    new_cases: int = 0
    first_time: int = 0
    repeat: int = 0
    remote: int = 0
    accept_due: int = 0
    accept_on_time: int = 0
    handle_due: int = 0
    handle_on_time: int = 0
    replied: int = 0
    evaluated: int = 0
    satisfied: int = 0
    overdue_accept: int = 0
    overdue_handle: int = 0

    COUNTS = (
        "new_cases",
        "first_time",
        "repeat",
        "remote",
        "accept_due",
        "accept_on_time",
        "handle_due",
        "handle_on_time",
        "replied",
        "evaluated",
        "satisfied",
        "overdue_accept",
        "overdue_handle",
    )

    def add(self, other: UnitFigures) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "unit_name": self.unit_name,
            "kind": self.kind,
            **{name: getattr(self, name) for name in self.COUNTS},
            "repeat_share": ratio(self.repeat, self.new_cases),
            "remote_share": ratio(self.remote, self.new_cases),
            "timely_accept_rate": ratio(self.accept_on_time, self.accept_due),
            "on_time_handle_rate": ratio(self.handle_on_time, self.handle_due),
            "participation_rate": ratio(self.evaluated, self.replied),
            "satisfaction_rate": ratio(self.satisfied, self.evaluated),
        }


@dataclass
class Scope:
    root: Unit
    # unit id → the id of the row it is counted under (its township or department).
    row_of: dict[int, int] = field(default_factory=dict)
    rows: list[Unit] = field(default_factory=list)


async def _scope(session: AsyncSession, unit_id: int | None) -> Scope:
    if unit_id is None:
        root = await session.scalar(
            select(Unit).where(Unit.kind == "district").order_by(col(Unit.id)).limit(1)
        )
    else:
        root = await session.get(Unit, unit_id)
    if root is None:
        raise NotFound(f"Unit {unit_id} does not exist" if unit_id else "No district set up yet")
    units = list(
        await session.scalars(
            select(Unit).where(col(Unit.path).startswith(root.path)).order_by(col(Unit.path))
        )
    )
    scope = Scope(root=root)
    by_id = {u.id: u for u in units}
    # One row per township and department; a village counts under its township; cases
    # registered to the root (a district) itself get the root's own row.
    row_ids = [u.id for u in units if u.kind in ("township", "department") or u.id == root.id]
    row_set = set(row_ids)
    for u in units:
        assert u.id is not None
        ancestors = [int(x) for x in u.path.strip("/").split("/")]
        scope.row_of[u.id] = next((a for a in reversed(ancestors) if a in row_set), root.id or 0)
    order = {"district": 0, "township": 1, "department": 2, "village": 3}
    scope.rows = sorted(
        (by_id[i] for i in row_ids if i in by_id),
        key=lambda u: (u.id != root.id, order[u.kind], u.id),
    )
    return scope


def _subtree(scope: Scope) -> Any:
    return select(Unit.id).where(col(Unit.path).startswith(scope.root.path))


def _flag(condition: Any) -> Any:
    return func.coalesce(func.sum(sql_case((condition, 1), else_=0)), 0)


async def unit_figures(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date
) -> tuple[list[UnitFigures], UnitFigures]:
    """Every per-unit figure of a month: four grouped queries, each on an indexed date."""
    per_unit: dict[int, UnitFigures] = {
        u.id: UnitFigures(u.id, u.name, u.kind) for u in scope.rows if u.id is not None
    }
    in_scope = col(PetitionCase.unit_id).in_(_subtree(scope))

    def bucket(unit_id: int) -> UnitFigures:
        return per_unit[scope.row_of[unit_id]]

    new = await session.execute(
        select(
            PetitionCase.unit_id,
            func.count(),
            _flag(PetitionCase.first_time),
            _flag(col(PetitionCase.channel).in_(REMOTE_CHANNELS)),
        )
        .where(in_scope, col(PetitionCase.registered_on).between(first, last))
        .group_by(col(PetitionCase.unit_id))
    )
    for unit_id, count, first_time, remote in new:
        row = bucket(unit_id)
        row.new_cases += int(count)
        row.first_time += int(first_time)
        row.repeat += int(count) - int(first_time)
        row.remote += int(remote)

    # Clocks that fell due in the month; on time = met by its due date (and by as-of).
    met_on_time = and_(
        col(CaseClock.status) == "met",
        col(CaseClock.on_time).is_(True),
        col(CaseClock.met_on) <= as_of,
    )
    due = await session.execute(
        select(PetitionCase.unit_id, CaseClock.kind, func.count(), _flag(met_on_time))
        .join(PetitionCase, col(PetitionCase.id) == col(CaseClock.case_id))
        .where(
            in_scope,
            col(CaseClock.kind).in_(ACCEPT_KINDS + HANDLE_KINDS),
            col(CaseClock.status) != "void",
            col(CaseClock.current_due).between(first, last),
        )
        .group_by(col(PetitionCase.unit_id), col(CaseClock.kind))
    )
    for unit_id, kind, count, on_time in due:
        row = bucket(unit_id)
        if kind in ACCEPT_KINDS:
            row.accept_due += int(count)
            row.accept_on_time += int(on_time)
        else:
            row.handle_due += int(count)
            row.handle_on_time += int(on_time)

    evaluated = and_(
        col(PetitionCase.satisfaction) != "not_evaluated", col(PetitionCase.evaluated_on) <= as_of
    )
    replies = await session.execute(
        select(
            PetitionCase.unit_id,
            func.count(),
            _flag(evaluated),
            _flag(
                and_(
                    evaluated,
                    col(PetitionCase.satisfaction).in_(["satisfied", "basically_satisfied"]),
                )
            ),
        )
        .where(in_scope, col(PetitionCase.replied_on).between(first, last))
        .group_by(col(PetitionCase.unit_id))
    )
    for unit_id, count, n_evaluated, n_satisfied in replies:
        row = bucket(unit_id)
        row.replied += int(count)
        row.evaluated += int(n_evaluated)
        row.satisfied += int(n_satisfied)

    late = _late_clause(first, last, as_of)
    overdue = await session.execute(
        select(PetitionCase.unit_id, CaseClock.kind, func.count(func.distinct(CaseClock.case_id)))
        .join(PetitionCase, col(PetitionCase.id) == col(CaseClock.case_id))
        .where(in_scope, col(CaseClock.kind).in_(ACCEPT_KINDS + HANDLE_KINDS), late)
        .group_by(col(PetitionCase.unit_id), col(CaseClock.kind))
    )
    for unit_id, kind, count in overdue:
        row = bucket(unit_id)
        if kind in ACCEPT_KINDS:
            row.overdue_accept += int(count)
        else:
            row.overdue_handle += int(count)

    rows = list(per_unit.values())
    total = UnitFigures(0, "合计", "total")
    for row in rows:
        total.add(row)
    return rows, total


def _late_clause(first: date, last: date, as_of: date) -> Any:
    """超期: still running past its due date as of the as-of day (the cases domain's own
    overdue rule), or met late during the month."""
    return or_(
        workflow.overdue_clause(CaseClock, as_of),
        and_(
            col(CaseClock.status) == "met",
            col(CaseClock.on_time).is_(False),
            col(CaseClock.met_on).between(first, min(last, as_of)),
        ),
    )


async def _first_petitioners(session: AsyncSession, case_ids: list[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    rows = await session.execute(
        select(CasePetitioner.case_id, CasePetitioner.name).where(
            col(CasePetitioner.case_id).in_(case_ids), CasePetitioner.position == 0
        )
    )
    return {cid: name for cid, name in rows}


async def overdue_cases(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date, *, masked: bool
) -> list[dict[str, Any]]:
    owner_leader = aliased(Leader)
    rows = (
        await session.execute(
            select(CaseClock, PetitionCase, Unit.name, owner_leader.name)
            .join(PetitionCase, col(PetitionCase.id) == col(CaseClock.case_id))
            .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
            .outerjoin(
                CaseOwnership,
                and_(
                    col(CaseOwnership.case_id) == col(PetitionCase.id),
                    col(CaseOwnership.ended_at).is_(None),
                ),
            )
            .outerjoin(owner_leader, col(owner_leader.id) == col(CaseOwnership.leader_id))
            .where(
                col(PetitionCase.unit_id).in_(_subtree(scope)),
                col(CaseClock.kind).in_(ACCEPT_KINDS + HANDLE_KINDS),
                _late_clause(first, last, as_of),
            )
            .order_by(col(CaseClock.current_due), col(PetitionCase.id))
        )
    ).all()
    names = await _first_petitioners(session, [c.id for _, c, _, _ in rows if c.id])
    out = []
    for clock, case, unit_name, owner in rows:
        end = clock.met_on if clock.met_on is not None else as_of
        name = names.get(case.id or 0, "")
        out.append(
            {
                "type": "受理" if clock.kind in ACCEPT_KINDS else "办理",
                "unit_name": unit_name,
                "reference": case.reference,
                "petitioner": mask_name(name) if masked else name,
                "due": clock.current_due.isoformat(),
                "met_on": clock.met_on.isoformat() if clock.met_on else None,
                "days_overdue": (end - clock.current_due).days,
                "owner": owner,
                "stage": workflow.STAGE_LABELS[case.stage],
            }
        )
    return out


async def unregistered(
    session: AsyncSession, scope: Scope, first: date, last: date, *, masked: bool
) -> list[dict[str, Any]]:
    """应登不登: appointments received and field visits done in the month with no case."""
    leaders_in_scope = select(Leader.id).where(col(Leader.unit_id).in_(_subtree(scope)))
    appointments = await session.execute(
        sa_select(
            col(ReceptionSession.local_date),
            col(Leader.name),
            col(Unit.name),
            col(Appointment.id),
            col(Appointment.session_id),
            col(Appointment.petitioner_name),
        )
        .join(ReceptionSession, col(ReceptionSession.id) == col(Appointment.session_id))
        .join(Leader, col(Leader.id) == col(ReceptionSession.leader_id))
        .join(Unit, col(Unit.id) == col(Leader.unit_id))
        .where(
            col(ReceptionSession.leader_id).in_(leaders_in_scope),
            col(ReceptionSession.local_date).between(first, last),
            col(Appointment.status).in_(["checked_in", "completed"]),
            col(Appointment.case_id).is_(None),
        )
        .order_by(col(ReceptionSession.local_date), col(Appointment.id))
    )
    out = [
        {
            "type": "接访预约",
            "date": day.isoformat(),
            "leader": leader,
            "unit_name": unit,
            "reference": f"接访场次 {session_id} · 预约 {appointment_id}",
            "petitioner": mask_name(name) if masked else name,
            "days_overdue": None,
        }
        for day, leader, unit, appointment_id, session_id, name in appointments
    ]
    visits = await session.execute(
        select(
            col(ReceptionSession.local_date),
            col(Leader.name),
            col(Unit.name),
            col(ReceptionSession.id),
        )
        .join(Leader, col(Leader.id) == col(ReceptionSession.leader_id))
        .outerjoin(Unit, col(Unit.id) == col(ReceptionSession.unit_id))
        .where(
            col(ReceptionSession.leader_id).in_(leaders_in_scope),
            ReceptionSession.kind == "field_visit",
            ReceptionSession.status == "held",
            col(ReceptionSession.local_date).between(first, last),
            ~col(ReceptionSession.id).in_(select(SessionCase.session_id)),
        )
        .order_by(col(ReceptionSession.local_date), col(ReceptionSession.id))
    )
    out += [
        {
            "type": "下访",
            "date": day.isoformat(),
            "leader": leader,
            "unit_name": unit or "",
            "reference": f"下访场次 {session_id}",
            "petitioner": "",
            "days_overdue": None,
        }
        for day, leader, unit, session_id in visits
    ]
    return out


async def delivery_irregular(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date, *, masked: bool
) -> list[dict[str, Any]]:
    """Replies of the month with no delivery record by as-of, or delivered after the handling
    period's due date."""
    handle = aliased(CaseClock)
    rows = (
        await session.execute(
            select(PetitionCase, col(Unit.name), col(handle.current_due))
            .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
            .outerjoin(
                handle,
                and_(
                    col(handle.case_id) == col(PetitionCase.id),
                    col(handle.kind).in_(HANDLE_KINDS),
                    col(handle.status) != "void",
                ),
            )
            .where(
                col(PetitionCase.unit_id).in_(_subtree(scope)),
                col(PetitionCase.replied_on).between(first, last),
                or_(
                    col(PetitionCase.delivered_on).is_(None),
                    col(PetitionCase.delivered_on) > as_of,
                    col(PetitionCase.delivered_on) > handle.current_due,
                ),
            )
            .order_by(col(PetitionCase.replied_on), col(PetitionCase.id))
        )
    ).all()
    names = await _first_petitioners(session, [c.id for c, _, _ in rows if c.id])
    out = []
    for case, unit_name, due in rows:
        delivered = case.delivered_on if case.delivered_on and case.delivered_on <= as_of else None
        late_by = (delivered - due).days if delivered and due else None
        name = names.get(case.id or 0, "")
        out.append(
            {
                "unit_name": unit_name,
                "reference": case.reference,
                "petitioner": mask_name(name) if masked else name,
                "replied_on": case.replied_on.isoformat() if case.replied_on else None,
                "delivered_on": delivered.isoformat() if delivered else None,
                "problem": "无送达记录" if delivered is None else "送达超过办理时限",
                "days_overdue": late_by
                if late_by is not None
                else ((as_of - due).days if due and as_of > due else None),
            }
        )
    return out


async def leader_figures(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date
) -> list[dict[str, Any]]:
    """Per leader of the subtree: reception days and field visits of the month, and 包案."""
    leaders = list(
        await session.scalars(
            select(Leader)
            .where(col(Leader.unit_id).in_(_subtree(scope)), Leader.active == True)  # noqa: E712
            .order_by(col(Leader.id))
        )
    )
    ids = [leader.id for leader in leaders]
    sessions = {
        (leader_id, kind): (int(n), int(held), int(cancelled))
        for leader_id, kind, n, held, cancelled in await session.execute(
            sa_select(
                col(ReceptionSession.leader_id),
                col(ReceptionSession.kind),
                func.count(),
                _flag(col(ReceptionSession.status) == "held"),
                _flag(col(ReceptionSession.status) == "cancelled"),
            )
            .where(
                col(ReceptionSession.leader_id).in_(ids),
                col(ReceptionSession.local_date).between(first, last),
            )
            .group_by(col(ReceptionSession.leader_id), col(ReceptionSession.kind))
        )
    }
    appointments = {
        leader_id: int(n)
        for leader_id, n in await session.execute(
            select(ReceptionSession.leader_id, func.count())
            .join(Appointment, col(Appointment.session_id) == col(ReceptionSession.id))
            .where(
                col(ReceptionSession.leader_id).in_(ids),
                col(ReceptionSession.local_date).between(first, last),
                col(Appointment.status) != "cancelled",
            )
            .group_by(col(ReceptionSession.leader_id))
        )
    }
    # 包案 as of the as-of day: assignments running then.
    owning = and_(
        col(CaseOwnership.started_on) <= as_of,
        or_(col(CaseOwnership.ended_on).is_(None), col(CaseOwnership.ended_on) > as_of),
    )
    resolved = and_(
        col(PetitionCase.resolution).in_(["resolved", "ceased"]),
        col(PetitionCase.resolution_on) <= as_of,
    )
    late_case = col(PetitionCase.id).in_(
        select(CaseClock.case_id).where(workflow.overdue_clause(CaseClock, as_of))
    )
    owned = {
        leader_id: (int(n), int(n_resolved), int(n_late))
        for leader_id, n, n_resolved, n_late in await session.execute(
            select(CaseOwnership.leader_id, func.count(), _flag(resolved), _flag(late_case))
            .join(PetitionCase, col(PetitionCase.id) == col(CaseOwnership.case_id))
            .where(col(CaseOwnership.leader_id).in_(ids), owning)
            .group_by(col(CaseOwnership.leader_id))
        )
    }
    out = []
    for leader in leaders:
        receptions = sessions.get((leader.id, "reception"), (0, 0, 0))
        visits = sessions.get((leader.id, "field_visit"), (0, 0, 0))
        n_owned, n_resolved, n_late = owned.get(leader.id, (0, 0, 0))
        out.append(
            {
                "leader_id": leader.id,
                "leader": leader.name,
                "title": leader.title,
                "reception_days": receptions[0],
                "reception_held": receptions[1],
                "reception_cancelled": receptions[2],
                "appointments": appointments.get(leader.id or 0, 0),
                "field_visits": visits[0],
                "field_visits_held": visits[1],
                "owned_cases": n_owned,
                "owned_resolved": n_resolved,
                "owned_overdue": n_late,
                "owned_resolved_share": ratio(n_resolved, n_owned),
            }
        )
    return out


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


def headline(total: UnitFigures) -> dict[str, Any]:
    t = total.as_dict()
    return {
        key: t[key]
        for key in (
            "new_cases",
            "first_time",
            "repeat",
            "repeat_share",
            "remote_share",
            "timely_accept_rate",
            "on_time_handle_rate",
            "participation_rate",
            "satisfaction_rate",
            "overdue_accept",
            "overdue_handle",
        )
    }


def _month_as_of(month: str, as_of: date | None, today: date) -> tuple[date, date, date]:
    first, last = month_bounds(month)
    if first > today:
        raise InvalidInput(f"{month} has not begun yet", field="month")
    day = as_of or min(last, today)
    if day < first:
        raise InvalidInput("as_of is before the month", field="as_of")
    return first, last, day


async def _provisional(session: AsyncSession, first: date, last: date) -> bool:
    """Whether the figures rest on a calendar year without official data."""
    years = list(range(first.year, last.year + 2))
    from reception.workcal.service import ensure_years

    await ensure_years(session=session, years=years)
    rows = await session.scalars(select(CalendarYear).where(col(CalendarYear.year).in_(years[:-1])))
    return any(not r.official for r in rows)


async def review(
    *,
    session: AsyncSession,
    actor: Principal | None,
    month: str,
    unit_id: int | None = None,
    as_of: date | None = None,
    unmasked: bool = False,
) -> dict[str, Any]:
    """Everything the review meeting reads, for a month and a unit subtree, as plain data."""
    if unmasked and actor is not None and not actor.is_admin:
        raise InvalidInput("Only an admin may ask for unmasked names", field="unmasked")
    today = cases.today_local()
    first, last, day = _month_as_of(month, as_of, today)
    if session.get_bind().dialect.name == "postgresql":
        # These few heavy aggregates run as cached prepared statements (asyncpg); after five
        # executions PostgreSQL may switch to a generic plan that ignores the subtree and
        # dates (measured: 5.5 s instead of 0.16 s on a million cases, bench/review.py).
        # Planning each one afresh costs about a millisecond. Transaction-local.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    scope = await _scope(session, unit_id)
    masked = not unmasked
    rows, total = await unit_figures(session, scope, first, last, day)

    comparison: dict[str, Any] = {"current": headline(total)}
    # Before the first registered case there is no record to compare with: "—", not zeros
    # (an office's first year would otherwise show a fake rise 同比).
    first_record = await session.scalar(
        select(func.min(PetitionCase.registered_on)).where(
            col(PetitionCase.unit_id).in_(_subtree(scope))
        )
    )
    for key, other in (
        ("previous_month", shift_month(month, -1)),
        ("same_month_last_year", shift_month(month, -12)),
    ):
        o_first, o_last = month_bounds(other)
        if first_record is None or o_last < first_record:
            empty = dict.fromkeys(headline(total), None)
            comparison[key] = {"month": other, "no_data": True, **empty}
            continue
        # The earlier month as it stood at the same point: its end, or today if sooner.
        o_day = min(o_last, day)
        _, o_total = await unit_figures(session, scope, o_first, o_last, o_day)
        comparison[key] = {"month": other, "no_data": False, **headline(o_total)}

    campaigns = [
        msgspec_to_dict(
            await cases.campaign_progress(session=session, campaign_id=c.id or 0, as_of=day)
        )
        for c in await session.scalars(select(Campaign).order_by(col(Campaign.id)))
    ]
    report = {
        "month": month,
        "as_of": day.isoformat(),
        "unit": {"id": scope.root.id, "name": scope.root.name, "kind": scope.root.kind},
        "provisional": await _provisional(session, first, last),
        "masked": masked,
        "units": [r.as_dict() for r in rows],
        "total": total.as_dict(),
        "comparison": comparison,
        "overdue_cases": await overdue_cases(session, scope, first, last, day, masked=masked),
        "unregistered": await unregistered(session, scope, first, last, masked=masked),
        "delivery_irregular": await delivery_irregular(
            session, scope, first, last, day, masked=masked
        ),
        "leaders": await leader_figures(session, scope, first, last, day),
        "campaigns": campaigns,
        "sanwu": await sanwu(session, scope, first.year, day),
        "definitions": [{"key": k, "name": n, "definition": d} for k, n, d in DEFINITIONS],
    }
    if unmasked:
        await audit.record(
            session=session,
            actor=actor,
            action="review.unmasked",
            target_type="review",
            target_id=f"{month}:{scope.root.id}",
            after={"month": month, "unit_id": scope.root.id, "as_of": day.isoformat()},
        )
    return report


def msgspec_to_dict(value: Any) -> dict[str, Any]:
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(value)
    return data


# ---------------------------------------------------------------- incidents


async def record_incident(*, session: AsyncSession, actor: Principal | None, data: Any) -> Incident:
    unit = await session.get(Unit, data.unit_id)
    if unit is None:
        raise InvalidInput(f"Unit {data.unit_id} does not exist", field="unit_id")
    if unit.kind != "township":
        raise InvalidInput("三无 status is a township's (乡镇/街道)", field="unit_id")
    if (
        actor is not None
        and actor.role == "clerk"
        and not (actor.unit_path and unit.path.startswith(actor.unit_path))
    ):
        raise InvalidInput(f"Unit {data.unit_id} is outside your unit", field="unit_id")
    if data.occurred_on > cases.today_local():
        raise InvalidInput("The incident is in the future", field="occurred_on")
    if data.case_id is not None:
        await cases.check_case_exists(session, data.case_id, actor)
    incident = Incident(
        kind=data.kind,
        unit_id=data.unit_id,
        occurred_on=data.occurred_on,
        people_count=data.people_count,
        case_id=data.case_id,
        description=data.description,
        recorded_by_name=actor.name if actor else audit.CLI_ACTOR,
    )
    session.add(incident)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="incident.create",
        target_type="incident",
        target_id=incident.id,
        after=audit.snapshot(incident),
    )
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
    if principal is not None and principal.role == "clerk" and principal.unit_path:
        query = query.where(
            col(Incident.unit_id).in_(
                select(Unit.id).where(col(Unit.path).startswith(principal.unit_path))
            )
        )
    if year is not None:
        query = query.where(col(Incident.occurred_on).between(date(year, 1, 1), date(year, 12, 31)))
    if unit_id is not None:
        query = query.where(Incident.unit_id == unit_id)
    if kind:
        query = query.where(Incident.kind == kind)
    return list(await session.scalars(query.order_by(col(Incident.occurred_on), col(Incident.id))))


async def sanwu_status(
    *, session: AsyncSession, year: int, as_of: date | None, unit_id: int | None
) -> dict[str, Any]:
    scope = await _scope(session, unit_id)
    day = as_of or min(date(year, 12, 31), cases.today_local())
    if day.year != year:
        raise InvalidInput("as_of must be in the year", field="as_of")
    return await sanwu(session, scope, year, day)
