"""网格员代办 in the console, without JavaScript: the grid worker's form (consent required, a
mistake beside its field, nothing saved), the township clerk registers it from its page (to the
case page, with the repeat check's word), the worker's slip after the reply; typed text never
runs, and the worker's pages show nothing of other villages."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.proxy.models import ProxyFiling
from tests.builders import VALID_ID, World, build_world, give_passwords, served
from tests.conftest import auth
from tests.console import Console
from tests.test_proxy_api import grid_login

SCRIPT = '<script>alert("x")</script>=HYPERLINK("http://x","点我")'


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


def _browser(app: Litestar) -> Console:
    return Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )


async def test_a_grid_worker_files_and_the_township_registers_in_the_console(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await grid_login(client, sessionmaker, world)
    worker = _browser(app)
    await worker.sign_in("gridworker")
    page = await worker.get("/proxy/new")
    assert page.status_code == 200 and "代办登记" in page.text
    form: dict[str, object] = {
        "name": "张小明",
        "id_number": VALID_ID,
        "phone": "138 1234 5678",
        "address": "小杨家庄村三组",
        "people_count": "1",
        "category": "housing",
        "summary": "逾期交房" + SCRIPT,
        "received_on": "2026年11月30日",
        "consent": "signed",
    }
    r = await worker.post("/proxy", form)
    assert r.status_code == 400 and "须经信访人同意" in r.text and "逾期交房" in r.text
    r = await worker.post("/proxy", {**form, "agreed": "true", "id_number": "123"})
    assert r.status_code == 422 and "身份证" in r.text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ProxyFiling)) == 0
    r = await worker.post("/proxy", {**form, "agreed": "true"})
    assert r.status_code == 303, r.text[:1500]
    url = r.headers["location"]
    page = await worker.get(url)
    assert "已提交代办" in page.text and "<script>alert" not in page.text
    assert "下载代办登记表" in page.text and VALID_ID in page.text
    assert (await worker.get(f"{url}/form")).status_code == 200
    mine = await worker.get("/proxy")
    assert "蓟信代〔2026〕00001" in mine.text
    assert (await worker.get("/cases")).status_code == 403

    clerk = _browser(app)
    await clerk.sign_in("clerk_a")
    waiting = await clerk.get("/proxy")
    assert "蓟信代〔2026〕00001" in waiting.text and "张小明" not in waiting.text  # masked list
    page = await clerk.get(url)
    assert "登记为信访事项" in page.text and "13812345678" in page.text
    r = await clerk.post(f"{url}/register", {"unit_id": world.township_a})
    assert r.status_code == 303 and r.headers["location"].startswith("/cases/")
    case_url = r.headers["location"]
    page = await clerk.get(case_url)
    assert "已登记为信访事项" in page.text and "网格员代办" in page.text
    page = await worker.get(url)
    assert "已登记为信访事项" in page.text and "答复后评价" in page.text
    assert (await worker.get(f"{url}/slip")).status_code == 409
    cid = int(case_url.rsplit("/", 1)[1])
    for step in (
        {"action": "accept", "on": "2026-12-01"},
        {"action": "reply", "doc_number": "蓟信复〔2026〕21号", "on": "2026-12-01"},
        {"action": "deliver", "delivery": served("2026-12-01")},
    ):
        r = await client.post(
            f"/api/cases/{cid}/transitions", json=step, headers=auth(world.tokens["clerk_a"])
        )
        assert r.status_code == 200, r.text
    page = await worker.get(url)
    assert "打印评价提醒单" in page.text
    slip = await worker.get(f"{url}/slip")
    assert (
        slip.status_code == 200
        and "查询码" in slip.text
        and "https://reception.test/public" in slip.text
    )
