"""Reception rules (每月20日接访): generation on the 2026 调休 calendar, idempotency, scope."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.context import Context
from tests.builders import World, build_world
from tests.conftest import assert_problem, auth


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def _rule(
    client: httpx.AsyncClient, world: World, who: str = "secretary", **extra: object
) -> httpx.Response:
    body = {
        "leader_id": world.leaders["mayor"],
        "venue_id": world.venue,
        "start_time": "09:00",
        "end_time": "12:00",
        "valid_from": "2026-01-01",
        **extra,
    }
    return await client.post("/api/reception-rules", json=body, headers=auth(world.tokens[who]))


EXPECTED_2026_NEXT = [
    "2026-01-20",
    "2026-02-24",
    "2026-03-20",
    "2026-04-20",
    "2026-05-20",
    "2026-06-22",
    "2026-07-20",
    "2026-08-20",
    "2026-09-20",
    "2026-10-20",
    "2026-11-20",
    "2026-12-21",
]


async def test_secretary_generates_a_year_of_20th_day_sessions(
    client: httpx.AsyncClient, world: World
) -> None:
    secretary = auth(world.tokens["secretary"])
    r = await _rule(client, world)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["day_of_month"] == 20 and rule["holiday_policy"] == "next_workday"

    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2026-12-31"},
        headers=secretary,
    )
    assert r.status_code == 200, r.text
    created = r.json()["created"]
    assert [s["date"] for s in created] == EXPECTED_2026_NEXT
    first = created[0]
    assert first["starts_at"] == "2026-01-20T09:00:00+08:00"
    assert first["ends_at"] == "2026-01-20T12:00:00+08:00"
    assert first["venue_name"] == "区矛调中心接待室" and first["leader_name"] == "李某乙"
    assert first["places"] == 6 * 3 and first["booked"] == 0
    assert not any(s["provisional"] for s in created)

    # Idempotent: a second run creates nothing.
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2026-12-31"},
        headers=secretary,
    )
    assert r.json()["created"] == [] and r.json()["updated"] == []
    assert len(r.json()["skipped"]) == 12

    r = await client.get(
        f"/api/sessions?leader_id={world.leaders['mayor']}&from=2026-01-01&to=2026-12-31",
        headers=secretary,
    )
    assert r.json()["total"] == 12


@pytest.mark.parametrize(
    ("policy", "feb", "jun", "dec"),
    [
        ("previous_workday", "2026-02-14", "2026-06-18", "2026-12-18"),
        ("keep", "2026-02-20", "2026-06-20", "2026-12-20"),
    ],
)
async def test_other_holiday_policies(
    client: httpx.AsyncClient, world: World, policy: str, feb: str, jun: str, dec: str
) -> None:
    rule = (await _rule(client, world, holiday_policy=policy)).json()
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2026-12-31"},
        headers=auth(world.tokens["secretary"]),
    )
    dates = {s["date"] for s in r.json()["created"]}
    assert {feb, jun, dec, "2026-09-20"} <= dates


async def test_provisional_year_is_flagged_then_realigned_once_official(
    client: httpx.AsyncClient, world: World
) -> None:
    secretary = auth(world.tokens["secretary"])
    rule = (await _rule(client, world, valid_from="2027-02-01")).json()
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2027-03-31"},
        headers=secretary,
    )
    created = r.json()["created"]
    # 2027 has no official schedule yet: 02-20 is a Saturday → Monday 02-22, provisional.
    assert [(s["date"], s["provisional"]) for s in created] == [
        ("2027-02-22", True),
        ("2027-03-22", True),
    ]
    # The official schedule arrives: say 02-22 is a holiday (made up) and 02-20 a make-up day.
    r = await client.put(
        "/api/calendar/2027",
        json={"holidays": ["2027-02-22"], "workdays": ["2027-02-20"], "official": True},
        headers=auth(world.tokens["admin"]),
    )
    assert r.status_code == 200
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2027-03-31"},
        headers=secretary,
    )
    updated = r.json()["updated"]
    assert [(s["date"], s["provisional"], s["sequence"]) for s in updated] == [
        ("2027-02-20", False, 1),
        ("2027-03-22", False, 1),
    ]
    assert updated[0]["uid"] == created[0]["uid"]


async def test_generation_leaves_edited_sessions_alone(
    client: httpx.AsyncClient, world: World
) -> None:
    secretary = auth(world.tokens["secretary"])
    rule = (await _rule(client, world, valid_from="2026-03-01")).json()
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2026-04-30"},
        headers=secretary,
    )
    march = r.json()["created"][0]
    r = await client.patch(
        f"/api/sessions/{march['id']}",
        json={"starts_at": "2026-03-20T14:00:00+08:00", "ends_at": "2026-03-20T17:00:00+08:00"},
        headers=secretary,
    )
    assert r.status_code == 200, r.text
    await client.patch(
        f"/api/reception-rules/{rule['id']}", json={"start_time": "08:30"}, headers=secretary
    )
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2026-04-30"},
        headers=secretary,
    )
    result = r.json()
    assert [s["date"] for s in result["updated"]] == ["2026-04-20"]
    assert result["updated"][0]["starts_at"] == "2026-04-20T08:30:00+08:00"
    kept = [s for s in result["skipped"] if s["session_id"] == march["id"]]
    assert kept and "人工调整" in kept[0]["reason"]
    r = await client.get(f"/api/sessions/{march['id']}", headers=secretary)
    assert r.json()["session"]["starts_at"] == "2026-03-20T14:00:00+08:00"


async def test_generation_skips_a_clash_and_names_it(
    client: httpx.AsyncClient, world: World
) -> None:
    secretary = auth(world.tokens["secretary"])
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "field_visit",
            "starts_at": "2026-04-20T10:00:00+08:00",
            "ends_at": "2026-04-20T15:00:00+08:00",
            "unit_id": world.township_a,
            "purpose": "带案下访",
        },
        headers=secretary,
    )
    assert r.status_code == 201, r.text
    rule = (await _rule(client, world, valid_from="2026-04-01")).json()
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2026-05-31"},
        headers=secretary,
    )
    assert [s["date"] for s in r.json()["created"]] == ["2026-05-20"]
    (skip,) = r.json()["skipped"]
    assert skip["rule_date"] == "2026-04-20" and "2026年4月20日" in skip["reason"]


async def test_rule_scope_and_bad_rules(client: httpx.AsyncClient, world: World) -> None:
    r = await _rule(client, world, leader_id=world.leaders["other"])
    assert_problem(r, 403)
    for who in ("clerk_a", "leader", "reviewer"):
        assert_problem(await _rule(client, world, who=who), 403)
    assert_problem(await _rule(client, world, end_time="08:00"), 422)
    assert_problem(await _rule(client, world, day_of_month=32), 400)
    assert_problem(await _rule(client, world, venue_id=9999), 422)
    assert_problem(await _rule(client, world, holiday_policy="sometimes"), 400)
    assert_problem(await _rule(client, world, start_time="25:00"), 400)
    assert_problem(await _rule(client, world, valid_from="2026-02-30"), 400)
    r = await client.get("/api/reception-rules", headers=auth(world.tokens["admin"]))
    assert r.json()["total"] == 0
    rule = (await _rule(client, world)).json()
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2099-01-01"},
        headers=auth(world.tokens["secretary"]),
    )
    assert_problem(r, 422)


async def test_generation_on_a_leap_day(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: Context,
) -> None:
    from datetime import date, datetime

    from reception.context import FixedClock
    from reception.scheduling import generation

    rule = (await _rule(client, world, valid_from="2028-01-01")).json()
    on_the_leap_day = ctx.with_clock(FixedClock(datetime.fromisoformat("2028-02-29T09:00+08:00")))
    async with sessionmaker() as s:
        result = await generation.generate(
            session=s,
            ctx=on_the_leap_day,
            actor=None,
            rule_id=rule["id"],
            until=date(2028, 3, 31),
        )
        assert [x.rule_date for x in result.created] == [
            date(2028, 1, 20),
            date(2028, 2, 20),
            date(2028, 3, 20),
        ]


async def test_a_month_end_rule_keeps_one_reception_day_a_month(
    client: httpx.AsyncClient, world: World
) -> None:
    rule = (await _rule(client, world, day_of_month=31, valid_from="2026-04-01")).json()
    r = await client.post(
        f"/api/reception-rules/{rule['id']}/generate",
        json={"until": "2026-06-30"},
        headers=auth(world.tokens["secretary"]),
    )
    # April 30 (Thu); May 31 is a Sunday: June 1 would leave May without one and give June two,
    # so it is Friday May 29; June 30 (Tue).
    assert [s["date"] for s in r.json()["created"]] == ["2026-04-30", "2026-05-29", "2026-06-30"]
