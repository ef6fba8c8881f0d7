"""送达 as one record: whichever route enters it (the case page's 送达, the console's 登记送达
of a notice, the `deliver` transition, a notice's API route), the same row of case_delivery,
the same case state and the same figure in the monthly review; the rules of each method; the
evidence kept sealed for the handlers; one delivery per notice under concurrent requests.

The cases: received and registered 2026-09-16 (下仓镇), accepted 09-21 (handle due 11-20);
"today" is 2026-12-01."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import date
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.cases.models import CaseClock, CaseDelivery
from tests.builders import World, build_world, case_body, give_passwords, served
from tests.conftest import assert_problem, auth
from tests.console import Console
from tests.live import serve

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Late: after the handling period's due date (11-20), by registered mail.
LATE_BY_MAIL = served("2026-11-23", "mail", recipient="张小明", mail_number="1190012345678")
# What a row says of the delivery itself (not of the case or the moment it was written).
SAME = (
    "method", "method_label", "outcome", "delivered_on", "place", "recipient",
    "no_recipient_reason", "witnesses", "entrusted_to", "mail_number", "consent", "carrier",
    "posted_on", "failure_reason", "note", "staff_name", "has_evidence",
)  # fmt: skip


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


def clerk(world: World) -> dict[str, str]:
    return auth(world.tokens["clerk_a"])


async def _replied(client: httpx.AsyncClient, world: World) -> tuple[int, dict[str, Any]]:
    """A case accepted 09-21 whose 处理意见书 was issued 11-18 (that is the reply)."""
    r = await client.post("/api/cases", json=case_body(world), headers=clerk(world))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await client.post(
        f"/api/cases/{cid}/transitions",
        json={"action": "accept", "on": "2026-09-21"},
        headers=clerk(world),
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/cases/{cid}/documents",
        json={
            "kind": "reply_opinion",
            "on": "2026-11-18",
            "facts": "经核查,开发商已承诺12月底前交房",
            "basis": "《城市房地产开发经营管理条例》",
            "decision": "督促开发商按期交房",
        },
        headers=clerk(world),
    )
    assert r.status_code == 201, r.text
    return cid, r.json()


def _etag(page: str) -> str:
    import html

    found = re.search(r'name="etag" value="([^"]+)"', page)
    assert found
    return html.unescape(found.group(1))


async def test_the_same_delivery_by_any_route_is_one_record_and_one_figure(
    client: httpx.AsyncClient, world: World, browser: Console
) -> None:
    """The clerk enters the same 送达 four ways; the record, the case and the review agree."""
    assert (await browser.sign_in("clerk_a")).status_code == 303
    routes = {}
    # 1. The case page's 送达 step (the console form).
    cid, _ = await _replied(client, world)
    page = await browser.get(f"/cases/{cid}")
    assert 'name="mail_number"' in page.text and 'data-when-method="mail"' in page.text
    r = await browser.post(
        f"/cases/{cid}/act", {"action": "deliver", "etag": _etag(page.text), **LATE_BY_MAIL}
    )
    assert r.status_code == 303, r.text[:2000]
    routes["case page"] = cid
    # 2. The console's 登记送达 of the notice itself.
    cid, reply = await _replied(client, world)
    section = await browser.get(f"/cases/{cid}/documents")
    assert f'action="/documents/{reply["id"]}/delivery"' in section.text
    r = await browser.post(
        f"/documents/{reply['id']}/delivery", {"outcome": "delivered", **LATE_BY_MAIL}
    )
    assert r.status_code == 303, r.text[:2000]
    routes["notice form"] = cid
    # 3. The `deliver` transition of the API.
    cid, _ = await _replied(client, world)
    r = await client.post(
        f"/api/cases/{cid}/transitions",
        json={"action": "deliver", "delivery": LATE_BY_MAIL},
        headers=clerk(world),
    )
    assert r.status_code == 200, r.text
    routes["transition"] = cid
    # 4. The notice's own API route.
    cid, reply = await _replied(client, world)
    r = await client.post(
        f"/api/documents/{reply['id']}/delivery", json=LATE_BY_MAIL, headers=clerk(world)
    )
    assert r.status_code == 201, r.text
    routes["document route"] = cid

    records, cases, listed = {}, {}, {}
    for route, case_id in routes.items():
        rows = (await client.get(f"/api/cases/{case_id}/deliveries", headers=clerk(world))).json()
        assert len(rows) == 1, (route, rows)
        records[route] = {k: rows[0][k] for k in SAME}
        case = (await client.get(f"/api/cases/{case_id}", headers=clerk(world))).json()
        window = next(c for c in case["clocks"] if c["kind"] == "review_request")
        cases[route] = (case["stage"], case["delivery_method"], case["delivered_on"])
        cases[route] += (window["started_on"], window["current_due"])
        docs = (await client.get(f"/api/cases/{case_id}/documents", headers=clerk(world))).json()
        assert docs[0]["delivery"]["delivered_on"] == "2026-11-23", route
    first = records["case page"]
    assert first["method_label"] == "邮寄送达" and first["staff_name"] == "褚某记"
    assert all(r == first for r in records.values()), records
    assert set(cases.values()) == {("replied", "mail", "2026-11-23", "2026-11-23", "2026-12-23")}
    review = (
        await client.get(
            "/api/reports/review",
            params={"month": "2026-11"},
            headers=auth(world.tokens["reviewer"]),
        )
    ).json()
    for entry in review["delivery_irregular"]:
        listed[entry["reference"]] = (
            entry["problem"],
            entry["method"],
            entry["delivered_on"],
            entry["days_overdue"],
        )
    assert len(listed) == 4
    assert set(listed.values()) == {("送达超过办理时限", "邮寄送达", "2026-11-23", 3)}


async def test_a_method_the_law_does_not_know_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, world: World, browser: Console
) -> None:
    cid, reply = await _replied(client, world)
    for url, body in (
        (
            f"/api/cases/{cid}/transitions",
            {"action": "deliver", "delivery_method": "扔在门口", "delivered_on": "2026-11-20"},
        ),
        (
            f"/api/cases/{cid}/transitions",
            {"action": "deliver", "delivery": served("2026-11-20", "扔在门口")},
        ),
        (f"/api/documents/{reply['id']}/delivery", served("2026-11-20", "扔在门口")),
    ):
        problem = assert_problem(await client.post(url, json=body, headers=clerk(world)), 422)
        assert "扔在门口" in problem["detail"]
        for label in ("直接送达", "留置送达", "委托送达", "邮寄送达", "电子送达", "公告送达"):
            assert label in problem["detail"], problem
    # The API's older fields are read the same way: what a 送达 needs besides the method.
    problem = assert_problem(
        await client.post(
            f"/api/cases/{cid}/transitions",
            json={"action": "deliver", "delivery_method": "直接送达", "delivered_on": "2026-11-20"},
            headers=clerk(world),
        ),
        422,
    )
    assert "签收人" in problem["detail"]
    case = (await client.get(f"/api/cases/{cid}", headers=clerk(world))).json()
    assert case["stage"] == "replied" and case["delivered_on"] is None
    assert not [c for c in case["clocks"] if c["kind"] == "review_request"]
    assert (await client.get(f"/api/cases/{cid}/deliveries", headers=clerk(world))).json() == []
    # The console says it beside the field, in Chinese, and keeps what was typed.
    await browser.sign_in("clerk_a")
    page = await browser.get(f"/cases/{cid}")
    r = await browser.post(
        f"/cases/{cid}/act",
        {"action": "deliver", "etag": _etag(page.text), "method": "mail", "on": "2026-11-20",
         "recipient": "张小明"},
    )  # fmt: skip
    assert r.status_code == 422
    assert "邮寄送达须填写邮件单号" in r.text and 'value="张小明"' in r.text


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (served("2026-11-20", "mail", mail_number=""), "mail_number", "邮件单号"),
        (served("2026-11-20", "left", witnesses=""), "witnesses", "见证人"),
        (served("2026-11-20", "entrusted", entrusted_to=""), "entrusted_to", "受委托"),
        (served("2026-11-20", "electronic", consent=""), "consent", "书面同意"),
        (served("2026-11-20", recipient="", place=""), "recipient", "签收人"),
        (served("2026-11-17"), "on", "早于"),
        (served("2026-12-02"), "on", "晚于今天"),
        (served("2026-11-20", "mail", outcome="failed"), "failure_reason", "原因"),
    ],
)
async def test_each_method_needs_its_facts(
    client: httpx.AsyncClient, world: World, body: dict[str, str], field: str, says: str
) -> None:
    _, reply = await _replied(client, world)
    url = f"/api/documents/{reply['id']}/delivery"
    problem = assert_problem(await client.post(url, json=body, headers=clerk(world)), 422)
    assert problem["errors"][0]["field"] == field and says in problem["detail"], problem


async def test_public_notice_only_after_an_attempt_that_failed(
    client: httpx.AsyncClient, world: World
) -> None:
    cid, reply = await _replied(client, world)
    url = f"/api/documents/{reply['id']}/delivery"
    public = {
        "method": "public",
        "on": "2026-11-30",
        "carrier": "下仓镇政府公告栏",
        "posted_on": "2026-11-24",
    }
    problem = assert_problem(
        await client.post(url, json={"method": "public", "on": "2026-11-30"}, headers=clerk(world)),
        422,
    )
    assert {e["field"] for e in problem["errors"]} >= {"carrier", "posted_on"}
    problem = assert_problem(await client.post(url, json=public, headers=clerk(world)), 422)
    assert "未能送达" in problem["detail"]
    # The mailed notice came back: recorded, and the case is still waiting for its 送达.
    failed = served("2026-11-23", "mail", outcome="failed", failure_reason="查无此人,原件退回")
    r = await client.post(url, json=failed, headers=clerk(world))
    assert r.status_code == 201 and r.json()["outcome"] == "failed", r.text
    case = (await client.get(f"/api/cases/{cid}", headers=clerk(world))).json()
    assert case["delivered_on"] is None
    r = await client.post(url, json=public, headers=clerk(world))
    assert r.status_code == 201, r.text
    # Served once: a second delivery of the same notice is a conflict.
    assert_problem(await client.post(url, json=served("2026-11-30"), headers=clerk(world)), 409)
    case = (await client.get(f"/api/cases/{cid}", headers=clerk(world))).json()
    assert case["delivery_method"] == "public" and case["delivered_on"] == "2026-11-30"
    rows = (await client.get(f"/api/cases/{cid}/deliveries", headers=clerk(world))).json()
    assert [(r["method_label"], r["outcome"]) for r in rows] == [
        ("邮寄送达", "failed"),
        ("公告送达", "delivered"),
    ]
    # The timeline says both, in Chinese.
    events = (await client.get(f"/api/cases/{cid}/timeline", headers=clerk(world))).json()
    assert any("查无此人" in e["note"] for e in events)


async def test_the_review_names_what_an_old_record_lacks(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Records from before these rules (carried over by 0014, or imported) are kept as they
    were; the review lists each with the rule it breaks, in Chinese."""
    unknown, _ = await _replied(client, world)
    unsigned, _ = await _replied(client, world)
    proper, _ = await _replied(client, world)
    async with sessionmaker() as s:
        for case_id, extra in (
            (unknown, {"legacy_method": "扔在门口", "recipient": "本人"}),
            (unsigned, {"method": "mail", "mail_number": "", "recipient": ""}),
            (proper, {"recipient": "张小明"}),
        ):
            number = f"蓟信复〔2026〕{[unknown, unsigned, proper].index(case_id) + 1}号"
            s.add(
                CaseDelivery(
                    case_id=case_id,
                    doc_number=number,
                    method=extra.pop("method", "direct"),
                    delivered_on=date(2026, 11, 19),
                    staff_name="(迁移前的记录)",
                    **extra,
                )
            )
        await s.commit()
    review = (
        await client.get(
            "/api/reports/review",
            params={"month": "2026-11"},
            headers=auth(world.tokens["reviewer"]),
        )
    ).json()
    problems = {e["reference"]: e["problem"] for e in review["delivery_irregular"]}
    refs = {
        cid: (await client.get(f"/api/cases/{cid}", headers=clerk(world))).json()["reference"]
        for cid in (unknown, unsigned, proper)
    }
    assert problems[refs[unknown]] == "送达方式不明(原记录:扔在门口)"
    assert problems[refs[unsigned]].startswith("送达记录不全:邮寄送达须填写邮件单号")
    assert "无签收人" in problems[refs[unsigned]]
    assert refs[proper] not in problems
    assert not re.search(r"[a-z]{4,}", "".join(problems.values()))


