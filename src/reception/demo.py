"""Demo data for trying the service: 蓟州区's org chart with clearly fictional people.

Idempotent: running it again finds what is there and adds only what is missing. Every
person's name uses 某 (the usual mark of an anonymised name), so nobody real is implied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.config import local_tz
from reception.errors import Conflict
from reception.org import schemas
from reception.org import service as org
from reception.org.models import Leader, Unit, User, Venue

DISTRICT = "蓟州区"
TOWNSHIPS = [
    "文昌街道",
    "渔阳镇",
    "洇溜镇",
    "官庄镇",
    "马伸桥镇",
    "下营镇",
    "邦均镇",
    "别山镇",
    "尤古庄镇",
    "上仓镇",
    "下仓镇",
    "罗庄子镇",
    "白涧镇",
    "侯家营镇",
    "桑梓镇",
    "东施古镇",
    "下窝头镇",
    "杨津庄镇",
    "出头岭镇",
    "西龙虎峪镇",
    "穿芳峪镇",
    "东二营镇",
    "许家台镇",
    "礼明庄镇",
    "东赵各庄镇",
    "州河湾镇",
    "孙各庄满族乡",
]
VILLAGES = {
    "下仓镇": ["小杨家庄村", "下仓村", "大吴庄村"],
    "渔阳镇": ["南关社区", "北关社区"],
    "邦均镇": ["邦均村", "东店子村"],
    "文昌街道": ["府君山社区", "文昌社区"],
}
DEPARTMENTS = [
    "区信访办",
    "区住建委",
    "区人社局",
    "区公安局",
    "区规划和自然资源局",
    "区退役军人事务局",
    "区金融局",
    "区司法局",
]
DISTRICT_LEADERS = [
    ("王某甲", "区委书记"),
    ("李某乙", "区长"),
    ("张某丙", "区委副书记"),
    ("刘某丁", "常务副区长"),
    ("陈某戊", "区委常委、政法委书记"),
    ("杨某己", "副区长(分管住建)"),
    ("赵某庚", "副区长(分管人社)"),
    ("黄某辛", "区信访办主任"),
]
TOWNSHIP_SURNAMES = "周吴郑孙钱冯褚卫蒋沈韩朱秦尤许何吕施孔曹严华金魏陶姜戚"
SECRETARIES = [
    ("孙某秘", [0, 1]),
    ("钱某秘", [2, 3, 4]),
    ("吴某秘", [5, 6]),
]


@dataclass
class DemoLogin:
    role: str
    name: str
    user_id: int
    token: str
    note: str


async def _unit(session: AsyncSession, name: str, kind: str, parent: Unit | None) -> Unit:
    found = await session.scalar(select(Unit).where(Unit.name == name, Unit.kind == kind))
    if found is not None:
        return found
    return await org.create_unit(
        session=session,
        actor=None,
        data=schemas.UnitCreate(name=name, kind=kind, parent_id=parent.id if parent else None),  # type: ignore[arg-type]
    )


async def _leader(session: AsyncSession, name: str, title: str, unit: Unit) -> Leader:
    found = await session.scalar(select(Leader).where(Leader.name == name))
    if found is not None:
        return found
    assert unit.id is not None
    return await org.create_leader(
        session=session,
        actor=None,
        data=schemas.LeaderCreate(name=name, title=title, unit_id=unit.id),
    )


async def _venue(
    session: AsyncSession, name: str, unit: Unit, address: str, capacity: int
) -> Venue:
    found = await session.scalar(select(Venue).where(Venue.name == name))
    if found is not None:
        return found
    assert unit.id is not None
    return await org.create_venue(
        session=session,
        actor=None,
        data=schemas.VenueCreate(name=name, unit_id=unit.id, address=address, capacity=capacity),
    )


async def _user(session: AsyncSession, data: schemas.UserCreate) -> User:
    found = await session.scalar(select(User).where(User.name == data.name, User.role == data.role))
    if found is not None:
        return found
    return await org.create_user(session=session, actor=None, data=data)


async def load_org(session: AsyncSession) -> list[DemoLogin]:
    """Create (or find) the demo org and return a fresh token for each demo login."""
    district = await _unit(session, DISTRICT, "district", None)
    townships = [await _unit(session, name, "township", district) for name in TOWNSHIPS]
    by_name = {t.name: t for t in townships}
    for township_name, villages in VILLAGES.items():
        for village in villages:
            await _unit(session, village, "village", by_name[township_name])
    for department in DEPARTMENTS:
        await _unit(session, department, "department", district)

    await _venue(session, "区矛调中心接待室", district, "蓟州区人民西大街矛调中心一楼", 12)
    for township in townships:
        await _venue(session, f"{township.name}矛调中心", township, f"{township.name}政府院内", 6)

    district_leaders = [
        await _leader(session, name, title, district) for name, title in DISTRICT_LEADERS
    ]
    for i, township in enumerate(townships):
        title = "街道党工委书记" if township.name.endswith("街道") else "党委书记"
        await _leader(session, f"{TOWNSHIP_SURNAMES[i]}某镇", f"{township.name}{title}", township)

    logins: list[tuple[User, str]] = []
    admin = await _user(session, schemas.UserCreate(name="系统管理员", role="admin"))
    logins.append((admin, "全部权限"))
    for name, indexes in SECRETARIES:
        ids = [district_leaders[i].id for i in indexes]
        user = await _user(
            session,
            schemas.UserCreate(name=name, role="secretary", leader_ids=ids),  # type: ignore[arg-type]
        )
        logins.append((user, "秘书:" + "、".join(district_leaders[i].name for i in indexes)))
    clerk = await _user(
        session,
        schemas.UserCreate(name="冯某登", role="clerk", unit_id=district.id),
    )
    logins.append((clerk, "区信访办登记员(全区)"))
    xiacang = by_name["下仓镇"]
    township_clerk = await _user(
        session,
        schemas.UserCreate(name="褚某记", role="clerk", unit_id=xiacang.id),
    )
    logins.append((township_clerk, "下仓镇信访干部"))
    leader_user = await _user(
        session,
        schemas.UserCreate(
            name=district_leaders[1].name, role="leader", leader_id=district_leaders[1].id
        ),
    )
    logins.append((leader_user, f"领导:{district_leaders[1].title}"))
    reviewer = await _user(session, schemas.UserCreate(name="卫某督", role="reviewer"))
    logins.append((reviewer, "区委督查室(只读、月度点评导出)"))

    result = []
    for user, note in logins:
        assert user.id is not None
        _, token = await org.issue_token(session=session, actor=None, user_id=user.id, label="demo")
        result.append(DemoLogin(user.role, user.name, user.id, token, note))
    return result


# ---------------------------------------------------------------- reception days

PETITIONER_SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
PETITIONER_GIVEN = "华明军红丽强伟芳敏静磊洋艳勇杰娟涛超霞平"
MATTERS = [
    ("小区逾期交房,要求开发商履约", 1),
    ("改燃改电工程欠薪,讨要工资", 6),
    ("征地补偿标准有异议", 2),
    ("宅基地确权纠纷", 1),
    ("退役军人安置待遇", 1),
    ("非法集资受损,要求追赃挽损", 8),
    ("物业服务与收费纠纷", 2),
    ("低保资格认定", 1),
]
VISIT_PURPOSES = [
    "带案下访:龙府壹号逾期交房集体访",
    "带案下访:改燃改电工程欠薪",
    "走访积案信访人,面对面化解",
    "督导乡镇矛调中心接待工作",
]


def _fake_id_number(rng: random.Random) -> str:
    """A made-up resident ID number with a valid check digit (蓟州 region code 120225)."""
    from reception.privacy import id_check_digit

    body = f"120225{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + id_check_digit(body)


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def load_schedule(session: AsyncSession, today: date) -> dict[str, int]:
    """20th-day rules for every district leader, 12 months of sessions (6 back, 6 ahead),
    appointments on them and a few field visits. Idempotent."""
    from reception.scheduling import schemas as sched
    from reception.scheduling import service as scheduling
    from reception.scheduling.models import ReceptionRule, ReceptionSession
    from reception.workcal.service import calendar_around

    rng = random.Random(2020)
    tz = local_tz()
    venue = await session.scalar(select(Venue).where(Venue.name == "区矛调中心接待室"))
    district = await session.scalar(
        select(Unit).where(Unit.kind == "district", Unit.name == DISTRICT)
    )
    assert venue is not None and venue.id is not None and district is not None
    leaders = list(
        await session.scalars(
            select(Leader).where(Leader.unit_id == district.id).order_by(col(Leader.id))
        )
    )
    townships = list(
        await session.scalars(select(Unit).where(Unit.kind == "township").order_by(col(Unit.id)))
    )
    start, until = _month_start(today, -6), _month_start(today, 6) - timedelta(days=1)
    calendar = await calendar_around(session=session, start=today - timedelta(days=60), end=today)
    counts = {"rules": 0, "sessions": 0, "appointments": 0, "field_visits": 0}
    for leader in leaders:
        assert leader.id is not None
        rule = await session.scalar(
            select(ReceptionRule).where(ReceptionRule.leader_id == leader.id)
        )
        if rule is None:
            rule = await scheduling.create_rule(
                session=session,
                actor=None,
                data=sched.RuleCreate(
                    leader_id=leader.id,
                    venue_id=venue.id,
                    start_time="09:00",
                    end_time="12:00",
                    valid_from=start,
                    slot_minutes=30,
                    people_per_slot=3,
                ),
            )
            counts["rules"] += 1
        assert rule.id is not None
        generated = await scheduling.generate(
            session=session, actor=None, rule_id=rule.id, until=until, today=today
        )
        counts["sessions"] += len(generated.created)
        for subject in generated.created:
            assert subject.id is not None
            past = subject.local_date < today
            for _ in range(rng.randint(2, 5) if past else rng.randint(0, 3)):
                matter, size = rng.choice(MATTERS)
                name = (
                    rng.choice(PETITIONER_SURNAMES)
                    + rng.choice(PETITIONER_GIVEN)
                    + rng.choice(PETITIONER_GIVEN)
                )
                reps = [name] + (
                    [rng.choice(PETITIONER_SURNAMES) + "某" + rng.choice(PETITIONER_GIVEN)]
                    if size >= 5
                    else []
                )
                try:
                    appointment, _ = await scheduling.book(
                        session=session,
                        actor=None,
                        session_id=subject.id,
                        data=sched.AppointmentCreate(
                            petitioner_name=name,
                            matter_summary=matter,
                            petitioner_phone=f"139{rng.randint(0, 99_999_999):08d}",
                            petitioner_id_number=_fake_id_number(rng),
                            party_size=size,
                            representatives=reps if size >= 5 else [],
                        ),
                        now=subject.starts_at - timedelta(days=3),
                    )
                except Conflict:
                    break
                counts["appointments"] += 1
                if past:
                    assert appointment.id is not None
                    await scheduling.transition_appointment(
                        session=session,
                        actor=None,
                        appointment_id=appointment.id,
                        to="checked_in",
                    )
                    await scheduling.transition_appointment(
                        session=session,
                        actor=None,
                        appointment_id=appointment.id,
                        to="completed" if rng.random() < 0.9 else "cancelled",
                        reason="来访人未到场后撤回",
                    )
            if past:
                await scheduling.hold_session(
                    session=session,
                    actor=None,
                    session_id=subject.id,
                    outcome="按时接访,现场答复并交办责任单位",
                )
        has_visits = await session.scalar(
            select(func.count())
            .select_from(ReceptionSession)
            .where(ReceptionSession.leader_id == leader.id, ReceptionSession.kind == "field_visit")
        )
        if has_visits:
            continue
        for offset in (-45, -10, 12, 40):
            # On working days of the calendar (with its 调休), like real visits.
            day = calendar.next_workday(today + timedelta(days=offset + leader.id % 5)).value
            township = rng.choice(townships)
            begins = datetime.combine(day, time(14, 30), tzinfo=tz)
            try:
                visit = await scheduling.create_session(
                    session=session,
                    actor=None,
                    data=sched.SessionCreate(
                        leader_id=leader.id,
                        kind="field_visit",
                        starts_at=begins,
                        ends_at=begins + timedelta(hours=2, minutes=30),
                        unit_id=township.id,
                        address=f"{township.name}矛调中心",
                        purpose=rng.choice(VISIT_PURPOSES),
                    ),
                )
            except Conflict:
                continue
            counts["field_visits"] += 1
            if offset < 0:
                assert visit.id is not None
                await scheduling.hold_session(
                    session=session,
                    actor=None,
                    session_id=visit.id,
                    outcome="与信访人当面沟通,明确化解方案和时限",
                )
    return counts


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


async def load_cases(session: AsyncSession, today: date, *, count: int = 300) -> dict[str, int]:
    """About a year of cases with owners, replies, evaluations, a backlog campaign and some
    overdue ones. Idempotent: nothing is added when cases exist already."""
    from reception.cases import schemas as cs
    from reception.cases import service as cases
    from reception.cases.models import PetitionCase
    from reception.errors import DomainError

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
                "id_number": _fake_id_number(rng),
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
        case, _ = await cases.register(session=session, actor=None, data=data)
        assert case.id is not None
        person["cases"].append(case.id)
        stats["cases"] += 1
        stats["repeat"] += repeat_of is not None
        try:
            await _advance_case(rng, session, case.id, registered, today, cs, cases)
        except DomainError:
            pass
        # 包案: collective visits and matters raised four times or more get a leader.
        hard = collective or len(person["cases"]) >= 4
        if hard and rng.random() < 0.6:
            owner = rng.choice(leaders)
            assert owner.id is not None
            current = await cases.current_owner(session, case.id)
            if current is None:
                await cases.assign_owner(
                    session=session,
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
        await cases.create_campaign(
            session=session,
            actor=None,
            data=cs.CampaignCreate(
                name="重复信访治理和积案化解专项行动",
                description="国家信访局集中交办的重复信访案件:年底前化解32%,七一前80%,年底前100%",
                case_ids=campaign_cases,
                targets=[
                    cs.TargetIn(due_on=today - timedelta(days=60), percent=32),
                    cs.TargetIn(due_on=today + timedelta(days=120), percent=80),
                    cs.TargetIn(due_on=today + timedelta(days=300), percent=100),
                ],
            ),
        )
    stats["campaign_cases"] = len(campaign_cases)
    stats["linked_appointments"] = await _link_appointments(rng, session)
    return stats


async def _link_appointments(rng: random.Random, session: AsyncSession) -> int:
    """Most petitioners received on a reception day get their case registered; the rest are
    the 应登不登 the review lists."""
    from reception.cases.models import PetitionCase
    from reception.scheduling.models import Appointment, ReceptionSession

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
    case_id: int,
    registered: date,
    today: date,
    cs: Any,
    cases: Any,
) -> None:
    """Walk a case through the stages its age allows, mostly on time, sometimes late."""

    async def act(action: str, on: date, **extra: Any) -> bool:
        if on > today:
            return False
        await cases.transition(
            session=session,
            actor=None,
            case_id=case_id,
            data=cs.Transition(action=action, on=on, **extra),
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
        await cases.set_evaluation(
            session=session,
            actor=None,
            case_id=case_id,
            data=cs.EvaluationPut(satisfaction=satisfaction, on=evaluate_on),
        )
    resolve_on = replied + timedelta(days=rng.randint(0, 20))
    if resolve_on <= today and rng.random() < 0.85:
        await cases.set_resolution(
            session=session,
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


async def load_incidents(session: AsyncSession, today: date) -> int:
    """A few recorded incidents, so that most but not all townships are 三无 this year."""
    from reception.reports.models import Incident

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
