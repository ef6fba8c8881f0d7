"""Appointments (预约): capacity, collective visits, idempotency, masking, status, scope."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.petitioner import id_check_digit
from reception.scheduling.models import Appointment, SessionSlot
from tests.builders import World, at, build_world, future_workday
from tests.conftest import assert_problem, auth

ID_NUMBER = "11010519491231002X"  # a valid check digit (GB 11643 example)


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


@pytest.fixture
async def session_id(client: httpx.AsyncClient, world: World) -> int:
    day = future_workday()
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
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
    sid: int = r.json()["id"]
    return sid


def booking(**extra: object) -> dict[str, object]:
    return {
        "petitioner_name": "张小明",
        "petitioner_phone": "13812345678",
        "petitioner_id_number": ID_NUMBER,
        "matter_summary": "小区逾期交房",
        **extra,
    }


def person(n: int) -> dict[str, object]:
    """Another petitioner (the n-th): one person is booked into a session once."""
    body = f"11010519800101{n:03d}"
    return {
        "petitioner_name": f"王{'一二三四五六七八九十'[n % 10]}民",
        "petitioner_phone": f"1390000{n:04d}",
        "petitioner_id_number": body + id_check_digit(body),
    }


async def test_book_fill_and_refuse(
    client: httpx.AsyncClient,
    world: World,
    session_id: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    secretary = auth(world.tokens["secretary"])
    url = f"/api/sessions/{session_id}/appointments"
    r = await client.post(url, json=booking(slot_index=0), headers=secretary)
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["petitioner_name"] == "张小明" and a["masked"] is False and a["status"] == "booked"
    assert a["slot_index"] == 0 and a["places"] == 1 and a["collective"] is False
    r = await client.post(
        url, json=booking(slot_index=0, party_size=2, **person(1)), headers=secretary
    )
    assert r.status_code == 201
    problem = assert_problem(
        await client.post(url, json=booking(slot_index=0, **person(2)), headers=secretary), 409
    )
    assert "时段 0(09:00)已约满" in problem["detail"]
    # No slot given: the first with room (slot 1 is full → slot index 1).
    r = await client.post(url, json=booking(party_size=3, **person(3)), headers=secretary)
    assert r.json()["slot_index"] == 1
    assert_problem(await client.post(url, json=booking(**person(4)), headers=secretary), 409)
    async with sessionmaker() as s:
        booked = (
            await s.scalars(select(SessionSlot.booked).order_by(SessionSlot.slot_index))
        ).all()
    assert list(booked) == [3, 3]

    # Cancelling frees the places.
    r = await client.post(
        f"/api/appointments/{a['id']}/status",
        json={"status": "cancelled", "reason": "本人撤回"},
        headers=secretary,
    )
    assert r.status_code == 200 and r.json()["cancelled_by_name"] == "孙某秘"
    r = await client.post(url, json=booking(slot_index=0, **person(5)), headers=secretary)
    assert r.status_code == 201


async def test_collective_visit_needs_representatives(
    client: httpx.AsyncClient, world: World, session_id: int
) -> None:
    secretary = auth(world.tokens["secretary"])
    url = f"/api/sessions/{session_id}/appointments"
    problem = assert_problem(
        await client.post(url, json=booking(party_size=30), headers=secretary), 422
    )
    assert problem["errors"][0]["field"] == "representatives"
    too_many = ["甲一", "乙二", "丙三", "丁四", "戊五", "己六"]
    problem = assert_problem(
        await client.post(
            url, json=booking(party_size=30, representatives=too_many), headers=secretary
        ),
        400,
    )
    assert problem["errors"][0] == {"field": "representatives", "message": "最多 5 项"}
    r = await client.post(
        url, json=booking(party_size=30, representatives=["王大力", "赵小红"]), headers=secretary
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["collective"] is True and a["places"] == 2 and a["party_size"] == 30


async def test_idempotency_key_returns_the_first_result(
    client: httpx.AsyncClient,
    world: World,
    session_id: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    secretary = auth(world.tokens["secretary"], **{"Idempotency-Key": "booking-7f3a"})
    url = f"/api/sessions/{session_id}/appointments"
    body = booking()
    first = await client.post(url, json=body, headers=secretary)
    again = await client.post(url, json=body, headers=secretary)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Appointment)) == 1
    # The same key for another request is refused.
    r = await client.post(url, json=booking(petitioner_name="李四"), headers=secretary)
    assert_problem(r, 422)


async def test_personal_data_whole_only_for_those_handling_the_booking(
    client: httpx.AsyncClient, world: World, session_id: int
) -> None:
    """One policy (reception.privacy): the secretary linked to the session's leader and admins
    see her petitioners whole on the day sheet (she has to call them); anyone else who may read
    the session — the leader himself, the reviewer — sees them masked."""
    secretary = auth(world.tokens["secretary"])
    created = (
        await client.post(
            f"/api/sessions/{session_id}/appointments", json=booking(), headers=secretary
        )
    ).json()
    for url in (f"/api/sessions/{session_id}", f"/api/sessions/{session_id}/appointments"):
        for who in ("secretary", "admin"):
            body = (await client.get(url, headers=auth(world.tokens[who]))).json()
            (a,) = body["appointments"] if "appointments" in body else body["items"]
            assert a["petitioner_name"] == "张小明" and a["petitioner_phone"] == "13812345678"
            assert a["petitioner_id_number"] == ID_NUMBER and a["masked"] is False
        for who in ("leader", "reviewer"):
            body = (await client.get(url, headers=auth(world.tokens[who]))).json()
            (b,) = body["appointments"] if "appointments" in body else body["items"]
            assert b["petitioner_name"] == "张*明" and b["petitioner_phone"] == "138****5678"
            assert b["petitioner_id_number"] == "1101************2X" and b["masked"] is True
    # The one appointment, to the secretary who manages it: whole.
    r = await client.get(f"/api/appointments/{created['id']}", headers=secretary)
    assert r.json()["petitioner_phone"] == "13812345678"
    r = await client.get(
        f"/api/appointments/{created['id']}", headers=auth(world.tokens["reviewer"])
    )
    assert r.json()["petitioner_name"] == "张*明"
    # And the audit log keeps it masked too.
    r = await client.get(
        "/api/audit?action=appointment.create", headers=auth(world.tokens["auditor"])
    )
    after = r.json()["items"][0]["after"]
    assert after["petitioner_name"] == "张*明" and "13812345678" not in str(after)


async def test_status_moves(client: httpx.AsyncClient, world: World, session_id: int) -> None:
    secretary = auth(world.tokens["secretary"])
    a = (
        await client.post(
            f"/api/sessions/{session_id}/appointments", json=booking(), headers=secretary
        )
    ).json()
    # The day has not come: no check-in yet.
    assert_problem(
        await client.post(
            f"/api/appointments/{a['id']}/status", json={"status": "checked_in"}, headers=secretary
        ),
        409,
    )
    problem = assert_problem(
        await client.post(
            f"/api/appointments/{a['id']}/status", json={"status": "completed"}, headers=secretary
        ),
        409,
    )
    assert problem["allowed"] == ["cancelled", "checked_in", "no_show"]
    assert_problem(
        await client.post(
            f"/api/appointments/{a['id']}/status", json={"status": "cancelled"}, headers=secretary
        ),
        422,
    )


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({"slot_index": 7}, 422, "slot_index"),
        ({"slot_starts_at": "2020-01-01T09:00:00+08:00"}, 422, "slot_starts_at"),
        ({"slot_starts_at": "2020-01-01T09:00:00"}, 400, "slot_starts_at"),
        ({"petitioner_id_number": "110105194912310021"}, 422, "petitioner_id_number"),
        ({"petitioner_phone": "call me"}, 422, "petitioner_phone"),
        ({"petitioner_name": ""}, 400, "petitioner_name"),
        ({"party_size": 0}, 400, "party_size"),
        ({"party_size": "two"}, 400, "party_size"),
        ({"nickname": "x"}, 400, "nickname"),
    ],
)
async def test_bad_bookings_write_nothing(
    client: httpx.AsyncClient,
    world: World,
    session_id: int,
    sessionmaker: async_sessionmaker[AsyncSession],
    extra: dict[str, object],
    status: int,
    field: str,
) -> None:
    r = await client.post(
        f"/api/sessions/{session_id}/appointments",
        json=booking(**extra),
        headers=auth(world.tokens["secretary"]),
    )
    problem = assert_problem(r, status)
    assert field in {e["field"] for e in problem["errors"]}, problem
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Appointment)) == 0
        assert await s.scalar(select(func.sum(SessionSlot.booked))) == 0


async def test_only_linked_secretaries_and_admins_book(
    client: httpx.AsyncClient,
    world: World,
    session_id: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    url = f"/api/sessions/{session_id}/appointments"
    for role in ("clerk_a", "leader", "reviewer"):
        assert_problem(
            await client.post(url, json=booking(), headers=auth(world.tokens[role])), 403
        )
    r = await client.post(
        "/api/users",
        json={"name": "吴某秘", "role": "secretary", "leader_ids": [world.leaders["other"]]},
        headers=auth(world.tokens["secadmin"]),
    )
    other_secretary = (
        await client.post(
            f"/api/users/{r.json()['id']}/tokens", headers=auth(world.tokens["secadmin"])
        )
    ).json()["token"]
    problem = assert_problem(
        await client.post(url, json=booking(), headers=auth(other_secretary)), 403
    )
    assert "未关联领导" in problem["detail"]
    assert (
        await client.post(url, json=booking(), headers=auth(world.tokens["admin"]))
    ).status_code == 201


async def test_book_by_start_time_and_refuse_when_full(
    client: httpx.AsyncClient, world: World, session_id: int
) -> None:
    """Naming the slot by its start time: booked in one conditional UPDATE; full → 409;
    a time no slot starts at → 422, and nothing is written for either."""
    secretary = auth(world.tokens["secretary"])
    url = f"/api/sessions/{session_id}/appointments"
    day = future_workday()
    r = await client.post(
        url, json=booking(slot_starts_at=at(day, "09:30"), party_size=3), headers=secretary
    )
    assert r.status_code == 201, r.text
    assert r.json()["slot_index"] == 1 and r.json()["slot_starts_at"] == at(day, "09:30")
    problem = assert_problem(
        await client.post(
            url, json=booking(slot_starts_at=at(day, "09:30"), **person(1)), headers=secretary
        ),
        409,
    )
    # The slot named as the API names it (slot_index 1 is 09:30).
    assert "时段 1(09:30)已约满" in problem["detail"] and problem["places_requested"] == 1
    problem = assert_problem(
        await client.post(
            url, json=booking(slot_starts_at=at(day, "09:15"), **person(2)), headers=secretary
        ),
        422,
    )
    assert "09:00, 09:30" in problem["detail"]
    assert_problem(
        await client.post(
            url,
            json=booking(slot_index=0, slot_starts_at=at(day, "09:00"), **person(3)),
            headers=secretary,
        ),
        422,
    )
    sheet = (await client.get(f"/api/sessions/{session_id}", headers=secretary)).json()
    assert [s["booked"] for s in sheet["slots"]] == [0, 3]
    assert len(sheet["appointments"]) == 1


async def test_booking_answer_names_its_slot_and_replays_the_same(
    client: httpx.AsyncClient,
    world: World,
    session_id: int,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The response carries the slot actually taken, also on an Idempotency-Key replay and
    after the slot filled up; each booking writes exactly one audit row."""
    url = f"/api/sessions/{session_id}/appointments"
    secretary = auth(world.tokens["secretary"])
    keyed = auth(world.tokens["secretary"], **{"Idempotency-Key": "slot-1"})
    first = await client.post(url, json=booking(slot_index=1, party_size=2), headers=keyed)
    assert first.status_code == 201, first.text
    assert first.json()["slot_index"] == 1
    r = await client.post(url, json=booking(slot_index=1, **person(1)), headers=secretary)
    assert r.status_code == 201 and r.json()["slot_index"] == 1
    again = await client.post(url, json=booking(slot_index=1, party_size=2), headers=keyed)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    day = future_workday()
    slots = {0: at(day, "09:00"), 1: at(day, "09:30")}
    for body in (first.json(), r.json()):
        assert body["slot_starts_at"] == slots[body["slot_index"]]
        fetched = (await client.get(f"/api/appointments/{body['id']}", headers=secretary)).json()
        assert fetched == body
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Appointment)) == 2
        actions = (
            await s.scalars(
                select(AuditEvent.target_id).where(AuditEvent.action == "appointment.create")
            )
        ).all()
    assert sorted(actions) == sorted([str(first.json()["id"]), str(r.json()["id"])])
