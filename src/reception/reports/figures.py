"""The monthly review's per-unit figures: the scope (one row per township and department),
month arithmetic, and the grouped SQL aggregates behind every rate.

The rules counted by are the cases domain's own (`reception.cases.workflow`): overdue, on
time, first-time, repeat — not a second definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.cases import workflow
from reception.cases.models import CaseClock, PetitionCase
from reception.errors import Broken, NotFound
from reception.expr import where
from reception.org.access import ancestor_ids, in_subtree, subtree_ids
from reception.org.models import Unit
from reception.org.order import in_unit_order

# 信网电: letters, online and phone (the seed report's "网升访降").
REMOTE_CHANNELS = ("letter", "online", "phone")
ACCEPT_KINDS = ("accept",)
HANDLE_KINDS = ("handle", "simple")


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


async def scope_of(session: AsyncSession, unit_id: int | None) -> Scope:
    if unit_id is None:
        root = await session.scalar(
            select(Unit).where(Unit.kind == "district").order_by(col(Unit.id)).limit(1)
        )
    else:
        root = await session.get(Unit, unit_id)
    if root is None:
        raise NotFound(f"单位 {unit_id} 不存在" if unit_id else "尚未建立区级单位")
    units = list(
        await session.scalars(
            select(Unit).where(in_subtree(col(Unit.path), root.path)).order_by(col(Unit.path))
        )
    )
    scope = Scope(root=root)
    by_id = {u.id: u for u in units}
    # One row per township and department; a village counts under its township; cases
    # registered to the root (a district) itself get the root's own row.
    row_ids = [u.id for u in units if u.kind in ("township", "department") or u.id == root.id]
    row_set = set(row_ids)
    for u in units:
        if u.id is None:
            raise Broken("expected: u.id is not None")
        scope.row_of[u.id] = next(
            (a for a in reversed(ancestor_ids(u.path)) if a in row_set), root.id or 0
        )
    # The scope's own row first, then as every list of units reads (org.service).
    ordered = in_unit_order([by_id[i] for i in row_ids if i in by_id])
    scope.rows = sorted(ordered, key=lambda u: u.id != root.id)
    return scope


def subtree(scope: Scope) -> Any:
    return subtree_ids(scope.root.path)


async def first_record(session: AsyncSession, scope: Scope) -> date | None:
    """The day the subtree's first case was registered (None: no case yet): the first entry of
    the registration index that is the subtree's (a min() over the subtree read all of it)."""
    return await session.scalar(
        select(col(PetitionCase.registered_on))
        .where(col(PetitionCase.unit_id).in_(subtree(scope)))
        .order_by(col(PetitionCase.registered_on))
        .limit(1)
    )


def flag(condition: Any) -> Any:
    return func.coalesce(func.sum(sql_case((condition, 1), else_=0)), 0)


@dataclass
class _Month:
    """A month's per-unit figures being counted: the scope's units, the month, the as-of day."""

    scope: Scope
    first: date
    last: date
    as_of: date
    per_unit: dict[int, UnitFigures]

    @property
    def until(self) -> date:
        return min(self.last, self.as_of)

    @property
    def in_scope(self) -> Any:
        return col(PetitionCase.unit_id).in_(subtree(self.scope))

    def bucket(self, unit_id: int) -> UnitFigures:
        return self.per_unit[self.scope.row_of[unit_id]]


async def _new_cases(session: AsyncSession, m: _Month) -> None:
    rows = await session.execute(
        select(
            PetitionCase.unit_id,
            func.count(),
            flag(PetitionCase.first_time),
            flag(col(PetitionCase.channel).in_(REMOTE_CHANNELS)),
        )
        .where(
            m.in_scope,
            col(PetitionCase.registered_on).between(m.first, m.until),
            where(workflow.happened, PetitionCase.registered_on, m.first, m.last, m.as_of),
        )
        .group_by(col(PetitionCase.unit_id))
    )
    for unit_id, count, first_time, remote in rows:
        row = m.bucket(unit_id)
        row.new_cases += int(count)
        row.first_time += int(first_time)
        row.repeat += int(count) - int(first_time)
        row.remote += int(remote)


