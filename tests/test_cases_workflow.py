"""A case from registration to resolved, illegal moves, effective dates, 412 on stale ETags,
repeat detection, timeline, campaigns."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders import OTHER_ID, VALID_ID, World, build_world, case_body, served
from tests.conftest import assert_problem, auth


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


def clock(case: dict[str, Any], kind: str, round_: int = 1) -> dict[str, Any]:
    return next(c for c in case["clocks"] if c["kind"] == kind and c["round"] == round_)


async def test_a_case_from_registration_to_resolved(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    r = await client.post("/api/cases", json=case_body(world, people_count=6), headers=clerk)
    assert r.status_code == 201, r.text
    case = r.json()
    cid = case["id"]
    assert (
        case["stage"] == "registered" and case["first_time"] is True and case["collective"] is True
    )
    assert case["petitioners"][0]["name"] == "张小明"  # the clerk handling it sees it whole
    assert case["allowed_actions"] == ["accept", "reject", "divert"]
    etag = r.headers["etag"]

    r = await client.post(
        f"/api/cases/{cid}/ownership",
        json={
            "leader_id": world.leaders["mayor"],
            "plan": "约谈开发商,明确交房时间表",
            "target_date": "2026-12-31",
            "stability_contact": "下仓镇 周某镇",
            "on": "2026-09-17",
        },
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    assert r.json()["leader_name"] == "李某乙" and r.json()["current"] is True

    steps = [
        {"action": "accept", "on": "2026-09-18"},
        {"action": "start", "on": "2026-09-21"},
        {
            "action": "reply",
            "on": "2026-10-30",
            "doc_number": "下仓信复〔2026〕12号",
            "delivery": served("2026-11-02"),
        },
    ]
    for step in steps:
        r = await client.post(f"/api/cases/{cid}/transitions", json=step, headers=clerk)
        assert r.status_code == 200, r.text
    case = r.json()
    assert case["stage"] == "replied"
    assert clock(case, "accept") | {} == clock(case, "accept")
    assert (clock(case, "accept")["current_due"], clock(case, "accept")["on_time"]) == (
        "2026-10-08",
        True,
    )
    # 09-18 + 60 = 11-17 (Tuesday); replied 10-30: on time.
    assert (clock(case, "handle")["current_due"], clock(case, "handle")["on_time"]) == (
        "2026-11-17",
        True,
    )
    # 11-02 + 30 = 12-02 (Wednesday).
    assert clock(case, "review_request")["current_due"] == "2026-12-02"

    r = await client.put(
        f"/api/cases/{cid}/evaluation",
        json={"satisfaction": "basically_satisfied", "on": "2026-11-05"},
        headers=clerk,
    )
    assert (
        r.json()["satisfaction"] == "basically_satisfied"
        and r.json()["evaluated_on"] == "2026-11-05"
    )
    # The owning leader records the resolution of his case.
    r = await client.put(
        f"/api/cases/{cid}/resolution",
        json={
            "resolution": "resolved",
            "on": "2026-11-06",
            "method": "开发商承诺12月交房,签订协议",
            "evidence": "协议书 XC-2026-031",
        },
        headers=auth(world.tokens["leader"]),
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/cases/{cid}/transitions", json={"action": "close", "on": "2026-11-10"}, headers=clerk
    )
    case = r.json()
    assert case["stage"] == "closed" and case["resolution"] == "resolved"
    # A closed case keeps its accountable leader.
    assert case["owner"]["leader_name"] == "李某乙"
    assert r.headers["etag"] != etag

    r = await client.get(f"/api/cases/{cid}/timeline", headers=clerk)
    kinds = [e["kind"] for e in r.json()]
    assert kinds == [
        "registered",
        "ownership.assigned",
        "transition.accept",
        "transition.start",
        "transition.reply",
        "evaluation",
        "resolution",
        "transition.close",
    ]
    reply = r.json()[4]
    assert reply["before"]["stage"] == "in_progress" and reply["after"]["stage"] == "replied"
    assert reply["effective_on"] == "2026-10-30" and reply["actor_name"] == "褚某记"

    r = await client.get(
        f"/api/leaders/{world.leaders['mayor']}/cases", headers=auth(world.tokens["leader"])
    )
    (owned,) = r.json()
    assert owned["reference"] == case["reference"] and owned["stage"] == "closed"
    # The petitioner's own 复查 window (to 12-02) is not a deadline of the office's.
    assert owned["resolution"] == "resolved" and owned["next_due"] is None


async def test_illegal_moves_and_bad_dates(client: httpx.AsyncClient, world: World) -> None:
    clerk = auth(world.tokens["clerk_a"])
    cid = (await client.post("/api/cases", json=case_body(world), headers=clerk)).json()["id"]
    url = f"/api/cases/{cid}/transitions"
    problem = assert_problem(
        await client.post(url, json={"action": "reply", "doc_number": "1"}, headers=clerk), 409
    )
    assert problem["allowed"] == ["accept", "reject", "divert"] and problem["stage"] == "registered"
    assert_problem(await client.post(url, json={"action": "fly"}, headers=clerk), 400)
    assert_problem(
        await client.post(url, json={"action": "accept", "on": "2099-01-01"}, headers=clerk), 422
    )
    problem = assert_problem(
        await client.post(url, json={"action": "accept", "on": "2026-09-01"}, headers=clerk), 422
    )
    assert "早于" in problem["detail"]
    assert_problem(await client.post(url, json={"action": "reject"}, headers=clerk), 422)
    assert_problem(await client.post(url, json={"action": "divert"}, headers=clerk), 422)
    r = await client.post(
        url, json={"action": "divert", "procedure": "litigation", "on": "2026-09-20"}, headers=clerk
    )
    assert r.json()["stage"] == "diverted" and r.json()["diverted_to"] == "litigation"
    assert r.json()["allowed_actions"] == ["close"]
    r = await client.get(f"/api/cases/{cid}/timeline", headers=clerk)
    assert [e["kind"] for e in r.json()] == ["registered", "transition.divert"]


async def test_stale_etag_is_412(client: httpx.AsyncClient, world: World) -> None:
    clerk = auth(world.tokens["clerk_a"])
    r = await client.post("/api/cases", json=case_body(world), headers=clerk)
    cid, first = r.json()["id"], r.headers["etag"]
    r = await client.patch(
        f"/api/cases/{cid}", json={"summary": "补充:涉及30户"}, headers={**clerk, "If-Match": first}
    )
    assert r.status_code == 200, r.text
    second = r.headers["etag"]
    problem = assert_problem(
        await client.post(
            f"/api/cases/{cid}/transitions",
            json={"action": "accept", "on": "2026-09-17"},
            headers={**clerk, "If-Match": first},
        ),
        412,
    )
    assert problem["current_etag"] == second
    assert_problem(
        await client.patch(
            f"/api/cases/{cid}", json={"summary": "x"}, headers={**clerk, "If-Match": first}
        ),
        412,
    )
    r = await client.get(f"/api/cases/{cid}", headers=clerk)
    assert r.json()["summary"] == "补充:涉及30户" and r.json()["stage"] == "registered"
    r = await client.post(
        f"/api/cases/{cid}/transitions",
        json={"action": "accept", "on": "2026-09-17"},
        headers={**clerk, "If-Match": second},
    )
    assert r.status_code == 200


async def test_repeat_detection_and_confirmation(client: httpx.AsyncClient, world: World) -> None:
    clerk = auth(world.tokens["clerk_district"])
    first = (await client.post("/api/cases", json=case_body(world), headers=clerk)).json()
    other_person = case_body(world, petitioners=[{"name": "李大华", "id_number": OTHER_ID}])
    await client.post("/api/cases", json=other_person, headers=clerk)

    # Same ID number, same category: a candidate.
    again = case_body(
        world,
        received_on="2026-10-20",
        on="2026-10-20",
        petitioners=[{"name": "张小明", "id_number": VALID_ID}],
    )
    r = await client.post("/api/cases", json=again, headers=clerk)
    second = r.json()
    (candidate,) = second["repeat_candidates"]
    assert candidate["case_id"] == first["id"]
    assert {"同一信访人", "同一类别", "同一责任单位"} <= set(candidate["reasons"])
    assert second["first_time"] is True  # until the clerk confirms
    r = await client.patch(
        f"/api/cases/{second['id']}", json={"repeat_of": first["id"]}, headers=clerk
    )
    assert r.json()["first_time"] is False and r.json()["repeat_of"] == first["id"]

    # Name + phone, different category and unit, similar summary: still a candidate.
    r = await client.post(
        "/api/cases/repeat-check",
        json={
            "petitioners": [{"name": "张小明", "phone": "13812345678"}],
            "category": "other",
            "unit_id": world.department,
            "summary": "龙府壹号小区逾期交房,要求开发商尽快履约交付",
        },
        headers=clerk,
    )
    # (The second case gave no phone, so name + phone does not identify its petitioner.)
    assert {c["case_id"] for c in r.json()} == {first["id"]}
    assert any("事项相似" in reason for reason in r.json()[0]["reasons"])
    # Same person, unrelated matter: no candidate.
    r = await client.post(
        "/api/cases/repeat-check",
        json={
            "petitioners": [{"name": "张小明", "id_number": VALID_ID}],
            "category": "veterans",
            "unit_id": world.department,
            "summary": "退役安置待遇",
        },
        headers=clerk,
    )
    assert r.json() == []
    r = await client.get("/api/cases?first_time=false", headers=clerk)
    assert [c["id"] for c in r.json()["items"]] == [second["id"]]


async def test_after_re_review_the_matter_is_not_accepted_again(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    cid = (
        await client.post(
            "/api/cases",
            json=case_body(world, received_on="2026-08-03", on="2026-08-03"),
            headers=clerk,
        )
    ).json()["id"]
    for step in [
        {"action": "accept", "on": "2026-08-04"},
        {
            "action": "reply",
            "on": "2026-09-01",
            "doc_number": "1号",
            "delivery": served("2026-09-03", "mail"),
        },
        {"action": "request_review", "on": "2026-09-10"},
        {"action": "decide_review", "on": "2026-10-09"},
        {"action": "request_re_review", "on": "2026-10-12"},
        {"action": "decide_re_review", "on": "2026-11-09"},
        {"action": "close", "on": "2026-11-10"},
    ]:
        r = await client.post(f"/api/cases/{cid}/transitions", json=step, headers=clerk)
        assert r.status_code == 200, (step, r.text)
    assert r.json()["allowed_actions"] == []
    new = (
        await client.post(
            "/api/cases",
            json=case_body(world, received_on="2026-11-20", on="2026-11-20", repeat_of=cid),
            headers=clerk,
        )
    ).json()
    assert new["allowed_actions"] == ["reject", "divert"]
    problem = assert_problem(
        await client.post(
            f"/api/cases/{new['id']}/transitions", json={"action": "accept"}, headers=clerk
        ),
        409,
    )
    assert "不再受理" in problem["detail"]


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({"channel": "fax"}, 400, "channel"),
        ({"category": "unknown"}, 422, "category"),
        ({"unit_id": 9999}, 422, "unit_id"),
        ({"petitioners": []}, 400, "petitioners"),
        (
            {"petitioners": [{"name": "张三", "id_number": "120225198001011231"}]},
            422,
            "petitioners[0].id_number",
        ),
        ({"received_on": "2026-02-30"}, 400, "received_on"),
        ({"on": "2026-09-15"}, 422, "on"),  # before it was received
        ({"repeat_of": 9999}, 422, "repeat_of"),
        ({"people_count": 0}, 400, "people_count"),
    ],
)
async def test_bad_registrations_write_nothing(
    client: httpx.AsyncClient, world: World, extra: dict[str, Any], status: int, field: str
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    problem = assert_problem(
        await client.post("/api/cases", json=case_body(world, **extra), headers=clerk), status
    )
    assert field in {e["field"] for e in problem["errors"]}, problem
    r = await client.get("/api/cases", headers=auth(world.tokens["admin"]))
    assert r.json()["total"] == 0
    # And the reference sequence was not used up.
    r = await client.post("/api/cases", json=case_body(world), headers=clerk)
    assert r.json()["reference"] == "蓟信〔2026〕00001"


async def test_campaign_progress_against_dated_targets(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_district"])
    ids = []
    for i in range(5):
        r = await client.post(
            "/api/cases",
            json=case_body(world, received_on="2020-09-01", on="2020-09-01", summary=f"积案{i}"),
            headers=clerk,
        )
        ids.append(r.json()["id"])
    r = await client.post(
        "/api/campaigns",
        json={
            "name": "重复信访治理和积案化解专项",
            "case_ids": ids,
            "targets": [
                {"due_on": "2020-12-31", "percent": 32},
                {"due_on": "2021-07-01", "percent": 80},
                {"due_on": "2021-12-31", "percent": 100},
            ],
        },
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    campaign = r.json()["id"]
    for i, day in [(0, "2020-11-20"), (1, "2020-12-10"), (2, "2021-06-01")]:
        await client.post(
            f"/api/cases/{ids[i]}/transitions",
            json={"action": "accept", "on": "2020-09-02"},
            headers=clerk,
        )
        r = await client.put(
            f"/api/cases/{ids[i]}/resolution",
            json={"resolution": "resolved" if i else "ceased", "on": day, "method": "包案化解"},
            headers=clerk,
        )
        assert r.status_code == 200, r.text

    async def progress(as_of: str) -> dict[str, Any]:
        r = await client.get(
            f"/api/campaigns/{campaign}?as_of={as_of}", headers=auth(world.tokens["reviewer"])
        )
        return r.json()  # type: ignore[no-any-return]

    p = await progress("2020-11-30")
    assert (p["resolved"], p["total"], p["target_in_force"], p["status"]) == (
        1,
        5,
        None,
        "no target due yet",
    )
    p = await progress("2020-12-31")
    # 2 of 5 = 40% ≥ 32%.
    assert (p["resolved"], p["share"], p["target_in_force"]["percent"], p["on_track"]) == (
        2,
        0.4,
        32,
        True,
    )
    p = await progress("2021-07-01")
    # 3 of 5 = 60% < 80%: behind.
    assert (p["resolved"], p["share"], p["target_in_force"]["percent"], p["status"]) == (
        3,
        0.6,
        80,
        "behind",
    )
    assert p["next_target"] == {"due_on": "2021-12-31", "percent": 100}
    bad = {
        "name": "x",
        "targets": [
            {"due_on": "2021-01-01", "percent": 80},
            {"due_on": "2021-06-01", "percent": 50},
        ],
    }
    assert_problem(await client.post("/api/campaigns", json=bad, headers=clerk), 422)


async def test_a_repeat_is_the_same_petitioners_and_复查_waits_for_delivery(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    first = (await client.post("/api/cases", json=case_body(world), headers=clerk)).json()
    stranger = case_body(
        world, petitioners=[{"name": "钱多多", "phone": "13900001111"}], repeat_of=first["id"]
    )
    problem = assert_problem(await client.post("/api/cases", json=stranger, headers=clerk), 422)
    assert problem["errors"][0]["field"] == "repeat_of" and "同一信访人" in problem["detail"]
    # The same person by phone and name (no ID number given) is a repeat.
    same = case_body(
        world, petitioners=[{"name": "张小明", "phone": "138 1234 5678"}], repeat_of=first["id"]
    )
    assert (await client.post("/api/cases", json=same, headers=clerk)).status_code == 201

    cid = first["id"]
    for step in (
        {"action": "accept", "on": "2026-09-21"},
        {"action": "reply", "on": "2026-10-09", "doc_number": "蓟信复〔2026〕9号"},
    ):
        r = await client.post(f"/api/cases/{cid}/transitions", json=step, headers=clerk)
        assert r.status_code == 200, r.text
    # Not delivered yet: the petitioner's 30 days have not begun, so no 复查 request.
    assert "request_review" not in r.json()["allowed_actions"]
    problem = assert_problem(
        await client.post(
            f"/api/cases/{cid}/transitions", json={"action": "request_review"}, headers=clerk
        ),
        409,
    )
    assert "送达" in problem["detail"] and "申请复查" not in problem["detail"].split("现在可以")[1]
    # Every case write is in the office's audit log as well as on the case's timeline.
    r = await client.get(
        f"/api/audit?target_type=petition_case&target_id={cid}",
        headers=auth(world.tokens["auditor"]),
    )
    actions = [e["action"] for e in r.json()["items"] if e["action"] != "pii.read"]
    assert actions == ["case.transition.reply", "case.transition.accept", "case.registered"]
    # … and the clerk's reads of the petitioner's whole ID number and phone, apart.
    assert "pii.read" in {e["action"] for e in r.json()["items"]}
