"""Demo org chart: 蓟州区's 27 townships, departments, venues, leaders and logins, with clearly
fictional people (every name uses 某, the usual mark of an anonymised name). Idempotent."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import hash_token
from reception.errors import Broken
from reception.org import schemas
from reception.org import service as org
from reception.org.models import ApiToken, Leader, MediationPresence, Unit, User, Venue
from reception.org.order import pinyin_key
from reception.org.signin import hash_password

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
# The rest of the district's departments that sit in the mediation centre (the seed: 8 常驻,
# 7 轮驻, 20 随驻 — 35 departments, the eight above among them).
MORE_DEPARTMENTS = [
    "区发展改革委", "区教育局", "区民政局", "区财政局", "区生态环境局", "区交通运输局",
    "区水务局", "区农业农村委", "区商务局", "区文化和旅游局", "区卫生健康委", "区应急管理局",
    "区市场监管局", "区城市管理委", "区医疗保障局", "区税务局", "区总工会", "团区委", "区妇联",
    "区残联", "区法院", "区检察院", "区工商联", "区科技局", "区国资委", "区审计局", "区统计局",
]  # fmt: skip
CENTRE = {
    "resident": ["区信访办", "区人社局", "区司法局", "区公安局", "区住建委", "区法院",
                 "区规划和自然资源局", "区退役军人事务局"],
    "rotating": ["区金融局", "区民政局", "区教育局", "区卫生健康委", "区市场监管局",
                 "区农业农村委", "区总工会"],
}  # fmt: skip
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


# Every demo login signs in to the console with this password (a training system; the
# accounts are not asked to change it). Real accounts get theirs from an admin, once.
DEMO_PASSWORD = "jiefang2026"
USERNAMES = {
    "系统管理员": "admin",
    "孙某秘": "sunmishu",
    "钱某秘": "qianmishu",
    "吴某秘": "wumishu",
    "冯某登": "fengdeng",
    "褚某记": "chuji",
    "李某乙": "liyi",
    "卫某督": "weidu",
    "安某全": "anquan",
    "审某计": "shenji",
    "杨某网": "wangge",
}


@dataclass
class DemoLogin:
    role: str
    name: str
    user_id: int
    token: str
    note: str
    username: str = ""


async def _unit(
    session: AsyncSession, name: str, kind: str, parent: Unit | None, place: int | None = None
) -> Unit:
    found = await session.scalar(select(Unit).where(Unit.name == name, Unit.kind == kind))
    if found is not None:
        return found
    return await org.create_unit(
        session=session,
        actor=None,
        data=schemas.UnitCreate(
            name=name,
            kind=kind,  # type: ignore[arg-type]
            parent_id=parent.id if parent else None,
            sort_order=place,
        ),
    )


async def _leader(session: AsyncSession, name: str, title: str, unit: Unit) -> Leader:
    found = await session.scalar(select(Leader).where(Leader.name == name))
    if found is not None:
        return found
    if unit.id is None:
        raise Broken("expected: unit.id is not None")
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
    if unit.id is None:
        raise Broken("expected: unit.id is not None")
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


# The seed's 2020 count: 949 行政村 and 33 居委会 (社区), each with its 调处化解室.
VILLAGE_TOTAL, COMMUNITY_TOTAL = 949, 33
# Where the communities are: the town's 街道 and the seat town, as in the district.
COMMUNITIES_IN = {"文昌街道": 20, "渔阳镇": 13}
VILLAGE_FIRST = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林郑梁宋韩唐冯于董曹田邢侯尹"
VILLAGE_LAST = ("庄", "家庄", "各庄", "营", "屯", "店", "峪", "台", "寨", "辛庄", "官庄", "家铺")
PLACES = ("东", "西", "南", "北", "前", "后", "大", "小", "上", "下")


def village_names(
    township: str, index: int, villages: int, communities: int, avoid: frozenset[str] = frozenset()
) -> list[str]:
    """A township's demo villages and communities: made-up names, the same every run (none of
    `avoid`, the named ones)."""
    rng = random.Random(f"{township}-{index}")
    names: list[str] = []
    while len(names) < villages:
        name = rng.choice(PLACES) * (rng.random() < 0.3) + rng.choice(VILLAGE_FIRST)
        name += rng.choice(VILLAGE_LAST) + "村"
        if name not in names and name not in avoid:
            names.append(name)
    stem = township.removesuffix("街道").removesuffix("镇")
    places = [f"{stem}{p}{w}社区" for w in ("关", "苑", "园", "里") for p in PLACES]
    return names + rng.sample(places, communities)


async def _more_villages(session: AsyncSession, townships: list[Unit]) -> None:
    """The rest of the seed's villages and communities, added in bulk (seed data, not audited
    one by one): the 村 spread over the towns, the 社区 where the district has them."""
    rural = [t for t in townships if not t.name.endswith("街道")]
    present = {
        (p, n)
        for p, n in await session.execute(
            select(Unit.parent_id, Unit.name).where(Unit.kind == "village")
        )
    }
    # The named ones above count towards the seed's totals.
    named = [n for names in VILLAGES.values() for n in names]
    named_communities = {t: sum(n.endswith("社区") for n in names) for t, names in VILLAGES.items()}
    villages = VILLAGE_TOTAL - sum(not n.endswith("社区") for n in named)
    share, extra = divmod(villages, len(rural))
    for i, township in enumerate(townships):
        count = share + (rural.index(township) < extra) if township in rural else 0
        communities = COMMUNITIES_IN.get(township.name, 0) - named_communities.get(township.name, 0)
        names = village_names(
            township.name, i, count, max(communities, 0), frozenset(VILLAGES.get(township.name, []))
        )
        made = [
            Unit(name=n, kind="village", parent_id=township.id, sort_key=pinyin_key(n))
            for n in names
            if (township.id, n) not in present
        ]
        if not made:
            continue
        session.add_all(made)
        await session.flush()
        for unit in made:
            unit.path = f"{township.path}{unit.id}/"
    await session.flush()


async def _centre(session: AsyncSession, departments: list[Unit]) -> None:
    """The mediation centre since it opened (2020-05-18): 8 常驻, 7 轮驻, the other 20 随驻."""
    seated = set(
        await session.scalars(
            select(MediationPresence.unit_id).where(col(MediationPresence.ended_on).is_(None))
        )
    )
    where = {name: kind for kind, names in CENTRE.items() for name in names}
    session.add_all(
        MediationPresence(
            unit_id=d.id or 0,
            presence=where.get(d.name, "on_call"),
            started_on=CENTRE_OPENED,
            set_by_name="系统(演示数据)",
        )
        for d in departments
        if d.id not in seated
    )
    await session.flush()


CENTRE_OPENED = date(2020, 5, 18)


async def _people(
    session: AsyncSession, district: Unit, district_leaders: list[Leader], xiacang: Unit
) -> list[tuple[User, str]]:
    """The demo's logins, each with what it is for."""
    logins: list[tuple[User, str]] = []
    admin = await _user(session, schemas.UserCreate(name="系统管理员", role="admin"))
    logins.append((admin, "系统管理员(组织机构、日历、规则、文书模板)"))
    # 三员分立: the security and the audit administrator, two other people.
    security = await _user(session, schemas.UserCreate(name="安某全", role="secadmin"))
    logins.append((security, "安全管理员(账号与角色、口令、动态口令、令牌)"))
    auditor = await _user(session, schemas.UserCreate(name="审某计", role="auditor"))
    logins.append((auditor, "审计管理员(审计记录的查看、导出与核验)"))
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
    township_clerk = await _user(
        session,
        schemas.UserCreate(name="褚某记", role="clerk", unit_id=xiacang.id),
    )
    logins.append((township_clerk, "下仓镇信访干部"))
    village = await session.scalar(
        select(Unit).where(col(Unit.name) == "小杨家庄村", col(Unit.parent_id) == xiacang.id)
    )
    if village is None:
        raise Broken("expected: the demo's 小杨家庄村")
    grid = await _user(session, schemas.UserCreate(name="杨某网", role="grid", unit_id=village.id))
    logins.append((grid, "网格员:下仓镇小杨家庄村(代办)"))
    leader_user = await _user(
        session,
        schemas.UserCreate(
            name=district_leaders[1].name, role="leader", leader_id=district_leaders[1].id
        ),
    )
    logins.append((leader_user, f"领导:{district_leaders[1].title}"))
    reviewer = await _user(session, schemas.UserCreate(name="卫某督", role="reviewer"))
    logins.append((reviewer, "区委督查室(只读、月度点评导出)"))

    return logins


