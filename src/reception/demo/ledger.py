"""The demo's 矛盾纠纷排查台账, in the report's proportions: 2020's ledger (涉薪 36 collective wage
disputes all resolved with 5.2 million yuan paid — "涉薪 36 件全部化解, 解决拖欠工资 520 余万元" is
the 2020 排查情况表 of 涉薪; 涉房 85 problems listed ahead of time with plans), and the last year's
ledger across townships and villages, with a sensitive period running now (岁末年初) so the
leader's phone page has its check-ins. Idempotent: nothing is added when entries exist."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception.context import Context
from reception.demo.schedule import PETITIONER_GIVEN, PETITIONER_SURNAMES, fake_id_number
from reception.demo.walk import advance_case
from reception.errors import Broken, DomainError
from reception.ledger import moves, periods, schemas, service
from reception.ledger.models import LedgerEntry
from reception.org.models import Leader, Unit

WAGES_2020, WAGES_2020_PAID = 36, 5_236_000
HOUSING_2020 = 85
MATTERS = {
    "wages": ["改燃改电工程拖欠农民工工资", "建筑工地拖欠工资", "物流园区企业欠薪"],
    "housing": ["龙府壹号逾期交房", "品悦江南办证难", "鸿坤花语质量问题", "山湖郡苑逾期交房"],
    "land": ["征地补偿款分配纠纷", "宅基地界址纠纷"],
    "mass_finance": ["养老机构预付费退款", "合作社集资款兑付"],
    "veterans": ["退役军人安置待遇诉求"],
    "other": ["邻里通行纠纷", "土地承包合同纠纷", "婚姻家庭纠纷"],
}
RECENT_SHARES = [
    ("other", 34),
    ("housing", 22),
    ("wages", 20),
    ("land", 12),
    ("mass_finance", 8),
    ("veterans", 4),
]


def _person(rng: random.Random) -> schemas.PartyIn:
    name = (
        rng.choice(PETITIONER_SURNAMES)
        + rng.choice(PETITIONER_GIVEN)
        + rng.choice(PETITIONER_GIVEN)
    )
    return schemas.PartyIn(
        name=name, id_number=fake_id_number(rng), phone=f"139{rng.randint(0, 99_999_999):08d}"
    )


def _pick(rng: random.Random, shares: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in shares], weights=[w for _, w in shares])[0]


async def _open(
    session: AsyncSession,
    ctx: Context,
    rng: random.Random,
    *,
    found: date,
    unit: Unit,
    domain: str,
    leader: Leader,
    people: int,
    amount: int,
    how: str = "screening",
) -> LedgerEntry:
    risk = (
        "major"
        if people >= 30 or amount >= 1_000_000
        else ("serious" if people >= 5 or amount >= 100_000 else "general")
    )
    return await service.create_entry(
        session=session,
        ctx=ctx,
        actor=None,
        data=schemas.EntryCreate(
            found_on=found,
            found_by_unit_id=unit.id or 0,
            how_found=how,  # type: ignore[arg-type]
            domain=domain,
            summary=rng.choice(MATTERS[domain]),
            parties=[_person(rng) for _ in range(1 + (people >= 5))],
            unit_id=unit.id or 0,
            stability_leader_id=leader.id or 0,
            resolution_leader_id=leader.id or 0,
            target_on=found + timedelta(days=60),
            risk=risk,  # type: ignore[arg-type]
            people_count=people,
            amount_disputed=amount,
            plan="属地镇(街)牵头,主管部门配合,一案一策,限期化解",
            review_on=found + timedelta(days=7),
        ),
    )


async def _move(
    session: AsyncSession, ctx: Context, entry: LedgerEntry, **body: object
) -> moves.Moved:
    on = body.get("on")
    if isinstance(on, date) and on > ctx.today():
        body["on"] = ctx.today()
    return await moves.move(
        session=session,
        ctx=ctx,
        actor=None,
        entry_id=entry.id or 0,
        data=schemas.MoveIn(**body),  # type: ignore[arg-type]
    )


async def _convert(
    session: AsyncSession, ctx: Context, rng: random.Random, entry: LedgerEntry, on: date
) -> None:
    """转为信访事项, and the case then handled like the demo's others (accepted, replied …)."""
    done = await _move(session, ctx, entry, move="convert", channel="visit", on=on)
    if done.case is not None and done.case.id is not None:
        try:
            await advance_case(rng, session, ctx, done.case.id, done.case.registered_on, "normal")
        except DomainError:
            pass


