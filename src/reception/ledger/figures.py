"""The monthly 排查情况表 and the review's 台账 figures: SQL aggregates over a period (a month,
or a year: "涉薪 36 件全部化解, 解决拖欠工资 520 余万元" is `table(domain=wages)` of 2020).

An entry counts under the unit that found it (发现单位) — so a past month stays what it was when
an entry is handed up later — rolled up to the rows of the table: the chosen unit's own row,
then one row per unit directly under it (a district: its townships and departments; a
township: its villages and communities).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception.base import month_bounds
from reception.cases.models import CaseCategory, CasePetitioner, PetitionCase
from reception.errors import InvalidInput, NotFound
from reception.expr import where
from reception.ledger import rules
from reception.ledger.models import LedgerEntry, LedgerParty
from reception.org.access import ancestor_ids, in_subtree, subtree_ids
from reception.org.models import Unit
from reception.org.order import in_unit_order

COUNTS = (
    "found",
    "found_general",
    "found_serious",
    "found_major",
    "people",
    "amount_disputed",
    "resolved",
    "converted",
    "amount_recovered",
    "carried_in",
    "carried_over",
)
LABELS = {
    "found": "本期排查",
    "found_general": "一般",
    "found_serious": "较大",
    "found_major": "重大",
    "people": "涉及人数",
    "amount_disputed": "争议金额(元)",
    "resolved": "化解销账",
    "converted": "转为信访事项",
    "amount_recovered": "化解金额(元)",
    "carried_in": "上期结转",
    "carried_over": "结转下期",
}


def period_bounds(month: str | None, year: int | None, today: date) -> tuple[date, date]:
    """A table's period: a month (2026-11), a whole year, or else the current month."""
    if month and year:
        raise InvalidInput("月份和年份只能选一个", field="year")
    if year:
        return date(year, 1, 1), date(year, 12, 31)
    return month_bounds(month or f"{today:%Y-%m}")


@dataclass
class Row:
    key: str
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def add(self, counts: dict[str, int]) -> None:
        for k in COUNTS:
            self.counts[k] += counts[k]

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, **self.counts}


async def _root(session: AsyncSession, unit_id: int | None) -> Unit:
    if unit_id is None:
        root = await session.scalar(
            select(Unit).where(col(Unit.kind) == "district").order_by(col(Unit.id)).limit(1)
        )
    else:
        root = await session.get(Unit, unit_id)
    if root is None:
        raise NotFound(f"单位 {unit_id} 不存在" if unit_id else "尚未建立区级单位")
    return root


