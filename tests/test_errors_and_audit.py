"""Bad input is a 4xx problem+json that changes nothing; every write leaves an audit row."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.org.models import Leader, Unit, User, Venue
from tests.builders import World, build_world
from tests.conftest import assert_problem, auth


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def _counts(maker: async_sessionmaker[AsyncSession]) -> tuple[int, ...]:
    async with maker() as s:
        return tuple(
            [
                await s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Unit, Leader, Venue, User, AuditEvent)
            ]
        )


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "field"),
    [
        ("POST", "/api/units", {"name": "x", "kind": "city", "parent_id": 1}, 400, "kind"),
        ("POST", "/api/units", {"name": "", "kind": "district"}, 400, "name"),
        ("POST", "/api/units", {"name": "x", "kind": "district", "extra": 1}, 400, "extra"),
        (
            "POST",
            "/api/leaders",
            {"name": "某", "title": "副区长", "unit_id": "one"},
            400,
            "unit_id",
        ),
        (
            "POST",
            "/api/leaders",
            {"name": "某", "title": "副区长", "unit_id": 9999},
            422,
            "unit_id",
        ),
        ("POST", "/api/leaders", {"name": "某", "title": "副区长"}, 400, "unit_id"),
        ("POST", "/api/venues", {"name": "室", "unit_id": 1, "capacity": -3}, 400, "capacity"),
        ("POST", "/api/users", {"name": "某", "role": "superuser"}, 400, "role"),
        (
            "POST",
            "/api/users",
            {"name": "某", "role": "secretary", "leader_ids": [9999]},
            422,
            "leader_ids",
        ),
        ("PATCH", "/api/units/9999", {"name": "x"}, 404, None),
        ("PATCH", "/api/leaders/9999", {"name": "x"}, 404, None),
        ("GET", "/api/venues/9999", None, 404, None),
        ("GET", "/api/units/abc", None, 404, None),
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    method: str,
    url: str,
    body: dict[str, object] | None,
    status: int,
    field: str | None,
) -> None:
    before = await _counts(sessionmaker)
    who = "secadmin" if url.startswith("/api/users") else "admin"
    r = await client.request(method, url, json=body, headers=auth(world.tokens[who]))
    problem = assert_problem(r, status)
    if field:
        assert field in {e["field"] for e in problem["errors"]}, problem
    assert await _counts(sessionmaker) == before


async def test_malformed_json_is_400(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        "/api/units",
        content=b"{not json",
        headers=auth(world.tokens["admin"], **{"content-type": "application/json"}),
    )
    assert_problem(r, 400)


async def test_writes_are_audited_and_keep_the_actor_name(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = auth(world.tokens["admin"])
    security = auth(world.tokens["secadmin"])
    auditor = auth(world.tokens["auditor"])
    r = await client.post(
        "/api/users", json={"name": "临时管理员", "role": "admin"}, headers=security
    )
    temp_id = r.json()["id"]
    temp_token = (await client.post(f"/api/users/{temp_id}/tokens", headers=security)).json()[
        "token"
    ]
    r = await client.patch(
        f"/api/venues/{world.venue}", json={"capacity": 20}, headers=auth(temp_token)
    )
    assert r.status_code == 200
    await client.patch(f"/api/users/{temp_id}", json={"name": "改名"}, headers=admin)
    await client.patch(f"/api/users/{temp_id}", json={"active": False}, headers=security)

    r = await client.get(
        f"/api/audit?target_type=venue&target_id={world.venue}&action=venue.update",
        headers=auditor,
    )
    events = r.json()["items"]
    assert len(events) == 1
    event = events[0]
    assert event["actor_name"] == "临时管理员"
    assert event["actor_user_id"] == temp_id
    assert event["before"]["capacity"] == 12 and event["after"]["capacity"] == 20
    assert event["at"].endswith("+08:00")

    r = await client.get("/api/audit?action=token.create&target_type=api_token", headers=auditor)
    created = r.json()["items"]
    assert created, "the world's tokens are audited"
    assert all("token_hash" not in (e["after"] or {}) for e in created)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/sessions/9223372036854775808", None),
        ("GET", "/api/cases/9223372036854775808", None),
        ("GET", "/api/leaders/99999999999", None),
        ("GET", "/api/sessions?leader_id=9223372036854775808", None),
        ("GET", "/api/cases?offset=9223372036854775808", None),
        ("POST", "/api/leaders", {"name": "某", "title": "副区长", "unit_id": 9223372036854775808}),
        ("POST", "/api/feeds", {"scope": "leader", "leader_id": 99999999999}),
    ],
)
async def test_huge_numbers_are_4xx_not_500(
    client: httpx.AsyncClient, world: World, method: str, url: str, body: dict[str, object] | None
) -> None:
    r = await client.request(method, url, json=body, headers=auth(world.tokens["admin"]))
    assert 400 <= r.status_code < 500, r.text
    assert_problem(r, r.status_code)
