"""Demo data for trying the service: 蓟州区's org chart with clearly fictional people.

Idempotent: running it again finds what is there and adds only what is missing. Every
person's name uses 某 (the usual mark of an anonymised name), so nobody real is implied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

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
    from reception.privacy import _ID_CHECK, _ID_WEIGHTS

    body = f"120225{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def load_schedule(session: AsyncSession, today: date) -> dict[str, int]:
    """20th-day rules for every district leader, 12 months of sessions (6 back, 6 ahead),
    appointments on them and a few field visits. Idempotent."""
    from reception.scheduling import schemas as sched
    from reception.scheduling import service as scheduling
    from reception.scheduling.models import ReceptionRule, ReceptionSession

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
            day = today + timedelta(days=offset + leader.id % 5)
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
