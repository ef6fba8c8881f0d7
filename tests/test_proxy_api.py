"""网格员代办 through the API, on both databases: a grid worker of 小杨家庄村 files a matter with
the petitioner's consent; the township's clerk registers it (the repeat check run, the clocks
from the day the worker received it); the worker follows its progress, never another
village's data nor the case itself; after the reply his slip lets the petitioner rate it on the
public page; the review counts it for the township."""

from __future__ import annotations

import io
import re

import docx
import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.notify.models import OutboxEvent
from reception.proxy.models import ProxyFiling
from tests.builders import PASSWORD, VALID_ID, World, build_world, case_body, served
from tests.conftest import assert_problem, auth
from tests.console import Console


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def grid_worker(client: httpx.AsyncClient, w: World, name: str, unit_id: int) -> str:
    sec = auth(w.tokens["secadmin"])
    r = await client.post(
        "/api/users", json={"name": name, "role": "grid", "unit_id": unit_id}, headers=sec
    )
    assert r.status_code == 201, r.text
    token = await client.post(f"/api/users/{r.json()['id']}/tokens", headers=sec)
    out: str = token.json()["token"]
    return out


async def village_b(client: httpx.AsyncClient, w: World) -> int:
    r = await client.post(
        "/api/units",
        json={"name": "东三岔口村", "kind": "village", "parent_id": w.township_b},
        headers=auth(w.tokens["admin"]),
    )
    assert r.status_code == 201, r.text
    out: int = r.json()["id"]
    return out


def filing_body(**extra: object) -> dict[str, object]:
    return {
        "name": "张小明",
        "id_number": VALID_ID,
        "phone": "13812345678",
        "address": "下仓镇小杨家庄村三组",
        "category": "housing",
        "summary": "龙府壹号小区逾期交房,要求开发商履约交付",
        "consent": "signed",
        "received_on": "2026-11-20",
        **extra,
    }


