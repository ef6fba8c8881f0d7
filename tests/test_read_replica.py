"""Reports, exports and feeds on a real streaming replica; decisions and one's own writes on the
primary (reception.reads).

The pair is a real PostgreSQL primary and a replica cloned from it with `pg_basebackup -R`
(tests/replica.py). A lagging replica is made by pausing its replay: what a report shows then
is the replica's older state, while a booking's capacity, and what the writer reads back right
after its own write, come from the primary."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from reception.app import create_app
from reception.audit.models import AuditEvent
from reception.config import Settings
from reception.context import FixedClock
from reception.db import migrate
from reception.reads import WAL_COOKIE, replica_for
from tests.builders import World, at, build_world, case_body, future_workday
from tests.conftest import NOW, TEST_KEYS, _empty_tables, auth, dispose
from tests.replica import PgPair, start_pair
from tests.test_ledger_api import entry_body

MONTH = "2026-12"


@pytest.fixture(scope="module")
def pair() -> Iterator[PgPair]:
    pg = start_pair()
    try:
        migrate(pg.primary_url, "upgrade", "head")
        yield pg
    finally:
        pg.stop()


@pytest.fixture
async def app(pair: PgPair, tmp_path: Path) -> AsyncIterator[Litestar]:
    settings = Settings(
        database_url=pair.primary_url,
        read_database_url=pair.replica_url,
        data_dir=tmp_path,
        public_url="https://reception.test",
        # The clients here speak plain http to the app: the WAL cookie must come back.
        cookie_secure=False,
        now=NOW,
        data_keys=TEST_KEYS,
    )
    application = create_app(settings, FixedClock(datetime.fromisoformat(NOW)))
    await _empty_tables(application.state.sessionmaker, "postgresql")
    yield application
    await pair.resume()
    await dispose(application)


def _client(app: Litestar) -> httpx.AsyncClient:
    """One browser or API client: its own cookie jar."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _review_total(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    r = await client.get(f"/api/reports/review?month={MONTH}", headers=auth(token))
    assert r.status_code == 200, r.text
    total: dict[str, Any] = r.json()["total"]
    return total


async def _register(client: httpx.AsyncClient, world: World, summary: str) -> None:
    body = case_body(world, received_on="2026-12-01", on="2026-12-01", summary=summary)
    r = await client.post("/api/cases", json=body, headers=auth(world.tokens["clerk_a"]))
    assert r.status_code == 201, r.text


async def _reception_day(
    client: httpx.AsyncClient,
    world: World,
    day: date,
    *,
    until: str,
    slot_minutes: int,
    places: int,
) -> int:
    """The 区长's reception day from 09:00, made by his secretary: its session id."""
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, until),
            "slot_minutes": slot_minutes,
            "people_per_slot": places,
        },
        headers=auth(world.tokens["secretary"]),
    )
    assert r.status_code == 201, r.text
    session_id: int = r.json()["id"]
    return session_id


async def _ledger_rows(client: httpx.AsyncClient, token: str) -> list[list[str]]:
    r = await client.get("/api/ledger/export?format=csv", headers=auth(token))
    assert r.status_code == 200, r.text
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[1:]


