"""Feed tokens: who may create which feed, listing, revocation, audit; the session .ics."""

from __future__ import annotations

from datetime import timedelta

import httpx
import icalendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.auth import hash_token
from reception.feeds.models import FeedToken
from reception.org import schemas
from reception.org import service as org
from tests.builders import build_world
from tests.conftest import assert_problem, auth
from tests.feeds_support import PII, add_appointment, add_session, create_feed, today


async def test_create_returns_url_once_and_stores_only_a_hash(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w = await build_world(sessionmaker)
    new = await create_feed(
        client, w.tokens["admin"], scope="unit", unit_id=w.district, name="区领导接访"
    )
    token = new["url"].removeprefix("https://reception.test/feeds/").removesuffix(".ics")
    assert token.startswith("fd_") and len(token) > 40
    assert new["webcal_url"] == f"webcal://reception.test/feeds/{token}.ics"
    assert new["feed"]["scope"] == "unit" and new["feed"]["unit_id"] == w.district
    assert new["feed"]["prefix"] == token[:10]
    assert new["feed"]["created_by_name"] == "管理员"

    async with sessionmaker() as s:
        row = (await s.scalars(select(FeedToken))).one()
        assert row.token_hash == hash_token(token)
        assert token not in repr(row.model_dump())
        events = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "feed.create"))
        ).all()
    assert len(events) == 1 and events[0].target_id == str(row.id)
    assert token not in str(events[0].after) and "token_hash" not in (events[0].after or {})

    listed = await client.get("/api/feeds", headers=auth(w.tokens["admin"]))
    assert listed.status_code == 200
    assert [f["id"] for f in listed.json()["items"]] == [row.id]
    assert "url" not in listed.json()["items"][0]


async def test_who_may_create_which_feed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w = await build_world(sessionmaker)
    t, L = w.tokens, w.leaders
    # secretary: her linked leaders and her own secretary scope (the default user)
    await create_feed(client, t["secretary"], scope="leader", leader_id=L["mayor"])
    mine = await create_feed(client, t["secretary"], scope="secretary")
    assert mine["feed"]["user_id"] == w.users["secretary"]
    # A leader outside her links is "not yours": 403 on this write (404 to read him); a leader
    # who does not exist is a bad reference (422).
    body = assert_problem(
        await client.post(
            "/api/feeds",
            json={"scope": "leader", "leader_id": L["other"]},
            headers=auth(t["secretary"]),
        ),
        403,
    )
    assert "无权订阅" in body["detail"]
    await create_feed(client, t["secretary"], 422, scope="leader", leader_id=9999)
    await create_feed(client, t["secretary"], 403, scope="unit", unit_id=w.district)
    # leader: himself only
    await create_feed(client, t["leader"], scope="leader", leader_id=L["mayor"])
    await create_feed(client, t["leader"], 403, scope="leader", leader_id=L["deputy"])
    await create_feed(client, t["leader"], 403, scope="unit", unit_id=w.district)
    # clerk: unit feeds within his subtree only
    await create_feed(client, t["clerk_a"], scope="unit", unit_id=w.village_a)
    await create_feed(client, t["clerk_a"], 403, scope="unit", unit_id=w.district)
    await create_feed(client, t["clerk_a"], 403, scope="leader", leader_id=L["township_a"])
    # reviewer: reads everything, so leader and unit feeds; not a secretary's own feed
    await create_feed(client, t["reviewer"], scope="unit", unit_id=w.district)
    await create_feed(client, t["reviewer"], scope="leader", leader_id=L["other"])
    await create_feed(client, t["reviewer"], 403, scope="secretary", user_id=w.users["secretary"])
    # admin: anything, but the target must make sense
    await create_feed(client, t["admin"], scope="secretary", user_id=w.users["secretary"])
    await create_feed(client, t["admin"], 422, scope="secretary", user_id=w.users["clerk_a"])
    await create_feed(client, t["admin"], 422, scope="secretary")
    await create_feed(client, t["admin"], 422, scope="unit", unit_id=9999)
    await create_feed(client, t["admin"], 422, scope="unit", leader_id=L["mayor"])
    await create_feed(client, t["admin"], 400, scope="everything")

    # Each sees their own feeds; the admin sees all of them.
    sec = (await client.get("/api/feeds", headers=auth(t["secretary"]))).json()
    assert sec["total"] == 2
    assert {f["created_by_name"] for f in sec["items"]} == {"孙某秘"}
    everyone = (await client.get("/api/feeds", headers=auth(t["admin"]))).json()
    assert everyone["total"] == 7


