"""Real concurrent requests against a server with 2 worker processes, on both databases.

The invariants hold because the database enforces them, not because one process is careful.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot
from tests.builders import World, at, build_world, future_workday
from tests.live import serve


@pytest.fixture
def server(database_url: str, app: Litestar) -> Iterator[str]:
    # `app` first: it empties the tables this server will share.
    with serve(database_url, workers=2) as base:
        yield base


async def _fire(
    base: str, requests: list[tuple[str, str, dict[str, object], dict[str, str]]]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        return await asyncio.gather(
            *(client.request(m, url, json=body, headers=h) for m, url, body, h in requests)
        )


async def test_200_concurrent_bookings_for_20_places(
    server: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    world: World = await build_world(sessionmaker)
    day = future_workday()
    token = {"Authorization": f"Bearer {world.tokens['secretary']}"}
    async with httpx.AsyncClient(base_url=server) as client:
        r = await client.post(
            "/api/sessions",
            json={
                "leader_id": world.leaders["mayor"],
                "kind": "reception",
                "venue_id": world.venue,
                "starts_at": at(day, "09:00"),
                "ends_at": at(day, "11:00"),
                "slot_minutes": 30,
                "people_per_slot": 5,
            },
            headers=token,
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
    requests = [
        (
            "POST",
            f"/api/sessions/{sid}/appointments",
            {"petitioner_name": f"来访人{i}", "matter_summary": "讨薪"},
            token,
        )
        for i in range(200)
    ]
    responses = await _fire(server, requests)
    counts = Counter(r.status_code for r in responses)
    assert counts == {201: 20, 409: 180}, {c: n for c, n in counts.items()} | {
        "sample": next((r.text for r in responses if r.status_code not in (201, 409)), "")
    }
    assert all(
        r.headers["content-type"].startswith("application/problem+json")
        for r in responses
        if r.status_code == 409
    )
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Appointment)) == 20
        slots = (await s.scalars(select(SessionSlot).where(SessionSlot.session_id == sid))).all()
        assert [slot.booked for slot in slots] == [5, 5, 5, 5]
        per_slot = Counter((await s.scalars(select(Appointment.slot_id))).all())
        assert sorted(per_slot.values()) == [5, 5, 5, 5]


async def test_same_idempotency_key_at_once_creates_one(
    server: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(sessionmaker)
    day = future_workday()
    token = {"Authorization": f"Bearer {world.tokens['secretary']}"}
    async with httpx.AsyncClient(base_url=server) as client:
        r = await client.post(
            "/api/sessions",
            json={
                "leader_id": world.leaders["mayor"],
                "kind": "reception",
                "venue_id": world.venue,
                "starts_at": at(day, "09:00"),
                "ends_at": at(day, "12:00"),
                "people_per_slot": 10,
            },
            headers=token,
        )
        sid = r.json()["id"]
    body = {"petitioner_name": "张小明", "matter_summary": "讨薪"}
    responses = await _fire(
        server,
        [("POST", f"/api/sessions/{sid}/appointments", body, {**token, "Idempotency-Key": "k-1"})]
        * 20,
    )
    assert {r.status_code for r in responses} == {201}, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    assert len({r.json()["id"] for r in responses}) == 1
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Appointment)) == 1


async def test_concurrent_overlapping_sessions_one_wins(
    server: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(sessionmaker)
    day = future_workday()
    token = {"Authorization": f"Bearer {world.tokens['secretary']}"}
    requests = [
        (
            "POST",
            "/api/sessions",
            {
                "leader_id": world.leaders["mayor"],
                "kind": "field_visit",
                "unit_id": world.township_a,
                "starts_at": at(day, f"{9 + i % 3:02d}:00"),
                "ends_at": at(day, f"{12 + i % 3:02d}:00"),
            },
            token,
        )
        for i in range(30)
    ]
    responses = await _fire(server, requests)
    counts = Counter(r.status_code for r in responses)
    assert counts == {201: 1, 409: 29}, counts
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ReceptionSession)) == 1


async def test_double_cancel_frees_places_once_and_no_booking_outlives_a_cancelled_session(
    server: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(sessionmaker)
    day = future_workday()
    token = {"Authorization": f"Bearer {world.tokens['secretary']}"}
    async with httpx.AsyncClient(base_url=server, timeout=60) as c:
        first = (
            await c.post(
                "/api/sessions",
                json={
                    "leader_id": world.leaders["mayor"],
                    "kind": "reception",
                    "venue_id": world.venue,
                    "starts_at": at(day, "09:00"),
                    "ends_at": at(day, "09:30"),
                    "people_per_slot": 5,
                },
                headers=token,
            )
        ).json()["id"]
        ids = []
        for name in ("甲", "乙", "丙"):
            r = await c.post(
                f"/api/sessions/{first}/appointments",
                json={"petitioner_name": name, "matter_summary": "讨薪"},
                headers=token,
            )
            ids.append(r.json()["id"])
    # The same cancellation twenty times at once: one succeeds, one place is freed.
    responses = await _fire(
        server,
        [
            (
                "POST",
                f"/api/appointments/{ids[0]}/status",
                {"status": "cancelled", "reason": "撤回"},
                token,
            )
        ]
        * 20,
    )
    assert Counter(r.status_code for r in responses) == {200: 1, 409: 19}
    async with sessionmaker() as s:
        (slot,) = (
            await s.scalars(select(SessionSlot).where(SessionSlot.session_id == first))
        ).all()
        assert slot.booked == 2

    # Bookings racing a cancellation of their session: none is left booked in it.
    async with httpx.AsyncClient(base_url=server, timeout=60) as c:
        second = (
            await c.post(
                "/api/sessions",
                json={
                    "leader_id": world.leaders["mayor"],
                    "kind": "reception",
                    "venue_id": world.venue,
                    "starts_at": at(day, "14:00"),
                    "ends_at": at(day, "17:00"),
                    "people_per_slot": 50,
                },
                headers=token,
            )
        ).json()["id"]
    requests = [
        (
            "POST",
            f"/api/sessions/{second}/appointments",
            {"petitioner_name": f"来访人{i}", "matter_summary": "讨薪"},
            token,
        )
        for i in range(30)
    ]
    requests.insert(10, ("POST", f"/api/sessions/{second}/cancel", {"reason": "防汛"}, token))
    responses = await _fire(server, requests)
    assert {r.status_code for r in responses} <= {200, 201, 409}
    async with sessionmaker() as s:
        live = await s.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.session_id == second, Appointment.status == "booked")
        )
        booked = await s.scalar(
            select(func.sum(SessionSlot.booked)).where(SessionSlot.session_id == second)
        )
    assert live == 0 and booked == 0


async def test_the_same_petitioner_booked_twenty_times_at_once_is_booked_once(
    server: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The one-booking-per-petitioner rule is the database's (partial unique indexes): 20
    concurrent bookings of one person, with room for all, give one appointment and 19 × 409s
    that name it."""
    world: World = await build_world(sessionmaker)
    day = future_workday()
    token = {"Authorization": f"Bearer {world.tokens['secretary']}"}
    async with httpx.AsyncClient(base_url=server) as client:
        r = await client.post(
            "/api/sessions",
            json={
                "leader_id": world.leaders["mayor"],
                "kind": "reception",
                "venue_id": world.venue,
                "starts_at": at(day, "09:00"),
                "ends_at": at(day, "12:00"),
                "slot_minutes": 30,
                "people_per_slot": 10,
            },
            headers=token,
        )
        sid = r.json()["id"]
    body = {
        "petitioner_name": "张小明",
        "petitioner_phone": "13812345678",
        "matter_summary": "讨薪",
    }
    responses = await _fire(
        server, [("POST", f"/api/sessions/{sid}/appointments", body, token)] * 20
    )
    counts = Counter(r.status_code for r in responses)
    assert counts == {201: 1, 409: 19}, counts
    (winner,) = [r.json()["id"] for r in responses if r.status_code == 201]
    assert {r.json()["first_appointment_id"] for r in responses if r.status_code == 409} == {winner}
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Appointment)) == 1
        assert await s.scalar(select(func.sum(SessionSlot.booked))) == 1
