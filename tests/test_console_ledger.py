"""The ledger in the console, without JavaScript: a township clerk opens an entry from the form
(a mistake shown beside its field, nothing saved), moves it on, turns it into a petition whose
case page shows the entry; the leader's phone page during a sensitive period; the printable
排查情况表 and its Excel; the admin's periods; typed text never runs."""

from __future__ import annotations

import io

import httpx
import openpyxl
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.ledger.models import LedgerEntry
from tests.builders import VALID_ID, World, build_world, give_passwords
from tests.conftest import auth
from tests.console import Console


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


def _browser(app: Litestar) -> Console:
    return Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )


def form(w: World, **change: object) -> dict[str, object]:
    data: dict[str, object] = {
        "found_on": "2026年11月20日",
        "found_by_unit_id": w.village_a,
        "how_found": "grid",
        "domain": "wages",
        "summary": '=HYPERLINK("http://x","点我")<script>alert("x")</script> 工地欠薪',
        "party_name_0": "王大成",
        "party_id_0": VALID_ID,
        "party_phone_0": "139 1234 5678",
        "unit_id": w.village_a,
        "stability_leader_id": w.leaders["township_a"],
        "resolution_leader_id": w.leaders["township_a"],
        "target_on": "2026-12-31",
        "people_count": "12",
        "amount_disputed": "200000",
        "risk": "serious",
        "plan": "约谈总包单位",
    }
    data.update(change)
    return data


