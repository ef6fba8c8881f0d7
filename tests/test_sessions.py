"""Sessions: ad hoc reception days and field visits, no overlap, move, cancel, bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot
from tests.builders import World, at, build_world, future_workday
from tests.conftest import assert_problem, auth


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


def reception_body(
    world: World, day: object, start: str = "09:00", end: str = "11:00", **extra: object
) -> dict[str, object]:
    return {
        "leader_id": world.leaders["mayor"],
        "kind": "reception",
        "venue_id": world.venue,
        "starts_at": at(day, start),
        "ends_at": at(day, end),  # type: ignore[arg-type]
        "slot_minutes": 30,
        "people_per_slot": 2,
        **extra,
    }


async def _count(maker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with maker() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def test_create_reception_and_field_visit(client: httpx.AsyncClient, world: World) -> None:
    day = future_workday()
    secretary = auth(world.tokens["secretary"])
    r = await client.post("/api/sessions", json=reception_body(world, day), headers=secretary)
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["date"] == day.isoformat() and s["status"] == "scheduled" and s["sequence"] == 0
    assert s["starts_at"] == at(day, "09:00") and s["places"] == 4 * 2
    r = await client.get(f"/api/sessions/{s['id']}", headers=secretary)
    sheet = r.json()
    assert [slot["starts_at"] for slot in sheet["slots"]] == [
        at(day, "09:00"),
        at(day, "09:30"),
        at(day, "10:00"),
        at(day, "10:30"),
    ]
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "field_visit",
            "starts_at": at(day, "14:00"),
            "ends_at": at(day, "17:00"),
            "unit_id": world.village_a,
            "address": "小杨家庄村委会",
            "purpose": "带案下访:宅基地纠纷",
        },
        headers=secretary,
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "field_visit" and r.json()["places"] == 0


async def test_a_leader_is_never_in_two_places(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    day = future_workday()
    secretary = auth(world.tokens["secretary"])
    first = (
        await client.post("/api/sessions", json=reception_body(world, day), headers=secretary)
    ).json()
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "field_visit",
            "starts_at": at(day, "10:30"),
            "ends_at": at(day, "12:00"),
            "unit_id": world.township_b,
        },
        headers=secretary,
    )
    problem = assert_problem(r, 409)
    assert "另一场次" in problem["detail"] and problem["other_session_id"] == first["id"]
    # Touching ends are fine; another leader at the same time is fine.
    r = await client.post(
        "/api/sessions", json=reception_body(world, day, "11:00", "12:00"), headers=secretary
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/sessions",
        json=reception_body(world, day, leader_id=world.leaders["deputy"]),
        headers=secretary,
    )
    assert r.status_code == 201, r.text
    # Once cancelled, the time is free again.
    await client.post(
        f"/api/sessions/{first['id']}/cancel", json={"reason": "领导赴市开会"}, headers=secretary
    )
    r = await client.post(
        "/api/sessions", json=reception_body(world, day, "09:30", "10:30"), headers=secretary
    )
    assert r.status_code == 201, r.text


async def test_the_database_itself_refuses_an_overlap(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Bypass the service: the exclusion constraint (PostgreSQL) or trigger (SQLite) says no."""
    start = datetime.fromisoformat(at(future_workday(), "09:00"))

    def row(uid: str, offset_hours: float) -> ReceptionSession:
        s = start + timedelta(hours=offset_hours)
        return ReceptionSession(
            uid=uid,
            leader_id=world.leaders["mayor"],
            kind="field_visit",
            local_date=s.date(),
            starts_at=s,
            ends_at=s + timedelta(hours=2),
            unit_id=world.township_a,
        )

    async with sessionmaker() as s:
        s.add(row("a@test", 0))
        await s.commit()
    async with sessionmaker() as s:
        s.add(row("b@test", 1))
        with pytest.raises(IntegrityError, match="no_overlap"):
            await s.commit()
    async with sessionmaker() as s:
        cancelled = row("c@test", 1)
        cancelled.status = "cancelled"
        s.add(cancelled)
        await s.commit()


