"""Builders: small, explicit ways to put a known world in the database for a test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.org import schemas
from reception.org import service as org
from reception.workcal import service as workcal


@dataclass
class World:
    """A district with two townships (one with a village), a department, leaders and users."""

    district: int = 0
    township_a: int = 0
    township_b: int = 0
    village_a: int = 0
    department: int = 0
    venue: int = 0
    township_venue: int = 0
    leaders: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


async def build_world(maker: async_sessionmaker[AsyncSession]) -> World:
    w = World()
    async with maker() as s:
        unit = org.create_unit
        w.district = (
            await unit(
                session=s, actor=None, data=schemas.UnitCreate(name="蓟州区", kind="district")
            )
        ).id  # type: ignore[assignment]
        w.township_a = (
            await unit(
                session=s,
                actor=None,
                data=schemas.UnitCreate(name="下仓镇", kind="township", parent_id=w.district),
            )
        ).id  # type: ignore[assignment]
        w.township_b = (
            await unit(
                session=s,
                actor=None,
                data=schemas.UnitCreate(name="邦均镇", kind="township", parent_id=w.district),
            )
        ).id  # type: ignore[assignment]
        w.village_a = (
            await unit(
                session=s,
                actor=None,
                data=schemas.UnitCreate(name="小杨家庄村", kind="village", parent_id=w.township_a),
            )
        ).id  # type: ignore[assignment]
        w.department = (
            await unit(
                session=s,
                actor=None,
                data=schemas.UnitCreate(name="区住建委", kind="department", parent_id=w.district),
            )
        ).id  # type: ignore[assignment]
        w.venue = (
            await org.create_venue(
                session=s,
                actor=None,
                data=schemas.VenueCreate(name="区矛调中心接待室", unit_id=w.district, capacity=12),
            )
        ).id  # type: ignore[assignment]
        w.township_venue = (
            await org.create_venue(
                session=s,
                actor=None,
                data=schemas.VenueCreate(name="下仓镇矛调中心", unit_id=w.township_a, capacity=6),
            )
        ).id  # type: ignore[assignment]
        for key, name, title, unit_id in [
            ("mayor", "李某乙", "区长", w.district),
            ("deputy", "张某丙", "副区长", w.district),
            ("other", "刘某丁", "副区长", w.district),
            ("township_a", "周某镇", "下仓镇党委书记", w.township_a),
            ("township_b", "吴某镇", "邦均镇党委书记", w.township_b),
        ]:
            leader = await org.create_leader(
                session=s,
                actor=None,
                data=schemas.LeaderCreate(name=name, title=title, unit_id=unit_id),
            )
            w.leaders[key] = leader.id  # type: ignore[assignment]
        for key, data in [
            ("admin", schemas.UserCreate(name="管理员", role="admin")),
            (
                "secretary",
                schemas.UserCreate(
                    name="孙某秘",
                    role="secretary",
                    leader_ids=[w.leaders["mayor"], w.leaders["deputy"]],
                ),
            ),
            ("clerk_district", schemas.UserCreate(name="冯某登", role="clerk", unit_id=w.district)),
            ("clerk_a", schemas.UserCreate(name="褚某记", role="clerk", unit_id=w.township_a)),
            (
                "leader",
                schemas.UserCreate(name="李某乙", role="leader", leader_id=w.leaders["mayor"]),
            ),
            ("reviewer", schemas.UserCreate(name="卫某督", role="reviewer")),
            ("secadmin", schemas.UserCreate(name="安某全", role="secadmin")),
            ("auditor", schemas.UserCreate(name="审某计", role="auditor")),
        ]:
            user = await org.create_user(session=s, actor=None, data=data)
            assert user.id is not None
            w.users[key] = user.id
            _, w.tokens[key] = await org.issue_token(session=s, actor=None, user_id=user.id)
        await put_provisional_2027(s)
        await s.commit()
    return w


# 2027 as the tests know it: an estimate without the State Council's schedule (provisional),
# put in by the tests so that none depends on what the installed `holidays` package guesses.
PROVISIONAL_2027_HOLIDAYS = [
    "2027-01-01",
    *(f"2027-02-{d:02d}" for d in range(6, 13)),
    "2027-04-05",
    *(f"2027-05-{d:02d}" for d in range(1, 6)),
    "2027-06-09",
    "2027-09-15",
    *(f"2027-10-{d:02d}" for d in range(1, 8)),
]


async def put_provisional_2027(s: AsyncSession) -> None:
    await workcal.put_year(
        session=s,
        actor=None,
        year=2027,
        holidays={date.fromisoformat(d): "假日(估计)" for d in PROVISIONAL_2027_HOLIDAYS},
        workdays={},
        official=False,
        source="tests",
    )


SHANGHAI = "+08:00"


# The tests' "today" (tests/conftest.py NOW).
TODAY = date(2026, 12, 1)


def future_workday(days_ahead: int = 21) -> date:
    """A weekday some weeks after the tests' today (to book into sessions still to come):
    Tuesday 2026-12-22 by default, with working days around it (New Year is 01-01)."""
    day = TODAY + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def at(day: date, hhmm: str) -> str:
    """Local Asia/Shanghai instant as ISO 8601 with offset."""
    return f"{day.isoformat()}T{hhmm}:00{SHANGHAI}"


VALID_ID = "11010519491231002X"  # a valid check digit (the GB 11643 example)
OTHER_ID = "120225198001011230"


def case_body(world: World, **extra: object) -> dict[str, object]:
    """A registration: 张小明 about an overdue flat, to 下仓镇, received and registered 09-16."""
    body: dict[str, object] = {
        "petitioners": [
            {
                "name": "张小明",
                "id_number": VALID_ID,
                "phone": "13812345678",
                "address": "下仓镇小杨家庄村",
            }
        ],
        "channel": "online",
        "category": "housing",
        "summary": "龙府壹号小区逾期交房,要求开发商履约交付",
        "unit_id": world.township_a,
        "received_on": "2026-09-16",
        "on": "2026-09-16",
    }
    body.update(extra)
    return body


# The password every test user signs in to the console with (they need not change it).
PASSWORD = "Ceshi2026"


async def give_passwords(
    maker: async_sessionmaker[AsyncSession], world: World, password: str = PASSWORD
) -> None:
    """A console login for each of the world's users: username = the world's key."""
    from reception.org.models import User
    from reception.org.signin import hash_password

    encoded = hash_password(password)
    async with maker() as s:
        for key, user_id in world.users.items():
            user = await s.get(User, user_id)
            assert user is not None
            user.username = key
            user.password_hash = encoded
            user.must_change_password = False
        await s.commit()


def served(on: str, method: str = "direct", **extra: str) -> dict[str, str]:
    """A proper 送达 (the body's `delivery`): the day, the method and what it needs."""
    needs = {
        "direct": {"recipient": "信访人本人", "place": "区信访局接待大厅"},
        "mail": {"recipient": "信访人本人", "mail_number": "1190000000001"},
        "electronic": {"recipient": "信访人本人", "consent": "2026年9月1日电子送达同意书"},
        "left": {"witnesses": "村委会主任王某、邻居李某"},
        "entrusted": {"recipient": "信访人本人", "entrusted_to": "下仓镇人民政府"},
    }
    return {"method": method, "on": on, **needs.get(method, {}), **extra}


def docx_with(docx: bytes, old: str, new: str) -> bytes:
    """A DOCX with the first `old` in its text replaced by `new` (a template edited)."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(old.encode(), new.encode(), 1)
            target.writestr(item, data)
    return out.getvalue()
