"""联席会议 and 督办 through the API, on both databases: a conference takes up a case and a ledger
entry; a decision goes out as a 督办单 to the owner unit's group; the owner reports, the
secretary presses and closes, every step dated, audited and on the case's timeline; a decision
past its deadline is 空转 on the case page and in the review, and the daily job escalates it."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import docx
import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.context import FixedClock
from reception.notify import jobs
from reception.supervision.models import Decision
from tests.builders import World, build_world, case_body
from tests.conftest import assert_problem, auth
from tests.test_ledger_api import new_entry
from tests.test_notify import Receiver, endpoint, run


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


@pytest.fixture
def receiver() -> Any:
    r = Receiver()
    yield r
    r.server.shutdown()


async def conference(
    client: httpx.AsyncClient, w: World, **extra: object
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    case = (
        await client.post("/api/cases", json=case_body(w), headers=auth(w.tokens["clerk_a"]))
    ).json()
    entry = await new_entry(client, w)
    body: dict[str, object] = {
        "held_on": "2026-11-27",
        "title": "2026年第11次信访工作联席会议",
        "convener_leader_id": w.leaders["mayor"],
        "unit_ids": [w.township_a, w.department],
        "notes": "研究龙府壹号逾期交房和工地欠薪两件事",
        "matters": [{"case_id": case["id"]}, {"ledger_entry_id": entry["id"]}],
        **extra,
    }
    r = await client.post("/api/conferences", json=body, headers=auth(w.tokens["reviewer"]))
    assert r.status_code == 201, r.text
    return r.json(), case, entry


def decision_body(c: dict[str, Any], w: World, **extra: object) -> dict[str, object]:
    return {
        "matter_id": c["matters"][0]["id"],
        "owner_unit_id": w.township_a,
        "content": "由下仓镇牵头,会同区住建委约谈开发商,制定交房方案",
        "done_criteria": "开发商书面承诺交房日期并报区住建委备案",
        "deadline": "2026-12-10",
        **extra,
    }


async def test_a_decision_goes_out_is_reported_pressed_and_closed(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await endpoint(
        client, world, name="下仓镇信访办群", kind="dingtalk",
        url=f"{receiver.url}/robot/send?access_token=T", secret="SECxyz",
        scope="unit", unit_id=world.township_a,
    )  # fmt: skip
    c, case, entry = await conference(client, world)
    assert [m["reference"] for m in c["matters"]] == [case["reference"], entry["reference"]]
    reviewer = auth(world.tokens["reviewer"])
    clerk = auth(world.tokens["clerk_a"])
    url = f"/api/conferences/{c['id']}/decisions"
    # A deadline on or before the meeting, a matter of another conference, a clerk: refused.
    assert_problem(
        await client.post(
            url, json=decision_body(c, world, deadline="2026-11-27"), headers=reviewer
        ),
        422,
    )
    assert_problem(
        await client.post(url, json=decision_body(c, world, matter_id=99999), headers=reviewer), 422
    )
    assert_problem(await client.post(url, json=decision_body(c, world), headers=clerk), 403)
    r = await client.post(url, json=decision_body(c, world), headers=reviewer)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["number"] == "蓟信督〔2026〕1号" and d["status"] == "open" and not d["stalled"]
    second = await client.post(
        url,
        json=decision_body(
            c, world, matter_id=c["matters"][1]["id"], owner_unit_id=world.department
        ),
        headers=reviewer,
    )
    assert second.json()["number"] == "蓟信督〔2026〕2号"
    # The 督办单 as issued: the national layout's number, the unit, the deadline; no petitioner.
    r = await client.get(f"/api/decisions/{d['id']}/notice", headers=clerk)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs)
    assert "蓟信督〔2026〕1号" in text and "下仓镇：" in text and "2026年12月10日" in text
    assert "信访事项督办通知" in text and "张小明" not in text
    # The township's group is told; the department's decision is not the township clerk's.
    assert await run(app)
    texts = [json.loads(x["body"])["markdown"]["text"] for x in receiver.requests]
    assert any("联席会议督办" in t and "蓟信督〔2026〕1号" in t for t in texts), texts
    assert all("张小明" not in t for t in texts)
    assert_problem(await client.get(f"/api/decisions/{second.json()['id']}", headers=clerk), 404)
    # The clerk reads the conference, but of its matters only his own (not the department's).
    seen = (await client.get(f"/api/conferences/{c['id']}", headers=clerk)).json()
    assert [m["reference"] for m in seen["matters"]] == [case["reference"]]
    assert seen["notes"] == "" and len(seen["decisions"]) == 1
    mine = (await client.get("/api/decisions", headers=clerk)).json()
    assert [x["id"] for x in mine["items"]] == [d["id"]]
    # The owner reports; the secretary presses (back to 办理中), the owner reports again, closed.
    steps = f"/api/decisions/{d['id']}/steps"
    assert_problem(await client.post(steps, json={"kind": "close"}, headers=reviewer), 409)
    assert_problem(
        await client.post(steps, json={"kind": "report", "note": "x"}, headers=reviewer), 403
    )
    assert_problem(
        await client.post(steps, json={"kind": "report", "note": " "}, headers=clerk), 422
    )
    r = await client.post(steps, json={"kind": "report", "note": "已约谈开发商"}, headers=clerk)
    assert r.json()["status"] == "reported"
    r = await client.post(
        steps, json={"kind": "press", "note": "未见书面承诺,请补报"}, headers=reviewer
    )
    assert r.json()["status"] == "open" and r.json()["pressed"] == 1
    await client.post(steps, json={"kind": "report", "note": "书面承诺已备案"}, headers=clerk)
    r = await client.post(steps, json={"kind": "close"}, headers=reviewer)
    assert r.json()["status"] == "closed" and r.json()["closed_on"] == "2026-12-01"
    assert [s["kind"] for s in r.json()["steps"]] == ["report", "press", "report", "close"]
    assert_problem(
        await client.post(steps, json={"kind": "press", "note": "x"}, headers=reviewer), 409
    )
    timeline = (await client.get(f"/api/cases/{case['id']}/timeline", headers=clerk)).json()
    assert [e["kind"] for e in timeline if e["kind"].startswith("decision.")] == [
        "decision.made", "decision.report", "decision.press", "decision.report", "decision.close",
    ]  # fmt: skip
    async with sessionmaker() as s:
        actions = [
            a.action
            for a in await s.scalars(
                select(AuditEvent)
                .where(AuditEvent.target_type == "decision")
                .order_by(AuditEvent.id)
            )
        ]
    assert actions[:2] == ["conference.decision", "conference.decision"]
    assert actions[2:] == ["decision.report", "decision.press", "decision.report", "decision.close"]


async def test_a_decision_past_its_deadline_is_stalled_on_the_case_and_in_the_review(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    c, case, _ = await conference(client, world)
    reviewer = auth(world.tokens["reviewer"])
    r = await client.post(
        f"/api/conferences/{c['id']}/decisions", json=decision_body(c, world), headers=reviewer
    )
    d = r.json()
    clock.set(datetime.fromisoformat("2026-12-11T09:00:00+08:00"))
    r = await client.get(f"/api/decisions/{d['id']}", headers=reviewer)
    assert r.json()["stalled"]
    stalled = (await client.get("/api/decisions?stalled=true", headers=reviewer)).json()
    assert [x["id"] for x in stalled["items"]] == [d["id"]]
    review = (
        await client.get("/api/reports/review?month=2026-12&as_of=2026-12-11", headers=reviewer)
    ).json()
    assert [x["number"] for x in review["conferences"]["stalled"]] == [d["number"]]
    assert review["conferences"]["stalled"][0]["days_over"] == 1
    # On its deadline day it was not yet 空转; November's review (as of its end) held the meeting.
    review = (
        await client.get("/api/reports/review?month=2026-12&as_of=2026-12-10", headers=reviewer)
    ).json()
    assert review["conferences"]["stalled"] == []
    november = (await client.get("/api/reports/review?month=2026-11", headers=reviewer)).json()
    assert november["conferences"]["conferences"] == 1 and november["conferences"]["decisions"] == 1
    async with sessionmaker() as s:
        done = await jobs.daily(s, app.state.ctx)
        again = await jobs.daily(s, app.state.ctx)
        await s.commit()
    assert done.decisions_overdue == 1 and again.decisions_overdue == 0
    # The case page's section flags it (the console's section reads the same decisions).
    clerk = auth(world.tokens["clerk_a"])
    listed = (await client.get(f"/api/decisions?case_id={case['id']}", headers=clerk)).json()
    assert listed["items"][0]["stalled"]
    # The owner reports (dated the day he does: no day chosen): no longer 空转 — waiting for
    # the secretary is not the unit's delay; pressed back, it is 空转 again.
    steps = f"/api/decisions/{d['id']}/steps"
    r = await client.post(
        steps, json={"kind": "report", "note": "已约谈", "on": "2026-12-09"}, headers=clerk
    )
    assert "报告当天" in assert_problem(r, 422)["detail"]
    r = await client.post(steps, json={"kind": "report", "note": "已约谈"}, headers=clerk)
    assert not r.json()["stalled"]
    r = await client.post(steps, json={"kind": "press", "note": "请补书面承诺"}, headers=reviewer)
    assert r.json()["stalled"]


async def test_bad_conferences_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reviewer = auth(world.tokens["reviewer"])
    case = (
        await client.post(
            "/api/cases", json=case_body(world), headers=auth(world.tokens["clerk_a"])
        )
    ).json()
    base: dict[str, object] = {
        "held_on": "2026-11-27", "title": "联席会议", "convener_leader_id": world.leaders["mayor"],
        "matters": [{"case_id": case["id"]}],
    }  # fmt: skip
    for bad, status in (
        ({"held_on": "2026-12-02"}, 422),  # not held yet
        ({"matters": [{"case_id": case["id"], "ledger_entry_id": 1}]}, 422),
        ({"matters": [{}]}, 422),
        ({"matters": [{"case_id": 99999}]}, 422),
        ({"matters": [{"case_id": case["id"]}, {"case_id": case["id"]}]}, 422),
        ({"unit_ids": [99999]}, 422),
        ({"convener_leader_id": 99999}, 422),
        ({"title": " "}, 400),
        ({"matters": []}, 400),
    ):
        r = await client.post("/api/conferences", json={**base, **bad}, headers=reviewer)
        assert r.status_code == status, (bad, r.text)
    for role in ("clerk_a", "leader", "secretary", "auditor"):
        r = await client.post("/api/conferences", json=base, headers=auth(world.tokens[role]))
        assert r.status_code == 403, role
    assert (await client.get("/api/conferences", headers=reviewer)).json()["total"] == 0
    async with sessionmaker() as s:
        assert (await s.scalars(select(Decision))).all() == []