async def test_move_keeps_identity_and_carries_appointments(
    client: httpx.AsyncClient, world: World
) -> None:
    day = future_workday()
    secretary = auth(world.tokens["secretary"])
    s = (
        await client.post("/api/sessions", json=reception_body(world, day), headers=secretary)
    ).json()
    r = await client.post(
        f"/api/sessions/{s['id']}/appointments",
        json={"petitioner_name": "张小明", "matter_summary": "拖欠工资", "slot_index": 1},
        headers=secretary,
    )
    assert r.status_code == 201, r.text
    new_day = day + timedelta(days=1)
    r = await client.patch(
        f"/api/sessions/{s['id']}",
        json={"starts_at": at(new_day, "14:00"), "ends_at": at(new_day, "16:00")},
        headers=secretary,
    )
    assert r.status_code == 200, r.text
    sheet = r.json()
    assert sheet["session"]["uid"] == s["uid"] and sheet["session"]["sequence"] == 1
    assert sheet["session"]["date"] == new_day.isoformat() and sheet["session"]["edited"] is True
    (appointment,) = sheet["appointments"]
    assert appointment["slot_index"] == 1 and appointment["slot_starts_at"] == at(new_day, "14:30")

    # Shrinking to one slot would drop slot 1's appointment: refused, nothing changes.
    r = await client.patch(
        f"/api/sessions/{s['id']}", json={"ends_at": at(new_day, "14:30")}, headers=secretary
    )
    assert_problem(r, 409)
    r = await client.get(f"/api/sessions/{s['id']}", headers=secretary)
    assert r.json()["session"]["ends_at"] == at(new_day, "16:00")
    assert r.json()["session"]["sequence"] == 1


async def test_cancel_keeps_the_record_and_cancels_its_appointments(
    client: httpx.AsyncClient, world: World
) -> None:
    day = future_workday()
    secretary = auth(world.tokens["secretary"])
    s = (
        await client.post("/api/sessions", json=reception_body(world, day), headers=secretary)
    ).json()
    for name, phone in (("张小明", "13812345678"), ("李大华", "13987654321")):
        await client.post(
            f"/api/sessions/{s['id']}/appointments",
            json={"petitioner_name": name, "petitioner_phone": phone, "matter_summary": "征地补偿"},
            headers=secretary,
        )
    r = await client.post(
        f"/api/sessions/{s['id']}/cancel", json={"reason": "防汛"}, headers=secretary
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session"]["status"] == "cancelled" and body["session"]["sequence"] == 1
    assert (
        body["session"]["cancelled_by_name"] == "孙某秘"
        and body["session"]["cancel_reason"] == "防汛"
    )
    assert [a["status"] for a in body["cancelled_appointments"]] == ["cancelled", "cancelled"]
    # The call list: the secretary who booked them rings them, so she reads them whole.
    assert {
        (a["petitioner_name"], a["petitioner_phone"]) for a in body["cancelled_appointments"]
    } == {
        ("张小明", "13812345678"),
        ("李大华", "13987654321"),
    }
    r = await client.get("/api/sessions?status=cancelled", headers=secretary)
    assert r.json()["total"] == 1
    assert_problem(
        await client.post(
            f"/api/sessions/{s['id']}/cancel", json={"reason": "x"}, headers=secretary
        ),
        409,
    )
    assert_problem(
        await client.post(
            f"/api/sessions/{s['id']}/cancel", json={"reason": ""}, headers=secretary
        ),
        400,
    )


async def test_session_scope_by_role(client: httpx.AsyncClient, world: World) -> None:
    day = future_workday()
    admin = auth(world.tokens["admin"])
    mine = (
        await client.post("/api/sessions", json=reception_body(world, day), headers=admin)
    ).json()
    other = (
        await client.post(
            "/api/sessions",
            json=reception_body(world, day, leader_id=world.leaders["other"]),
            headers=admin,
        )
    ).json()
    secretary = auth(world.tokens["secretary"])
    r = await client.get("/api/sessions", headers=secretary)
    assert [s["id"] for s in r.json()["items"]] == [mine["id"]]
    assert_problem(await client.get(f"/api/sessions/{other['id']}", headers=secretary), 404)
    assert_problem(
        await client.post(
            f"/api/sessions/{other['id']}/cancel", json={"reason": "x"}, headers=secretary
        ),
        403,
    )
    assert_problem(
        await client.post(
            "/api/sessions",
            json=reception_body(world, day + timedelta(days=1), leader_id=world.leaders["other"]),
            headers=secretary,
        ),
        403,
    )
    leader = auth(world.tokens["leader"])
    assert [
        s["id"] for s in (await client.get("/api/sessions", headers=leader)).json()["items"]
    ] == [mine["id"]]
    assert_problem(
        await client.post("/api/sessions", json=reception_body(world, day), headers=leader), 403
    )
    reviewer = auth(world.tokens["reviewer"])
    assert (await client.get("/api/sessions", headers=reviewer)).json()["total"] == 2
    r = await client.get(f"/api/sessions?unit_id={world.district}&kind=reception", headers=reviewer)
    assert r.json()["total"] == 2


@pytest.mark.parametrize(
    ("patch", "status", "field"),
    [
        ({"starts_at": "2026-02-30T09:00:00+08:00"}, 400, "starts_at"),
        ({"starts_at": "2030-01-10T09:00:00"}, 400, "starts_at"),  # naive
        ({"ends_at": "BEFORE"}, 400, "ends_at"),
        ({"swap": True}, 422, "ends_at"),  # end before start
        ({"venue_id": 9999}, 422, "venue_id"),
        ({"kind": "party"}, 400, "kind"),
        ({"venue_id": None}, 422, "venue_id"),
        ({"leader_id": 9999}, 422, "leader_id"),
        ({"unknown": 1}, 400, "unknown"),
    ],
)
async def test_bad_session_input_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    patch: dict[str, object],
    status: int,
    field: str,
) -> None:
    day = future_workday()
    body = reception_body(world, day)
    patch = dict(patch)  # parametrize shares the dict between backends
    if patch.pop("swap", False):
        body["starts_at"], body["ends_at"] = body["ends_at"], body["starts_at"]
    body.update(patch)
    r = await client.post("/api/sessions", json=body, headers=auth(world.tokens["admin"]))
    problem = assert_problem(r, status)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert await _count(sessionmaker, ReceptionSession) == 0
    assert await _count(sessionmaker, SessionSlot) == 0
    assert await _count(sessionmaker, Appointment) == 0


