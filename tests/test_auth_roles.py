"""Bearer tokens and role guards (SPEC §1), route group by route group."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders import World, build_world
from tests.conftest import assert_problem, auth

ROLES = ["admin", "secretary", "clerk_a", "leader", "reviewer"]


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def test_no_token_or_bad_token_is_401(client: httpx.AsyncClient, world: World) -> None:
    body = assert_problem(await client.get("/api/units"), 401)
    assert "Bearer" in body["detail"]
    assert_problem(await client.get("/api/units", headers=auth("rcp_not-a-token")), 401)
    assert_problem(await client.get("/api/units", headers={"Authorization": "Basic x"}), 401)


async def test_revoked_token_stops_at_once(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    secretary = auth(world.tokens["secretary"])
    assert (await client.get("/api/me", headers=secretary)).status_code == 200
    tokens = (
        await client.get(f"/api/users/{world.users['secretary']}/tokens", headers=admin)
    ).json()
    r = await client.post(f"/api/tokens/{tokens[0]['id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert_problem(await client.get("/api/me", headers=secretary), 401)


async def test_deactivated_user_cannot_log_in(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    await client.patch(
        f"/api/users/{world.users['reviewer']}", json={"active": False}, headers=admin
    )
    assert_problem(await client.get("/api/me", headers=auth(world.tokens["reviewer"])), 401)


@pytest.mark.parametrize("role", ROLES)
async def test_org_reads_open_writes_admin_only(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    headers = auth(world.tokens[role])
    assert (await client.get("/api/units", headers=headers)).status_code == 200
    assert (await client.get("/api/venues", headers=headers)).status_code == 200
    writes = [
        ("POST", "/api/units", {"name": "新村", "kind": "village", "parent_id": world.township_a}),
        ("PATCH", f"/api/units/{world.township_b}", {"name": "邦均镇(改)"}),
        ("POST", "/api/leaders", {"name": "某", "title": "副区长", "unit_id": world.district}),
        ("POST", "/api/venues", {"name": "某室", "unit_id": world.district}),
        ("PATCH", f"/api/venues/{world.venue}", {"capacity": 5}),
    ]
    for method, url, body in writes:
        r = await client.request(method, url, json=body, headers=headers)
        if role == "admin":
            assert r.status_code in (200, 201), (method, url, r.text)
        else:
            assert_problem(r, 403)


@pytest.mark.parametrize("role", ROLES)
async def test_users_and_audit_are_admin_only(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    headers = auth(world.tokens[role])
    for url in ("/api/users", f"/api/users/{world.users['clerk_a']}", "/api/audit"):
        r = await client.get(url, headers=headers)
        if role == "admin":
            assert r.status_code == 200, r.text
        else:
            assert_problem(r, 403)
    r = await client.post(f"/api/users/{world.users['clerk_a']}/tokens", headers=headers)
    assert r.status_code == (201 if role == "admin" else 403)


async def test_leader_visibility_follows_the_role(client: httpx.AsyncClient, world: World) -> None:
    async def visible(role: str) -> set[int]:
        r = await client.get("/api/leaders", headers=auth(world.tokens[role]))
        return {x["id"] for x in r.json()["items"]}

    every = set(world.leaders.values())
    assert await visible("admin") == every
    assert await visible("reviewer") == every
    assert await visible("secretary") == {world.leaders["mayor"], world.leaders["deputy"]}
    assert await visible("clerk_a") == {world.leaders["township_a"]}
    assert await visible("clerk_district") == every
    assert await visible("leader") == {world.leaders["mayor"]}
    # Outside one's scope a leader does not exist.
    r = await client.get(
        f"/api/leaders/{world.leaders['other']}", headers=auth(world.tokens["secretary"])
    )
    assert_problem(r, 404)