async def test_evidence_is_sealed_and_shown_to_the_handlers_only(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, reply = await _replied(client, world)
    r = await client.post(
        f"/api/documents/{reply['id']}/delivery", json=served("2026-11-19"), headers=clerk(world)
    )
    assert r.status_code == 201, r.text
    url = f"/api/deliveries/{r.json()['id']}/evidence"
    as_png = {"content-type": "image/png"}
    assert_problem(
        await client.put(
            url, content=b"hello", headers=clerk(world) | {"content-type": "text/plain"}
        ),
        422,
    )
    # Said to be a PNG, but is not one.
    assert_problem(await client.put(url, content=b"GIF89a...", headers=clerk(world) | as_png), 422)
    # Another township's clerk, the reviewer: not theirs to change.
    other = auth(world.tokens["leader"]) | as_png
    assert (await client.put(url, content=PNG, headers=other)).status_code in (403, 404)
    r = await client.put(url, content=PNG, headers=clerk(world) | as_png)
    assert r.status_code == 200 and r.json()["has_evidence"] is True, r.text
    async with sessionmaker() as s:
        row = await s.scalar(select(CaseDelivery))
        assert row is not None and PNG not in row.evidence and row.evidence_checksum
    got = await client.get(url, headers=clerk(world))
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"].startswith("image/png")
    assert_problem(await client.get(url, headers=auth(world.tokens["reviewer"])), 403)
    missing = "/api/deliveries/999999/evidence"
    assert_problem(await client.get(missing, headers=clerk(world)), 404)


async def test_concurrent_deliveries_of_one_notice_record_one(
    database_url: str, app: Litestar, client: httpx.AsyncClient, world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    """Ten clerks register the same notice's 送达 at once (a double-click, two desks): one
    is kept, the others are told it was just registered; one 复查 window."""
    cid, reply = await _replied(client, world)
    with serve(database_url, workers=2) as base:
        async with httpx.AsyncClient(base_url=base, timeout=120) as live:
            responses = await asyncio.gather(
                *(
                    live.post(
                        f"/api/documents/{reply['id']}/delivery",
                        json=served("2026-11-19"),
                        headers=clerk(world),
                    )
                    for _ in range(10)
                )
            )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}, [
        r.text for r in responses
    ][:3]
    async with sessionmaker() as s:
        rows = list(await s.scalars(select(CaseDelivery).where(CaseDelivery.case_id == cid)))
        windows = list(
            await s.scalars(
                select(CaseClock).where(
                    CaseClock.case_id == cid, CaseClock.kind == "review_request"
                )
            )
        )
    assert len(rows) == 1 and len(windows) == 1
