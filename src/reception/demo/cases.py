"""Demo cases: about a year of petition matters in the proportions of the district's 2020
report, with owners (包案), replies, evaluations, a backlog campaign and some overdue ones; and
a few incidents deciding 三无. Idempotent: nothing is added when cases exist already."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.campaigns import schemas as camp
from reception.campaigns import service as campaigns
from reception.cases import registration, service
from reception.cases import schemas as cs
from reception.cases.models import PetitionCase
from reception.cases.ownership import assign_owner, current_owner
from reception.cases.petitioners import petitioner
from reception.context import Context
from reception.demo.schedule import PETITIONER_GIVEN, PETITIONER_SURNAMES, fake_id_number
from reception.demo.walk import advance_case
from reception.errors import Broken, DomainError
from reception.org.models import Leader, Unit
from reception.reports.models import Incident
from reception.scheduling.models import Appointment, ReceptionSession

# ---------------------------------------------------------------- cases

# Shares from the district's 2020 report: letter + online + phone above 70% (网升访降),
# repeat petitions near 65%, housing and wages prominent, a few collective visits.
CHANNEL_SHARES = [("online", 50), ("visit", 25), ("phone", 12), ("letter", 10), ("grid_proxy", 3)]
CATEGORY_SHARES = [
    ("housing", 30),
    ("wages", 25),
    ("other", 18),
    ("land", 12),
    ("mass_finance", 9),
    ("veterans", 6),
]
CATEGORY_MATTERS = {
    "housing": [
        "龙府壹号小区逾期交房",
        "品悦江南小区办证难",
        "鸿坤花语小区质量问题",
        "山湖郡苑逾期交房",
    ],
    "wages": ["改燃改电工程欠薪", "建筑工地拖欠农民工工资", "物流公司拖欠工资"],
    "other": ["低保资格认定", "邻里宅基地纠纷", "道路施工扰民"],
    "land": ["征地补偿标准异议", "拆迁安置房分配"],
    "mass_finance": ["非法集资受损要求追赃挽损", "养老服务机构预付费退款"],
    "veterans": ["退役军人安置待遇", "优抚金发放"],
}
NEW_SHARE = 0.36
# Cases registered in the last this-many days have their notices issued by the service
# (受理告知书, and the 处理意见书 that is their reply, delivered); older ones carry the
# document number typed by hand, as the office did before.
WITH_NOTICES_DAYS = 90
OPINIONS = {
    "housing": (
        "经核查,开发商已承诺限期履约",
        "《城市房地产开发经营管理条例》",
        "督促开发商按期履约",
    ),
    "wages": ("经核查,施工单位拖欠工资属实", "《保障农民工工资支付条例》", "责令限期足额支付"),
    "other": ("经现场核实,反映情况基本属实", "《信访工作条例》", "由属地镇政府协调解决"),
    "land": ("经核查,补偿标准符合批复方案", "《土地管理法》", "维持原补偿方案并做好解释"),
    "mass_finance": ("案件已由公安机关立案侦查", "《防范和处置非法集资条例》", "依法追赃挽损"),
    "veterans": ("经核查,待遇标准已按政策落实", "《退役军人保障法》", "按政策落实相关待遇"),
}


def _pick(rng: random.Random, shares: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in shares], weights=[w for _, w in shares])[0]


# What the demo year should look like (the 2020 report: 及时受理率 99.76%, 按期办结率 98.50%,
# 群众满意率 92.49%, 重复信访 64.6%, 信网电 > 70%); `reception demo` prints what it measured.
# Replies left irregular on purpose (答复送达不规范): two never delivered, one delivered late.
UNDELIVERED, DELIVERED_LATE = 2, 1


async def load_cases(session: AsyncSession, ctx: Context, *, count: int = 600) -> dict[str, int]:
    """About a year of cases with owners, replies, evaluations, a backlog campaign and some
    overdue ones. Idempotent: nothing is added when cases exist already."""
    today = ctx.today()
    if await session.scalar(select(func.count()).select_from(PetitionCase)):
        return {"cases": 0}
    rng = random.Random(2021)
    townships = list(
        await session.scalars(select(Unit).where(Unit.kind == "township").order_by(col(Unit.id)))
    )
    departments = {
        u.name: u for u in await session.scalars(select(Unit).where(Unit.kind == "department"))
    }
    district = await session.scalar(select(Unit).where(Unit.kind == "district"))
    if district is None:
        raise Broken("expected: district is not None")
    leaders = list(
        await session.scalars(
            select(Leader).where(Leader.unit_id == district.id).order_by(col(Leader.id))
        )
    )
    start = today - timedelta(days=365)
    days = sorted(start + timedelta(days=rng.randint(0, 364)) for _ in range(count))
    # A few cases have their reply delivered irregularly on purpose; they are picked among
    # the months old enough to have been replied.
    oldish = [i for i, d in enumerate(days) if d < today - timedelta(days=120)]
    irregular = rng.sample(oldish, UNDELIVERED + DELIVERED_LATE)
    delivery_plan = {i: "none" for i in irregular[:UNDELIVERED]} | {
        i: "late" for i in irregular[UNDELIVERED:]
    }
    people: list[dict[str, Any]] = []
    stats = {"cases": 0, "repeat": 0, "owned": 0, "overdue_left": 0}
    campaign_cases: list[int] = []
    person: dict[str, Any]
    for index, registered in enumerate(days):
        if not people or rng.random() < NEW_SHARE:
            person = _new_person(rng, townships, departments, len(people))
            people.append(person)
            repeat_of = None
        else:
            person = rng.choice(people)
            repeat_of = person["cases"][-1]
        collective = (
            person["category"] in ("wages", "housing", "mass_finance") and rng.random() < 0.06
        )
        data = _registration(rng, person, registered, repeat_of, collective)
        case = (await registration.register(session=session, ctx=ctx, actor=None, data=data)).case
        if case.id is None:
            raise Broken("expected: case.id is not None")
        person["cases"].append(case.id)
        stats["cases"] += 1
        stats["repeat"] += repeat_of is not None
        try:
            await advance_case(
                rng,
                session,
                ctx,
                case.id,
                registered,
                delivery_plan.get(index, "normal"),
                notices=OPINIONS[person["category"]]
                if registered >= today - timedelta(days=WITH_NOTICES_DAYS)
                else None,
            )
        except DomainError:
            pass
        # 包案: collective visits and matters raised four times or more get a leader.
        hard = collective or len(person["cases"]) >= 4
        if hard and rng.random() < 0.6:
            stats["owned"] += await _own(
                session, ctx, rng.choice(leaders), case.id, person, registered
            )
            if len(person["cases"]) >= 3 and case.id not in campaign_cases:
                campaign_cases.append(case.id)
    if campaign_cases:
        await _campaign(session, today, campaign_cases)
    stats["campaign_cases"] = len(campaign_cases)
    stats["late_entries"] = await _late_entries(rng, session, ctx, people)
    stats["linked_appointments"] = await _link_appointments(rng, session)
    return stats


def _registration(
    rng: random.Random,
    person: dict[str, Any],
    registered: date,
    repeat_of: int | None,
    collective: bool,
) -> cs.CaseCreate:
    return cs.CaseCreate(
        petitioners=[
            cs.PetitionerIn(
                name=person["name"],
                id_number=person["id_number"],
                phone=person["phone"],
                address=person["address"],
            )
        ],
        channel=_pick(rng, CHANNEL_SHARES),  # type: ignore[arg-type]
        category=person["category"],
        summary=person["summary"] + ("(再次反映)" if repeat_of else ""),
        unit_id=person["unit_id"],
        received_on=registered,
        on=registered,
        people_count=rng.randint(6, 40) if collective else 1,
        repeat_of=repeat_of,
    )


def _new_person(
    rng: random.Random, townships: list[Unit], departments: dict[str, Unit], n: int
) -> dict[str, Any]:
    """A new petitioner with a matter of a category in the report's proportions."""
    category = _pick(rng, CATEGORY_SHARES)
    unit = (
        departments["区住建委"]
        if category == "housing" and rng.random() < 0.3
        else departments["区人社局"]
        if category == "wages" and rng.random() < 0.3
        else rng.choice(townships)
    )
    return {
        "name": rng.choice(PETITIONER_SURNAMES)
        + rng.choice(PETITIONER_GIVEN)
        + rng.choice(PETITIONER_GIVEN),
        "id_number": fake_id_number(rng),
        "phone": f"138{rng.randint(0, 99_999_999):08d}",
        # Where they live (sealed at rest like the ID and phone); drawn without the random
        # stream, so the demo's proportions stay as they were.
        "address": f"蓟州区{townships[n % len(townships)].name}某村{n % 40 + 1}号",
        "category": category,
        "unit_id": unit.id,
        "summary": rng.choice(CATEGORY_MATTERS[category]),
        "cases": [],
    }