async def _clocks_due(session: AsyncSession, m: _Month) -> None:
    rows = await session.execute(
        select(
            PetitionCase.unit_id,
            CaseClock.kind,
            func.count(),
            flag(where(workflow.on_time_by, CaseClock, m.as_of)),
        )
        .join(PetitionCase, col(PetitionCase.id) == col(CaseClock.case_id))
        .where(
            m.in_scope,
            col(CaseClock.kind).in_(ACCEPT_KINDS + HANDLE_KINDS),
            col(CaseClock.current_due).between(m.first, m.until),
            where(workflow.counted_due, CaseClock, m.first, m.last, m.as_of),
            where(workflow.known_by, PetitionCase, m.as_of),
        )
        .group_by(col(PetitionCase.unit_id), col(CaseClock.kind))
    )
    for unit_id, kind, count, on_time in rows:
        row = m.bucket(unit_id)
        if kind in ACCEPT_KINDS:
            row.accept_due += int(count)
            row.accept_on_time += int(on_time)
        else:
            row.handle_due += int(count)
            row.handle_on_time += int(on_time)


async def _replies(session: AsyncSession, m: _Month) -> None:
    rows = await session.execute(
        select(
            PetitionCase.unit_id,
            func.count(),
            flag(where(workflow.evaluated_by, PetitionCase, m.as_of)),
            flag(where(workflow.satisfied_by, PetitionCase, m.as_of)),
        )
        .where(
            m.in_scope,
            col(PetitionCase.replied_on).between(m.first, m.until),
            where(workflow.happened, PetitionCase.replied_on, m.first, m.last, m.as_of),
        )
        .group_by(col(PetitionCase.unit_id))
    )
    for unit_id, count, n_evaluated, n_satisfied in rows:
        row = m.bucket(unit_id)
        row.replied += int(count)
        row.evaluated += int(n_evaluated)
        row.satisfied += int(n_satisfied)


async def _overdue(session: AsyncSession, m: _Month) -> None:
    rows = await session.execute(
        select(PetitionCase.unit_id, CaseClock.kind, func.count(func.distinct(CaseClock.case_id)))
        .join(PetitionCase, col(PetitionCase.id) == col(CaseClock.case_id))
        .where(
            m.in_scope,
            col(CaseClock.kind).in_(ACCEPT_KINDS + HANDLE_KINDS),
            late_clause(m.first, m.last, m.as_of),
            where(workflow.known_by, PetitionCase, m.as_of),
        )
        .group_by(col(PetitionCase.unit_id), col(CaseClock.kind))
    )
    for unit_id, kind, count in rows:
        _add_overdue(m.bucket(unit_id), kind, int(count))


def _add_overdue(row: UnitFigures, kind: str, count: int) -> None:
    if kind in ACCEPT_KINDS:
        row.overdue_accept += count
    else:
        row.overdue_handle += count


def _late_counts(late: list[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    """Distinct cases per unit and clock kind, as _overdue's count(distinct case_id)."""
    cases: dict[tuple[int, str], set[int]] = {}
    for unit_id, kind, case_id in late:
        cases.setdefault((unit_id, kind), set()).add(case_id)
    return [(unit_id, kind, len(ids)) for (unit_id, kind), ids in cases.items()]


async def unit_figures(
    session: AsyncSession,
    scope: Scope,
    first: date,
    last: date,
    as_of: date,
    late: list[tuple[int, str, int]] | None = None,
) -> tuple[list[UnitFigures], UnitFigures]:
    """Every per-unit figure of a month as it stood on `as_of`: four grouped queries, each on
    an indexed date, each counting by the cases domain's as-of rules (`workflow.happened`,
    `counted_due`, `on_time_by`, `evaluated_by`, `satisfied_by`, `overdue`). `late`: the
    month's late clocks as (unit id, kind, case id) when the caller has read them already
    (the review's own 超期 list, the same rule over the same cases): counted, not queried."""
    per_unit = {u.id: UnitFigures(u.id, u.name, u.kind) for u in scope.rows if u.id is not None}
    month = _Month(scope, first, last, as_of, per_unit)
    for count in (_new_cases, _clocks_due, _replies):
        await count(session, month)
    if late is None:
        await _overdue(session, month)
    else:
        for unit_id, kind, n in _late_counts(late):
            _add_overdue(month.bucket(unit_id), kind, n)
    rows = list(per_unit.values())
    total = UnitFigures(0, "合计", "total")
    for row in rows:
        total.add(row)
    return rows, total


def late_clause(first: date, last: date, as_of: date) -> Any:
    return where(workflow.late_in, CaseClock, first, last, as_of)


HEADLINE = (
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
    # What each rate divides by (a rate of 1 case is read with its count).
    "accept_due",
    "handle_due",
    "replied",
    "evaluated",
)


def headline(total: UnitFigures) -> dict[str, Any]:
    t = total.as_dict()
    return {key: t[key] for key in HEADLINE}
