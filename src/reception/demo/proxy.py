"""The demo's 网格员代办: the grid worker of 下仓镇小杨家庄村 (login wangge) has filed a matter
every week or so for two months — most registered by the township and walked on like any
case (some replied and rated), one sent back to the village's mediators, two waiting for
the township. Idempotent: nothing is added when filings exist."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import Principal
from reception.context import Context, FixedClock
from reception.demo.schedule import PETITIONER_GIVEN, PETITIONER_SURNAMES, fake_id_number
from reception.demo.walk import advance_case
from reception.org.models import Unit, User
from reception.proxy import schemas, service
from reception.proxy.models import ProxyFiling

MATTERS = [
    ("housing", "小区逾期交房,要求开发商履约交付"),
    ("land", "宅基地界址纠纷,要求镇里确权"),
    ("wages", "在村东工地打工被拖欠工资八千元"),
    ("other", "村道路灯损坏半年无人维修"),
    ("other", "邻里通行纠纷,要求拆除违建围墙"),
    ("veterans", "退役军人优待金发放标准咨询"),
    ("housing", "危房改造补助未到位"),
    ("land", "土地承包经营权流转费用未按时支付"),
]


async def load_proxy(session: AsyncSession, ctx: Context) -> dict[str, int]:
    if await session.scalar(select(func.count()).select_from(ProxyFiling)):
        return {"proxy_filings": 0}
    worker = await session.scalar(select(User).where(col(User.username) == "wangge"))
    if worker is None or worker.unit_id is None:
        return {"proxy_filings": 0}
    village = await session.get(Unit, worker.unit_id)
    grid = Principal(
        user_id=worker.id or 0, name=worker.name, role="grid", unit_id=worker.unit_id,
        unit_path=village.path if village else None,
    )  # fmt: skip
    rng = random.Random(2020)
    today = ctx.today()
    made = 0
    for n, (category, summary) in enumerate(MATTERS):
        received = today - timedelta(days=63 - 8 * n)
        name = rng.choice(PETITIONER_SURNAMES) + rng.choice(PETITIONER_GIVEN)
        # Filed on the day he received it (the worker's phone, then).
        then = ctx.with_clock(FixedClock(datetime.combine(received, time(10), tzinfo=ctx.tz)))
        filing = await service.file(
            session=session, ctx=then, actor=grid,
            data=schemas.FilingIn(
                name=name, id_number=fake_id_number(rng),
                phone=f"137{rng.randint(0, 99_999_999):08d}", address="下仓镇小杨家庄村",
                category=category, summary=summary, consent=rng.choice(["signed", "fingerprint"]),
                received_on=received,
            ),
        )  # fmt: skip
        made += 1
        if n >= len(MATTERS) - 2:
            continue  # waiting for the township
        if n == 3:
            await service.send_back(
                session=session, ctx=ctx, actor=None, filing_id=filing.id or 0,
                data=schemas.ReturnIn(reason="属于邻里民间纠纷,请村调委会先行调解",
                                      on=received + timedelta(days=2)),
            )  # fmt: skip
            continue
        on = received + timedelta(days=rng.randint(1, 3))
        done = await service.register(
            session=session, ctx=ctx, actor=None, filing_id=filing.id or 0,
            data=schemas.RegisterIn(on=on),
        )  # fmt: skip
        if done.case is not None and done.case.id is not None:
            await advance_case(rng, session, ctx, done.case.id, on)
    return {"proxy_filings": made}
