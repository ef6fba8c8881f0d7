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
from reception.context import Context
from reception.demo.schedule import PETITIONER_GIVEN, PETITIONER_SURNAMES, fake_id_number
from reception.errors import DomainError
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
NEW_SHARE = 0.35


def _pick(rng: random.Random, shares: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in shares], weights=[w for _, w in shares])[0]


async def load_cases(session: AsyncSession, ctx: Context, *, count: int = 300) -> dict[str, int]:
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
    assert district is not None
    leaders = list(
        await session.scalars(
            select(Leader).where(Leader.unit_id == district.id).order_by(col(Leader.id))
        )
    )
    start = today - timedelta(days=365)
    days = sorted(start + timedelta(days=rng.randint(0, 364)) for _ in range(count))
    people: list[dict[str, Any]] = []
    stats = {"cases": 0, "repeat": 0, "owned": 0, "overdue_left": 0}
    campaign_cases: list[int] = []
    person: dict[str, Any]
    for registered in days:
        if not people or rng.random() < NEW_SHARE:
            category = _pick(rng, CATEGORY_SHARES)
            unit = (
                departments["区住建委"]
                if category == "housing" and rng.random() < 0.3
                else departments["区人社局"]
                if category == "wages" and rng.random() < 0.3
                else rng.choice(townships)
            )
            person = {
                "name": rng.choice(PETITIONER_SURNAMES)
                + rng.choice(PETITIONER_GIVEN)
                + rng.choice(PETITIONER_GIVEN),
                "id_number": fake_id_number(rng),
                "phone": f"138{rng.randint(0, 99_999_999):08d}",
                "category": category,
                "unit_id": unit.id,
                "summary": rng.choice(CATEGORY_MATTERS[category]),
                "cases": [],
            }
            people.append(person)
            repeat_of = None
        else:
            person = rng.choice(people)
            repeat_of = person["cases"][-1]
        collective = (
            person["category"] in ("wages", "housing", "mass_finance") and rng.random() < 0.06
        )
        data = cs.CaseCreate(
            petitioners=[
                cs.PetitionerIn(
                    name=person["name"], id_number=person["id_number"], phone=person["phone"]
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
        case, _ = await registration.register(session=session, ctx=ctx, actor=None, data=data)
        assert case.id is not None
        person["cases"].append(case.id)
        stats["cases"] += 1
        stats["repeat"] += repeat_of is not None
        try:
            await _advance_case(rng, session, ctx, case.id, registered)
        except DomainError:
            pass
        # 包案: collective visits and matters raised four times or more get a leader.
        hard = collective or len(person["cases"]) >= 4
        if hard and rng.random() < 0.6:
            owner = rng.choice(leaders)
            assert owner.id is not None
            current = await current_owner(session, case.id)
            if current is None:
                await assign_owner(
                    session=session,
                    ctx=ctx,
                    actor=None,
                    case_id=case.id,
                    data=cs.OwnershipAssign(
                        leader_id=owner.id,
                        plan="包案领导牵头,责任单位制定化解方案,定期回访",
                        target_date=registered + timedelta(days=90),
                        stability_contact=f"{person['name'][0]}某(村网格员)",
                        on=min(registered + timedelta(days=2), today),
                    ),
                )
                stats["owned"] += 1
            if len(person["cases"]) >= 3 and case.id not in campaign_cases:
                campaign_cases.append(case.id)
    if campaign_cases:
        await campaigns.create_campaign(
            session=session,
            actor=None,
            data=camp.CampaignCreate(
                name="重复信访治理和积案化解专项行动",
                description="国家信访局集中交办的重复信访案件:年底前化解32%,七一前80%,年底前100%",
                case_ids=campaign_cases,
                targets=[
                    camp.TargetIn(due_on=today - timedelta(days=60), percent=32),
                    camp.TargetIn(due_on=today + timedelta(days=120), percent=80),
                    camp.TargetIn(due_on=today + timedelta(days=300), percent=100),
                ],
            ),
        )
    stats["campaign_cases"] = len(campaign_cases)
    stats["linked_appointments"] = await _link_appointments(rng, session)
    return stats


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


async def _advance_case(
    rng: random.Random,
    session: AsyncSession,
    ctx: Context,
    case_id: int,
    registered: date,
) -> None:
    """Walk a case through the stages its age allows, mostly on time, sometimes late."""
    today = ctx.today()

    async def act(action: str, on: date, **extra: Any) -> bool:
        if on > today:
            return False
        await service.transition(
            session=session,
            ctx=ctx,
            actor=None,
            case_id=case_id,
            data=cs.Transition(action=action, on=on, **extra),  # type: ignore[arg-type]
        )
        return True

    # About 2% are accepted late; a few recent ones are left unaccepted past their 15 days.
    accept_delay = rng.randint(16, 25) if rng.random() < 0.02 else rng.randint(1, 10)
    if rng.random() < 0.015:
        return
    if not await act("accept", registered + timedelta(days=accept_delay)):
        return
    accepted = registered + timedelta(days=accept_delay)
    reply_delay = rng.randint(62, 80) if rng.random() < 0.03 else rng.randint(15, 55)
    if rng.random() < 0.02:
        return  # left in handling past its 60 days: overdue
    replied = accepted + timedelta(days=reply_delay)
    delivered = replied + timedelta(days=rng.randint(0, 3))
    delivery = (
        {}
        if rng.random() < 0.04
        else {
            "delivery_method": rng.choice(["当面送达", "邮寄送达", "网上答复"]),
            "delivered_on": delivered if delivered <= today else None,
        }
    )
    if delivery and delivery["delivered_on"] is None:
        delivery = {}
    if not await act(
        "reply", replied, doc_number=f"蓟信复〔{replied.year}〕{case_id:04d}号", **delivery
    ):
        return
    evaluate_on = replied + timedelta(days=rng.randint(1, 10))
    if evaluate_on <= today and rng.random() < 0.85:
        satisfaction = rng.choices(
            ["satisfied", "basically_satisfied", "dissatisfied"], weights=[70, 22, 8]
        )[0]
        await service.set_evaluation(
            session=session,
            ctx=ctx,
            actor=None,
            case_id=case_id,
            data=cs.EvaluationPut(satisfaction=satisfaction, on=evaluate_on),  # type: ignore[arg-type]
        )
    resolve_on = replied + timedelta(days=rng.randint(0, 20))
    if resolve_on <= today and rng.random() < 0.85:
        await service.set_resolution(
            session=session,
            ctx=ctx,
            actor=None,
            case_id=case_id,
            data=cs.ResolutionPut(
                resolution="resolved" if rng.random() < 0.8 else "ceased",
                on=resolve_on,
                method=rng.choice(["调解达成协议", "依法依规解决诉求", "帮扶救助", "政策解释息诉"]),
                evidence=f"化解协议 {case_id:05d}",
            ),
        )
    await act("close", replied + timedelta(days=rng.randint(25, 40)))


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