@dataclass
class _Demo:
    """The demo org the ledger is spread over, and the run's random stream."""

    session: AsyncSession
    ctx: Context
    rng: random.Random
    district: Unit
    townships: list[Unit]
    villages: dict[int, list[Unit]]
    departments: dict[str, Unit]
    # A unit's leader (each township has its 党委书记), and the district's in their order.
    leaders: dict[int, Leader]
    district_leaders: list[Leader]


async def _demo(session: AsyncSession, ctx: Context) -> _Demo:
    district = await session.scalar(select(Unit).where(col(Unit.kind) == "district"))
    if district is None:
        raise Broken("expected: the demo district")
    townships = list(
        await session.scalars(
            select(Unit).where(col(Unit.kind) == "township").order_by(col(Unit.id))
        )
    )
    villages: dict[int, list[Unit]] = {}
    for v in await session.scalars(select(Unit).where(col(Unit.kind) == "village")):
        villages.setdefault(v.parent_id or 0, []).append(v)
    departments = {
        u.name: u for u in await session.scalars(select(Unit).where(col(Unit.kind) == "department"))
    }
    leaders = {x.unit_id: x for x in await session.scalars(select(Leader).order_by(col(Leader.id)))}
    district_leaders = list(
        await session.scalars(
            select(Leader).where(col(Leader.unit_id) == district.id).order_by(col(Leader.id))
        )
    )
    return _Demo(
        session, ctx, random.Random(2020), district, townships, villages, departments, leaders,
        district_leaders,
    )  # fmt: skip


async def _wages_2020(d: _Demo) -> int:
    """2020: 36 collective wage disputes, every one resolved; the amounts add up to the
    report's 520 余万元."""
    rng = d.rng
    base = WAGES_2020_PAID // WAGES_2020
    paid = [base] * WAGES_2020
    paid[-1] += WAGES_2020_PAID - base * WAGES_2020
    for i in range(0, WAGES_2020 - 1, 2):
        shift = rng.randrange(0, 60) * 1000
        paid[i] += shift
        paid[i + 1] -= shift
    for amount in paid:
        found = date(2020, 1, 6) + timedelta(days=rng.randrange(0, 320))
        township = rng.choice(d.townships)
        entry = await _open(
            d.session, d.ctx, rng, found=found, unit=township, domain="wages",
            leader=d.leaders[township.id or 0], people=rng.randint(8, 40), amount=amount,
        )  # fmt: skip
        await _move(
            d.session, d.ctx, entry, move="resolve",
            method=rng.choice(["agreement", "administrative"]),
            amount_recovered=amount, on=found + timedelta(days=rng.randrange(5, 40)),
        )  # fmt: skip
    return len(paid)


async def _housing_2020(d: _Demo, count: int) -> int:
    """2020: housing problems listed ahead of time with plans; resolved over the year, a few
    turned into petitions."""
    rng = d.rng
    housing = d.departments.get("区住建委", d.district)
    for i in range(count):
        found = date(2020, 2, 3) + timedelta(days=rng.randrange(0, 120))
        unit = housing if i % 3 == 0 else rng.choice(d.townships)
        entry = await _open(
            d.session, d.ctx, rng, found=found, unit=unit, domain="housing",
            leader=d.district_leaders[5] if unit is housing else d.leaders[unit.id or 0],
            people=rng.choice([3, 12, 40, 80]), amount=0,
        )  # fmt: skip
        closed = found + timedelta(days=rng.randrange(20, 200))
        if i % 17 == 0:
            await _convert(d.session, d.ctx, rng, entry, closed)
        else:
            await _move(d.session, d.ctx, entry, move="resolve", method="administrative", on=closed)
    return count