async def test_a_session_that_took_place_cannot_be_cancelled_or_moved(
    client: httpx.AsyncClient, world: World
) -> None:
    secretary = auth(world.tokens["secretary"])
    body = reception_body(world, date(2026, 10, 20))
    past = (await client.post("/api/sessions", json=body, headers=secretary)).json()
    r = await client.post(
        f"/api/sessions/{past['id']}/hold", json={"outcome": "接访3人"}, headers=secretary
    )
    assert r.status_code == 200 and r.json()["status"] == "held"
    r = await client.post(
        f"/api/sessions/{past['id']}/cancel", json={"reason": "补记"}, headers=secretary
    )
    assert "已经举行" in assert_problem(r, 409)["detail"]
    r = await client.patch(
        f"/api/sessions/{past['id']}",
        json={"ends_at": "2026-10-20T12:00:00+08:00"},
        headers=secretary,
    )
    assert_problem(r, 409)
    r = await client.get(f"/api/sessions/{past['id']}", headers=secretary)
    assert r.json()["session"]["status"] == "held" and r.json()["session"]["sequence"] == 0


async def test_two_secretaries_moving_one_session_the_stale_one_gets_412(
    client: httpx.AsyncClient, world: World
) -> None:
    day = future_workday()
    secretary = auth(world.tokens["secretary"])
    s = (
        await client.post("/api/sessions", json=reception_body(world, day), headers=secretary)
    ).json()
    seen = (await client.get(f"/api/sessions/{s['id']}", headers=secretary)).headers["etag"]
    r = await client.patch(
        f"/api/sessions/{s['id']}",
        json={"starts_at": at(day, "14:00"), "ends_at": at(day, "16:00")},
        headers={**secretary, "If-Match": seen},
    )
    assert r.status_code == 200 and r.headers["etag"] != seen
    problem = assert_problem(
        await client.patch(
            f"/api/sessions/{s['id']}",
            json={"starts_at": at(day, "08:00"), "ends_at": at(day, "10:00")},
            headers={**secretary, "If-Match": seen},
        ),
        412,
    )
    assert problem["current_etag"] == r.headers["etag"]
    assert_problem(
        await client.post(
            f"/api/sessions/{s['id']}/cancel",
            json={"reason": "x"},
            headers={**secretary, "If-Match": seen},
        ),
        412,
    )
    r = await client.get(f"/api/sessions/{s['id']}", headers=secretary)
    assert (
        r.json()["session"]["starts_at"] == at(day, "14:00")
        and r.json()["session"]["status"] == "scheduled"
    )