async def test_a_grid_workers_matter_goes_from_his_phone_to_a_rated_reply(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    worker = auth(await grid_worker(client, world, "杨某网", world.village_a))
    other = auth(await grid_worker(client, world, "东某网", await village_b(client, world)))
    clerk = auth(world.tokens["clerk_a"])
    # An earlier matter of the same petitioner: the registration's repeat check finds it.
    earlier = await client.post("/api/cases", json=case_body(world), headers=clerk)
    assert earlier.status_code == 201
    r = await client.post("/api/proxy-filings", json=filing_body(), headers=worker)
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["reference"] == "蓟信代〔2026〕00001" and f["status"] == "filed"
    assert not f["masked"] and f["id_number"] == VALID_ID and f["village"] == "小杨家庄村"
    async with sessionmaker() as s:
        event = await s.scalar(select(OutboxEvent).where(OutboxEvent.type == "proxy.filed"))
        row = await s.get(ProxyFiling, f["id"])
    assert event is not None and event.unit_id == world.township_a
    assert "张小明" not in str(event.payload) and VALID_ID not in str(event.payload)
    assert row is not None and VALID_ID not in row.id_number_sealed  # sealed at rest
    # Another village's worker knows nothing of it; the worker reads nothing else at all.
    assert (await client.get("/api/proxy-filings", headers=other)).json()["items"] == []
    assert_problem(await client.get(f"/api/proxy-filings/{f['id']}", headers=other), 404)
    assert_problem(await client.get(f"/api/proxy-filings/{f['id']}/form", headers=other), 404)
    for path in (
        "/api/cases", f"/api/cases/{earlier.json()['id']}", "/api/ledger", "/api/spot-checks",
        "/api/reports/review?month=2026-11", "/api/leaders", "/api/sessions",
    ):  # fmt: skip
        r = await client.get(path, headers=worker)
        assert r.status_code in (403, 404), (path, r.status_code)
    # The township's clerk: the list masks the name, the filing's page shows it whole.
    listed = (await client.get("/api/proxy-filings?status=filed", headers=clerk)).json()
    assert [x["id"] for x in listed["items"]] == [f["id"]] and listed["items"][0]["masked"]
    assert listed["items"][0]["name"] != "张小明"
    got = await client.get(f"/api/proxy-filings/{f['id']}", headers=clerk)
    assert got.json()["phone"] == "13812345678"
    async with sessionmaker() as s:
        reads = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "pii.read"))).all()
    assert any(a.target_type == "proxy_filing" for a in reads)  # whole reads are audited
    form = await client.get(f"/api/proxy-filings/{f['id']}/form", headers=worker)
    text = "\n".join(
        c.text for t in docx.Document(io.BytesIO(form.content)).tables for row in t.rows
        for c in row.cells
    )  # fmt: skip
    assert "张小明" in text and VALID_ID in text and "本人签字" in text
    # Registered: channel 网格员代办, clocks from the worker's day, the earlier matter found.
    r = await client.post(
        f"/api/proxy-filings/{f['id']}/register", json={},
        headers=clerk | {"If-Match": got.headers["etag"]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    done = r.json()
    assert [c["case_id"] for c in done["repeat_candidates"]] == [earlier.json()["id"]]
    cid = done["case_id"]
    case = (await client.get(f"/api/cases/{cid}", headers=clerk)).json()
    assert case["channel"] == "grid_proxy" and case["received_on"] == "2026-11-20"
    clocks = (await client.get(f"/api/cases/{cid}/clocks", headers=clerk)).json()
    accept = next(k for k in clocks if k["kind"] == "accept")
    assert accept["started_on"] == "2026-11-20"
    r = await client.post(f"/api/proxy-filings/{f['id']}/register", json={}, headers=clerk)
    assert_problem(r, 409)
    # The worker follows it: the stage, not the case, nor any more the identity he entered
    # (whole values follow the case's unit now); no slip before the reply.
    mine = (await client.get(f"/api/proxy-filings/{f['id']}", headers=worker)).json()
    assert mine["masked"] and mine["id_number"] == "" and mine["name"] != "张小明"
    assert_problem(await client.get(f"/api/proxy-filings/{f['id']}/form", headers=worker), 403)
    assert mine["progress"]["reference"] == case["reference"]
    assert mine["progress"]["stage"] == "registered" and not mine["progress"]["may_rate"]
    assert_problem(await client.get(f"/api/cases/{cid}", headers=worker), 403)
    assert_problem(await client.get(f"/api/proxy-filings/{f['id']}/slip", headers=worker), 409)
    for step in (
        {"action": "accept", "on": "2026-12-01"},
        {"action": "reply", "doc_number": "蓟信复〔2026〕21号", "on": "2026-12-01"},
        {"action": "deliver", "delivery": served("2026-12-01")},
    ):
        r = await client.post(f"/api/cases/{cid}/transitions", json=step, headers=clerk)
        assert r.status_code == 200, r.text
    slip = (await client.get(f"/api/proxy-filings/{f['id']}/slip", headers=worker)).json()
    assert slip["public_url"] == "https://reception.test/public" and not slip["rated"]
    # The petitioner rates on the public page with the slip's code.
    portal = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    r = await portal.post("/public/api/lookup", json={"code": slip["query_code"], "factor": "002X"})
    assert r.status_code == 200, r.text
    r = await portal.post(
        "/public/api/evaluation", json={"ticket": r.json()["ticket"], "satisfaction": "satisfied"}
    )
    assert r.status_code == 200, r.text
    mine = (await client.get(f"/api/proxy-filings/{f['id']}", headers=worker)).json()
    assert mine["progress"]["rated"] and mine["progress"]["rating_label"] == "满意"
    # The review counts it for 下仓镇.
    review = (
        await client.get(
            "/api/reports/review?month=2026-12", headers=auth(world.tokens["reviewer"])
        )
    ).json()
    assert review["proxy"] == [
        {"unit_id": world.township_a, "unit_name": "下仓镇", "matters": 1,
         "days_to_register": 11.0, "accepted_on_time": 1, "replied": 1, "rated": 1,
         "satisfied": 1},
    ]  # fmt: skip


async def test_bad_filings_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    worker = auth(await grid_worker(client, world, "杨某网", world.village_a))
    for bad, status in (
        ({"id_number": "", "phone": ""}, 422),
        ({"id_number": "123"}, 422),
        ({"phone": "12"}, 422),
        ({"consent": "nodded"}, 400),
        ({"received_on": "2026-12-02"}, 422),
        ({"received_on": "2026-10-31"}, 422),  # older than 30 days: the township's 补录
        ({"category": "nope"}, 422),
        ({"consented_on": "2026-11-19"}, 422),
        ({"summary": "   "}, 400),
        ({"extra": 1}, 400),
    ):
        r = await client.post("/api/proxy-filings", json=filing_body(**bad), headers=worker)
        assert r.status_code == status, (bad, r.text)
    for role in ("clerk_a", "admin", "reviewer", "leader"):
        r = await client.post(
            "/api/proxy-filings", json=filing_body(), headers=auth(world.tokens[role])
        )
        assert r.status_code == 403, (role, r.text)
    # A grid worker is bound to a village, not a township.
    r = await client.post(
        "/api/users", json={"name": "x", "role": "grid", "unit_id": world.township_a},
        headers=auth(world.tokens["secadmin"]),
    )  # fmt: skip
    assert "村(社区)" in assert_problem(r, 422)["detail"]
    async with sessionmaker() as s:
        assert (await s.scalars(select(ProxyFiling))).all() == []


async def test_a_filing_sent_back_is_not_registered(
    client: httpx.AsyncClient, world: World
) -> None:
    worker = auth(await grid_worker(client, world, "杨某网", world.village_a))
    f = (await client.post("/api/proxy-filings", json=filing_body(), headers=worker)).json()
    clerk = auth(world.tokens["clerk_a"])
    assert_problem(
        await client.post(
            f"/api/proxy-filings/{f['id']}/return", json={"reason": ""}, headers=clerk
        ),
        400,
    )
    r = await client.post(
        f"/api/proxy-filings/{f['id']}/return", json={"reason": "属于邻里纠纷,请村调委会调解"},
        headers=clerk,
    )  # fmt: skip
    assert r.json()["status"] == "returned"
    assert_problem(
        await client.post(f"/api/proxy-filings/{f['id']}/register", json={}, headers=clerk), 409
    )
    mine = (await client.get(f"/api/proxy-filings/{f['id']}", headers=worker)).json()
    assert mine["return_reason"].startswith("属于邻里纠纷") and mine["progress"] is None
    # The district's clerk reads it (his subtree holds every village).
    r = await client.get(
        f"/api/proxy-filings/{f['id']}", headers=auth(world.tokens["clerk_district"])
    )
    assert r.status_code == 200


async def grid_login(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    w: World,
    username: str = "gridworker",
    unit_id: int | None = None,
) -> str:
    """A grid worker who also signs in to the console (username, the tests' password)."""
    from reception.org.models import User
    from reception.org.signin import hash_password

    token = await grid_worker(client, w, "杨某网", unit_id or w.village_a)
    async with maker() as s:
        row = await s.scalar(select(User).where(User.role == "grid").order_by(User.id.desc()))  # type: ignore[union-attr]
        assert row is not None
        row.username, row.password_hash = username, hash_password(PASSWORD)
        row.must_change_password = False
        await s.commit()
    return token


async def test_a_grid_worker_reaches_his_own_pages_and_nothing_else(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Every route of the app (API and console), as a grid worker: 403 unless it is his own
    (代办) or everyone's (his account, signing out); the data of nobody else at all."""
    worker = auth(await grid_login(client, sessionmaker, world))
    console = Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )
    r = await console.sign_in("gridworker")
    assert r.status_code == 303 and r.headers["location"] == "/proxy", r.text[:500]
    allowed = ("/api/proxy-filings", "/proxy", "/api/me", "/account", "/logout", "/password")
    public = ("/public", "/login", "/health", "/static", "/schema", "/feeds", "/favicon")
    reached = []
    for route in app.routes:
        path = route.path
        if path.startswith(public + allowed) or path == "/":
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        methods = {m for h in getattr(route, "route_handlers", []) for m in h.http_methods}
        for method in sorted(methods - {"OPTIONS", "HEAD"}):
            if path.startswith("/api"):
                r = await client.request(
                    method, url, headers=worker, json={} if method != "GET" else None
                )
            elif method == "GET":
                r = await console.get(url)
            else:
                r = await console.post(url, {})
            if r.status_code != 403:
                reached.append(f"{method} {path}: {r.status_code}")
    assert reached == [], reached
