"""The console's case pages over HTTP: the clerk's worklist and CSV, registration with the
repeat check, the case page's allowed actions, the leader's 包案 case, and the reviewer's
dashboard with the trend API (whose months equal the review's)."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.cases.models import PetitionCase
from tests.builders import VALID_ID, World, build_world, case_body, give_passwords, served
from tests.conftest import auth
from tests.console import Console


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


@pytest.fixture
def browser(app: Litestar) -> Console:
    return Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )


async def register(
    client: httpx.AsyncClient, world: World, token: str = "clerk_a", **extra: object
) -> int:
    r = await client.post(
        "/api/cases", json=case_body(world, **extra), headers=auth(world.tokens[token])
    )
    assert r.status_code == 201, r.text
    cid: int = r.json()["id"]
    return cid


async def step(client: httpx.AsyncClient, world: World, cid: int, **body: object) -> None:
    r = await client.post(
        f"/api/cases/{cid}/transitions", json=body, headers=auth(world.tokens["clerk_a"])
    )
    assert r.status_code == 200, r.text


def etag_of(page: str) -> str:
    import html

    found = re.search(r'name="etag" value="([^"]+)"', page)
    assert found
    return html.unescape(found.group(1))


# ---------------------------------------------------------------- the worklist


async def test_worklist_shows_the_clerks_subtree_with_days_left(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    # Received 09-16 and never accepted: the 15-day accept clock ran out long ago.
    late = await register(client, world)
    fresh = await register(
        client,
        world,
        petitioners=[{"name": "李四海", "phone": "13900000002"}],
        received_on="2026-11-30",
        on="2026-11-30",
        category="wages",
        summary="工地拖欠工资",
    )
    theirs = await register(
        client, world, token="clerk_district", unit_id=world.township_b, summary="邦均镇的事"
    )
    await browser.sign_in("clerk_a")
    r = await browser.get("/cases")
    assert r.status_code == 200 and "信访事项" in r.text
    assert f"/cases/{late}" in r.text and f"/cases/{fresh}" in r.text
    assert f'/cases/{theirs}"' not in r.text and "邦均镇的事" not in r.text
    # Due first: the overdue case comes before the fresh one, with how late it is.
    assert r.text.index(f'/cases/{late}"') < r.text.index(f'/cases/{fresh}"')
    assert "超期" in r.text and "剩 14 天" in r.text
    # Names are masked in the list, as in every list.
    assert "张*明" in r.text and "张小明" not in r.text

    r = await browser.get("/cases?overdue=true")
    assert f'/cases/{late}"' in r.text and f'/cases/{fresh}"' not in r.text
    r = await browser.get("/cases?due_within=30&category=wages")
    assert f'/cases/{fresh}"' in r.text and f'/cases/{late}"' not in r.text
    r = await browser.get(f"/cases?q={VALID_ID}")
    assert f'/cases/{late}"' in r.text and f'/cases/{fresh}"' not in r.text
    r = await browser.get("/cases?first_time=repeat")
    assert "没有符合条件的信访事项" in r.text
    r = await browser.get("/cases?due_within=abc")
    assert r.status_code == 400 and "Traceback" not in r.text

    # Outside his subtree: not found, as the API answers.
    r = await browser.get(f"/cases/{theirs}")
    assert r.status_code == 404 and "邦均镇的事" not in r.text

    r = await browser.get("/cases/export.csv?overdue=true")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "编号" and len(rows) == 2
    assert rows[1][5] == "张*明" and rows[1][12] == "是"


async def test_the_worklist_pages(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    for n in range(51):
        await register(
            client,
            world,
            petitioners=[{"name": f"王{n:02d}民", "phone": f"1390000{n:04d}"}],
            summary=f"第{n}件",
        )
    await browser.sign_in("clerk_a")
    r = await browser.get("/cases")
    assert "共 51 件" in r.text and "第 1 / 2 页" in r.text
    assert len(re.findall(r'href="/cases/\d+"', r.text)) == 50
    r = await browser.get("/cases?page=2")
    assert "第 2 / 2 页" in r.text and len(re.findall(r'href="/cases/\d+"', r.text)) == 1


# ---------------------------------------------------------------- registration


async def test_register_in_the_console_then_confirm_the_repeat(
    browser: Console,
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first = await register(client, world)
    await browser.sign_in("clerk_a")
    r = await browser.get("/cases/new")
    assert r.status_code == 200 and "登记信访事项" in r.text and "下仓镇" in r.text
    # 邦均镇 is not his: not offered.
    assert "邦均镇" not in r.text
    form = {
        "p_name": "张小明",
        "p_id_number": VALID_ID,
        "p_phone": "13812345678",
        "channel": "visit",
        "category": "housing",
        "unit_id": str(world.township_a),
        "summary": "龙府壹号小区仍未交房",
        "received_on": "2026-11-30",
        "people_count": "1",
        "source": "own",
    }
    r = await browser.post("/cases/new/check", form)
    assert r.status_code == 200 and "可能是重复信访" in r.text and f'value="{first}"' in r.text
    # The open matter of the same category is offered as the answer, for the clerk to confirm.
    assert re.search(rf'value="{first}" checked', r.text) and "已预选" in r.text
    assert not re.search(r'id="repeat-none"[^>]*checked', r.text)
    # Once the clerk has answered (不是同一事项), his answer stands.
    r = await browser.post("/cases/new/check", {**form, "repeat_of": ""})
    assert re.search(r'id="repeat-none"[^>]*checked', r.text) and "已预选" not in r.text

    r = await browser.post("/cases/new", {**form, "p_id_number": "110105194912310021"})
    assert r.status_code in (400, 422) and "校验码不符" in r.text
    r = await browser.post("/cases/new", {**form, "channel": ""})
    assert r.status_code in (400, 422) and "渠道" in r.text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(PetitionCase)) == 1

    r = await browser.post("/cases/new", form)
    assert r.status_code == 303, r.text[:800]
    # What was done is told on the next page (a flash), the query code shown there too.
    assert "?" not in r.headers["location"]
    page = await browser.get(r.headers["location"])
    assert "已登记" in page.text and "可能重复" in page.text and 'id="query-code"' in page.text
    assert "确认为重复信访" in page.text
    cid = int(r.headers["location"].split("?")[0].rsplit("/", 1)[1])
    r = await browser.post(
        f"/cases/{cid}/repeat", {"repeat_of": str(first), "etag": etag_of(page.text)}
    )
    assert r.status_code == 303
    r = await browser.get(f"/cases/{cid}")
    assert "重复信访" in r.text and f'href="/cases/{first}"' in r.text
    async with sessionmaker() as s:
        case = await s.get(PetitionCase, cid)
        assert case is not None and case.first_time is False and case.repeat_of_id == first


# ---------------------------------------------------------------- the case page


async def test_case_page_offers_only_the_allowed_actions_and_runs_them(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    cid = await register(client, world, received_on="2026-11-25", on="2026-11-25")
    await browser.sign_in("clerk_a")
    r = await browser.get(f"/cases/{cid}")
    assert r.status_code == 200 and "张小明" in r.text  # his case: the whole name
    offered = set(re.findall(r'name="action" value="([a-z_]+)"', r.text))
    api = await client.get(f"/api/cases/{cid}", headers=auth(world.tokens["clerk_a"]))
    # The stage machine's table, and nothing else: what the API says may be done now.
    assert offered == set(api.json()["allowed_actions"]) == {"accept", "reject", "divert"}
    etag = etag_of(r.text)
    # An action the stage does not allow, posted anyway: refused, nothing changes.
    r = await browser.post(
        f"/cases/{cid}/act",
        {"action": "deliver", **served("2026-11-30")},
    )
    assert r.status_code == 409, r.text[:500]
    r = await browser.post(f"/cases/{cid}/act", {"action": "accept", "on": "", "etag": etag})
    assert r.status_code == 303
    r = await browser.get(f"/cases/{cid}")
    assert "受理" in r.text and 'value="extend"' in r.text and 'value="accept"' not in r.text

    # 包案: a leader made accountable.
    r = await browser.post(
        f"/cases/{cid}/owner",
        {"leader_id": str(world.leaders["mayor"]), "plan": "协调开发商", "etag": etag_of(r.text)},
    )
    assert r.status_code == 303, r.text[:800]
    r = await browser.get(f"/cases/{cid}")
    assert "李某乙" in r.text and "现任" in r.text

    # Extension: the approver is required, said beside the field.
    r = await browser.post(
        f"/cases/{cid}/act",
        {"action": "extend", "days": "30", "reason": "情况复杂", "approver": "",
         "petitioner_told_on": "2026-12-01", "etag": etag_of(r.text)},
    )  # fmt: skip
    assert r.status_code in (400, 422) and "批准" in r.text
    page = await browser.get(f"/cases/{cid}")
    r = await browser.post(
        f"/cases/{cid}/act",
        {"action": "extend", "days": "30", "reason": "情况复杂", "approver": "黄某辛",
         "petitioner_told_on": "2026-12-01", "etag": etag_of(page.text)},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:800]
    page = await browser.get(f"/cases/{cid}")
    assert "延期 30 日" in page.text and "黄某辛" in page.text
    r = await browser.post(
        f"/cases/{cid}/act",
        {"action": "reply", "doc_number": "蓟信复〔2026〕8号", "etag": etag_of(page.text)},
    )
    assert r.status_code == 303, re.findall(r"(?:field-error|flash error)[^<]*<", r.text)
    page = await browser.get(f"/cases/{cid}")
    r = await browser.post(
        f"/cases/{cid}/act",
        {"action": "deliver", **served("2026-12-01"),
         "etag": etag_of(page.text)},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:800]
    page = await browser.get(f"/cases/{cid}")
    assert "已答复" in page.text and "送达" in page.text
    # A stale page (the ETag before the delivery): refused, 412.
    r = await browser.post(f"/cases/{cid}/evaluation", {"satisfaction": "satisfied", "etag": etag})
    assert r.status_code == 412
    # Said in plain Chinese above the page: who changed what since, no version string.
    said = re.findall(r'class="flash error" role="alert">([^<]*)<', r.text)
    assert said and "已被他人修改" in said[0] and "送达" in said[0], said
    assert "case-" not in said[0] and "版本" not in said[0]
    # A step that is no longer open: its message is above the page, not beside a lost form.
    r = await browser.post(f"/cases/{cid}/act", {"action": "accept", "on": "", "etag": etag})
    said = re.findall(r'class="flash error" role="alert">([^<]*)<', r.text)
    assert r.status_code in (409, 412) and said and said[0].strip(), r.text[:300]
    r = await browser.post(
        f"/cases/{cid}/evaluation", {"satisfaction": "satisfied", "etag": etag_of(page.text)}
    )
    assert r.status_code == 303
    assert "满意" in (await browser.get(f"/cases/{cid}")).text


async def test_a_notice_is_issued_and_downloaded_from_the_case_page(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    cid = await register(client, world, received_on="2026-11-25", on="2026-11-25")
    await step(client, world, cid, action="accept")
    await browser.sign_in("clerk_a")
    # The case page loads its 文书 section (htmx), which is also a page of its own.
    r = await browser.get(f"/cases/{cid}")
    assert f'hx-get="/cases/{cid}/documents"' in r.text
    r = await browser.get(f"/cases/{cid}/documents", headers={"hx-request": "true"})
    assert "出具文书" in r.text and 'value="accept_notice"' in r.text
    r = await browser.post(f"/cases/{cid}/documents", {"kind": "accept_notice"})
    assert r.status_code == 303, r.text[:800]
    assert "已出具" in (await browser.get(r.headers["location"])).text
    r = await browser.get(f"/cases/{cid}/documents")
    link = re.search(r'href="(/documents/\d+/file\.docx)"', r.text)
    assert link and "受理告知书" in r.text
    r = await browser.get(link.group(1))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "attachment" in r.headers["content-disposition"]


async def test_the_leader_reads_his_case_and_records_the_resolution(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    cid = await register(client, world, received_on="2026-11-25", on="2026-11-25")
    other = await register(client, world, summary="别人的包案")
    await step(client, world, cid, action="accept")
    for case_id, leader in ((cid, "mayor"), (other, "deputy")):
        r = await client.post(
            f"/api/cases/{case_id}/ownership",
            json={"leader_id": world.leaders[leader]},
            headers=auth(world.tokens["clerk_a"]),
        )
        assert r.status_code in (200, 201), r.text
    await browser.sign_in("leader")
    r = await browser.get("/me/cases")
    assert f"/cases/{cid}" in r.text and "别人的包案" not in r.text
    r = await browser.get(f"/cases/{cid}")
    assert r.status_code == 200 and "记录化解情况" in r.text
    # He reads; handling the case is the office's.
    assert 'name="action"' not in r.text and f'action="/cases/{cid}/documents"' not in r.text
    assert "张*明" in r.text
    assert (await browser.get(f"/cases/{other}")).status_code == 404
    r = await browser.post(f"/cases/{cid}/act", {"action": "start"})
    assert r.status_code == 403
    page = await browser.get(f"/cases/{cid}")
    r = await browser.post(
        f"/cases/{cid}/resolution",
        {"resolution": "resolved", "method": "", "etag": etag_of(page.text)},
    )
    assert r.status_code in (400, 422) and "化解方式" in r.text
    r = await browser.post(
        f"/cases/{cid}/resolution",
        {"resolution": "resolved", "method": "约谈开发商,签订交房协议", "etag": etag_of(page.text)},
    )
    assert r.status_code == 303
    assert "已化解" in (await browser.get(f"/cases/{cid}")).text


# ---------------------------------------------------------------- the reviewer


async def test_review_dashboard_and_the_trend_equal_the_review(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    a = await register(client, world, received_on="2026-10-09", on="2026-10-09")
    await register(
        client,
        world,
        petitioners=[{"name": "李四海", "phone": "13900000002"}],
        received_on="2026-10-20",
        on="2026-10-20",
        channel="visit",
    )
    await step(client, world, a, action="accept", on="2026-10-12")
    reviewer = auth(world.tokens["reviewer"])
    r = await client.get(
        "/api/reports/trend", params={"from": "2026-01", "to": "2026-11"}, headers=reviewer
    )
    assert r.status_code == 200, r.text
    months = {m["month"]: m for m in r.json()["months"]}
    assert len(months) == 11 and months["2026-09"]["no_data"] is True
    for month in ("2026-10", "2026-11"):
        review = await client.get("/api/reports/review", params={"month": month}, headers=reviewer)
        current = review.json()["comparison"]["current"]
        assert {k: months[month][k] for k in current} == current, month
    october = months["2026-10"]
    assert october["new_cases"] == 2 and october["remote_share"] == 0.5
    # No reply in October: 参评率 has a zero denominator — null, not 0 and not "no data".
    assert october["no_data"] is False and october["participation_rate"] is None

    for params in ({"from": "2026-11", "to": "2026-01"}, {"from": "2020-01", "to": "2026-01"}):
        r = await client.get("/api/reports/trend", params=params, headers=reviewer)
        assert r.status_code == 422, r.text
    r = await client.get(
        "/api/reports/trend", params={"from": "2026-13", "to": "2027-01"}, headers=reviewer
    )
    assert r.status_code == 400
    r = await client.get(
        "/api/reports/trend", params={"from": "2026-01", "to": "2026-02"},
        headers=auth(world.tokens["clerk_a"]),
    )  # fmt: skip
    assert r.status_code == 403

    await browser.sign_in("reviewer")
    r = await browser.get("/")
    assert r.headers["location"] == "/review"
    r = await browser.get("/review?month=2026-10")
    assert r.status_code == 200 and "2026年10月" in r.text and "及时受理率" in r.text
    assert "echarts.common.min.js" in r.text and 'id="review-data"' in r.text
    assert "不适用:本月无已答复的事项" in r.text
    assert "同比 无数据" in r.text  # 2025-10 had no record yet
    r = await browser.get("/review/export?month=2026-10&format=xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "attachment" in r.headers["content-disposition"]
    r = await browser.get("/review?month=2026-1")
    assert r.status_code == 400
    await browser.client.aclose()
    browser.client = httpx.AsyncClient(transport=browser.client._transport, base_url="https://test")
    await browser.sign_in("clerk_a")
    assert (await browser.get("/review")).status_code == 403


async def test_the_case_page_lists_the_visits_it_was_taken_to(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    from tests.builders import at, future_workday

    cid = await register(client, world, received_on="2026-11-25", on="2026-11-25")
    day = future_workday(7)
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "field_visit",
            "unit_id": world.township_a,
            "address": "下仓镇小杨家庄村",
            "purpose": "带案下访",
            "starts_at": at(day, "14:00"),
            "ends_at": at(day, "16:00"),
        },
        headers=auth(world.tokens["admin"]),
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = await client.post(
        f"/api/sessions/{sid}/cases", json={"case_id": cid}, headers=auth(world.tokens["admin"])
    )
    assert r.status_code in (200, 201), r.text
    await browser.sign_in("clerk_a")
    r = await browser.get(f"/cases/{cid}")
    assert f'hx-get="/cases/{cid}/sessions"' in r.text
    r = await browser.get(f"/cases/{cid}/sessions", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "带案下访" in r.text and "李某乙" in r.text
    assert "<html" not in r.text  # the part htmx swaps in, not a whole page
    r = await browser.get(f"/cases/{cid}/sessions")
    assert "<html" in r.text and f"/sessions/{sid}" in r.text
    other = await register(client, world, token="clerk_district", unit_id=world.township_b)
    assert (await browser.get(f"/cases/{other}/sessions")).status_code == 404


async def test_due_first_pages_through_clocked_then_unclocked_cases(
    world: World, client: httpx.AsyncClient
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    late = await register(client, world, received_on="2026-11-02", on="2026-11-02")
    soon = await register(client, world, received_on="2026-11-25", on="2026-11-25")
    replied = await register(client, world, received_on="2026-11-10", on="2026-11-10")
    await step(client, world, replied, action="accept", on="2026-11-11")
    await step(
        client, world, replied, action="reply", doc_number="蓟信复〔2026〕3号", on="2026-11-20"
    )
    await step(
        client,
        world,
        replied,
        action="deliver",
        delivery=served("2026-11-21"),
    )
    # The replied case waits on the petitioner's 复查 window only: no office clock, so last.
    pages = []
    for offset in (0, 1, 2):
        r = await client.get(
            "/api/cases", params={"sort": "due", "limit": 2, "offset": offset}, headers=clerk
        )
        assert r.status_code == 200 and r.json()["total"] == 3
        pages.append([c["id"] for c in r.json()["items"]])
    assert pages == [[late, soon], [soon, replied], [replied]]
    first = (await client.get("/api/cases", params={"sort": "due"}, headers=clerk)).json()
    assert first["items"][0]["days_left"] < 0 and first["items"][0]["time_left"].startswith("超期")
    assert first["items"][2]["days_left"] is None
    # Searches: an exact phone, an ID number, part of a reference.
    for q, found in (("13812345678", 3), (VALID_ID, 3), ("〔2026〕00002", 1), ("00003", 1)):
        r = await client.get("/api/cases", params={"q": q}, headers=clerk)
        assert r.json()["total"] == found, q
