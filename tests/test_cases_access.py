"""Who sees and changes which case; one current owner, enforced by the database under
concurrent requests; links from sessions and appointments."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.cases.models import CaseOwnership
from tests.builders import VALID_ID, World, at, build_world, case_body, future_workday
from tests.conftest import assert_problem, auth
from tests.live import serve


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def test_scope_by_role(client: httpx.AsyncClient, world: World) -> None:
    district = auth(world.tokens["clerk_district"])
    in_a = (await client.post("/api/cases", json=case_body(world), headers=district)).json()
    in_b = (
        await client.post(
            "/api/cases", json=case_body(world, unit_id=world.township_b), headers=district
        )
    ).json()
    clerk_a = auth(world.tokens["clerk_a"])
    r = await client.get("/api/cases", headers=clerk_a)
    assert [c["id"] for c in r.json()["items"]] == [in_a["id"]]
    # Outside his subtree a case does not exist for him.
    assert_problem(await client.get(f"/api/cases/{in_b['id']}", headers=clerk_a), 404)
    assert_problem(
        await client.post(
            f"/api/cases/{in_b['id']}/transitions", json={"action": "accept"}, headers=clerk_a
        ),
        404,
    )
    problem = assert_problem(
        await client.post(
            "/api/cases", json=case_body(world, unit_id=world.township_b), headers=clerk_a
        ),
        422,
    )
    assert problem["errors"][0]["field"] == "unit_id"
    # Lists mask petitioners for everyone but admins.
    assert r.json()["items"][0]["petitioner_names"] == ["张*明"]
    r = await client.get("/api/cases", headers=auth(world.tokens["admin"]))
    assert {c["petitioner_names"][0] for c in r.json()["items"]} == {"张小明"}
    # Reviewer reads all (masked), changes nothing.
    reviewer = auth(world.tokens["reviewer"])
    assert (await client.get("/api/cases", headers=reviewer)).json()["total"] == 2
    r = await client.get(f"/api/cases/{in_a['id']}", headers=reviewer)
    assert (
        r.json()["petitioners"][0]["id_number"] == "1101************2X"
        and r.json()["masked"] is True
    )
    assert_problem(
        await client.post(
            f"/api/cases/{in_a['id']}/transitions", json={"action": "accept"}, headers=reviewer
        ),
        403,
    )
    assert_problem(await client.post("/api/cases", json=case_body(world), headers=reviewer), 403)
    # A leader sees the cases he owns, nothing else.
    leader = auth(world.tokens["leader"])
    assert (await client.get("/api/cases", headers=leader)).json()["total"] == 0
    await client.post(
        f"/api/cases/{in_b['id']}/ownership",
        json={"leader_id": world.leaders["mayor"]},
        headers=district,
    )
    r = await client.get("/api/cases", headers=leader)
    assert [c["id"] for c in r.json()["items"]] == [in_b["id"]]
    assert r.json()["items"][0]["owner_leader_name"] == "李某乙"
    assert_problem(await client.get(f"/api/cases/{in_a['id']}", headers=leader), 404)
    r = await client.get(f"/api/cases?owner_leader_id={world.leaders['mayor']}", headers=district)
    assert [c["id"] for c in r.json()["items"]] == [in_b["id"]]


async def test_reassignment_keeps_history(client: httpx.AsyncClient, world: World) -> None:
    clerk = auth(world.tokens["clerk_district"])
    cid = (await client.post("/api/cases", json=case_body(world), headers=clerk)).json()["id"]
    url = f"/api/cases/{cid}/ownership"
    r = await client.post(
        url, json={"leader_id": world.leaders["deputy"], "on": "2026-09-17"}, headers=clerk
    )
    assert r.status_code == 201
    problem = assert_problem(
        await client.post(url, json={"leader_id": world.leaders["mayor"]}, headers=clerk), 422
    )
    assert problem["errors"][0]["field"] == "reason"
    assert_problem(
        await client.post(
            url, json={"leader_id": world.leaders["deputy"], "reason": "x"}, headers=clerk
        ),
        409,
    )
    assert_problem(
        await client.post(url, json={"leader_id": 9999, "reason": "x"}, headers=clerk), 422
    )
    r = await client.post(
        url,
        json={"leader_id": world.leaders["mayor"], "reason": "提级包案", "on": "2026-10-10"},
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    history = (await client.get(url, headers=clerk)).json()
    assert [(h["leader_name"], h["current"], h["ended_on"], h["end_reason"]) for h in history] == [
        ("张某丙", False, "2026-10-10", "提级包案"),
        ("李某乙", True, None, ""),
    ]
    r = await client.get(
        f"/api/leaders/{world.leaders['deputy']}/cases?include_past=true", headers=clerk
    )
    assert [(c["case_id"], c["current_owner"]) for c in r.json()] == [(cid, False)]
    r = await client.get(f"/api/leaders/{world.leaders['deputy']}/cases", headers=clerk)
    assert r.json() == []


async def test_reading_follows_the_current_owner(client: httpx.AsyncClient, world: World) -> None:
    """A leader who no longer owns a case, and the secretaries linked to him, no longer read
    it; the office (the unit's clerk, the reviewer) still reads it with its whole history."""
    clerk = auth(world.tokens["clerk_district"])
    cid = (await client.post("/api/cases", json=case_body(world), headers=clerk)).json()["id"]
    url = f"/api/cases/{cid}/ownership"
    await client.post(url, json={"leader_id": world.leaders["mayor"]}, headers=clerk)
    paths = ("", "/timeline", "/clocks", "/ownership")
    for who in ("leader", "secretary"):
        headers = auth(world.tokens[who])
        for path in paths:
            assert (await client.get(f"/api/cases/{cid}{path}", headers=headers)).status_code == 200
        assert (await client.get("/api/cases", headers=headers)).json()["total"] == 1
    r = await client.post(
        url,
        json={"leader_id": world.leaders["township_a"], "reason": "属地包案"},
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    for who in ("leader", "secretary"):
        headers = auth(world.tokens[who])
        for path in paths:
            assert_problem(await client.get(f"/api/cases/{cid}{path}", headers=headers), 404)
        assert (await client.get("/api/cases", headers=headers)).json()["total"] == 0
    for who in ("clerk_district", "clerk_a", "reviewer"):
        history = (await client.get(url, headers=auth(world.tokens[who]))).json()
        assert [h["leader_name"] for h in history] == ["李某乙", "周某镇"], who


async def test_the_database_allows_one_current_owner(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    cid = (
        await client.post(
            "/api/cases", json=case_body(world), headers=auth(world.tokens["clerk_a"])
        )
    ).json()["id"]
    async with sessionmaker() as s:
        for leader in ("mayor", "deputy"):
            s.add(
                CaseOwnership(
                    case_id=cid,
                    leader_id=world.leaders[leader],
                    responsible_unit_id=world.township_a,
                    started_on=date(2026, 9, 17),
                    assigned_by_name="测试",
                )
            )
        with pytest.raises(IntegrityError):
            await s.commit()


@pytest.fixture
def server(database_url: str, app: Litestar) -> Iterator[str]:
    with serve(database_url, workers=2) as base:
        yield base


async def test_concurrent_assignments_leave_one_owner(
    server: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(sessionmaker)
    clerk = {"Authorization": f"Bearer {world.tokens['clerk_district']}"}
    async with httpx.AsyncClient(base_url=server, timeout=60) as c:
        cid = (await c.post("/api/cases", json=case_body(world), headers=clerk)).json()["id"]
    leaders = [world.leaders[k] for k in ("mayor", "deputy", "other", "township_a", "township_b")]
    limits = httpx.Limits(max_connections=40, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as c:
        responses = await asyncio.gather(
            *(
                c.post(
                    f"/api/cases/{cid}/ownership",
                    json={"leader_id": leaders[i % 5], "reason": f"第{i}次指派"},
                    headers=clerk,
                )
                for i in range(40)
            )
        )
    counts = Counter(r.status_code for r in responses)
    assert set(counts) <= {201, 409}, [
        r.text for r in responses if r.status_code not in (201, 409)
    ][:3]
    assert counts[201] >= 1
    async with sessionmaker() as s:
        current = await s.scalar(
            select(func.count())
            .select_from(CaseOwnership)
            .where(
                CaseOwnership.case_id == cid,
                CaseOwnership.ended_at.is_(None),  # type: ignore[union-attr]
            )
        )
        total = await s.scalar(
            select(func.count()).select_from(CaseOwnership).where(CaseOwnership.case_id == cid)
        )
    assert current == 1
    # Every accepted assignment is a history row; none was lost or overwritten.
    assert total == counts[201]


async def test_field_visit_outcome_goes_on_the_case_timeline(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_district"])
    case = (await client.post("/api/cases", json=case_body(world), headers=clerk)).json()
    # 带案下访: the leader takes a case he owns (writing follows the current owner).
    r = await client.post(
        f"/api/cases/{case['id']}/ownership",
        json={"leader_id": world.leaders["mayor"]},
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    secretary = auth(world.tokens["secretary"])
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "field_visit",
            "starts_at": "2026-10-20T14:00:00+08:00",
            "ends_at": "2026-10-20T16:00:00+08:00",
            "unit_id": world.township_a,
            "purpose": "带案下访",
        },
        headers=secretary,
    )
    visit = r.json()["id"]
    r = await client.post(
        f"/api/sessions/{visit}/cases", json={"case_id": case["id"]}, headers=clerk
    )
    assert r.status_code == 201, r.text
    assert_problem(
        await client.post(
            f"/api/sessions/{visit}/cases", json={"case_id": case["id"]}, headers=clerk
        ),
        409,
    )
    r = await client.post(
        f"/api/sessions/{visit}/cases/{case['id']}/outcome",
        json={"outcome": "现场协调开发商,约定11月底交房", "on": "2026-10-20"},
        headers=auth(world.tokens["leader"]),
    )
    assert r.status_code == 200, r.text
    timeline = (await client.get(f"/api/cases/{case['id']}/timeline", headers=clerk)).json()
    # In the order things happened: the visit's outcome (10-20) before the link entered today.
    days = [e["effective_on"] for e in timeline]
    assert days == sorted(days)
    (outcome,) = [e for e in timeline if e["kind"] == "session.outcome"]
    assert "session.linked" in [e["kind"] for e in timeline]
    assert outcome["note"] == "现场协调开发商,约定11月底交房" and outcome["actor_name"] == "李某乙"
    r = await client.get(f"/api/sessions/{visit}/cases", headers=secretary)
    assert r.json()[0]["outcome"].startswith("现场协调")


async def test_appointment_links_to_its_case(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    case = (
        await client.post(
            "/api/cases", json=case_body(world), headers=auth(world.tokens["clerk_district"])
        )
    ).json()
    day = future_workday()
    s = (
        await client.post(
            "/api/sessions",
            json={
                "leader_id": world.leaders["mayor"],
                "kind": "reception",
                "venue_id": world.venue,
                "starts_at": at(day, "09:00"),
                "ends_at": at(day, "10:00"),
            },
            headers=admin,
        )
    ).json()
    url = f"/api/sessions/{s['id']}/appointments"
    body = {"petitioner_name": "张小明", "matter_summary": "交房"}
    assert_problem(await client.post(url, json={**body, "case_id": 9999}, headers=admin), 422)
    r = await client.post(url, json={**body, "case_id": case["id"]}, headers=admin)
    assert r.status_code == 201 and r.json()["case_id"] == case["id"]
    other = (await client.post(url, json=body, headers=admin)).json()
    r = await client.post(
        f"/api/appointments/{other['id']}/case",
        json={"case_id": case["id"]},
        headers=auth(world.tokens["clerk_district"]),
    )
    assert r.status_code == 200, r.text
    assert r.json()["case_id"] == case["id"]


async def test_a_clerk_cannot_reach_other_units_cases_through_links(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = auth(world.tokens["admin"])
    elsewhere = (
        await client.post(
            "/api/cases",
            json=case_body(world, unit_id=world.township_b),
            headers=auth(world.tokens["clerk_district"]),
        )
    ).json()
    visit = (
        await client.post(
            "/api/sessions",
            json={
                "leader_id": world.leaders["township_a"],
                "kind": "field_visit",
                "starts_at": "2026-10-20T14:00:00+08:00",
                "ends_at": "2026-10-20T16:00:00+08:00",
                "unit_id": world.township_a,
            },
            headers=admin,
        )
    ).json()["id"]
    assert (
        await client.post(
            f"/api/sessions/{visit}/cases", json={"case_id": elsewhere["id"]}, headers=admin
        )
    ).status_code == 201
    await client.post(
        f"/api/cases/{elsewhere['id']}/ownership",
        json={"leader_id": world.leaders["township_a"]},
        headers=admin,
    )
    clerk_a = auth(world.tokens["clerk_a"])
    r = await client.post(
        f"/api/sessions/{visit}/cases/{elsewhere['id']}/outcome",
        json={"outcome": "越权记录"},
        headers=clerk_a,
    )
    assert_problem(r, 404)
    timeline = (await client.get(f"/api/cases/{elsewhere['id']}/timeline", headers=admin)).json()
    assert "session.outcome" not in [e["kind"] for e in timeline]
    # Nor through the leader's list of owned cases, nor the visit's list of cases.
    r = await client.get(f"/api/leaders/{world.leaders['township_a']}/cases", headers=clerk_a)
    assert r.status_code == 200 and r.json() == []
    r = await client.get(f"/api/sessions/{visit}/cases", headers=clerk_a)
    assert r.json() == []
    # The visiting leader's own record still works through the link.
    r = await client.get(f"/api/sessions/{visit}/cases", headers=admin)
    assert [c["case_id"] for c in r.json()] == [elsewhere["id"]]


async def test_secretary_is_warned_of_matters_she_may_not_read(
    client: httpx.AsyncClient, world: World
) -> None:
    """The repeat check tells a secretary how many matters a petitioner has and when, even
    where none is owned by her leaders — but no case's reference, stage or text."""
    clerk = auth(world.tokens["clerk_district"])
    for on in ("2026-09-16", "2026-10-12", "2026-11-03"):
        r = await client.post(
            "/api/cases",
            json=case_body(world, received_on=on, on=on, summary="秘密的诉求内容"),
            headers=clerk,
        )
        assert r.status_code == 201, r.text
    day = future_workday()
    s = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, "10:00"),
        },
        headers=auth(world.tokens["admin"]),
    )
    secretary = auth(world.tokens["secretary"])
    r = await client.post(
        f"/api/sessions/{s.json()['id']}/appointments/check",
        json={"petitioner_name": "张小明", "petitioner_id_number": VALID_ID},
        headers=secretary,
    )
    assert r.status_code == 200, r.text
    [warning] = [w for w in r.json() if w["kind"] == "repeat_petition"]
    assert "已登记信访事项 3 件" in warning["message"]
    assert "2026年9月16日至2026年11月3日" in warning["message"]
    assert "秘密" not in warning["message"] and warning["case_id"] is None
    # The clerk who handles them reads the latest one.
    r = await client.post(
        f"/api/sessions/{s.json()['id']}/appointments/check",
        json={"petitioner_name": "张小明", "petitioner_id_number": VALID_ID},
        headers=clerk,
    )
    [warning] = [w for w in r.json() if w["kind"] == "repeat_petition"]
    assert "秘密的诉求内容" in warning["message"] and warning["case_id"] is not None
