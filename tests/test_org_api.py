"""Org chart through the API: units, leaders, venues, users; lists, filters, deactivation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.org.models import Unit
from tests.builders import World, build_world
from tests.conftest import assert_problem, auth


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def test_unit_tree_and_subtree_filter(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    r = await client.post(
        "/api/units",
        json={"name": "下仓村", "kind": "village", "parent_id": world.township_a},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    village = r.json()
    assert village["path"] == f"/{world.district}/{world.township_a}/{village['id']}/"

    r = await client.get(f"/api/units?under={world.township_a}", headers=admin)
    names = {u["name"] for u in r.json()["items"]}
    assert names == {"下仓镇", "小杨家庄村", "下仓村"}

    r = await client.get("/api/units?kind=township", headers=admin)
    assert r.json()["total"] == 2
    assert {u["name"] for u in r.json()["items"]} == {"下仓镇", "邦均镇"}


@pytest.mark.parametrize(
    ("kind", "parent_key", "message"),
    [
        ("village", "district", "村(社区)只能隶属于乡镇(街道)"),
        ("township", None, "须有上级区"),
        ("district", "district", "区是组织树的根"),
        ("department", "township_a", "职能部门只能隶属于区"),
    ],
)
async def test_unit_hierarchy_rules(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    kind: str,
    parent_key: str | None,
    message: str,
) -> None:
    async with sessionmaker() as s:
        before = await s.scalar(select(func.count()).select_from(Unit))
    body: dict[str, object] = {"name": "新单位", "kind": kind}
    if parent_key:
        body["parent_id"] = getattr(world, parent_key)
    r = await client.post("/api/units", json=body, headers=auth(world.tokens["admin"]))
    problem = assert_problem(r, 422)
    assert message in problem["detail"]
    assert problem["errors"][0]["field"] == "parent_id"
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Unit)) == before


async def test_moving_a_township_moves_its_villages(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = auth(world.tokens["admin"])
    r = await client.post(
        "/api/units", json={"name": "天津市辖区二", "kind": "district"}, headers=admin
    )
    other = r.json()["id"]
    r = await client.patch(
        f"/api/units/{world.township_a}", json={"parent_id": other}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["path"] == f"/{other}/{world.township_a}/"
    r = await client.get(f"/api/units/{world.village_a}", headers=admin)
    assert r.json()["path"] == f"/{other}/{world.township_a}/{world.village_a}/"


async def test_leader_and_venue_crud_and_deactivation(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = auth(world.tokens["admin"])
    r = await client.post(
        "/api/leaders",
        json={"name": "郑某新", "title": "副区长", "unit_id": world.district},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    leader = r.json()
    assert leader["active"] is True
    assert leader["created_at"].endswith("+08:00")

    r = await client.patch(f"/api/leaders/{leader['id']}", json={"active": False}, headers=admin)
    assert r.json()["active"] is False
    r = await client.get("/api/leaders?active=false", headers=admin)
    assert [x["id"] for x in r.json()["items"]] == [leader["id"]]
    r = await client.get(f"/api/leaders?unit_id={world.township_a}", headers=admin)
    assert [x["name"] for x in r.json()["items"]] == ["周某镇"]

    r = await client.post(
        "/api/venues",
        json={
            "name": "邦均镇矛调中心",
            "unit_id": world.township_b,
            "address": "镇政府院内",
            "capacity": 8,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    venue_id = r.json()["id"]
    r = await client.patch(f"/api/venues/{venue_id}", json={"capacity": 0}, headers=admin)
    assert_problem(r, 400)
    r = await client.patch(
        f"/api/venues/{venue_id}", json={"capacity": 9, "active": False}, headers=admin
    )
    assert r.json()["capacity"] == 9 and r.json()["active"] is False
    r = await client.get(f"/api/venues?unit_id={world.township_b}", headers=admin)
    assert r.json()["total"] == 1


async def test_list_pagination(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    r = await client.get("/api/leaders?limit=2&offset=0", headers=admin)
    page1 = r.json()
    r = await client.get("/api/leaders?limit=2&offset=2", headers=admin)
    page2 = r.json()
    assert page1["total"] == page2["total"] == 5
    assert len(page1["items"]) == len(page2["items"]) == 2
    assert not {x["id"] for x in page1["items"]} & {x["id"] for x in page2["items"]}
    assert_problem(await client.get("/api/leaders?limit=0", headers=admin), 400)
    assert_problem(await client.get("/api/leaders?limit=100000", headers=admin), 400)


async def test_users_secretary_links_and_clerk_unit(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = auth(world.tokens["admin"])
    # 三员分立: the security administrator opens the account (grants the role) and its
    # tokens; the system administrator keeps its links.
    security = auth(world.tokens["secadmin"])
    r = await client.post(
        "/api/users",
        json={"name": "钱某秘", "role": "secretary", "leader_ids": [world.leaders["other"]]},
        headers=security,
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["leader_ids"] == [world.leaders["other"]]
    r = await client.patch(
        f"/api/users/{user['id']}",
        json={"leader_ids": [world.leaders["other"], world.leaders["mayor"]]},
        headers=admin,
    )
    assert sorted(r.json()["leader_ids"]) == sorted(
        [world.leaders["other"], world.leaders["mayor"]]
    )

    r = await client.post("/api/users", json={"name": "某登记", "role": "clerk"}, headers=security)
    assert assert_problem(r, 422)["errors"][0]["field"] == "unit_id"
    r = await client.post(
        "/api/users", json={"name": "某领导", "role": "leader", "leader_ids": [1]}, headers=security
    )
    assert_problem(r, 422)

    r = await client.post(
        f"/api/users/{user['id']}/tokens", json={"label": "手机"}, headers=security
    )
    assert r.status_code == 201
    token = r.json()["token"]
    r = await client.get("/api/me", headers=auth(token))
    assert r.json()["role"] == "secretary"
    r = await client.get(f"/api/users/{user['id']}/tokens", headers=security)
    assert [t["label"] for t in r.json()] == ["手机"]
    assert "token" not in r.json()[0] and "token_hash" not in r.json()[0]


async def test_units_are_listed_as_people_read_them(
    client: httpx.AsyncClient, world: World
) -> None:
    """District, its offices, townships, villages; within a kind the office's own order, then
    pinyin (邦均 bang before 下仓 xia) — on both databases alike."""
    admin = auth(world.tokens["admin"])
    r = await client.post(
        "/api/units", json={"name": "渔阳镇", "kind": "township", "parent_id": world.district},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 201, r.text

    async def names() -> list[str]:
        r = await client.get("/api/units", headers=admin)
        return [u["name"] for u in r.json()["items"]]

    assert await names() == ["蓟州区", "区住建委", "邦均镇", "下仓镇", "渔阳镇", "小杨家庄村"]
    r = await client.patch(f"/api/units/{world.township_a}", json={"sort_order": 1}, headers=admin)
    assert r.status_code == 200 and r.json()["sort_order"] == 1
    assert await names() == ["蓟州区", "区住建委", "下仓镇", "邦均镇", "渔阳镇", "小杨家庄村"]
    assert_problem(
        await client.patch(f"/api/units/{world.township_a}", json={"sort_order": 0}, headers=admin),
        400,
    )
    r = await client.patch(
        f"/api/units/{world.township_a}", json={"sort_order": None}, headers=admin
    )
    assert r.status_code == 200 and r.json()["sort_order"] is None
    assert (await names())[2:5] == ["邦均镇", "下仓镇", "渔阳镇"]