async def _entries(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as s:
        return int(await s.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def test_a_clerk_opens_moves_and_converts_an_entry_in_the_console(
    app: Litestar, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    b = _browser(app)
    await b.sign_in("clerk_a")
    page = await b.get("/ledger/new")
    assert page.status_code == 200 and "矛盾纠纷建账" in page.text and "小杨家庄村" in page.text
    # A mistake: shown beside its field, the form as typed, nothing saved.
    r = await b.post("/ledger", form(world, risk="general", people_count="40"))
    assert r.status_code == 422 and "风险等级至少为重大" in r.text and "王大成" in r.text
    r = await b.post("/ledger", form(world, party_name_0="", party_id_0="", party_phone_0=""))
    assert r.status_code == 400 and "请至少填写一名当事人" in r.text
    assert await _entries(sessionmaker) == 0
    r = await b.post("/ledger", form(world))
    assert r.status_code == 303, r.text[:2000]
    entry = r.headers["location"]
    page = await b.get(entry)
    assert "已建账" in page.text and "王大成" in page.text and VALID_ID in page.text
    # Typed text is text: escaped on the page.
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    listing = await b.get("/ledger")
    assert "涉薪" in listing.text and "较大" in listing.text and "王大成" not in listing.text
    # The export: parties as a count, the formula-looking summary neutralised.
    xlsx = await b.get("/ledger/export?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [c.value for c in sheet[2]]
    assert "王大成" not in str(cells) and 1 in cells
    typed = next(c for c in sheet[2] if str(c.value).startswith("=HYPERLINK"))
    assert typed.data_type == "s" and typed.quotePrefix
    csv = (await b.get("/ledger/export?format=csv")).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv
    # Move on: a follow-up without its note is refused beside the field.
    r = await b.post(f"{entry}/moves", {"move": "follow_up", "note": ""})
    assert r.status_code == 422 and "请填写跟进情况" in r.text
    r = await b.post(f"{entry}/moves", {"move": "escalate", "note": "村里调不成"})
    assert r.status_code == 303
    page = await b.get(entry)
    assert "已升级" in page.text and "小杨家庄村 → 下仓镇" in page.text
    r = await b.post(f"{entry}/moves", {"move": "convert", "channel": "visit"})
    assert r.status_code == 303 and r.headers["location"].startswith("/cases/")
    case_page = await b.get(r.headers["location"])
    assert "已转为信访事项" in case_page.text
    section = await b.get(r.headers["location"] + "/ledger", headers={"hx-request": "true"})
    assert section.status_code == 200 and "来源台账" in section.text and "升级" in section.text


async def test_the_leaders_phone_page_in_a_sensitive_period(
    app: Litestar, world: World, client: httpx.AsyncClient
) -> None:
    admin = _browser(app)
    await admin.sign_in("admin")
    r = await admin.post(
        "/admin/periods", {"name": "全国两会", "starts_on": "2026-12-05", "ends_on": "2026-12-01"}
    )
    assert r.status_code == 422 and "结束日期早于开始日期" in r.text
    r = await admin.post(
        "/admin/periods", {"name": "全国两会", "starts_on": "2026-12-01", "ends_on": "2026-12-10"}
    )
    assert r.status_code == 303
    page = await admin.get("/admin/periods")
    assert "全国两会" in page.text and "删除" not in page.text  # started: kept
    # The mayor is the entry's 稳控责任人.
    r = await client.post(
        "/api/ledger",
        json={
            "found_on": "2026-11-20", "found_by_unit_id": world.township_a, "how_found": "visit",
            "domain": "housing", "summary": "小区业主集体维权", "parties": [{"name": "业主代表甲"}],
            "unit_id": world.township_a, "stability_leader_id": world.leaders["mayor"],
            "resolution_leader_id": world.leaders["mayor"], "target_on": "2026-12-31",
            "people_count": 60, "risk": "major",
        },
        headers=auth(world.tokens["clerk_district"]),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    leader = _browser(app)
    await leader.sign_in("leader")
    page = await leader.get("/ledger/check-in")
    assert (
        "全国两会" in page.text and "今日未报" in page.text and r.json()["reference"] in page.text
    )
    r = await leader.post(f"/ledger/{eid}/check-ins", {"state": "unrest", "note": ""})
    assert r.status_code == 422 and "有异动时请写明情况" in r.text
    r = await leader.post(f"/ledger/{eid}/check-ins", {"state": "in_control"})
    assert r.status_code == 303
    page = await leader.get("/ledger/check-in")
    assert "今日已报:在控" in page.text
    # The leader reads his entry, keeps none of it.
    page = await leader.get(f"/ledger/{eid}")
    assert page.status_code == 200 and "跟进化解" not in page.text
    r = await leader.post(f"/ledger/{eid}/moves", {"move": "follow_up", "note": "x"})
    assert r.status_code == 403


async def test_the_printable_table_and_its_excel(
    app: Litestar, world: World, client: httpx.AsyncClient
) -> None:
    for unit, amount in ((world.village_a, 300_000), (world.township_b, 0)):
        r = await client.post(
            "/api/ledger",
            json={
                "found_on": "2026-11-03", "found_by_unit_id": unit, "how_found": "screening",
                "domain": "wages", "summary": "欠薪", "parties": [{"name": "甲"}],
                "unit_id": unit, "stability_leader_id": world.leaders["township_a"],
                "resolution_leader_id": world.leaders["township_a"], "target_on": "2026-12-31",
                "amount_disputed": amount, "risk": "serious",
            },
            headers=auth(world.tokens["clerk_district"]),
        )  # fmt: skip
        assert r.status_code == 201, r.text
    b = _browser(app)
    await b.sign_in("reviewer")
    page = await b.get("/ledger/table?month=2026-11")
    assert page.status_code == 200 and "蓟州区矛盾纠纷排查化解情况表(2026年11月)" in page.text
    assert "填报单位(盖章)" in page.text and "下仓镇" in page.text and "300,000" in page.text
    r = await b.get("/ledger/table?month=2026-11&format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    text = " ".join(
        str(c.value) for row in book.active.iter_rows() for c in row if c.value is not None
    )  # type: ignore[union-attr]
    assert "填报单位(盖章)" in text and "下仓镇" in text and "300000" in text
    for bad in (
        "month=2026-13",
        "year=1999",
        "unit_id=0",
        "month=2026-11&year=2026",
        "unit_id=999999",
    ):
        r = await b.get(f"/ledger/table?{bad}")
        assert 400 <= r.status_code < 500, (bad, r.status_code)
    clerk = _browser(app)
    await clerk.sign_in("clerk_a")
    page = await clerk.get("/ledger/table?month=2026-11")
    assert "下仓镇矛盾纠纷排查化解情况表" in page.text and "小杨家庄村" in page.text
    r = await clerk.get(f"/ledger/table?unit_id={world.township_b}")
    assert r.status_code == 422
