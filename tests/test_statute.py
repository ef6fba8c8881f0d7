"""The clocks as the 信访工作条例 (2022) words them, with dates worked out by hand (2026:
中秋 Fri 09-25; 国庆 10-01..10-07; start day not counted; a period ending on a holiday ends on
the next working day). Today is 2026-12-01 (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders import World, build_world, case_body, served
from tests.conftest import auth
from tests.test_cases_clocks import act, clock


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def _register(client: httpx.AsyncClient, world: World, **extra: Any) -> dict[str, Any]:
    r = await client.post(
        "/api/cases", json=case_body(world, **extra), headers=auth(world.tokens["clerk_a"])
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_the_accept_clock_runs_from_receipt_so_a_late_entry_is_overdue_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    """Art. 23: 15 days 自收到信访事项之日起. A letter received on 09-16 and entered on 12-01 (补录)
    was due on 10-08 (09-16 + 15 = 10-01, 国庆 → Thursday 10-08): it is overdue the moment it
    is registered, and the office's lists say so."""
    case = await _register(client, world, received_on="2026-09-16", on="2026-12-01")
    accept = clock(case, "accept")
    assert accept["started_on"] == "2026-09-16"
    assert accept["original_due"] == accept["current_due"] == "2026-10-08"
    assert accept["overdue"] is True
    clerk = auth(world.tokens["clerk_a"])
    listed = (await client.get("/api/cases?overdue=true", headers=clerk)).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    # Accepted today: met, and late for ever after.
    r = await act(client, world, case["id"], action="accept", on="2026-12-01")
    accept = clock(r.json(), "accept")
    assert accept["met_on"] == "2026-12-01" and accept["on_time"] is False
    # The handling clock starts from acceptance (art. 34): 12-01 + 60 = 01-30 (a Saturday in
    # the tests' provisional 2027) → Monday 02-01.
    handle = clock(r.json(), "handle")
    assert handle["started_on"] == "2026-12-01" and handle["current_due"] == "2027-02-01"


async def test_a_case_entered_the_day_it_arrives_has_its_full_fifteen_days(
    client: httpx.AsyncClient, world: World
) -> None:
    case = await _register(client, world, received_on="2026-11-20", on="2026-11-20")
    # 11-20 + 15 = 12-05, a Saturday → Monday 12-07; not overdue on 12-01.
    accept = clock(case, "accept")
    assert accept["current_due"] == "2026-12-07" and accept["overdue"] is False


async def test_the_hearing_is_not_counted_in_the_re_review_period(
    client: httpx.AsyncClient, world: World
) -> None:
    """Art. 36: 复核 decides within 30 days of the request; the hearing's time (听证) is not
    counted. Requested 11-02: due 12-02. A hearing on 11-10..11-12 (3 days) moves it to
    12-05, a Saturday → Monday 12-07."""
    case = await _register(client, world)
    cid = case["id"]
    steps = [
        {"action": "accept", "on": "2026-09-21"},
        {
            "action": "reply",
            "on": "2026-10-09",
            "doc_number": "蓟信复〔2026〕1号",
            "delivery": served("2026-10-09"),
        },
        {"action": "request_review", "on": "2026-10-12"},
        {"action": "decide_review", "on": "2026-10-30"},
        {"action": "request_re_review", "on": "2026-11-02"},
    ]
    for step in steps:
        r = await act(client, world, cid, **step)
        assert r.status_code == 200, r.text
    re_review = clock(r.json(), "re_review")
    assert re_review["current_due"] == "2026-12-02" and re_review["paused_days"] == 0
    assert "hearing" in r.json()["allowed_actions"]
    r = await act(
        client,
        world,
        cid,
        action="hearing",
        on="2026-11-13",
        hearing_from="2026-11-10",
        hearing_to="2026-11-12",
        reason="复核听证",
    )
    assert r.status_code == 200, r.text
    re_review = clock(r.json(), "re_review")
    assert re_review["original_due"] == "2026-12-02"
    assert re_review["current_due"] == "2026-12-07" and re_review["paused_days"] == 3
    assert re_review["pauses"][0]["days"] == 3
    # An overlapping second hearing is refused; one that is not yet over is too.
    r = await act(
        client, world, cid, action="hearing", hearing_from="2026-11-12", hearing_to="2026-11-13"
    )
    assert r.status_code == 409, r.text
    r = await act(
        client, world, cid, action="hearing", hearing_from="2026-11-30", hearing_to="2026-12-03"
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hearing_to"
    timeline = (
        await client.get(f"/api/cases/{cid}/timeline", headers=auth(world.tokens["clerk_a"]))
    ).json()
    assert "transition.hearing" in [e["kind"] for e in timeline]


async def test_review_windows_run_from_delivery_not_from_the_reply(
    client: httpx.AsyncClient, world: World
) -> None:
    """Art. 35: 30 days from receiving the written reply. Replied 10-09, delivered 10-12:
    the petitioner's window ends 11-11 (10-12 + 30)."""
    case = await _register(client, world)
    await act(client, world, case["id"], action="accept", on="2026-09-21")
    r = await act(
        client,
        world,
        case["id"],
        action="reply",
        on="2026-10-09",
        doc_number="蓟信复〔2026〕2号",
        delivery=served("2026-10-12", "mail"),
    )
    window = clock(r.json(), "review_request")
    assert window["started_on"] == "2026-10-12" and window["current_due"] == "2026-11-11"