async def load_org(session: AsyncSession, data_dir: Path | None = None) -> list[DemoLogin]:
    """Create (or find) the demo org and return a token for each demo login.

    The tokens are kept in `<data dir>/demo-tokens.json` (mode 0600) and handed out again on
    the next run while they are valid; a login whose kept token is gone gets a new one, and
    its earlier demo tokens are revoked, so runs do not pile up live tokens."""
    district = await _unit(session, DISTRICT, "district", None)
    # The townships in the district's own order (街道 first, as its documents list them).
    townships = [
        await _unit(session, name, "township", district, place=i)
        for i, name in enumerate(TOWNSHIPS, start=1)
    ]
    by_name = {t.name: t for t in townships}
    for township_name, villages in VILLAGES.items():
        for village in villages:
            await _unit(session, village, "village", by_name[township_name])
    await _more_villages(session, townships)
    departments = [
        await _unit(session, name, "department", district)
        for name in DEPARTMENTS + MORE_DEPARTMENTS
    ]
    await _centre(session, departments)

    await _venue(session, "区矛调中心接待室", district, "蓟州区人民西大街矛调中心一楼", 12)
    for township in townships:
        await _venue(session, f"{township.name}矛调中心", township, f"{township.name}政府院内", 6)

    district_leaders = [
        await _leader(session, name, title, district) for name, title in DISTRICT_LEADERS
    ]
    for i, township in enumerate(townships):
        title = "街道党工委书记" if township.name.endswith("街道") else "党委书记"
        await _leader(session, f"{TOWNSHIP_SURNAMES[i]}某镇", f"{township.name}{title}", township)

    logins = await _people(session, district, district_leaders, by_name["下仓镇"])
    kept = _read_kept(data_dir)
    result = []
    for user, note in logins:
        if user.id is None:
            raise Broken("expected: user.id is not None")
        token = kept.get(str(user.id))
        if token is None or not await _live(session, user.id, token):
            await _revoke_demo_tokens(session, user.id)
            _, token = await org.issue_token(
                session=session, actor=None, user_id=user.id, label=DEMO_LABEL
            )
        if user.username is None and USERNAMES.get(user.name):
            user.username = USERNAMES[user.name]
            user.password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)
            await session.flush()
        result.append(DemoLogin(user.role, user.name, user.id, token, note, user.username or ""))
    _write_kept(data_dir, {str(r.user_id): r.token for r in result})
    return result


DEMO_LABEL = "demo"
KEPT_FILE = "demo-tokens.json"


def _read_kept(data_dir: Path | None) -> dict[str, str]:
    if data_dir is None or not (data_dir / KEPT_FILE).is_file():
        return {}
    try:
        data = json.loads((data_dir / KEPT_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_kept(data_dir: Path | None, tokens: dict[str, str]) -> None:
    if data_dir is None:
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEPT_FILE
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(tokens, indent=1))


async def _live(session: AsyncSession, user_id: int, token: str) -> bool:
    found = await session.scalar(
        select(ApiToken.id).where(
            ApiToken.user_id == user_id,
            ApiToken.token_hash == hash_token(token),
            col(ApiToken.revoked_at).is_(None),
        )
    )
    return found is not None


async def _revoke_demo_tokens(session: AsyncSession, user_id: int) -> None:
    for row in await session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user_id,
            ApiToken.label == DEMO_LABEL,
            col(ApiToken.revoked_at).is_(None),
        )
    ):
        if row.id is None:
            raise Broken("expected: row.id is not None")
        await org.revoke_token(session=session, actor=None, token_id=row.id)
