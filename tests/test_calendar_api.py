"""Working-day calendar stored in the database: seed, show, correct (JSON), import (ICS)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.workcal.models import CalendarDay
from tests.builders import World, build_world
from tests.conftest import assert_problem, auth


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def test_a_year_is_seeded_from_the_holidays_package(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get("/api/calendar/2026", headers=auth(world.tokens["secretary"]))
    assert r.status_code == 200, r.text
    year = r.json()
    assert year["official"] is True and year["provisional"] is False
    assert {d["date"] for d in year["workdays"]} == {
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    }
    assert any(d["date"] == "2026-10-01" and "国庆" in d["name"] for d in year["holidays"])

    r = await client.get("/api/calendar/2027", headers=auth(world.tokens["secretary"]))
    assert r.json()["provisional"] is True

    r = await client.get(
        "/api/calendar/2026/days/2026-09-20", headers=auth(world.tokens["clerk_a"])
    )
    assert r.json() == {"date": "2026-09-20", "workday": True, "provisional": False}


async def test_admin_corrects_a_year_with_json(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    body = {
        "holidays": [{"date": "2027-02-05", "name": "春节"}, "2027-02-08", "2027-02-09"],
        "workdays": [{"date": "2027-02-20", "name": "春节调休上班"}],
        "official": True,
    }
    r = await client.put("/api/calendar/2027", json=body, headers=admin)
    assert r.status_code == 200, r.text
    year = r.json()
    assert year["official"] is True and year["source"] == "json"
    assert [d["date"] for d in year["workdays"]] == ["2027-02-20"]
    assert len(year["holidays"]) == 3
    r = await client.get("/api/calendar/2027/days/2027-02-20", headers=admin)
    assert r.json()["workday"] is True and r.json()["provisional"] is False
    r = await client.get("/api/audit?action=calendar.put", headers=auth(world.tokens["auditor"]))
    # The tests' own provisional 2027 (builders), then this correction by the admin.
    assert [e["actor_name"] for e in r.json()["items"]] == ["管理员", "命令行"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"holidays": ["2027-02-05"], "workdays": ["2027-02-10"]}, "workdays"),  # a Wednesday
        ({"holidays": ["2026-02-05"]}, "holidays"),  # wrong year
        ({"holidays": ["2027-02-20"], "workdays": ["2027-02-20"]}, "holidays"),
        ({"holidays": ["2027-02-30"]}, "holidays"),
    ],
)
async def test_bad_calendar_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, object],
    field: str,
) -> None:
    admin = auth(world.tokens["admin"])
    before = (await client.get("/api/calendar/2027", headers=admin)).json()
    r = await client.put("/api/calendar/2027", json=body, headers=admin)
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code)
    after = (await client.get("/api/calendar/2027", headers=admin)).json()
    assert after == before
    async with sessionmaker() as s:
        assert await s.scalar(
            select(func.count()).select_from(CalendarDay).where(CalendarDay.year == 2027)
        ) == len(before["holidays"]) + len(before["workdays"])


async def test_only_admins_change_the_calendar(client: httpx.AsyncClient, world: World) -> None:
    for role in ("secretary", "clerk_a", "leader", "reviewer"):
        r = await client.put(
            "/api/calendar/2027", json={"holidays": []}, headers=auth(world.tokens[role])
        )
        assert_problem(r, 403)


ICS_2027 = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//State Council schedule//CN
BEGIN:VEVENT
UID:2027-spring@example
DTSTART;VALUE=DATE:20270205
DTEND;VALUE=DATE:20270212
SUMMARY:春节 休
END:VEVENT
BEGIN:VEVENT
UID:2027-spring-work@example
DTSTART;VALUE=DATE:20270213
DTEND;VALUE=DATE:20270214
SUMMARY:春节 补班
END:VEVENT
END:VCALENDAR
"""


async def test_import_from_an_ics_file(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"], **{"content-type": "text/calendar"})
    r = await client.put("/api/calendar/2027/ics", content=ICS_2027.encode(), headers=admin)
    assert r.status_code == 200, r.text
    year = r.json()
    assert year["official"] is True and year["source"] == "ics"
    assert [d["date"] for d in year["holidays"]] == [f"2027-02-{d:02d}" for d in range(5, 12)]
    assert [d["date"] for d in year["workdays"]] == ["2027-02-13"]

    r = await client.put("/api/calendar/2027/ics", content=b"not a calendar", headers=admin)
    assert_problem(r, 422)