async def test_a_lagging_replica_serves_reports_while_decisions_and_own_writes_read_the_primary(
    app: Litestar, pair: PgPair
) -> None:
    assert await pair.is_replica()
    world = await build_world(app.state.sessionmaker)
    t = world.tokens
    async with _client(app) as clerk, _client(app) as reviewer, _client(app) as other_clerk:
        await _register(clerk, world, "龙府壹号小区逾期交房,要求开发商履约交付")
        # A write answers with where the primary's WAL stood after its commit; a read does not.
        assert WAL_COOKIE in clerk.cookies
        await pair.caught_up()
        assert (await _review_total(reviewer, t["reviewer"]))["new_cases"] == 1
        assert WAL_COOKIE not in reviewer.cookies

        await pair.pause()
        await _register(clerk, world, "某小区供暖不热,要求物业整改")

        # The review reads the replica: the second case is not there yet for the reviewer.
        assert (await _review_total(reviewer, t["reviewer"]))["new_cases"] == 1

        # The clerk who just wrote reads his own write (primary); another clerk, who has not
        # written, gets the export from the replica, where the entry is not yet.
        r = await clerk.post("/api/ledger", json=entry_body(world), headers=auth(t["clerk_a"]))
        assert r.status_code == 201, r.text
        assert len(await _ledger_rows(clerk, t["clerk_a"])) == 1
        assert await _ledger_rows(other_clerk, t["clerk_district"]) == []

        # A booking's capacity is decided on the primary, whatever the replica says: the
        # replica has not even seen the session.
        secretary = auth(t["secretary"])
        day = future_workday()
        sid = await _reception_day(clerk, world, day, until="10:00", slot_minutes=60, places=1)
        book = {"petitioner_name": "王某某", "matter_summary": "讨薪"}
        async with _client(app) as first, _client(app) as second:
            assert (await first.post(f"/api/sessions/{sid}/appointments", json=book,
                                     headers=secretary)).status_code == 201  # fmt: skip
            refused = await second.post(
                f"/api/sessions/{sid}/appointments", json=book, headers=secretary
            )
            assert refused.status_code == 409, refused.text

        # An audited report: read on the replica, its audit row written on the primary.
        async with _client(app) as admin:
            r = await admin.get(
                f"/api/reports/review?month={MONTH}&unmasked=true", headers=auth(t["admin"])
            )
            assert r.status_code == 200, r.text
            assert r.json()["total"]["new_cases"] == 1
        async with app.state.sessionmaker() as s:
            actions = (await s.scalars(select(AuditEvent.action))).all()
        assert "review.unmasked" in actions

        await pair.resume()
        await pair.caught_up()
        assert (await _review_total(reviewer, t["reviewer"]))["new_cases"] == 2
        assert len(await _ledger_rows(other_clerk, t["clerk_district"])) == 1


async def test_a_feed_is_read_from_the_replica(app: Litestar, pair: PgPair) -> None:
    world = await build_world(app.state.sessionmaker)
    secretary = auth(world.tokens["secretary"])
    day = future_workday()
    async with _client(app) as client:
        r = await client.post(
            "/api/feeds", json={"scope": "leader", "leader_id": world.leaders["mayor"]},
            headers=secretary,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        path = "/feeds/" + r.json()["url"].rsplit("/", 1)[1]
        await pair.caught_up()
        first = await client.get(path)
        assert first.status_code == 200, first.text
        etag = first.headers["etag"]

        await pair.pause()
        await _reception_day(client, world, day, until="11:00", slot_minutes=30, places=2)
        # The calendar app polls the replica: nothing new there yet.
        stale = await client.get(path, headers={"If-None-Match": etag})
        assert stale.status_code == 304

        await pair.resume()
        await pair.caught_up()
        fresh = await client.get(path, headers={"If-None-Match": etag})
        assert fresh.status_code == 200
        assert fresh.headers["etag"] != etag
        assert fresh.content.count(b"BEGIN:VEVENT") == first.content.count(b"BEGIN:VEVENT") + 1


async def test_a_cookie_that_is_no_wal_position_is_ignored(app: Litestar, pair: PgPair) -> None:
    world = await build_world(app.state.sessionmaker)
    await pair.caught_up()
    async with _client(app) as client:
        for forged in ("x'; DROP TABLE cases; --", "0/0/0", "G/1", "1" * 40, "0/1%0A", "0/1\n"):
            client.cookies.set(WAL_COOKIE, forged)
            total = await _review_total(client, world.tokens["reviewer"])
            assert total["new_cases"] == 0


def test_no_replica_on_sqlite_or_without_the_setting(tmp_path: Path) -> None:
    sqlite = Settings(data_dir=tmp_path, read_database_url="postgresql+asyncpg://x/y")
    assert replica_for(sqlite, None, None, None) is None  # type: ignore[arg-type]
    plain = Settings(database_url="postgresql+asyncpg://x/y", data_dir=tmp_path)
    assert replica_for(plain, None, None, None) is None  # type: ignore[arg-type]


async def test_a_client_ahead_of_the_replica_reads_the_primary(app: Litestar, pair: PgPair) -> None:
    """The check is the first statement of the report's own replica transaction (behind a
    pooler over several replicas, the one the report reads): a position the replica has not
    reached sends the whole report to the primary."""
    world = await build_world(app.state.sessionmaker)
    await pair.caught_up()
    await pair.pause()
    async with _client(app) as clerk, _client(app) as ahead, _client(app) as plain:
        await _register(clerk, world, "某小区供暖不热,要求物业整改")
        ahead.cookies.set(WAL_COOKIE, "FFFFFFFF/FFFFFFFF")
        assert (await _review_total(ahead, world.tokens["reviewer"]))["new_cases"] == 1
        assert (await _review_total(plain, world.tokens["reviewer"]))["new_cases"] == 0
