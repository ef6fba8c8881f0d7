"""Nothing a user sends gives a 500: each probe here was one, on SQLite or PostgreSQL or both.
Every refusal is problem+json, in Chinese, and writes nothing."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.cases.models import PetitionCase
from reception.org.models import Unit
from reception.scheduling.models import ReceptionSession
from tests.builders import World, build_world, case_body
from tests.conftest import assert_problem, auth

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def _counts(maker: async_sessionmaker[AsyncSession]) -> tuple[int, ...]:
    async with maker() as s:
        return tuple(
            [
                await s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Unit, PetitionCase, ReceptionSession, AuditEvent)
            ]
        )


def chinese(problem: dict[str, Any]) -> None:
    assert CJK.search(problem["title"]) and CJK.search(problem["detail"]), problem
    for error in problem.get("errors", []):
        assert CJK.search(error["message"]), problem


@pytest.mark.parametrize(
    "url",
    [
        "/api/cases?q=%00",
        "/api/cases?category=housing%00",
        "/api/sessions?kind=reception%00",
        "/api/audit?action=x%00y",
        "/api/audit?target_type=%00",
        "/api/units?kind=%00",
    ],
)
async def test_nul_in_a_query_is_400(client: httpx.AsyncClient, world: World, url: str) -> None:
    problem = assert_problem(await client.get(url, headers=auth(world.tokens["admin"])), 400)
    assert problem["type"] == "/problems/nul-character"
    chinese(problem)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/units", {"name": "下仓\u0000镇", "kind": "district"}),
        ("/api/cases", None),  # a case whose petitioner's name holds a NUL (built below)
    ],
)
async def test_nul_in_a_body_is_400_and_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    url: str,
    body: dict[str, Any] | None,
) -> None:
    if body is None:
        body = case_body(world)
        body["petitioners"] = [{"name": "张\u0000明"}]  # type: ignore[index]
    before = await _counts(sessionmaker)
    r = await client.post(url, json=body, headers=auth(world.tokens["admin"]))
    chinese(assert_problem(r, 400))
    assert await _counts(sessionmaker) == before


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(
    client: httpx.AsyncClient, world: World
) -> None:
    # The text "\u0000" typed literally (a backslash, then u0000) is allowed.
    r = await client.post(
        "/api/units",
        content=b'{"name": "\\\\u0000", "kind": "district"}',
        headers=auth(world.tokens["admin"], **{"content-type": "application/json"}),
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "\\u0000"


async def test_deep_json_is_400(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        "/api/units",
        content=b"[" * 1000 + b"]" * 1000,
        headers=auth(world.tokens["admin"], **{"content-type": "application/json"}),
    )
    problem = assert_problem(r, 400)
    assert problem["type"] == "/problems/json-too-deep"


async def test_a_body_that_is_not_json_is_415(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        "/api/units",
        content=b'{"name": "x", "kind": "district"}',
        headers=auth(world.tokens["admin"], **{"content-type": "text/plain"}),
    )
    chinese(assert_problem(r, 415))


@pytest.mark.parametrize("url", ["/api/audit", "/api/users", "/api/users/1", "/api/reports/review"])
async def test_options_on_admin_routes_is_never_a_500(
    client: httpx.AsyncClient, world: World, url: str
) -> None:
    assert_problem(await client.options(url), 401)
    assert_problem(await client.options(url, headers=auth(world.tokens["secretary"])), 403)
    who = "auditor" if url.startswith("/api/audit") else "admin"
    r = await client.options(url, headers=auth(world.tokens[who]))
    assert r.status_code == 204 and "OPTIONS" in r.headers["allow"]


async def test_blank_names_and_dates_outside_the_calendar_are_refused(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    before = await _counts(sessionmaker)
    for body, field in [
        (case_body(world, petitioners=[{"name": "   "}]), "petitioners[0].name"),
        (case_body(world, summary="  \t "), "summary"),
        (case_body(world, received_on="0001-01-01"), "received_on"),
    ]:
        problem = assert_problem(await client.post("/api/cases", json=body, headers=clerk), 400)
        assert [e["field"] for e in problem["errors"]] == [field]
        chinese(problem)
    visit = {
        "leader_id": world.leaders["mayor"],
        "kind": "field_visit",
        "starts_at": "9999-12-31T09:00:00+08:00",
        "ends_at": "9999-12-31T11:00:00+08:00",
        "address": "下仓镇",
    }
    r = await client.post("/api/sessions", json=visit, headers=auth(world.tokens["admin"]))
    assert assert_problem(r, 400)["errors"][0]["field"] == "starts_at"
    assert await _counts(sessionmaker) == before


async def test_a_day_that_does_not_exist_is_400_not_404(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get("/api/calendar/2026/days/2026-02-30", headers=auth(world.tokens["admin"]))
    problem = assert_problem(r, 400)
    assert problem["errors"][0]["field"] == "day"


async def test_messages_people_can_act_on(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    # An enum lists what it allows; a query field is named as sent (`from`, not `date_from`).
    body = case_body(world, source="province")
    problem = assert_problem(
        await client.post("/api/cases", json=body, headers=auth(world.tokens["clerk_a"])), 400
    )
    assert problem["errors"] == [{"field": "source", "message": "必须是 city|national|own 之一"}]
    problem = assert_problem(await client.get("/api/sessions?from=2026-13-01", headers=admin), 400)
    assert problem["errors"][0]["field"] == "from"
    chinese(problem)
    # Unknown fields, missing fields, wrong types: Chinese, each naming its field.
    for payload, field in [
        ({"name": "区", "kind": "district", "colour": "red"}, "colour"),
        ({"kind": "district"}, "name"),
        ({"name": "区", "kind": "district", "parent_id": "one"}, "parent_id"),
    ]:
        problem = assert_problem(await client.post("/api/units", json=payload, headers=admin), 400)
        assert [e["field"] for e in problem["errors"]] == [field]
        chinese(problem)
    # Without a token, and with a revoked one.
    chinese(assert_problem(await client.get("/api/me"), 401))
    chinese(assert_problem(await client.get("/api/me", headers=auth("rcp_nope")), 401))
    # A route that is not there.
    chinese(assert_problem(await client.get("/api/nothing-here", headers=admin), 404))


@pytest.mark.parametrize(
    "ics",
    [
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nDTSTART:20300230\nEND:VEVENT\nEND:VCALENDAR\n",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nDTSTART:abc\nEND:VEVENT\nEND:VCALENDAR\n",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:春节\nDTSTART;VALUE=DATE:20300201\n"
        "DTEND;VALUE=DATE:20300230\nEND:VEVENT\nEND:VCALENDAR\n",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:春节\nDTSTART;VALUE=DATE:20300201\n"
        "DTEND;VALUE=DATE:20400101\nEND:VEVENT\nEND:VCALENDAR\n",
        "garbage",
    ],
)
async def test_a_broken_ics_is_a_clear_422(
    client: httpx.AsyncClient, world: World, ics: str
) -> None:
    r = await client.put(
        "/api/calendar/2030/ics",
        content=ics.replace("\n", "\r\n").encode(),
        headers=auth(world.tokens["admin"], **{"content-type": "text/calendar"}),
    )
    problem = assert_problem(r, 422)
    chinese(problem)
    assert not re.search(r"[A-Za-z]{6,} [a-z]{3,}", problem["detail"]), problem


async def test_an_official_year_is_not_wiped_by_an_empty_list(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = auth(world.tokens["admin"])
    r = await client.put("/api/calendar/2026", json={"holidays": [], "workdays": []}, headers=admin)
    assert assert_problem(r, 422)["errors"][0]["field"] == "holidays"
    year = (await client.get("/api/calendar/2026", headers=admin)).json()
    assert len(year["holidays"]) > 20


async def test_more_messages_people_can_act_on(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    json_type = {"content-type": "application/json"}
    # No body, a broken body, a missing query parameter, a month in the wrong form.
    r = await client.post(
        "/api/units", content=b"", headers=auth(world.tokens["admin"], **json_type)
    )
    assert assert_problem(r, 400)["errors"] == [{"field": "body", "message": "缺少请求正文(JSON)"}]
    r = await client.post(
        "/api/units", content=b"{", headers=auth(world.tokens["admin"], **json_type)
    )
    assert "不是有效的 JSON" in assert_problem(r, 400)["detail"]
    reviewer = auth(world.tokens["reviewer"])
    r = await client.get("/api/reports/review", headers=reviewer)
    assert assert_problem(r, 400)["errors"] == [{"field": "month", "message": "必须填写"}]
    r = await client.get("/api/reports/review?month=2026-13", headers=reviewer)
    assert "YYYY-MM" in assert_problem(r, 400)["errors"][0]["message"]
    # The review of a day still to come.
    r = await client.get("/api/reports/review?month=2026-12&as_of=2027-01-05", headers=reviewer)
    assert assert_problem(r, 422)["errors"][0]["field"] == "as_of"
    # List filters name their values.
    for url, field in [
        ("/api/sessions?kind=xyz", "kind"),
        ("/api/sessions?status=xyz", "status"),
        ("/api/cases?stage=foo", "stage"),
        ("/api/cases?channel=fax", "channel"),
    ]:
        problem = assert_problem(await client.get(url, headers=admin), 400)
        assert problem["errors"][0]["field"] == field and "之一" in problem["errors"][0]["message"]


@pytest.mark.parametrize(
    ("id_number", "says"),
    [
        ("11010519491231002", "18位"),
        ("110105194902300020", "出生日期"),
        ("110105214901010026", "出生日期"),
        ("11010519491231002Y", "最后一位"),
        ("110105194912310021", "校验码"),
    ],
)
async def test_id_numbers_say_what_is_wrong(
    client: httpx.AsyncClient, world: World, id_number: str, says: str
) -> None:
    body = case_body(world, petitioners=[{"name": "张小明", "id_number": id_number}])
    r = await client.post("/api/cases", json=body, headers=auth(world.tokens["clerk_a"]))
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["field"] == "petitioners[0].id_number"
    assert says in problem["errors"][0]["message"], problem
