"""Bearer tokens and role guards (SPEC §1), route group by route group."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reception.app import create_app
from reception.config import Settings
from reception.db import migrate
from reception.org.models import Unit
from reception.org.principals import load_principal
from tests.builders import World, build_world
from tests.conftest import assert_problem, auth, create_pg_database, drop_pg_database
from tests.live import TEST_KEYS

ROLES = ["admin", "secretary", "clerk_a", "leader", "reviewer", "secadmin", "auditor"]


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def test_no_token_or_bad_token_is_401(client: httpx.AsyncClient, world: World) -> None:
    body = assert_problem(await client.get("/api/units"), 401)
    assert "Bearer" in body["detail"]
    assert_problem(await client.get("/api/units", headers=auth("rcp_not-a-token")), 401)
    assert_problem(await client.get("/api/units", headers={"Authorization": "Basic x"}), 401)


async def test_revoked_token_stops_at_once(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["secadmin"])
    secretary = auth(world.tokens["secretary"])
    assert (await client.get("/api/me", headers=secretary)).status_code == 200
    tokens = (
        await client.get(f"/api/users/{world.users['secretary']}/tokens", headers=admin)
    ).json()
    r = await client.post(f"/api/tokens/{tokens[0]['id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert_problem(await client.get("/api/me", headers=secretary), 401)


async def test_deactivated_user_cannot_log_in(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["secadmin"])
    await client.patch(
        f"/api/users/{world.users['reviewer']}", json={"active": False}, headers=admin
    )
    assert_problem(await client.get("/api/me", headers=auth(world.tokens["reviewer"])), 401)


@pytest.mark.parametrize("role", ROLES)
async def test_org_reads_open_writes_admin_only(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    headers = auth(world.tokens[role])
    if role in ("secadmin", "auditor"):  # 三员分立: not their pages
        assert_problem(await client.get("/api/units", headers=headers), 403)
        return
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


# 三员分立: route × role for the three administrators (and that nobody else gets in).
# Each row: method, path (formatted with the world), body, the roles it answers for.
DUTIES: list[tuple[str, str, dict[str, object] | None, set[str]]] = [
    ("GET", "/api/users", None, {"admin", "secadmin"}),
    ("GET", "/api/users/{clerk_a}", None, {"admin", "secadmin"}),
    ("POST", "/api/users", {"name": "新某", "role": "reviewer"}, {"secadmin"}),
    ("PATCH", "/api/users/{clerk_a}", {"name": "改某"}, {"admin"}),
    ("PATCH", "/api/users/{reviewer}", {"role": "clerk", "unit_id": 0}, {"secadmin"}),
    ("PATCH", "/api/users/{leader}", {"active": True}, {"secadmin"}),
    ("GET", "/api/users/{clerk_a}/tokens", None, {"secadmin"}),
    ("POST", "/api/users/{clerk_a}/tokens", None, {"secadmin"}),
    ("GET", "/api/audit", None, {"auditor"}),
    ("GET", "/api/audit/verify", None, {"auditor"}),
    ("POST", "/api/units", {"name": "新村", "kind": "village", "parent_id": 0}, {"admin"}),
    ("GET", "/api/cases", None, {"admin", "clerk_a", "leader", "reviewer", "secretary"}),
    ("GET", "/api/sessions", None, {"admin", "clerk_a", "leader", "reviewer", "secretary"}),
    ("GET", "/api/reports/review?month=2026-11", None, {"admin", "reviewer"}),
    ("GET", "/api/units", None, {"admin", "clerk_a", "leader", "reviewer", "secretary"}),
    ("GET", "/api/me", None, set(ROLES)),
]


@pytest.mark.parametrize("role", ROLES)
async def test_each_administrator_does_their_job_and_nothing_else(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    """The security administrator reaches accounts, never a case or a calendar; the audit
    administrator reads the trail and nothing else; the system administrator neither reads
    the trail nor grants roles."""
    headers = auth(world.tokens[role])
    ids = {k: world.users[k] for k in ("clerk_a", "reviewer", "leader")}
    for method, path, body, allowed in DUTIES:
        if body and "unit_id" in body:
            body = {**body, "unit_id": world.township_a}
        if body and "parent_id" in body:
            body = {**body, "parent_id": world.township_a}
        r = await client.request(method, path.format(**ids), json=body, headers=headers)
        if role in allowed:
            assert r.status_code in (200, 201), (role, method, path, r.text)
        else:
            problem = assert_problem(r, 403)
            assert problem["detail"], (role, method, path)


async def test_nobody_changes_their_own_role(client: httpx.AsyncClient, world: World) -> None:
    secadmin = auth(world.tokens["secadmin"])
    r = await client.patch(
        f"/api/users/{world.users['secadmin']}", json={"role": "admin"}, headers=secadmin
    )
    assert "自己的角色" in assert_problem(r, 403)["detail"]


async def test_leader_visibility_follows_the_role(client: httpx.AsyncClient, world: World) -> None:
    async def visible(role: str) -> set[int]:
        r = await client.get("/api/leaders", headers=auth(world.tokens[role]))
        return {x["id"] for x in r.json()["items"]}

    every = set(world.leaders.values())
    assert await visible("admin") == every
    assert await visible("reviewer") == every
    assert await visible("secretary") == {world.leaders["mayor"], world.leaders["deputy"]}
    # A township clerk: his township's leaders and the district's above it (who own its hard
    # cases), not another township's.
    district = {world.leaders[k] for k in ("mayor", "deputy", "other")}
    assert await visible("clerk_a") == {world.leaders["township_a"], *district}
    assert await visible("clerk_district") == every
    assert await visible("leader") == {world.leaders["mayor"]}
    # Outside one's scope a leader does not exist.
    r = await client.get(
        f"/api/leaders/{world.leaders['other']}", headers=auth(world.tokens["secretary"])
    )
    assert_problem(r, 404)


async def test_principal_is_loaded_whole_for_every_role(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """One query loads the user, the token, a secretary's leaders and a clerk's unit path."""
    async with sessionmaker() as s:
        principals = {role: await load_principal(s, world.tokens[role]) for role in world.tokens}
        district_path = await s.scalar(select(Unit.path).where(Unit.id == world.district))
        township_path = await s.scalar(select(Unit.path).where(Unit.id == world.township_a))
        assert await load_principal(s, "rcp_not-a-token") is None
    secretary = principals["secretary"]
    assert secretary is not None and secretary.role == "secretary"
    assert secretary.user_id == world.users["secretary"] and secretary.name == "孙某秘"
    assert secretary.leader_ids == {world.leaders["mayor"], world.leaders["deputy"]}
    assert secretary.unit_id is None and secretary.unit_path is None
    clerk = principals["clerk_a"]
    assert clerk is not None and clerk.unit_id == world.township_a
    assert clerk.unit_path == township_path and clerk.leader_ids == frozenset()
    clerk_district = principals["clerk_district"]
    assert clerk_district is not None and clerk_district.unit_path == district_path
    leader = principals["leader"]
    assert leader is not None and leader.leader_id == world.leaders["mayor"]
    assert leader.leader_ids == frozenset()
    for role in ("admin", "reviewer"):
        p = principals[role]
        assert p is not None and p.role == role and p.unit_path is None and not p.leader_ids


async def test_secretary_without_leaders_still_logs_in(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = auth(world.tokens["secadmin"])
    r = await client.post(
        "/api/users", json={"name": "郑某秘", "role": "secretary", "leader_ids": []}, headers=admin
    )
    assert r.status_code == 201, r.text
    token = (await client.post(f"/api/users/{r.json()['id']}/tokens", headers=admin)).json()
    me = await client.get("/api/me", headers=auth(token["token"]))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "secretary" and me.json()["leader_ids"] == []


async def test_dead_postgresql_connection_is_a_503_then_recovers(tmp_path: Path) -> None:
    """Without pre-ping, a pooled connection the server killed fails one request cleanly.

    PostgreSQL only (SQLite has no server connection to lose), so it makes its own database
    rather than running once per backend.
    """
    url = await asyncio.to_thread(create_pg_database)
    try:
        await asyncio.to_thread(migrate, url, "upgrade", "head")
        app = create_app(Settings(database_url=url, data_dir=tmp_path, data_keys=TEST_KEYS))
        world = await build_world(app.state.sessionmaker)
        secretary = auth(world.tokens["secretary"])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/api/me", headers=secretary)).status_code == 200
            engine: AsyncEngine = app.state.engine
            # From a connection of its own (outside the app's pool): end every other backend.
            killer = await asyncpg.connect(
                engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            )
            try:
                killed = await killer.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            finally:
                await killer.close()
            assert killed  # the pooled connection the request above used
            # Each dead pooled connection fails one request with a clean 503 and is thrown
            # away; within a pool's worth of requests the service answers again.
            statuses = []
            for _ in range(app.state.settings.db_pool_size * 2 + 2):
                r = await client.get("/api/me", headers=secretary)
                statuses.append(r.status_code)
                if r.status_code == 503:
                    body = assert_problem(r, 503)
                    assert body["type"] == "/problems/database-unavailable"
                if r.status_code == 200:
                    break
            assert set(statuses) <= {200, 503} and statuses[-1] == 200, statuses
        await engine.dispose()
    finally:
        await asyncio.to_thread(drop_pg_database, url)
