"""A district's villages and communities from a list (#29's first step, on #28's reader): each
row checked before anything is made (township by name or short name, duplicates, unknown
townships), then made under their townships by the administrator; the same list again makes
nothing; a clerk may not."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.errors import Forbidden
from reception.imports import units
from reception.org.models import Unit
from reception.org.principals import load_principal
from tests.builders import World, build_world, give_passwords
from tests.console import Console

LIST = "\r\n".join(
    [
        "序号,村(社区)名称,所属乡镇(街道),类型",
        "1,东店子村,邦均镇,村",
        "2,西店子村,邦均,村",
        "3,南关社区,下仓镇,社区",
        "4,小杨家庄村,下仓镇,村",  # already there (the world's village)
        "5,东店子村,邦均镇,村",  # twice in the list
        "6,无名村,不存在镇,村",
        "7,,下仓镇,村",
    ]
).encode("gbk")


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


async def _villages(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as s:
        return int(
            await s.scalar(select(func.count()).select_from(Unit).where(Unit.kind == "village"))
            or 0
        )


async def test_a_village_list_is_checked_then_made(
    sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with sessionmaker() as s:
        rows = await units.read_villages(session=s, actor=None, data=LIST)
    verdicts = {v.line: (v.verdict, v.township, v.reason) for v in rows}
    assert verdicts[2][:2] == ("create", "邦均镇") and verdicts[3][:2] == ("create", "邦均镇")
    assert verdicts[5][0] == "same" and verdicts[6][0] == "same"
    assert verdicts[7][0] == "error" and "不存在镇" in verdicts[7][2]
    assert verdicts[8][0] == "error" and "名称为空" in verdicts[8][2]
    before = await _villages(sessionmaker)
    async with sessionmaker() as s:
        todo = [(v.name, v.township_id or 0) for v in rows if v.verdict == "create"]
        assert await units.add_villages(session=s, actor=None, villages=todo) == 3
        await s.commit()
    assert await _villages(sessionmaker) == before + 3
    async with sessionmaker() as s:
        again = await units.read_villages(session=s, actor=None, data=LIST)
        made = await s.scalar(select(Unit).where(Unit.name == "南关社区"))
        assert made is not None and made.parent_id == world.township_a
        assert made.path.startswith(f"/{world.district}/{world.township_a}/")
        clerk = await load_principal(s, world.tokens["clerk_a"])
        with pytest.raises(Forbidden):
            await units.read_villages(session=s, actor=clerk, data=LIST)
    assert not [v for v in again if v.verdict == "create"]


async def test_the_admin_imports_a_village_list_in_the_console(
    app: Litestar, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin = Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )
    await admin.sign_in("admin")
    await admin.get("/admin/units/import")
    preview = await admin.client.post(
        "/admin/units/import",
        data={"_csrf_token": admin.token()},
        files={"file": ("村居名单.csv", LIST, "text/csv")},
    )
    assert preview.status_code == 200 and "核对结果" in preview.text, preview.text
    carried = re.search(r'name="villages" value="([^"]+)"', preview.text)
    assert carried is not None
    before = await _villages(sessionmaker)
    done = await admin.post("/admin/units/import", {"villages": html.unescape(carried.group(1))})
    assert done.status_code == 303
    assert await _villages(sessionmaker) == before + 3
    # What a form carries is checked again: a township that is none is refused, nothing made.
    forged = await admin.post("/admin/units/import", {"villages": '[["假村", 999999]]'})
    assert forged.status_code == 422 and await _villages(sessionmaker) == before + 3
    clerk = Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )
    await clerk.sign_in("clerk_a")
    assert (await clerk.get("/admin/units/import")).status_code == 403