async def _own(
    session: AsyncSession,
    ctx: Context,
    owner: Leader,
    case_id: int,
    person: dict[str, Any],
    registered: date,
) -> int:
    """A district leader takes the hard case (包案), unless it has one: 1 if assigned."""
    if owner.id is None:
        raise Broken("expected: a stored leader")
    if await current_owner(session, case_id) is not None:
        return 0
    await assign_owner(
        session=session,
        ctx=ctx,
        actor=None,
        case_id=case_id,
        data=cs.OwnershipAssign(
            leader_id=owner.id,
            plan="包案领导牵头,责任单位制定化解方案,定期回访",
            target_date=registered + timedelta(days=90),
            stability_contact=f"{person['name'][0]}某(村网格员)",
            on=min(registered + timedelta(days=2), ctx.today()),
        ),
    )
    return 1


async def _campaign(session: AsyncSession, today: date, case_ids: list[int]) -> None:
    await campaigns.create_campaign(
        session=session,
        actor=None,
        data=camp.CampaignCreate(
            name="重复信访治理和积案化解专项行动",
            description="国家信访局集中交办的重复信访案件:分阶段化解32%、80%、100%(各阶段截止日见目标)",
            case_ids=case_ids,
            targets=[
                camp.TargetIn(due_on=today - timedelta(days=60), percent=32),
                camp.TargetIn(due_on=today + timedelta(days=120), percent=80),
                camp.TargetIn(due_on=today + timedelta(days=300), percent=100),
            ],
        ),
    )


