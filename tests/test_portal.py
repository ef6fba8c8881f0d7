"""The petitioner's own page: lookup by query code and a second factor, nothing they should not
see, the same answer for every failure, throttling held in the database (also across two
server processes), and rating the reply once within its window — counted by the review."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.context import FixedClock
from reception.portal.service import delay_after
from tests.builders import VALID_ID, World, build_world, case_body, served
from tests.conftest import auth
from tests.live import serve

SECRET_NOTE = "内部备注:暂缓答复"


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def post(client: httpx.AsyncClient, world: World, path: str, body: dict[str, object]) -> dict:
    r = await client.post(path, json=body, headers=auth(world.tokens["clerk_a"]))
    assert r.status_code in (200, 201), r.text
    out: dict = r.json()
    return out


async def replied_case(client: httpx.AsyncClient, world: World, **extra: object) -> tuple[int, str]:
    """A case registered 11-02, accepted, extended, owned, replied 11-20 and delivered 11-21."""
    body = case_body(world, received_on="2026-11-02", on="2026-11-02", **extra)
    created = await post(client, world, "/api/cases", body)
    cid, code = created["id"], created["query_code"]
    steps = [
        {"action": "accept", "on": "2026-11-03", "note": SECRET_NOTE},
        {"action": "extend", "days": 10, "reason": "需要协调", "approver": "黄某辛",
         "petitioner_told_on": "2026-11-04", "on": "2026-11-04"},
        {"action": "reply", "doc_number": "蓟信复〔2026〕9号", "on": "2026-11-20"},
        {"action": "deliver", "delivery": served("2026-11-21")},
    ]  # fmt: skip
    for i, step in enumerate(steps):
        await post(client, world, f"/api/cases/{cid}/transitions", step)
        if i == 0:
            await post(
                client, world, f"/api/cases/{cid}/ownership", {"leader_id": world.leaders["mayor"]}
            )
            await post(
                client,
                world,
                f"/api/cases/{cid}/documents",
                {"kind": "accept_notice", "on": "2026-11-03"},
            )
    return cid, code


def portal(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")


async def page_lookup(c: httpx.AsyncClient, code: str, factor: str) -> httpx.Response:
    if not c.cookies.get("reception_csrf"):
        await c.get("/public")
    return await c.post(
        "/public",
        data={"code": code, "factor": factor, "_csrf_token": c.cookies.get("reception_csrf")},
    )


async def test_the_petitioner_sees_progress_and_nothing_else(
    app: Litestar, world: World, client: httpx.AsyncClient
) -> None:
    _, code = await replied_case(
        client,
        world,
        petitioners=[
            {"name": "张小明", "id_number": VALID_ID, "phone": "13812345678"},
            {"name": "赵同行", "phone": "13900007777"},
        ],
    )
    other = case_body(world, petitioners=[{"name": "王其他", "phone": "13700001111"}])
    await post(client, world, "/api/cases", other)
    c = portal(app)
    r = await c.get("/public")
    assert r.status_code == 200 and "查询码" in r.text
    assert (
        "Content-Security-Policy" in r.headers
        and "script-src" not in r.headers["Content-Security-Policy"]
    )  # default-src 'none' covers scripts: none at all
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"
    assert "<script" not in r.text and 'style="' not in r.text

    # As a person types it: lower case, spaces; the last 4 of the ID number.
    typed = code.lower().replace("-", " ")
    r = await page_lookup(c, typed, "002x")
    assert r.status_code == 200, r.text[:500]
    page = r.text
    assert re.search(r"蓟信〔2026〕\d{5}", page) and "已答复" in page and "下仓镇" in page
    assert "2026年11月20日" in page and "2026年11月21日" in page
    assert "2026年12月21日" in page  # the 复查 window: 30 days from delivery
    assert "受理告知书" in page and "<script" not in page
    for never in ("张小明", "赵同行", "王其他", "13812345678", VALID_ID, SECRET_NOTE, "黄某辛",
                  "李某乙", "褚某记", "孙某秘"):  # fmt: skip
        assert never not in page, never
    assert r.headers["Cache-Control"] == "no-store"

    # The JSON twin says the same, and nothing more.
    r = await c.post("/public/api/lookup", json={"code": code, "factor": "5678"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stage"] == "replied" and body["evaluation"]["may_rate"] is True
    for never in ("张小明", "赵同行", SECRET_NOTE, "黄某辛", "李某乙", "褚某记", "13812345678"):
        assert never not in r.text, never
    # The notices issued to them download with the ticket, not without it.
    (notice,) = body["notices"]
    assert notice["title"] == "信访事项受理告知书"
    url = f"/public/documents/{notice['id']}/file.docx"
    r = await c.get(url, params={"ticket": body["ticket"]})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert (await c.get(url, params={"ticket": "1.2.3"})).status_code == 400
    # Another case's notice with this ticket: not there.
    theirs = await post(
        client,
        world,
        "/api/cases",
        case_body(world, petitioners=[{"name": "钱其他", "phone": "13700002222"}]),
    )
    await post(client, world, f"/api/cases/{theirs['id']}/transitions", {"action": "accept"})
    doc = await post(
        client, world, f"/api/cases/{theirs['id']}/documents", {"kind": "accept_notice"}
    )
    r = await c.get(f"/public/documents/{doc['id']}/file.docx", params={"ticket": body["ticket"]})
    assert r.status_code == 404


async def test_wrong_code_and_wrong_factor_answer_alike(
    app: Litestar,
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, code = await replied_case(client, world)
    c = portal(app)
    wrong_code = await c.post("/public/api/lookup", json={"code": "CDEFG-HJKLM", "factor": "002X"})
    wrong_factor = await c.post("/public/api/lookup", json={"code": code, "factor": "9999"})
    assert wrong_code.status_code == wrong_factor.status_code == 400
    assert wrong_code.json() == wrong_factor.json()
    assert wrong_code.headers["content-type"] == wrong_factor.headers["content-type"]
    a = await page_lookup(c, "CDEFG-HJKLM", "002X")
    b = await page_lookup(c, code, "9999")
    strip = lambda t: re.sub(r'value="[0-9a-f]{20,}"|"x-csrftoken": "[^"]+"', "", t)  # noqa: E731
    assert a.status_code == b.status_code == 400
    # The same page but for what was typed into the code field.
    assert strip(a.text).replace("CDEFG-HJKLM", "") == strip(b.text).replace(code, "")
    async with sessionmaker() as s:
        failed = await s.scalar(
            select(func.count()).where(AuditEvent.action == "portal.lookup_failed")
        )
        rows = (await s.scalars(select(AuditEvent).where(AuditEvent.action.like("portal.%")))).all()
    assert failed == 4
    # Audited without the code (typed or real) or the factor.
    for row in rows:
        text = f"{row.target_id} {row.before} {row.after}"
        assert code.replace("-", "") not in text and "CDEFGHJKLM" not in text and "9999" not in text


async def test_failures_slow_down_then_lock(
    app: Litestar, world: World, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    _, code = await replied_case(client, world)
    c = portal(app)

    async def attempt(factor: str = "0000") -> httpx.Response:
        return await c.post("/public/api/lookup", json={"code": code, "factor": factor})

    for _ in range(5):
        assert (await attempt()).status_code == 400
    r = await attempt("002X")  # the right one, but the 6th try in a minute
    assert r.status_code == 429 and "秒后再试" in r.json()["detail"]
    failures = 5
    while failures < 20:
        # Each wait a little longer (30 s, 60 s, … at most an hour): waited out, a try counts.
        clock.set(clock.now() + delay_after(failures) + timedelta(seconds=1))
        assert (await attempt()).status_code == 400, failures
        failures += 1
    # The 20th failure locks the code (and this client) for an hour: the 21st is refused.
    clock.set(clock.now() + timedelta(minutes=30))
    r = await attempt("002X")
    assert r.status_code == 429 and "一小时" in r.json()["detail"]
    clock.set(clock.now() + timedelta(minutes=31))
    assert (await attempt("002X")).status_code == 200


async def test_the_throttle_holds_across_two_server_processes(
    app: Litestar, world: World, client: httpx.AsyncClient, database_url: str
) -> None:
    _, code = await replied_case(client, world)
    with serve(database_url, workers=1) as one, serve(database_url, workers=1) as two:
        async with httpx.AsyncClient(timeout=30) as c:
            for i in range(5):
                base = (one, two)[i % 2]
                r = await c.post(f"{base}/public/api/lookup", json={"code": code, "factor": "0000"})
                assert r.status_code == 400, r.text
            for base in (one, two):
                r = await c.post(f"{base}/public/api/lookup", json={"code": code, "factor": "002X"})
                assert r.status_code == 429, (base, r.text)


async def test_the_petitioner_rates_once_within_the_window(
    app: Litestar, world: World, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    cid, code = await replied_case(client, world)
    c = portal(app)
    r = await page_lookup(c, code, "002X")
    assert "提交评价" in r.text
    ticket = re.search(r'name="ticket" value="([^"]+)"', r.text)
    assert ticket
    token = c.cookies.get("reception_csrf")
    r = await c.post(
        "/public/evaluation",
        data={"ticket": ticket.group(1), "satisfaction": "satisfied", "comment": "答复及时",
              "_csrf_token": token},
    )  # fmt: skip
    assert r.status_code == 200 and "感谢您的评价" in r.text and "满意" in r.text
    r = await c.post(
        "/public/api/evaluation",
        json={"ticket": ticket.group(1), "satisfaction": "dissatisfied"},
    )
    assert r.status_code == 409 and "不能修改" in r.json()["detail"]
    detail = (await client.get(f"/api/cases/{cid}", headers=auth(world.tokens["clerk_a"]))).json()
    assert detail["evaluations"] == [
        {"source": "petitioner", "round": 1, "satisfaction": "satisfied", "comment": "答复及时",
         "evaluated_on": "2026-12-01"}
    ]  # fmt: skip
    timeline = await client.get(f"/api/cases/{cid}/timeline", headers=auth(world.tokens["clerk_a"]))
    assert any(e["kind"] == "evaluation.petitioner" for e in timeline.json())

    # Another case, looked up after its window (30 days from the 11-21 delivery) closed.
    _, late_code = await replied_case(
        client, world, petitioners=[{"name": "李四", "phone": "13911112222"}]
    )
    clock.set(datetime.fromisoformat("2026-12-23T10:00:00+08:00"))
    r = await c.post("/public/api/lookup", json={"code": late_code, "factor": "2222"})
    assert r.status_code == 200 and r.json()["evaluation"]["may_rate"] is False
    r = await c.post(
        "/public/api/evaluation", json={"ticket": r.json()["ticket"], "satisfaction": "satisfied"}
    )
    assert r.status_code == 409 and "评价期" in r.json()["detail"]
    # A forged or expired ticket is refused.
    r = await c.post(
        "/public/api/evaluation",
        json={"ticket": f"{cid}.9999999999.x", "satisfaction": "satisfied"},
    )
    assert r.status_code == 400


async def test_the_reviews_satisfaction_is_the_petitioners_where_given(
    app: Litestar, world: World, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    """November: three replies. A: staff recorded 不满意, the petitioner rated 满意 (theirs
    counts); B: staff recorded 满意 only; C: not rated. 参评率 2/3, 满意率 2/2."""
    a, code_a = await replied_case(client, world)
    b, _ = await replied_case(client, world, petitioners=[{"name": "李四", "phone": "13911112222"}])
    await replied_case(client, world, petitioners=[{"name": "王五", "phone": "13933334444"}])
    for cid, rating in ((a, "dissatisfied"), (b, "satisfied")):
        await client.put(
            f"/api/cases/{cid}/evaluation",
            json={"satisfaction": rating, "on": "2026-11-25"},
            headers=auth(world.tokens["clerk_a"]),
        )
    # The petitioner rates on 11-28 (their page), after the clerk recorded 不满意 on 11-25.
    clock.set(datetime.fromisoformat("2026-11-28T10:00:00+08:00"))
    c = portal(app)
    r = await c.post("/public/api/lookup", json={"code": code_a, "factor": "002X"})
    r = await c.post(
        "/public/api/evaluation", json={"ticket": r.json()["ticket"], "satisfaction": "satisfied"}
    )
    assert r.status_code == 200, r.text
    clock.set(datetime.fromisoformat("2026-12-01T10:00:00+08:00"))
    review = await client.get(
        "/api/reports/review", params={"month": "2026-11"}, headers=auth(world.tokens["reviewer"])
    )
    current = review.json()["comparison"]["current"]
    assert current["participation_rate"] == round(2 / 3, 4)
    assert current["satisfaction_rate"] == 1.0
    notes = {d["key"]: d["definition"] for d in review.json()["definitions"]}
    assert "信访人本人" in notes["satisfaction_rate"]


async def test_bad_input_on_the_page_is_a_clear_4xx(app: Litestar, world: World) -> None:
    c = portal(app)
    r = await c.post("/public/api/lookup", json={"code": "", "factor": ""})
    assert r.status_code == 400
    r = await c.post("/public/api/lookup", json={"code": "x" * 41, "factor": "1"})
    assert r.status_code == 400
    r = await page_lookup(c, "", "")
    assert r.status_code == 400 and "请填写查询码" in r.text
    r = await c.get("/public/documents/1/file.pdf", params={"ticket": "1.1.x"})
    assert r.status_code == 400
    await asyncio.sleep(0)
