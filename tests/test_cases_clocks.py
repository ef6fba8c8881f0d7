"""Statutory clocks through the API, on dates worked out by hand from the 2026 calendar.

2026 holidays that matter here: 中秋 Fri 09-25; 国庆 10-01..10-07 (10-10 Sat is a make-up
working day); 劳动节 05-01..05-05 (05-09 Sat make-up). Counting: the start day is not counted;
a calendar-day period ending on a holiday ends on the next working day.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders import World, build_world, case_body, served
from tests.conftest import assert_problem, auth


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def act(client: httpx.AsyncClient, world: World, case_id: int, **body: Any) -> httpx.Response:
    return await client.post(
        f"/api/cases/{case_id}/transitions", json=body, headers=auth(world.tokens["clerk_a"])
    )


def clock(case: dict[str, Any], kind: str, round_: int = 1) -> dict[str, Any]:
    return next(c for c in case["clocks"] if c["kind"] == kind and c["round"] == round_)


async def register(client: httpx.AsyncClient, world: World, **extra: Any) -> dict[str, Any]:
    r = await client.post(
        "/api/cases", json=case_body(world, **extra), headers=auth(world.tokens["clerk_a"])
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_acceptance_deadline_lands_in_national_day(
    client: httpx.AsyncClient, world: World
) -> None:
    case = await register(client, world)
    assert case["reference"] == "蓟信〔2026〕00001"
    accept = clock(case, "accept")
    # 09-16 + 15 days = 10-01, 国庆 → next working day Thursday 10-08.
    assert accept["started_on"] == "2026-09-16"
    assert accept["original_due"] == accept["current_due"] == "2026-10-08"
    assert accept["status"] == "running" and accept["on_time"] is None

    r = await act(client, world, case["id"], action="accept", on="2026-10-09")
    case = r.json()
    accept = clock(case, "accept")
    assert accept["met_on"] == "2026-10-09" and accept["on_time"] is False
    # Handling: 10-09 + 60 = 12-08 (Tuesday).
    handle = clock(case, "handle")
    assert handle["original_due"] == "2026-12-08"


async def test_simple_procedure_counts_working_days_across_the_holiday(
    client: httpx.AsyncClient, world: World
) -> None:
    case = await register(client, world, received_on="2026-09-25", on="2026-09-25")
    r = await act(client, world, case["id"], action="accept", on="2026-09-28")
    handle = clock(r.json(), "handle")
    assert handle["current_due"] == "2026-11-27"  # 09-28 + 60
    r = await act(client, world, case["id"], action="simple_procedure", on="2026-09-28")
    assert r.status_code == 200, r.text
    case = r.json()
    assert clock(case, "handle")["status"] == "void"
    simple = clock(case, "simple")
    # 09-29, 09-30, [10-01..07 off], 10-08, 10-09, 10-10 (Sat, make-up), 10-12..16 → Fri 10-16.
    assert simple["working_days"] is True and simple["current_due"] == "2026-10-16"
    r = await act(
        client,
        world,
        case["id"],
        action="reply",
        on="2026-10-15",
        doc_number="下仓信复〔2026〕7号",
        delivery=served("2026-10-16"),
    )
    case = r.json()
    assert clock(case, "simple")["on_time"] is True
    # The petitioner's 30 days for 复查 run from delivery: 10-16 + 30 = 11-15 (Sunday) → 11-16.
    assert clock(case, "review_request")["current_due"] == "2026-11-16"


async def test_simple_procedure_is_for_first_time_matters_only(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await register(client, world)
    repeat = await register(
        client, world, repeat_of=first["id"], received_on="2026-09-20", on="2026-09-20"
    )
    assert repeat["first_time"] is False
    await act(client, world, repeat["id"], action="accept", on="2026-09-21")
    r = await act(client, world, repeat["id"], action="simple_procedure", on="2026-09-21")
    problem = assert_problem(r, 409)
    assert "simple_procedure" not in problem["allowed"]


async def test_extensions_are_capped_at_30_days(client: httpx.AsyncClient, world: World) -> None:
    case = await register(client, world, received_on="2026-03-01", on="2026-03-01")
    assert clock(case, "accept")["current_due"] == "2026-03-16"
    r = await act(client, world, case["id"], action="accept", on="2026-03-02")
    # 03-02 + 60 = 05-01 劳动节 (05-01..05-05 off) → Wednesday 05-06.
    assert clock(r.json(), "handle")["current_due"] == "2026-05-06"

    extend = {
        "action": "extend",
        "on": "2026-04-20",
        "reason": "需调取不动产登记资料",
        "approver": "黄某辛",
        "petitioner_told_on": "2026-04-21",
    }
    r = await act(client, world, case["id"], **extend, days=20)
    handle = clock(r.json(), "handle")
    # 03-02 + 80 = 05-21 (Thursday); the original due date stays.
    assert handle["original_due"] == "2026-05-06" and handle["current_due"] == "2026-05-21"
    assert handle["extended_days"] == 20 and handle["extensions"][0]["approver"] == "黄某辛"
    r = await act(client, world, case["id"], **extend, days=10)
    # 03-02 + 90 = 05-31 (Sunday) → Monday 06-01.
    assert clock(r.json(), "handle")["current_due"] == "2026-06-01"
    problem = assert_problem(await act(client, world, case["id"], **extend, days=1), 409)
    assert problem["already_extended_days"] == 30
    for missing in ("reason", "approver", "petitioner_told_on"):
        body = {**extend, "days": 1, missing: None if missing == "petitioner_told_on" else ""}
        assert_problem(await act(client, world, case["id"], **body), 422)
    r = await client.get(f"/api/cases/{case['id']}/clocks", headers=auth(world.tokens["clerk_a"]))
    assert clock({"clocks": r.json()}, "handle")["extended_days"] == 30


async def test_review_and_re_review_clocks(client: httpx.AsyncClient, world: World) -> None:
    case = await register(client, world, received_on="2026-09-01", on="2026-09-01")
    await act(client, world, case["id"], action="accept", on="2026-09-02")
    r = await act(
        client,
        world,
        case["id"],
        action="reply",
        on="2026-10-12",
        doc_number="7号",
        delivery=served("2026-10-16", "mail"),
    )
    window = clock(r.json(), "review_request")
    assert window["current_due"] == "2026-11-16"
    # Too late: the window closed on 11-16.
    problem = assert_problem(
        await act(client, world, case["id"], action="request_review", on="2026-11-17"), 409
    )
    assert problem["window_closed_on"] == "2026-11-16"
    r = await act(client, world, case["id"], action="request_review", on="2026-11-10")
    case = r.json()
    assert case["stage"] == "review"
    assert clock(case, "review_request")["on_time"] is True
    # 复查: 11-10 + 30 = 12-10 (Thursday).
    assert clock(case, "review")["current_due"] == "2026-12-10"
    r = await act(client, world, case["id"], action="decide_review", on="2026-11-20")
    case = r.json()
    assert clock(case, "review")["on_time"] is True
    # The window for 复核 runs from the review decision: 11-20 + 30 = 12-20 (Sunday) → 12-21.
    assert clock(case, "review_request", 2)["current_due"] == "2026-12-21"
    r = await act(client, world, case["id"], action="request_re_review", on="2026-11-25")
    case = r.json()
    assert case["stage"] == "re_review" and clock(case, "re_review")["current_due"] == "2026-12-25"


async def test_calendar_correction_recomputes_running_clocks_only(
    client: httpx.AsyncClient, world: World
) -> None:
    met = await register(client, world, received_on="2026-11-16", on="2026-11-16")
    await act(client, world, met["id"], action="accept", on="2026-11-20")
    running = await register(client, world, received_on="2026-11-20", on="2026-11-20")
    # 11-20 + 15 = 12-05 (Saturday) → Monday 12-07.
    assert clock(running, "accept")["current_due"] == "2026-12-07"
    year = (await client.get("/api/calendar/2026", headers=auth(world.tokens["admin"]))).json()
    holidays = [d["date"] for d in year["holidays"]] + ["2026-12-07"]
    r = await client.put(
        "/api/calendar/2026",
        json={"holidays": holidays, "workdays": [d["date"] for d in year["workdays"]]},
        headers=auth(world.tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/cases/{running['id']}", headers=auth(world.tokens["clerk_a"]))
    accept = clock(r.json(), "accept")
    assert accept["current_due"] == accept["original_due"] == "2026-12-08"
    r = await client.get(f"/api/cases/{met['id']}", headers=auth(world.tokens["clerk_a"]))
    assert clock(r.json(), "accept")["on_time"] is True
    # The handling clock that started on 11-20 runs to 01-19 and is recomputed too (unchanged).
    assert clock(r.json(), "handle")["current_due"] == "2027-01-19"
    assert clock(r.json(), "handle")["provisional"] is True


async def test_an_assigned_case_has_five_working_days_to_object(
    client: httpx.AsyncClient, world: World
) -> None:
    case = await register(
        client,
        world,
        source="national",
        source_batch="国信〔2026〕第9批",
        received_on="2026-09-28",
        on="2026-09-29",
    )
    objection = clock(case, "objection")
    # From Monday 09-28: 09-29, 09-30, [10-01..07 off], 10-08, 10-09, 10-10 (Sat, make-up) → 10-10.
    assert (objection["working_days"], objection["current_due"]) == (True, "2026-10-10")
    r = await act(client, world, case["id"], action="accept", on="2026-10-12")
    objection = clock(r.json(), "objection")
    assert (objection["met_on"], objection["on_time"]) == ("2026-10-12", False)
    own = await register(client, world)
    assert [c["kind"] for c in own["clocks"]] == ["accept"]
