"""Shared helpers for the feed tests (no tests here): direct inserts of sessions and
appointments (the scheduling API is built separately), and feed creation through the API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.config import Settings
from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot
from tests.builders import TODAY
from tests.conftest import auth

TZ = Settings().tz

# Personal data that must never reach a feed.
PII = {
    "name": "欧阳秘密人",
    "phone": "13912345678",
    "id_number": "12022519800101123X",
}


def today() -> date:
    """The tests' today (conftest NOW), in Beijing."""
    return TODAY


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ)


async def add_session(
    maker: async_sessionmaker[AsyncSession],
    *,
    leader_id: int,
    day: date,
    kind: str = "reception",
    start_hour: int = 9,
    hours: int = 3,
    venue_id: int | None = None,
    unit_id: int | None = None,
    address: str = "",
    status: str = "scheduled",
    sequence: int = 0,
    provisional: bool = False,
    cancelled_at: datetime | None = None,
    purpose: str = "",
) -> ReceptionSession:
    starts = local(day, start_hour)
    row = ReceptionSession(
        uid=f"{uuid.uuid4()}@reception.test",
        leader_id=leader_id,
        kind=kind,
        venue_id=venue_id,
        unit_id=unit_id,
        address=address,
        purpose=purpose,
        local_date=day,
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        status=status,
        sequence=sequence,
        provisional=provisional,
        cancelled_at=cancelled_at,
        cancelled_by_name="孙某秘" if cancelled_at else None,
    )
    async with maker() as s:
        s.add(row)
        await s.commit()
    return row


async def add_appointment(
    maker: async_sessionmaker[AsyncSession],
    session: ReceptionSession,
    *,
    status: str = "booked",
    collective: bool = False,
    party_size: int = 1,
) -> Appointment:
    async with maker() as s:
        slot = SessionSlot(
            session_id=session.id,  # type: ignore[arg-type]
            slot_index=int(uuid.uuid4().int % 1_000_000),
            starts_at=session.starts_at,
            ends_at=session.starts_at + timedelta(minutes=30),
            capacity=10,
            booked=1,
        )
        s.add(slot)
        await s.flush()
        row = Appointment(
            session_id=session.id,  # type: ignore[arg-type]
            slot_id=slot.id,  # type: ignore[arg-type]
            petitioner_name=PII["name"],
            petitioner_phone=PII["phone"],
            petitioner_id_number=PII["id_number"],
            matter_summary=f"{PII['name']} 反映拖欠工资，电话 {PII['phone']}",
            party_size=party_size,
            collective=collective,
            representatives=[PII["name"]] if collective else [],
            # The same planted petitioner many times over: on purpose.
            duplicate_allowed=True,
            places=min(party_size, 5),
            status=status,
            booked_by_name="孙某秘",
            cancelled_at=local(TODAY, 9) if status == "cancelled" else None,
        )
        s.add(row)
        await s.commit()
    return row


async def create_feed(
    client: httpx.AsyncClient, token: str, expect: int = 201, **body: Any
) -> dict[str, Any]:
    response = await client.post("/api/feeds", json=body, headers=auth(token))
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


def feed_path(new_feed: dict[str, Any]) -> str:
    url: str = new_feed["url"]
    assert url.startswith("https://reception.test/feeds/fd_") and url.endswith(".ics")
    return url.removeprefix("https://reception.test")