async def _link_appointments(rng: random.Random, session: AsyncSession) -> int:
    """Most petitioners received on a reception day get their case registered; the rest are
    the 应登不登 the review lists."""
    rows = (
        await session.execute(
            select(Appointment, col(ReceptionSession.local_date))
            .join(ReceptionSession, col(ReceptionSession.id) == col(Appointment.session_id))
            .where(Appointment.status == "completed", col(Appointment.case_id).is_(None))
        )
    ).all()
    linked = 0
    for appointment, day in rows:
        if rng.random() > 0.8:
            continue
        case_id = await session.scalar(
            select(PetitionCase.id)
            .where(col(PetitionCase.registered_on).between(day, day + timedelta(days=3)))
            .order_by(col(PetitionCase.id))
            .offset(rng.randint(0, 3))
            .limit(1)
        )
        if case_id is not None:
            appointment.case_id = case_id
            linked += 1
    await session.flush()
    return linked


async def _late_entries(
    rng: random.Random, session: AsyncSession, ctx: Context, people: list[dict[str, Any]]
) -> int:
    """补录: two letters found weeks after they arrived, entered this week. Their 15 days ran
    out before anyone entered them: one is accepted (late), one still waits (overdue)."""
    today = ctx.today()
    entered = 0
    for received_ago, accept in ((40, True), (25, False)):
        person = rng.choice(people)
        data = cs.CaseCreate(
            petitioners=[
                cs.PetitionerIn(
                    name=person["name"],
                    id_number=person["id_number"],
                    phone=person["phone"],
                    address=person["address"],
                )
            ],
            channel="letter",
            category=person["category"],
            summary=person["summary"] + "(来信,补录)",
            unit_id=person["unit_id"],
            received_on=today - timedelta(days=received_ago),
            on=today - timedelta(days=2),
            repeat_of=person["cases"][-1],
            source_batch="补录",
        )
        case = (await registration.register(session=session, ctx=ctx, actor=None, data=data)).case
        if case.id is None:
            raise Broken("expected: case.id is not None")
        if accept:
            await service.transition(
                session=session,
                ctx=ctx,
                actor=None,
                case_id=case.id,
                data=cs.Transition(action="accept", on=today - timedelta(days=1)),
            )
        entered += 1
    return entered


async def load_incidents(session: AsyncSession, ctx: Context) -> int:
    """A few recorded incidents, so that most but not all townships are 三无 this year."""
    today = ctx.today()
    if await session.scalar(select(func.count()).select_from(Incident)):
        return 0
    townships = {
        u.name: u for u in await session.scalars(select(Unit).where(Unit.kind == "township"))
    }
    samples = [
        ("渔阳镇", "online_opinion", 40, None, "小区业主在短视频平台集中发帖反映逾期交房"),
        ("邦均镇", "city_collective", 120, 60, "改燃改电工程欠薪,农民工到市集体上访"),
        ("别山镇", "beijing_irregular", 200, None, "信访老户进京非访,已劝返"),
        ("下营镇", "online_opinion", 400, None, "去年:景区拆迁补偿网上炒作"),
    ]
    for name, kind, days_ago, people, description in samples:
        session.add(
            Incident(
                kind=kind,
                unit_id=townships[name].id or 0,
                occurred_on=today - timedelta(days=days_ago),
                people_count=people,
                description=description,
                recorded_by_name="区信访办",
            )
        )
    await session.flush()
    return len(samples)


async def measured(session: AsyncSession, ctx: Context) -> dict[str, Any]:
    """The demo year's figures as the monthly review counts them (its own aggregates), for
    `reception demo` to print beside the 2020 report's."""
    from reception.reports import figures

    today = ctx.today()
    scope = await figures.scope_of(session, None)
    _, total = await figures.unit_figures(session, scope, today - timedelta(days=365), today, today)
    return total.as_dict()


async def portal_example(session: AsyncSession, ctx: Context) -> tuple[str, str, str] | None:
    """A demo case to try the petitioner's page with: the latest delivered reply still in its
    rating window — (reference, query code as printed, the last 4 of the phone)."""
    from reception.cases import query_code
    from reception.cases.models import CasePetitioner

    rows = await session.scalars(
        select(PetitionCase)
        .where(
            col(PetitionCase.delivered_on).is_not(None),
            col(PetitionCase.delivered_on) >= ctx.today() - timedelta(days=25),
            col(PetitionCase.query_code_sealed) != "",
        )
        .order_by(col(PetitionCase.delivered_on).desc(), col(PetitionCase.id))
        .limit(20)
    )
    for case in rows:
        code = query_code.read(ctx, case)
        person = await session.scalar(
            select(CasePetitioner).where(
                col(CasePetitioner.case_id) == case.id, col(CasePetitioner.phone_index) != ""
            )
        )
        if code and person is not None:
            return (
                case.reference,
                query_code.shown(code),
                petitioner(ctx.keys, person).phone[-4:],
            )
    return None
