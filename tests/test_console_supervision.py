"""督查督办 in the console, without JavaScript: the reviewer draws a month and works through the
checklist of a case (a line left out is said beside the form, nothing saved); the township
clerk answers the finding, the reviewer sends it back and closes it; the admin edits the
checklist; a 流调 opened from the case page, written with its responsibility rows, signed by
the leader; typed text never runs."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.supervision.models import CheckItem, Finding, SpotCheckMark
from tests.builders import World, build_world, case_body, give_passwords
from tests.conftest import auth
from tests.console import Console

SCRIPT = '<script>alert("x")</script>=HYPERLINK("http://x","点我")'


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


def _etag(text: str) -> str:
    """The version a form carries (the ETag, quotes and all, as the browser sends it back)."""
    found = re.search(r'name="etag" value="([^"]+)"', text)
    assert found, text[:1500]
    return html.unescape(found.group(1))


def _browser(app: Litestar) -> Console:
    return Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )


async def _cases(client: httpx.AsyncClient, w: World, n: int, **extra: object) -> list[int]:
    ids = []
    for i in range(n):
        day = f"2026-11-{i + 2:02d}"
        body = case_body(w, received_on=day, on=day, **extra)
        r = await client.post("/api/cases", json=body, headers=auth(w.tokens["clerk_a"]))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def _count(maker: async_sessionmaker[AsyncSession], model: object) -> int:
    async with maker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


async def test_a_month_is_drawn_checked_answered_and_closed_in_the_console(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _cases(client, world, 3)
    reviewer = _browser(app)
    await reviewer.sign_in("reviewer")
    page = await reviewer.get("/supervision/spot-checks")
    assert page.status_code == 200 and "抽取 2026年11月 样本" in page.text
    r = await reviewer.post("/supervision/spot-checks", {"month": "2026-11"})
    assert r.status_code == 303, r.text[:1500]
    page = await reviewer.get(r.headers["location"])
    assert "已抽取 2026-11" in page.text and "下仓镇" in page.text
    check = re.search(r'href="/supervision/spot-checks/(\d+)">下仓镇', page.text)
    assert check
    page = await reviewer.get(f"/supervision/spot-checks/{check.group(1)}")
    assert "结果一致" in page.text
    sample = re.search(r'href="/supervision/samples/(\d+)"', page.text)
    assert sample
    url = f"/supervision/samples/{sample.group(1)}"
    form = await reviewer.get(url)
    items = [int(x) for x in re.findall(r'name="item_(\d+)" value="pass"', form.text)]
    assert len(items) == 5
    # A line left without a verdict: said above the form, as typed, nothing saved.
    marks: dict[str, object] = {f"item_{i}": "pass" for i in items[:-1]}
    marks[f"note_{items[0]}"] = "草稿"
    r = await reviewer.post(f"{url}/marks", marks)
    assert r.status_code == 400 and "档案齐全" in r.text and "草稿" in r.text
    marks[f"item_{items[-1]}"] = "fail"
    r = await reviewer.post(f"{url}/marks", marks)
    assert r.status_code == 422 and "请写明存在的问题" in r.text
    assert await _count(sessionmaker, SpotCheckMark) == 0
    marks[f"note_{items[-1]}"] = "缺送达回证" + SCRIPT
    r = await reviewer.post(f"{url}/marks", marks)
    assert r.status_code == 303, r.text[:1500]
    page = await reviewer.get(url)
    assert "发现问题 1 项" in page.text and "不合格" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    finding = re.search(r'href="/supervision/findings/(\d+)"', page.text)
    assert finding
    furl = f"/supervision/findings/{finding.group(1)}"
    # The township clerk answers; the reviewer sends it back, then closes it.
    clerk = _browser(app)
    await clerk.sign_in("clerk_a")
    listed = await clerk.get("/supervision/findings")
    assert furl in listed.text
    page = await clerk.get(furl)
    etag = _etag(page.text)
    assert "反馈整改情况" in page.text
    r = await clerk.post(f"{furl}/answer", {"answer": "  ", "etag": etag})
    assert r.status_code == 400 and "不能只有空格" in r.text
    r = await clerk.post(f"{furl}/answer", {"answer": SCRIPT, "etag": etag})
    assert r.status_code == 303
    page = await clerk.get(furl)
    assert "已反馈" in page.text and "<script>alert" not in page.text
    r = await clerk.post(f"{furl}/close", {})
    assert r.status_code == 403
    page = await reviewer.get(furl)
    etag = _etag(page.text)

    r = await reviewer.post(f"{furl}/return", {"note": "", "etag": etag})
    assert r.status_code == 400
    r = await reviewer.post(f"{furl}/return", {"note": "回证仍缺签名", "etag": etag})
    assert r.status_code == 303
    page = await clerk.get(furl)
    etag = _etag(page.text)
    assert "回证仍缺签名" in page.text
    await clerk.post(f"{furl}/answer", {"answer": "已补签", "etag": etag})
    page = await reviewer.get(furl)
    etag = _etag(page.text)

    r = await reviewer.post(f"{furl}/close", {"etag": etag})
    assert r.status_code == 303
    async with sessionmaker() as s:
        row = await s.get(Finding, int(finding.group(1)))
        assert row is not None and row.status == "closed"
    # The review page shows the check when taken as of today.
    page = await reviewer.get("/review?month=2026-11&as_of=2026-12-01")
    assert "基础业务抽查" in page.text and "档案齐全 1" in page.text
    page = await reviewer.get("/review?month=2026-11&as_of=2026-13-01")
    assert page.status_code == 400


async def test_the_admin_edits_the_checklist(
    app: Litestar, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin = _browser(app)
    await admin.sign_in("admin")
    page = await admin.get("/admin/check-items")
    assert page.status_code == 200 and "来访必录" in page.text
    r = await admin.post("/admin/check-items", {"label": "", "position": "6"})
    assert r.status_code == 400
    r = await admin.post("/admin/check-items", {"label": SCRIPT[:50], "position": "6"})
    assert r.status_code == 303
    page = await admin.get("/admin/check-items")
    assert "<script>alert" not in page.text
    async with sessionmaker() as s:
        item = await s.scalar(select(CheckItem).where(CheckItem.code == "verified"))
        assert item is not None
    r = await admin.post(
        f"/admin/check-items/{item.id}", {"label": "调查核实", "hint": "", "position": "4"}
    )
    assert r.status_code == 303
    async with sessionmaker() as s:
        again = await s.get(CheckItem, item.id)
        assert again is not None and not again.active and again.hint == ""
    r = await admin.post("/admin/check-items/999999", {"label": "x"})
    assert r.status_code == 404
    reviewer = _browser(app)
    await reviewer.sign_in("reviewer")
    assert (await reviewer.get("/admin/check-items")).status_code == 403


async def test_a_inquiry_is_opened_written_and_signed_in_the_console(
    app: Litestar, client: httpx.AsyncClient, world: World
) -> None:
    first, repeat = await _cases(client, world, 2)
    r = await client.patch(
        f"/api/cases/{repeat}", json={"repeat_of": first}, headers=auth(world.tokens["clerk_a"])
    )
    assert r.status_code == 200, r.text
    clerk = _browser(app)
    await clerk.sign_in("clerk_a")
    section = await clerk.get(f"/cases/{first}/supervision")
    assert "开展流调" not in section.text
    section = await clerk.get(f"/cases/{repeat}/supervision")
    assert "开展流调" in section.text and "重复信访" in section.text
    r = await clerk.post(f"/cases/{repeat}/inquiry", {"leader_id": "999999"})
    assert r.status_code == 422 and "领导 999999 不存在" in r.text
    r = await clerk.post(f"/cases/{repeat}/inquiry", {"leader_id": world.leaders["mayor"]})
    assert r.status_code == 303, r.text[:1500]
    url = r.headers["location"]
    page = await clerk.get(url)
    assert "已开展流调" in page.text and "办理过程" in page.text and "登记" in page.text
    etag = _etag(page.text)

    body = {
        "etag": etag,
        "causes": ["first_handling", "reply"],
        "cause_note": SCRIPT,
        "resp_unit_0": world.township_a,
        "resp_who_0": "",
        "resp_failing_0": "初信未当面答复",
        "resp_who_1": "镇信访办经办人",
        "resp_failing_1": "",
        "conclusion": "首办不到位",
        "leader_id": world.leaders["mayor"],
    }
    r = await clerk.post(url, body)
    assert r.status_code == 400 and "第 2 行" in r.text and "首办不到位" in r.text
    body["resp_failing_1"] = "未按期回访"
    r = await clerk.post(url, body)
    assert r.status_code == 303, r.text[:1500]
    page = await clerk.get(url)
    assert "<script>alert" not in page.text and "未按期回访" in page.text
    assert "流调中" in (await clerk.get("/cases?inquiry=true")).text
    leader = _browser(app)
    await leader.sign_in("leader")
    mine = await leader.get("/supervision/inquiries")
    assert url in mine.text
    page = await leader.get(url)
    assert "同意结论,签批" in page.text and "<script>alert" not in page.text
    etag = _etag(page.text)

    r = await leader.post(f"{url}/sign", {"etag": etag, "on": "2026年12月1日"})
    assert r.status_code == 303, r.text[:1500]
    page = await leader.get(url)
    assert "已签批" in page.text and "同意结论" not in page.text
    r = await clerk.post(url, {**body, "etag": etag})
    assert r.status_code in (409, 412)
    assert "流调中" not in (await clerk.get("/cases?inquiry=true")).text


async def test_a_conference_is_entered_decided_reported_and_closed_in_the_console(
    app: Litestar, client: httpx.AsyncClient, world: World
) -> None:
    (case_id,) = await _cases(client, world, 1)
    case = (await client.get(f"/api/cases/{case_id}", headers=auth(world.tokens["clerk_a"]))).json()
    reviewer = _browser(app)
    await reviewer.sign_in("reviewer")
    form = {
        "held_on": "2026-11-28",
        "title": SCRIPT[:100],
        "convener_leader_id": world.leaders["mayor"],
        "matters": "蓟信〔2026〕99999",
        "unit_ids": [world.township_a, world.department],
    }
    r = await reviewer.post("/supervision/conferences", form)
    assert r.status_code == 422 and "没有编号为 蓟信〔2026〕99999" in r.text
    form["matters"] = f"  {case['reference']}  \n"
    r = await reviewer.post("/supervision/conferences", form)
    assert r.status_code == 303, r.text[:1500]
    url = r.headers["location"]
    page = await reviewer.get(url)
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    matter = re.search(r'<option value="(\d+)"[^>]*>信访事项 ', page.text)
    assert matter
    decision = {
        "matter_id": matter.group(1),
        "owner_unit_id": world.township_a,
        "content": "约谈开发商",
        "done_criteria": "书面承诺",
        "deadline": "2026-11-27",
    }
    r = await reviewer.post(f"{url}/decisions", decision)
    assert r.status_code == 422 and "办结时限须在会议日期之后" in r.text and "约谈开发商" in r.text
    decision["deadline"] = "2026年12月10日"
    r = await reviewer.post(f"{url}/decisions", decision)
    assert r.status_code == 303
    durl = r.headers["location"]
    notice = await reviewer.get(f"{durl}/notice")
    assert notice.status_code == 200 and notice.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    clerk = _browser(app)
    await clerk.sign_in("clerk_a")
    page = await clerk.get(durl)
    assert "报告办理情况" in page.text and "催办" not in page.text.split("办理经过")[1]
    r = await clerk.post(f"{durl}/steps", {"kind": "report", "note": "", "etag": _etag(page.text)})
    assert r.status_code == 422 and "请写明办理情况" in r.text
    r = await clerk.post(f"{durl}/steps", {"kind": "close", "etag": _etag(page.text)})
    assert r.status_code == 403
    r = await clerk.post(
        f"{durl}/steps", {"kind": "report", "note": "已约谈", "etag": _etag(page.text)}
    )
    assert r.status_code == 303
    page = await reviewer.get(durl)
    r = await reviewer.post(f"{durl}/steps", {"kind": "close", "etag": _etag(page.text)})
    assert r.status_code == 303
    page = await reviewer.get(durl)
    assert "已办结" in page.text and "报告办理情况" not in page.text.split("办理经过")[0]
    section = await clerk.get(f"/cases/{case_id}/supervision")
    assert "蓟信督〔2026〕1号" in section.text and "已办结" in section.text
