"""The dispute screening ledger through the API, on both databases: a village's entry escalated
to its township and turned into a petition whose case shows the entry; who reads and who keeps
an entry; the risk rule; sealed parties; a sensitive period's missed check-in reaching the
leader's DingTalk group; the monthly table against an independent count; two conversions of
one entry at once."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.context import FixedClock
from reception.ledger.models import LedgerEntry, LedgerParty
from reception.notify import jobs
from reception.notify.models import OutboxEvent
from tests.builders import OTHER_ID, VALID_ID, World, build_world, case_body
from tests.conftest import assert_problem, auth
from tests.test_notify import Receiver, endpoint, run


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


@pytest.fixture
def receiver() -> Any:
    r = Receiver()
    yield r
    r.server.shutdown()


def entry_body(w: World, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "found_on": "2026-11-20",
        "found_by_unit_id": w.village_a,
        "how_found": "screening",
        "domain": "wages",
        "summary": "某建筑工地拖欠农民工工资约二十万元,工人多次到村委会反映",
        "parties": [
            {"name": "王大成", "id_number": VALID_ID, "phone": "13912345678"},
            {"name": "赵某某建筑公司"},
        ],
        "unit_id": w.village_a,
        "stability_leader_id": w.leaders["township_a"],
        "resolution_leader_id": w.leaders["township_a"],
        "target_on": "2026-12-31",
        "people_count": 12,
        "amount_disputed": 200_000,
        "risk": "serious",
        "plan": "镇劳动保障所约谈总包单位,一周内拿出支付方案",
    }
    body.update(extra)
    return body


async def new_entry(
    client: httpx.AsyncClient, w: World, who: str = "clerk_a", **extra: object
) -> dict[str, Any]:
    r = await client.post("/api/ledger", json=entry_body(w, **extra), headers=auth(w.tokens[who]))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_a_village_entry_is_escalated_then_turned_into_a_petition_that_shows_it(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    e = await new_entry(client, world)
    assert e["reference"].startswith("蓟矛〔2026〕") and e["status"] == "open"
    assert e["risk_label"] == "较大" and e["unit_name"] == "小杨家庄村"
    # Review date: 5 working days (较大) after the day it was entered (Tue 2026-12-01).
    assert e["review_on"] == "2026-12-08" and not e["overdue"]
    assert [p["name"] for p in e["parties_shown"]] == ["王大成", "赵某某建筑公司"]
    assert e["parties_shown"][0]["id_number"] == VALID_ID and not e["masked"]
    assert [m["label"] for m in e["moves"]] == ["建账"]
    tag = (await client.get(f"/api/ledger/{e['id']}", headers=clerk)).headers["etag"]

    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "escalate", "note": "村调解不成,工人扬言集体到区上访", "on": "2026-11-25"},
        headers={**clerk, "If-Match": tag},
    )
    assert r.status_code == 200, r.text
    up = r.json()["entry"]
    assert up["unit_name"] == "下仓镇" and up["found_by_unit"] == "小杨家庄村"
    assert up["moves"][-1]["label"] == "升级"
    assert up["moves"][-1]["from_unit"] == "小杨家庄村" and up["moves"][-1]["to_unit"] == "下仓镇"
    # The tag read before the escalation is stale now.
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "follow_up", "note": "再次约谈"},
        headers={**clerk, "If-Match": tag},
    )
    assert_problem(r, 412)

    # An earlier petition of the same man: the conversion's repeat check finds it.
    earlier = await client.post(
        "/api/cases",
        json=case_body(world, petitioners=[{"name": "王大成", "id_number": VALID_ID}],
                       category="wages", summary="工地拖欠工资"),
        headers=clerk,
    )  # fmt: skip
    assert earlier.status_code == 201, earlier.text
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "convert", "channel": "visit", "on": "2026-11-30", "note": "工人到镇来访"},
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["entry"]["status"] == "converted" and done["entry"]["closed_on"] == "2026-11-30"
    assert done["entry"]["case_reference"] == done["case_reference"]
    assert [c["case_id"] for c in done["repeat_candidates"]] == [earlier.json()["id"]]
    case = (await client.get(f"/api/cases/{done['case_id']}", headers=clerk)).json()
    assert case["received_on"] == "2026-11-30" and case["category"] == "wages"
    assert case["unit_id"] == world.township_a and case["people_count"] == 12
    assert sorted(p["name"] for p in case["petitioners"]) == ["王大成", "赵某某建筑公司"]
    # Linked both ways: the case tells the entry it came from.
    r = await client.get(f"/api/cases/{done['case_id']}/ledger", headers=clerk)
    assert r.status_code == 200 and r.json()["reference"] == e["reference"]
    r = await client.get(f"/api/cases/{earlier.json()['id']}/ledger", headers=clerk)
    assert r.status_code == 200 and r.json() is None
    # Closed: no move is left.
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "resolve", "method": "agreement"},
        headers=clerk,
    )
    assert_problem(r, 409)


async def test_who_reads_and_who_keeps_an_entry(client: httpx.AsyncClient, world: World) -> None:
    e = await new_entry(client, world)
    # A clerk of another township: 404, as for no entry; the district clerk reads and keeps.
    r = await client.post(
        "/api/users",
        json={"name": "邦某记", "role": "clerk", "unit_id": world.township_b},
        headers=auth(world.tokens["secadmin"]),
    )
    assert r.status_code == 201, r.text
    token = (
        await client.post(
            f"/api/users/{r.json()['id']}/tokens", headers=auth(world.tokens["secadmin"])
        )
    ).json()["token"]
    assert (await client.get(f"/api/ledger/{e['id']}", headers=auth(token))).status_code == 404
    listing = (await client.get("/api/ledger", headers=auth(token))).json()
    assert listing["total"] == 0
    r = await client.post(
        f"/api/ledger/{e['id']}/moves", json={"move": "follow_up", "note": "x"}, headers=auth(token)
    )
    assert_problem(r, 404)
    # Nor may he open one for a unit outside his township.
    r = await client.post("/api/ledger", json=entry_body(world), headers=auth(token))
    assert_problem(r, 422)
    assert (
        await client.get(f"/api/ledger/{e['id']}", headers=auth(world.tokens["clerk_district"]))
    ).status_code == 200
    # The reviewer reads, masked; cannot keep.
    r = await client.get(f"/api/ledger/{e['id']}", headers=auth(world.tokens["reviewer"]))
    assert r.status_code == 200 and r.json()["masked"]
    assert r.json()["parties_shown"][0]["name"] == "王*成"
    assert r.json()["parties_shown"][0]["id_number"] != VALID_ID and r.json()["allowed_moves"] == []
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "follow_up", "note": "x"},
        headers=auth(world.tokens["reviewer"]),
    )
    assert_problem(r, 403)
    # The mayor is nobody's 稳控/化解责任人 here: he does not see it; once he is, he does.
    mayor = auth(world.tokens["leader"])
    assert (await client.get(f"/api/ledger/{e['id']}", headers=mayor)).status_code == 404
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "reassign", "resolution_leader_id": world.leaders["mayor"]},
        headers=auth(world.tokens["clerk_a"]),
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/ledger/{e['id']}", headers=mayor)
    assert r.status_code == 200 and r.json()["resolution_leader"] == "李某乙"
    # The secretary has no ledger.
    r = await client.get("/api/ledger", headers=auth(world.tokens["secretary"]))
    assert_problem(r, 403)
    # The township's clerk, after escalating to the district, still reads what his village
    # found, but keeps it no longer.
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "escalate", "note": "涉及区属国企"},
        headers=auth(world.tokens["clerk_a"]),
    )
    assert r.status_code == 200
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "escalate", "note": "再升级"},
        headers=auth(world.tokens["clerk_a"]),
    )
    assert r.status_code == 200 and r.json()["entry"]["unit_name"] == "蓟州区"
    r = await client.get(f"/api/ledger/{e['id']}", headers=auth(world.tokens["clerk_a"]))
    assert r.status_code == 200 and r.json()["allowed_moves"] == []
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "follow_up", "note": "x"},
        headers=auth(world.tokens["clerk_a"]),
    )
    assert_problem(r, 403)
    # The district is the top: no further up.
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "escalate", "note": "x"},
        headers=auth(world.tokens["clerk_district"]),
    )
    assert "最高一级" in assert_problem(r, 422)["detail"]


async def test_bad_entries_are_refused_and_change_nothing(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    cases = [
        ({"risk": "general", "people_count": 40}, 422, "重大"),
        ({"risk": "serious", "amount_disputed": 2_000_000}, 422, "重大"),
        ({"found_on": "2026-12-02"}, 422, "晚于今天"),
        ({"target_on": "2026-11-01"}, 422, "早于发现日期"),
        ({"domain": "nosuch"}, 422, "没有领域"),
        ({"stability_leader_id": 999_999}, 422, "领导"),
        ({"parties": [{"name": "王", "id_number": "110105194912310021"}]}, 422, "校验码"),
        ({"parties": []}, 400, "parties"),
        ({"amount_disputed": -1}, 400, "不能小于 0"),
        ({"risk": "catastrophic"}, 400, "risk"),
        ({"summary": "   "}, 400, "空格"),
        ({"found_by_unit_id": world.township_b}, 422, "范围"),
    ]
    for change, status, words in cases:
        r = await client.post("/api/ledger", json=entry_body(world, **change), headers=clerk)
        body = assert_problem(r, status)
        assert words in json.dumps(body, ensure_ascii=False), (change, body)
    r = await client.post(
        "/api/ledger", json=entry_body(world), headers=auth(world.tokens["leader"])
    )
    assert_problem(r, 403)
    async with sessionmaker() as s:
        assert (await s.scalars(select(LedgerEntry))).all() == []
    e = await new_entry(client, world)
    for body, status in [
        ({"move": "resolve"}, 422),
        ({"move": "follow_up"}, 422),
        ({"move": "follow_up", "note": "x", "on": "2026-11-01"}, 422),
        ({"move": "follow_up", "note": "x", "risk": "general"}, 422),
        ({"move": "follow_up", "note": "x", "risk": "major"}, 200),
        ({"move": "fly"}, 400),
        ({"move": "reassign"}, 422),
    ]:
        r = await client.post(f"/api/ledger/{e['id']}/moves", json=body, headers=clerk)
        assert r.status_code == status, (body, r.text)
    assert r.status_code == 422


async def test_parties_are_sealed_and_never_in_events(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    e = await new_entry(client, world, risk="major", people_count=40)
    async with sessionmaker() as s:
        party = (await s.scalars(select(LedgerParty).order_by(LedgerParty.position))).first()
        assert party is not None and VALID_ID not in party.id_number_sealed
        assert "13912345678" not in party.phone_sealed and party.id_number_index
        raw = " ".join(
            json.dumps(ev.payload, ensure_ascii=False)
            for ev in (await s.scalars(select(OutboxEvent))).all()
        )
        types = [ev.type for ev in (await s.scalars(select(OutboxEvent))).all()]
    assert "ledger.major_opened" in types
    assert e["reference"] in raw
    for secret in ("王大成", VALID_ID, "13912345678", "拖欠农民工"):
        assert secret not in raw


async def test_a_missed_check_in_reaches_the_leaders_dingtalk_group(
    app: Litestar, client: httpx.AsyncClient, world: World, receiver: Receiver, clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    await endpoint(
        client, world, name="下仓镇党委书记群", kind="dingtalk",
        url=f"{receiver.url}/robot/send?access_token=T", secret="SECxyz",
        scope="leader", leader_id=world.leaders["township_a"],
    )  # fmt: skip
    watched = await new_entry(client, world)
    calm = await new_entry(client, world, risk="general", people_count=2, amount_disputed=0)
    leader_user = await client.post(
        "/api/users",
        json={"name": "周某镇", "role": "leader", "leader_id": world.leaders["township_a"]},
        headers=auth(world.tokens["secadmin"]),
    )
    token = (
        await client.post(
            f"/api/users/{leader_user.json()['id']}/tokens", headers=auth(world.tokens["secadmin"])
        )
    ).json()["token"]
    me = auth(token)
    # No period yet: nothing to report, and a report is refused.
    assert (await client.get("/api/ledger/check-ins/due", headers=me)).json() == []
    r = await client.post(
        f"/api/ledger/{watched['id']}/check-ins", json={"state": "in_control"}, headers=me
    )
    assert "敏感时期" in assert_problem(r, 422)["detail"]
    r = await client.post(
        "/api/sensitive-periods",
        json={"name": "全国两会", "starts_on": "2026-12-01", "ends_on": "2026-12-03"},
        headers=auth(world.tokens["admin"]),
    )
    assert r.status_code == 201, r.text
    assert_problem(
        await client.post(
            "/api/sensitive-periods",
            json={"name": "x", "starts_on": "2026-12-05", "ends_on": "2026-12-04"},
            headers=auth(world.tokens["admin"]),
        ),
        422,
    )
    due = (await client.get("/api/ledger/check-ins/due", headers=me)).json()
    assert [d["id"] for d in due] == [watched["id"]] and not due[0]["checked_in"]
    # Day one: checked in by the 稳控责任人 himself (一般 entries need none).
    r = await client.post(
        f"/api/ledger/{watched['id']}/check-ins", json={"state": "in_control"}, headers=me
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/ledger/{calm['id']}/check-ins", json={"state": "in_control"}, headers=me
    )
    assert_problem(r, 422)
    assert (await client.get("/api/ledger/check-ins/due", headers=me)).json()[0]["checked_in"]
    # Another leader is not its 稳控责任人.
    r = await client.post(
        f"/api/ledger/{watched['id']}/check-ins",
        json={"state": "in_control"},
        headers=auth(world.tokens["leader"]),
    )
    assert_problem(r, 404)
    # Day two goes by without one; the job the morning after escalates it, once.
    clock.set(datetime.fromisoformat("2026-12-03T08:00:00+08:00"))
    async with sessionmaker() as s:
        done = await jobs.daily(s, app.state.ctx)
        again = await jobs.daily(s, app.state.ctx)
        await s.commit()
    assert done.missed_check_ins == 1 and again.missed_check_ins == 0
    assert await run(app, 2)
    texts = [json.loads(r["body"])["markdown"]["text"] for r in receiver.requests]
    missed = [t for t in texts if "稳控未报" in t]
    assert len(missed) == 1 and watched["reference"] in missed[0] and "12月2日" in missed[0]
    assert "全国两会" in missed[0] and "周某镇" in missed[0]
    assert all("王大成" not in t and "13912345678" not in t for t in texts)
    # Day one was reported: nothing for it.
    clock.set(datetime.fromisoformat("2026-12-02T08:00:00+08:00"))
    async with sessionmaker() as s:
        assert (await jobs.daily(s, app.state.ctx)).missed_check_ins == 0
        await s.rollback()
    # 有异动 needs a word, and tells the group at once.
    clock.set(datetime.fromisoformat("2026-12-03T09:00:00+08:00"))
    r = await client.post(
        f"/api/ledger/{watched['id']}/check-ins", json={"state": "unrest"}, headers=me
    )
    assert_problem(r, 422)
    r = await client.post(
        f"/api/ledger/{watched['id']}/check-ins",
        json={"state": "unrest", "note": "工人聚集在工地门口"},
        headers=me,
    )
    assert r.status_code == 201
    assert await run(app, 2)
    texts = [json.loads(r["body"])["markdown"]["text"] for r in receiver.requests]
    assert any("稳控有异动" in t and watched["reference"] in t for t in texts)
    assert all("工人聚集" not in t for t in texts)
    # A started period cannot be deleted.
    periods = (
        await client.get("/api/sensitive-periods", headers=auth(world.tokens["reviewer"]))
    ).json()
    r = await client.delete(
        f"/api/sensitive-periods/{periods[0]['id']}", headers=auth(world.tokens["admin"])
    )
    assert_problem(r, 409)


async def test_the_monthly_table_equals_an_independent_count(
    client: httpx.AsyncClient, world: World, clock: FixedClock
) -> None:
    """Entries spread over three months, some resolved or converted at random days: the
    table of November (and of the year) equals a count over what the test itself made."""
    rng = random.Random(20201)
    clerk = auth(world.tokens["clerk_district"])
    units = [world.village_a, world.township_a, world.township_b, world.department]
    row_of = {
        world.village_a: world.township_a,
        world.township_a: world.township_a,
        world.township_b: world.township_b,
        world.department: world.department,
    }
    made: list[dict[str, Any]] = []
    for i in range(36):
        found = date(2026, 10, 1) + timedelta(days=rng.randrange(0, 60))
        unit = rng.choice(units)
        domain = rng.choice(["wages", "housing", "land"])
        people = rng.choice([1, 3, 8, 40])
        amount = rng.choice([0, 50_000, 300_000])
        risk = (
            "major"
            if people >= 30
            else "serious"
            if people >= 5 or amount >= 100_000
            else "general"
        )
        e = await new_entry(
            client, world, "clerk_district",
            found_on=found.isoformat(), found_by_unit_id=unit, unit_id=unit, domain=domain,
            people_count=people, amount_disputed=amount, risk=risk,
            parties=[{"name": f"当事人{i}"}],
        )  # fmt: skip
        end = rng.choice(["open", "resolved", "converted"])
        closed = None
        recovered = 0
        if end != "open":
            closed = min(found + timedelta(days=rng.randrange(0, 40)), date(2026, 12, 1))
            body: dict[str, Any] = {
                "move": "resolve" if end == "resolved" else "convert",
                "on": closed.isoformat(),
            }
            if end == "resolved":
                recovered = rng.choice([0, 10_000, 120_000])
                body |= {"method": "agreement", "amount_recovered": recovered}
            r = await client.post(f"/api/ledger/{e['id']}/moves", json=body, headers=clerk)
            assert r.status_code in (200, 201), r.text
        made.append(
            {"found": found, "unit": row_of[unit], "domain": domain, "risk": risk, "people": people,
             "amount": amount, "end": end, "closed": closed, "recovered": recovered}
        )  # fmt: skip

    def count(first: date, last: date, rows: list[dict[str, Any]]) -> dict[str, int]:
        def open_on(m: dict[str, Any], day: date) -> bool:
            return m["found"] <= day and (m["closed"] is None or m["closed"] > day)

        found = [m for m in rows if first <= m["found"] <= last]
        closed = [m for m in rows if m["closed"] and first <= m["closed"] <= last]
        return {
            "found": len(found),
            "found_general": sum(m["risk"] == "general" for m in found),
            "found_serious": sum(m["risk"] == "serious" for m in found),
            "found_major": sum(m["risk"] == "major" for m in found),
            "people": sum(m["people"] for m in found),
            "amount_disputed": sum(m["amount"] for m in found),
            "resolved": sum(m["end"] == "resolved" for m in closed),
            "converted": sum(m["end"] == "converted" for m in closed),
            "amount_recovered": sum(m["recovered"] for m in closed if m["end"] == "resolved"),
            "carried_in": sum(open_on(m, first - timedelta(days=1)) for m in rows),
            "carried_over": sum(open_on(m, last) for m in rows),
        }

    for params, first, last in [
        ({"month": "2026-11"}, date(2026, 11, 1), date(2026, 11, 30)),
        ({"month": "2026-10"}, date(2026, 10, 1), date(2026, 10, 31)),
        ({"year": 2026}, date(2026, 1, 1), date(2026, 12, 31)),
    ]:
        r = await client.get(
            "/api/ledger/table", params=params, headers=auth(world.tokens["reviewer"])
        )
        assert r.status_code == 200, r.text
        table = r.json()
        expected = count(first, last, made)
        assert {k: table["total"][k] for k in expected} == expected, params
        for unit in set(row_of.values()):
            row = next((x for x in table["units"] if x["key"] == str(unit)), None)
            mine = count(first, last, [m for m in made if m["unit"] == unit])
            got = {k: row[k] for k in mine} if row else dict.fromkeys(mine, 0)
            assert got == mine, (params, unit)
        for domain in ("wages", "housing", "land"):
            row = next((x for x in table["domains"] if x["key"] == domain), None)
            mine = count(first, last, [m for m in made if m["domain"] == domain])
            got = {k: row[k] for k in mine} if row else dict.fromkeys(mine, 0)
            assert got == mine, (params, domain)
    # "涉薪 N 件全部化解, 解决拖欠工资 X 元" is the year's table of one domain.
    r = await client.get(
        "/api/ledger/table",
        params={"year": 2026, "domain": "wages"},
        headers=auth(world.tokens["reviewer"]),
    )
    wages = [m for m in made if m["domain"] == "wages"]
    assert r.json()["total"]["found"] == len(wages)
    assert r.json()["total"]["amount_recovered"] == sum(m["recovered"] for m in wages)
    # The township clerk reads his own township's table (by village), not another's.
    r = await client.get(
        "/api/ledger/table", params={"month": "2026-11"}, headers=auth(world.tokens["clerk_a"])
    )
    assert r.status_code == 200 and r.json()["unit"]["name"] == "下仓镇"
    r = await client.get(
        "/api/ledger/table",
        params={"unit_id": world.township_b},
        headers=auth(world.tokens["clerk_a"]),
    )
    assert_problem(r, 422)
    r = await client.get(
        "/api/ledger/table", params={"format": "xlsx"}, headers=auth(world.tokens["reviewer"])
    )
    assert r.status_code == 200 and r.content[:2] == b"PK"


async def test_two_conversions_of_one_entry_at_once_make_one_case(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    backend: str,
) -> None:
    e = await new_entry(client, world)
    clerk = auth(world.tokens["clerk_a"])

    async def convert() -> httpx.Response:
        return await client.post(
            f"/api/ledger/{e['id']}/moves",
            json={"move": "convert", "channel": "visit"},
            headers=clerk,
        )

    answers = await asyncio.gather(*(convert() for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409], [r.text for r in answers]
    async with sessionmaker() as s:
        cases = (await s.execute(text("SELECT count(*) FROM petition_case"))).scalar()
    assert cases == 1


async def test_the_review_counts_the_petitions_foreseen_by_the_ledger(
    client: httpx.AsyncClient, world: World
) -> None:
    """源头预防: of the month's petitions, those whose petitioner was on the ledger before the
    petition was registered — by the entry it was turned from, or by the same ID number."""
    clerk = auth(world.tokens["clerk_district"])
    await new_entry(client, world, "clerk_district")  # 王大成, found 2026-11-20
    later = await new_entry(
        client, world, "clerk_district", found_on="2026-11-28",
        parties=[{"name": "钱某", "id_number": OTHER_ID}],
    )  # fmt: skip
    # 王大成 petitions on 11-25 (after his entry): foreseen. 钱某 petitioned on 11-26, two days
    # before his entry: not foreseen. A stranger: not.
    for who, day in (("王大成", "2026-11-25"), ("钱某", "2026-11-26"), ("孙某", "2026-11-26")):
        id_number = {"王大成": VALID_ID, "钱某": OTHER_ID}.get(who, "")
        r = await client.post(
            "/api/cases",
            json=case_body(world, petitioners=[{"name": who, "id_number": id_number}],
                           received_on=day, on=day),
            headers=clerk,
        )  # fmt: skip
        assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/ledger/{later['id']}/moves",
        json={"move": "convert", "on": "2026-11-30"},
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    r = await client.get(
        "/api/reports/review", params={"month": "2026-11"}, headers=auth(world.tokens["reviewer"])
    )
    assert r.status_code == 200, r.text
    panel = r.json()["ledger_panel"]
    assert panel["petitions"] == 4 and panel["foreseen"] == 2 and panel["converted"] == 1
    assert panel["open"] == 1 and panel["open_by_domain"][0]["name"] == "涉薪"
    assert r.json()["ledger"]["total"]["found"] == 2


async def test_an_entry_entered_wrongly_is_corrected_with_its_history(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    e = await new_entry(client, world)
    # 40 people make it 重大 at least: the correction must say so too.
    r = await client.post(
        f"/api/ledger/{e['id']}/moves", json={"move": "correct", "people_count": 40}, headers=clerk
    )
    assert "重大" in assert_problem(r, 422)["detail"]
    r = await client.post(f"/api/ledger/{e['id']}/moves", json={"move": "correct"}, headers=clerk)
    assert "没有要更正的内容" in assert_problem(r, 422)["detail"]
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "correct", "people_count": 40, "risk": "major", "domain": "housing",
              "summary": "小区业主集体维权", "note": "建账时人数记错"},
        headers=clerk,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    after = r.json()["entry"]
    assert after["people_count"] == 40 and after["risk"] == "major"
    assert after["domain_name"] == "涉房" and after["summary"] == "小区业主集体维权"
    last = after["moves"][-1]
    assert last["label"] == "更正" and last["note"] == "建账时人数记错"
    assert last["changes"]["people_count"] == [12, 40] and last["changes"]["risk"] == [
        "serious",
        "major",
    ]


async def test_ids_and_counts_a_body_names_are_checked(
    client: httpx.AsyncClient, world: World
) -> None:
    """Another township's leader does not exist for a township clerk; parties count towards
    the people the risk rule judges; a correction cannot go below the parties; a sensitive
    period starts today or later."""
    clerk = auth(world.tokens["clerk_a"])
    r = await client.post(
        "/api/ledger",
        json=entry_body(world, stability_leader_id=world.leaders["township_b"]),
        headers=clerk,
    )
    assert "不存在" in assert_problem(r, 422)["detail"]
    thirty = [{"name": f"工人{i}"} for i in range(30)]
    r = await client.post(
        "/api/ledger",
        json=entry_body(world, parties=thirty, people_count=1, risk="serious", amount_disputed=0),
        headers=clerk,
    )
    assert "重大" in assert_problem(r, 422)["detail"]
    e = await new_entry(client, world)  # two parties
    r = await client.post(
        f"/api/ledger/{e['id']}/moves",
        json={"move": "correct", "people_count": 1, "risk": "general", "amount_disputed": 0},
        headers=clerk,
    )
    assert "当事人数" in assert_problem(r, 422)["detail"]
    r = await client.post(
        "/api/sensitive-periods",
        json={"name": "补设", "starts_on": "2026-11-30", "ends_on": "2026-12-10"},
        headers=auth(world.tokens["admin"]),
    )
    assert "早于今天" in assert_problem(r, 422)["detail"]


async def test_an_entry_entered_late_missed_no_day_before_it_was_entered(
    app: Litestar, client: httpx.AsyncClient, world: World, clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    r = await client.post(
        "/api/sensitive-periods",
        json={"name": "全国两会", "starts_on": "2026-12-01", "ends_on": "2026-12-10"},
        headers=auth(world.tokens["admin"]),
    )
    assert r.status_code == 201
    clock.set(datetime.fromisoformat("2026-12-03T15:00:00+08:00"))
    await new_entry(client, world, found_on="2026-11-30")
    # The next morning: only the 3rd (the day it was entered, unreported) was missed.
    clock.set(datetime.fromisoformat("2026-12-04T08:00:00+08:00"))
    async with sessionmaker() as s:
        done = await jobs.daily(s, app.state.ctx)
        await s.flush()
        days = [e.payload["day"] for e in (await s.scalars(select(OutboxEvent))).all()
                if e.type == "reminder.overdue_check_in"]  # fmt: skip
        await s.rollback()
    assert done.missed_check_ins == 1 and days == ["2026-12-03"]
