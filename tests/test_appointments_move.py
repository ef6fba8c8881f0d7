"""改约 (moving an appointment), one booking per petitioner per session, moving a booked
session to a non-working day or into the past, and phones as people type them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.scheduling.models import Appointment, SessionSlot
from tests.builders import World, at, build_world, future_workday
from tests.conftest import assert_problem, auth
from tests.test_appointments import booking, person


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def _session(
    client: httpx.AsyncClient, world: World, days: int = 21, leader: str = "mayor"
) -> dict[str, Any]:
    day = future_workday(days)
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders[leader],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, "10:00"),
            "slot_minutes": 30,
            "people_per_slot": 3,
        },
        headers=auth(world.tokens["secretary"]),
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _booked(maker: async_sessionmaker[AsyncSession]) -> dict[int, list[int]]:
    async with maker() as s:
        out: dict[int, list[int]] = {}
        for slot in await s.scalars(
            select(SessionSlot).order_by(SessionSlot.session_id, SessionSlot.slot_index)  # type: ignore[arg-type]
        ):
            out.setdefault(slot.session_id, []).append(slot.booked)
        return out


async def test_move_an_appointment_keeps_its_record_and_frees_the_old_place(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    secretary = auth(world.tokens["secretary"])
    first, second = await _session(client, world), await _session(client, world, days=28)
    r = await client.post(
        f"/api/sessions/{first['id']}/appointments",
        json=booking(slot_index=0, party_size=2),
        headers=secretary,
    )
    a = r.json()
    # To the other slot of the same session.
    r = await client.post(
        f"/api/appointments/{a['id']}/move", json={"slot_index": 1}, headers=secretary
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == a["id"] and r.json()["slot_index"] == 1
    assert (await _booked(sessionmaker))[first["id"]] == [0, 2]
    # To another session of the same leader: places taken there, freed here, one transaction.
    r = await client.post(
        f"/api/appointments/{a['id']}/move",
        json={"session_id": second["id"], "slot_index": 0, "reason": "信访人改期"},
        headers=secretary,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["id"] == a["id"] and moved["session_id"] == second["id"]
    assert moved["petitioner_name"] == "张小明" and moved["created_at"] == a["created_at"]
    booked = await _booked(sessionmaker)
    assert booked[first["id"]] == [0, 0] and booked[second["id"]] == [2, 0]
    async with sessionmaker() as s:
        events = list(
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "appointment.move"))
        )
    assert len(events) == 2 and events[-1].after["reason"] == "信访人改期"  # type: ignore[index]
    assert "张小明" not in str(events[-1].after)


async def test_a_move_respects_the_targets_capacity_and_the_leader(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    secretary = auth(world.tokens["secretary"])
    source, target = await _session(client, world), await _session(client, world, days=28)
    elsewhere = await _session(client, world, days=29, leader="deputy")
    a = (
        await client.post(
            f"/api/sessions/{source['id']}/appointments",
            json=booking(slot_index=0, party_size=2),
            headers=secretary,
        )
    ).json()
    await client.post(
        f"/api/sessions/{target['id']}/appointments",
        json=booking(slot_index=0, party_size=2, **person(1)),
        headers=secretary,
    )
    before = await _booked(sessionmaker)
    url = f"/api/appointments/{a['id']}/move"
    # 2 + 2 > 3 places: refused, and the old place is still held (nothing half-written).
    problem = assert_problem(
        await client.post(
            url, json={"session_id": target["id"], "slot_index": 0}, headers=secretary
        ),
        409,
    )
    assert "已约满" in problem["detail"]
    problem = assert_problem(
        await client.post(url, json={"session_id": elsewhere["id"]}, headers=secretary), 422
    )
    assert problem["errors"][0]["field"] == "session_id"
    assert_problem(await client.post(url, json={"slot_index": 0}, headers=secretary), 422)
    assert_problem(
        await client.post(url, json={"slot_index": 1}, headers=auth(world.tokens["reviewer"])), 403
    )
    assert await _booked(sessionmaker) == before


async def test_the_same_petitioner_is_booked_once_per_session(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    secretary = auth(world.tokens["secretary"])
    s = await _session(client, world)
    url = f"/api/sessions/{s['id']}/appointments"
    first = (await client.post(url, json=booking(), headers=secretary)).json()
    # By ID number (another name and phone) ...
    same_id = booking(petitioner_name="张晓明", petitioner_phone="13900000000")
    problem = assert_problem(await client.post(url, json=same_id, headers=secretary), 409)
    assert (
        problem["first_appointment_id"] == first["id"]
        and "已预约本场次" in problem["detail"]
        and str(first["id"]) not in problem["detail"]
    )
    # ... or by name and phone (no ID number given).
    same_phone = booking(petitioner_id_number="", petitioner_phone="138-1234-5678")
    assert_problem(await client.post(url, json=same_phone, headers=secretary), 409)
    # A second matter of the same person, said explicitly, is booked.
    r = await client.post(url, json=booking(allow_duplicate=True), headers=secretary)
    assert r.status_code == 201, r.text
    # A cancelled booking does not count.
    await client.post(
        f"/api/appointments/{first['id']}/status",
        json={"status": "cancelled", "reason": "撤回"},
        headers=secretary,
    )
    assert (await client.post(url, json=booking(), headers=secretary)).status_code == 201
    async with sessionmaker() as db:
        live = [
            a
            for a in await db.scalars(select(Appointment).where(Appointment.session_id == s["id"]))
            if a.status == "booked"
        ]
    assert len(live) == 2


async def test_phones_are_taken_as_typed_and_stored_as_digits(
    client: httpx.AsyncClient, world: World
) -> None:
    secretary = auth(world.tokens["secretary"])
    s = await _session(client, world)
    r = await client.post(
        f"/api/sessions/{s['id']}/appointments",
        json=booking(petitioner_phone=" 138 1234-5678 "),
        headers=secretary,
    )
    assert r.status_code == 201, r.text
    assert r.json()["petitioner_phone"] == "13812345678"
    r = await client.post(
        f"/api/sessions/{s['id']}/appointments",
        json=booking(petitioner_phone="call me", **{"petitioner_id_number": ""}),
        headers=secretary,
    )
    assert assert_problem(r, 422)["errors"][0]["field"] == "petitioner_phone"


async def test_a_booked_session_is_not_moved_to_a_holiday_or_the_past_unless_forced(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    secretary = auth(world.tokens["secretary"])
    s = await _session(client, world)
    empty = await _session(client, world, days=28)
    await client.post(f"/api/sessions/{s['id']}/appointments", json=booking(), headers=secretary)
    url = f"/api/sessions/{s['id']}"
    new_year = {"starts_at": "2027-01-01T09:00:00+08:00"}
    problem = assert_problem(await client.patch(url, json=new_year, headers=secretary), 422)
    assert "2027-01-01 不是工作日" in problem["detail"] and "force" in problem["detail"]
    past = {"starts_at": "2026-11-30T09:00:00+08:00"}
    problem = assert_problem(await client.patch(url, json=past, headers=secretary), 422)
    assert "已经过去" in problem["detail"]
    # With no appointments there is no one to let down: a Saturday is allowed.
    saturday = future_workday(28) + timedelta(days=(5 - future_workday(28).weekday()) % 7)
    r = await client.patch(
        f"/api/sessions/{empty['id']}", json={"starts_at": at(saturday, "09:00")}, headers=secretary
    )
    assert r.status_code == 200, r.text
    # Forced: done, and audited as such.
    r = await client.patch(url, json={**new_year, "force": True}, headers=secretary)
    assert r.status_code == 200, r.text
    async with sessionmaker() as db:
        forced = (
            await db.scalars(select(AuditEvent).where(AuditEvent.action == "session.move.forced"))
        ).one()
    assert forced.after["forced_over"] == ["2027-01-01 不是工作日"]  # type: ignore[index]


async def test_an_appointment_of_someone_elses_leader(
    client: httpx.AsyncClient, world: World
) -> None:
    """To read it, it does not exist (the same answer as for none at all, naming nothing);
    to change it, it is not hers (403)."""
    secretary = auth(world.tokens["secretary"])
    s = await _session(client, world)
    a = (
        await client.post(
            f"/api/sessions/{s['id']}/appointments", json=booking(), headers=secretary
        )
    ).json()
    r = await client.post(
        "/api/users",
        json={"name": "吴某秘", "role": "secretary", "leader_ids": [world.leaders["other"]]},
        headers=auth(world.tokens["secadmin"]),
    )
    other = auth(
        (
            await client.post(
                f"/api/users/{r.json()['id']}/tokens", headers=auth(world.tokens["secadmin"])
            )
        ).json()["token"]
    )
    theirs = assert_problem(await client.get(f"/api/appointments/{a['id']}", headers=other), 404)
    none = assert_problem(await client.get("/api/appointments/99999", headers=other), 404)
    assert theirs["detail"] == none["detail"] == "该预约不存在,或不在您可查看的范围内"
    assert_problem(
        await client.post(
            f"/api/appointments/{a['id']}/move", json={"slot_index": 1}, headers=other
        ),
        403,
    )
    assert_problem(
        await client.post(
            f"/api/appointments/{a['id']}/status",
            json={"status": "cancelled", "reason": "x"},
            headers=other,
        ),
        403,
    )


async def test_a_party_larger_than_any_slot_is_told_so(
    client: httpx.AsyncClient, world: World
) -> None:
    s = await _session(client, world)
    r = await client.post(
        f"/api/sessions/{s['id']}/appointments",
        json=booking(party_size=4),
        headers=auth(world.tokens["secretary"]),
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["field"] == "party_size" and "最多接待 3 人" in problem["detail"]