async def _last_year(d: _Demo, count: int) -> int:
    """The three levels at work: most resolved where found, some escalated, some still open (a
    few past their review date), 较大/重大 ones under the sensitive period."""
    rng, today = d.rng, d.ctx.today()
    start = today - timedelta(days=365)
    xiacang = next((t for t in d.townships if t.name == "下仓镇"), d.townships[0])
    for _ in range(count):
        found = start + timedelta(days=rng.randrange(0, 360))
        # 下仓镇, the demo township clerk's, holds a quarter: his ledger is not empty.
        township = xiacang if rng.random() < 0.25 else rng.choice(d.townships)
        village = rng.choice(d.villages.get(township.id or 0, [township]))
        domain = _pick(rng, RECENT_SHARES)
        amount = rng.choice([0, 0, 30_000, 150_000]) if domain == "wages" else 0
        entry = await _open(
            d.session, d.ctx, rng, found=found, unit=village, domain=domain,
            leader=d.leaders[township.id or 0], people=rng.choice([1, 2, 3, 6, 12, 35]),
            amount=amount, how=rng.choice(["screening", "grid", "grid", "visit", "online"]),
        )  # fmt: skip
        age, roll = (today - found).days, rng.random()
        if age > 30 and roll < 0.7:
            await _move(
                d.session, d.ctx, entry, move="resolve", method="agreement",
                amount_recovered=amount, on=found + timedelta(days=rng.randrange(3, 30)),
            )  # fmt: skip
        elif age > 20 and roll < 0.85:
            up = found + timedelta(days=rng.randrange(2, 10))
            await _move(
                d.session, d.ctx, entry, move="escalate", note="村调处化解室调解不成", on=up
            )
            if roll < 0.8:
                await _move(
                    d.session, d.ctx, entry, move="resolve", method="judicial",
                    amount_recovered=amount, on=up + timedelta(days=rng.randrange(3, 20)),
                )  # fmt: skip
        elif roll > 0.9 and age > 5:
            await _convert(d.session, d.ctx, rng, entry, found + timedelta(days=3))
        if entry.status == "open":
            # Still open: its next review a few days off, or (one in five) missed.
            review = today + timedelta(days=rng.randrange(1, 10))
            if rng.random() < 0.2:
                review = today - timedelta(days=rng.randrange(1, 10))
            entry.review_on = max(review, found)
    return count


async def _periods(d: _Demo) -> None:
    """岁末年初 running now (the 区长's phone page has check-ins to give), 两会 ahead."""
    today = d.ctx.today()
    for entry in await d.session.scalars(
        select(LedgerEntry)
        .where(col(LedgerEntry.status) == "open", col(LedgerEntry.risk) != "general")
        .order_by(col(LedgerEntry.id))
        .limit(3)
    ):
        entry.stability_leader_id = d.district_leaders[1].id or 0
    for name, starts, ends, note in (
        ("岁末年初", today - timedelta(days=2), today + timedelta(days=10),
         "元旦前后矛盾纠纷集中,较大、重大纠纷每日报告稳控情况"),
        ("全国两会", date(today.year + 1, 3, 3), date(today.year + 1, 3, 15), ""),
    ):  # fmt: skip
        await periods.create_period(
            session=d.session,
            actor=None,
            data=schemas.PeriodIn(name=name, starts_on=starts, ends_on=ends, note=note),
            # As the office set it up: on the day it began, or now for one ahead.
            today=min(starts, today),
        )


async def load_ledger(session: AsyncSession, ctx: Context, *, scale: float = 1.0) -> dict[str, int]:
    """`scale`: a smaller demo (`--cases 40`) gets a smaller ledger; 2020's 36 wage disputes
    stay whole (the report's figure is checked on them)."""
    if await session.scalar(select(func.count()).select_from(LedgerEntry)):
        return {"ledger_entries": 0}
    d = await _demo(session, ctx)
    made = await _wages_2020(d)
    made += await _housing_2020(d, max(3, round(HOUSING_2020 * scale)))
    made += await _last_year(d, max(10, round(160 * scale)))
    await _periods(d)
    await session.flush()
    return {"ledger_entries": made}