async def test_revoke_makes_the_url_404_at_once_and_is_audited(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w = await build_world(sessionmaker)
    await add_session(sessionmaker, leader_id=w.leaders["mayor"], day=today(), venue_id=w.venue)
    new = await create_feed(client, w.tokens["secretary"], scope="secretary")
    path = new["url"].removeprefix("https://reception.test")
    assert (await client.get(path)).status_code == 200

    # Someone else's feed does not exist for you.
    other = await client.post(
        f"/api/feeds/{new['feed']['id']}/revoke", headers=auth(w.tokens["leader"])
    )
    assert_problem(other, 404)
    assert (await client.get(path)).status_code == 200

    revoked = await client.post(
        f"/api/feeds/{new['feed']['id']}/revoke", headers=auth(w.tokens["secretary"])
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    gone = await client.get(path)
    body = assert_problem(gone, 404)
    assert "fd_" not in body["detail"]
    assert (await client.head(path)).status_code == 404
    # Revoking twice is harmless and audited once.
    again = await client.post(
        f"/api/feeds/{new['feed']['id']}/revoke", headers=auth(w.tokens["admin"])
    )
    assert again.status_code == 200
    async with sessionmaker() as s:
        actions = (
            await s.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "feed_token"))
        ).all()
    assert sorted(actions) == ["feed.create", "feed.revoke"]


async def test_unknown_or_malformed_feed_urls_are_404(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w = await build_world(sessionmaker)
    new = await create_feed(client, w.tokens["admin"], scope="unit", unit_id=w.district)
    path = new["url"].removeprefix("https://reception.test")
    assert (await client.get(path)).status_code == 200
    for bad in (
        path.removesuffix(".ics"),
        path[:-6] + "x.ics",
        "/feeds/fd_unknown.ics",
        f"/feeds/{w.tokens['admin']}.ics",  # an API token is not a feed token
    ):
        assert_problem(await client.get(bad), 404)


async def test_deactivated_creator_or_lost_rights_empty_the_feed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w = await build_world(sessionmaker)
    await add_session(sessionmaker, leader_id=w.leaders["mayor"], day=today(), venue_id=w.venue)
    feed = await create_feed(
        client, w.tokens["secretary"], scope="leader", leader_id=w.leaders["mayor"]
    )
    path = feed["url"].removeprefix("https://reception.test")
    before = await client.get(path)
    assert len(icalendar.Calendar.from_ical(before.content).events) == 1

    # Unlinked from the mayor: her feed no longer shows him.
    async with sessionmaker() as s:
        await org.update_user(
            session=s,
            actor=None,
            user_id=w.users["secretary"],
            data=schemas.UserUpdate(leader_ids=[w.leaders["deputy"]]),
        )
        await s.commit()
    after = await client.get(path)
    assert after.status_code == 200
    assert icalendar.Calendar.from_ical(after.content).events == []
    assert after.headers["etag"] != before.headers["etag"]

    async with sessionmaker() as s:
        await org.update_user(
            session=s,
            actor=None,
            user_id=w.users["secretary"],
            data=schemas.UserUpdate(active=False),
        )
        await s.commit()
    assert_problem(await client.get(path), 404)


async def test_session_ics_follows_read_visibility(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w = await build_world(sessionmaker)
    row = await add_session(
        sessionmaker,
        leader_id=w.leaders["mayor"],
        day=today() + timedelta(days=3),
        venue_id=w.venue,
        sequence=4,
    )
    await add_appointment(sessionmaker, row)
    path = f"/api/sessions/{row.id}/event.ics"
    for who in ("admin", "reviewer", "secretary", "leader", "clerk_district"):
        response = await client.get(path, headers=auth(w.tokens[who]))
        assert response.status_code == 200, (who, response.text)
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        cal = icalendar.Calendar.from_ical(response.content)
        assert cal["METHOD"] == "PUBLISH"
        [event] = cal.events
        assert str(event["UID"]) == row.uid and int(event["SEQUENCE"]) == 4
        for secret in PII.values():
            assert secret not in response.content.decode()
    # A clerk below the district does not see the mayor; nor does anyone without a token.
    assert_problem(await client.get(path, headers=auth(w.tokens["clerk_a"])), 404)
    assert_problem(
        await client.get(
            f"/api/sessions/{row.id + 1000}/event.ics", headers=auth(w.tokens["admin"])
        ),
        404,
    )
    assert (await client.get(path)).status_code == 401


async def test_session_ics_route_coexists_with_the_day_sheet_route(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The scheduling controller owns GET /api/sessions/{session_id:int} and the feeds one
    GET /api/sessions/{session_id:int}/event.ics: in the app as built, both answer for one
    session (a `{ref:str}` route there would silently shadow one of them)."""
    w = await build_world(sessionmaker)
    row = await add_session(
        sessionmaker,
        leader_id=w.leaders["mayor"],
        day=today() + timedelta(days=3),
        venue_id=w.venue,
    )
    admin = auth(w.tokens["admin"])
    sheet = await client.get(f"/api/sessions/{row.id}", headers=admin)
    assert sheet.status_code == 200 and sheet.json()["session"]["uid"] == row.uid
    ics = await client.get(f"/api/sessions/{row.id}/event.ics", headers=admin)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(event["UID"]) == row.uid