def _flags(first: date, last: date) -> list[Any]:
    e = LedgerEntry
    found = and_(col(e.found_on) >= first, col(e.found_on) <= last)
    closed_in = and_(col(e.closed_on) >= first, col(e.closed_on) <= last)

    def n(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    def total(cond: Any, value: Any) -> Any:
        return func.coalesce(func.sum(case((cond, value), else_=0)), 0)

    return [
        n(found),
        n(and_(found, col(e.opened_risk) == "general")),
        n(and_(found, col(e.opened_risk) == "serious")),
        n(and_(found, col(e.opened_risk) == "major")),
        total(found, col(e.people_count)),
        total(found, col(e.amount_disputed)),
        n(and_(closed_in, col(e.status) == "resolved")),
        n(and_(closed_in, col(e.status) == "converted")),
        total(and_(closed_in, col(e.status) == "resolved"), col(e.amount_recovered)),
        n(where(rules.open_on, e, first - timedelta(days=1))),
        n(where(rules.open_on, e, last)),
    ]


async def table(
    session: AsyncSession,
    *,
    unit_id: int | None,
    first: date,
    last: date,
    domain: str | None = None,
) -> dict[str, Any]:
    """排查情况表 of a period for a unit and everything under it: rows by unit, rows by domain,
    and the total (the roll-up)."""
    root = await _root(session, unit_id)
    units = list(await session.scalars(select(Unit).where(in_subtree(col(Unit.path), root.path))))
    children = [u for u in units if u.parent_id == root.id]
    row_ids = {root.id} | {u.id for u in children}
    row_of: dict[int, int] = {}
    for u in units:
        row_of[u.id or 0] = next(
            (a for a in reversed(ancestor_ids(u.path)) if a in row_ids), root.id or 0
        )
    query = (
        select(
            col(LedgerEntry.found_by_unit_id), col(LedgerEntry.domain_code), *_flags(first, last)
        )
        .where(
            col(LedgerEntry.found_by_unit_id).in_(subtree_ids(root.path)),
            col(LedgerEntry.found_on) <= last,
            or_(col(LedgerEntry.closed_on).is_(None), col(LedgerEntry.closed_on) >= first),
        )
        .group_by(col(LedgerEntry.found_by_unit_id), col(LedgerEntry.domain_code))
    )
    if domain:
        query = query.where(col(LedgerEntry.domain_code) == domain)
    domains = {c.code: c.name for c in await session.scalars(select(CaseCategory))}
    by_unit = {u.id or 0: Row(str(u.id), u.name) for u in [root, *in_unit_order(children)]}
    by_domain = {code: Row(code, name) for code, name in domains.items()}
    total = Row("total", "合计")
    for unit, code, *values in (await session.execute(query)).all():
        counts = dict(zip(COUNTS, (int(v) for v in values), strict=True))
        by_unit[row_of.get(unit, root.id or 0)].add(counts)
        by_domain.setdefault(code, Row(code, code)).add(counts)
        total.add(counts)
    return {
        "unit": {"id": root.id, "name": root.name, "kind": root.kind},
        "first": first.isoformat(),
        "last": last.isoformat(),
        "domain": domain,
        "labels": LABELS,
        "columns": list(COUNTS),
        # The unit's own row only where it found something itself.
        "units": [
            r.as_dict() for uid, r in by_unit.items() if uid != root.id or any(r.counts.values())
        ],
        "domains": [r.as_dict() for r in by_domain.values() if any(r.counts.values())],
        "total": total.as_dict(),
    }


async def _foreseen(session: AsyncSession, units: Any, first: date, last: date) -> tuple[int, int]:
    """源头预防: the petitions registered from `first` to `last` in the units, and how many of
    them were foreseen by the ledger."""
    cases = select(
        col(PetitionCase.id), col(PetitionCase.registered_on), col(PetitionCase.created_at)
    ).where(
        col(PetitionCase.unit_id).in_(units),
        col(PetitionCase.registered_on) >= first,
        col(PetitionCase.registered_on) <= last,
    )
    month_cases = cases.subquery()
    linked = select(col(LedgerEntry.case_id)).where(col(LedgerEntry.case_id).is_not(None))
    same_person = (
        select(col(CasePetitioner.case_id))
        .join(month_cases, month_cases.c.id == col(CasePetitioner.case_id))
        .join(
            LedgerParty,
            # The same person as the repeat check judges it (cases/registration.py): the same
            # ID number, or the same name and phone — by their blind indexes.
            or_(
                and_(
                    col(LedgerParty.id_number_index) == col(CasePetitioner.id_number_index),
                    col(CasePetitioner.id_number_index) != "",
                ),
                and_(
                    col(LedgerParty.name) == col(CasePetitioner.name),
                    col(LedgerParty.phone_index) == col(CasePetitioner.phone_index),
                    col(CasePetitioner.phone_index) != "",
                ),
            ),
        )
        .join(LedgerEntry, col(LedgerEntry.id) == col(LedgerParty.entry_id))
        # Foreseen: found before the petition, and on the ledger before it was registered
        # (an entry typed in afterwards and dated back foresaw nothing).
        .where(
            col(LedgerEntry.found_on) <= month_cases.c.registered_on,
            col(LedgerEntry.created_at) <= month_cases.c.created_at,
        )
    )
    petitions = await session.scalar(select(func.count()).select_from(month_cases)) or 0
    # Counted over the month's cases themselves (an IN over them made PostgreSQL walk every
    # case of the database's primary key to test each against the month).
    foreseen = (
        await session.scalar(
            select(func.count())
            .select_from(month_cases)
            .where(or_(month_cases.c.id.in_(linked), month_cases.c.id.in_(same_person)))
        )
        or 0
    )
    return int(petitions), int(foreseen)


async def panel(
    session: AsyncSession, *, unit_id: int | None, first: date, last: date, today: date
) -> dict[str, Any]:
    """The review's 台账 panel as of `today` (the review's as-of day): entries open that day by
    domain, those past their review date, the month's entries turned into petitions, and
    源头预防 — how many of the month's petitions were foreseen (the entry it came from, or an
    entry of the same person found and entered before the petition was registered)."""
    root = await _root(session, unit_id)
    units = subtree_ids(root.path)
    mine = or_(col(LedgerEntry.unit_id).in_(units), col(LedgerEntry.found_by_unit_id).in_(units))
    domains = {c.code: c.name for c in await session.scalars(select(CaseCategory))}
    open_by_domain = [
        {"domain": code, "name": domains.get(code, code), "open": int(n), "overdue": int(late)}
        for code, n, late in (
            await session.execute(
                select(
                    col(LedgerEntry.domain_code),
                    func.count(),
                    func.coalesce(
                        func.sum(case((where(rules.overdue_on, LedgerEntry, today), 1), else_=0)),
                        0,
                    ),
                )
                .where(mine, where(rules.open_on, LedgerEntry, today))
                .group_by(col(LedgerEntry.domain_code))
                .order_by(func.count().desc())
            )
        ).all()
    ]
    converted = await session.scalar(
        select(func.count()).where(
            mine,
            col(LedgerEntry.status) == "converted",
            col(LedgerEntry.closed_on) >= first,
            col(LedgerEntry.closed_on) <= min(last, today),
        )
    )
    petitions, foreseen = await _foreseen(session, units, first, min(last, today))
    return {
        "open_by_domain": open_by_domain,
        "open": sum(r["open"] for r in open_by_domain),
        "overdue": sum(r["overdue"] for r in open_by_domain),
        "converted": int(converted or 0),
        "petitions": petitions,
        "foreseen": foreseen,
        "foreseen_share": round(foreseen / petitions, 4) if petitions else None,
    }
