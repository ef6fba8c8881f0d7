"""A leader's feed version (#26): the database's triggers bump it on every write to the
leader's sessions and their appointments — whatever wrote them, the ORM or a plain statement —
and no other leader's; a feed's ETag follows its leaders' versions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.feeds.models import FeedLeaderVersion
from reception.scheduling.models import Appointment, ReceptionSession
from tests.builders import build_world
from tests.feeds_support import add_appointment, add_session, create_feed, feed_path, today


async def _versions(maker: async_sessionmaker[AsyncSession]) -> dict[int, tuple[int, Any]]:
    async with maker() as s:
        rows = await s.execute(select(FeedLeaderVersion))
        return {r.leader_id: (r.version, r.changed_at) for (r,) in rows}


async def _run(maker: async_sessionmaker[AsyncSession], statement: Any) -> None:
    async with maker() as s:
        await s.execute(statement)
        await s.commit()


async def test_every_write_bumps_its_leader_and_no_other(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w = await build_world(sessionmaker)
    mayor, deputy = w.leaders["mayor"], w.leaders["deputy"]
    d = today()
    first = await add_session(sessionmaker, leader_id=mayor, day=d + timedelta(days=3))
    second = await add_session(sessionmaker, leader_id=mayor, day=d + timedelta(days=4))
    other = await add_session(sessionmaker, leader_id=deputy, day=d + timedelta(days=3))
    assert other.id is not None
    path = feed_path(await create_feed(client, w.tokens["admin"], scope="leader", leader_id=mayor))
    etag = (await client.get(path)).headers["etag"]

    def bumped(before: dict[int, tuple[int, Any]], after: dict[int, tuple[int, Any]]) -> set[int]:
        return {k for k in after if after[k][0] > before.get(k, (0, None))[0]}

    before = await _versions(sessionmaker)
    booked = await add_appointment(sessionmaker, first)  # the ORM's INSERT
    after = await _versions(sessionmaker)
    assert bumped(before, after) == {mayor}
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 200

    # A plain UPDATE (no ORM) with a later updated_at: the version and Last-Modified follow.
    later = datetime.fromisoformat("2030-01-02T03:04:05+00:00")
    before = after
    await _run(
        sessionmaker,
        update(Appointment)
        .where(Appointment.id == booked.id)  # type: ignore[arg-type]
        .values(status="cancelled", updated_at=later),
    )
    after = await _versions(sessionmaker)
    assert bumped(before, after) == {mayor}
    assert after[mayor][1] == later

    # Moved to another session of the same leader; the session itself handed to another leader.
    for statement, leaders in (
        (
            update(Appointment)
            .where(Appointment.id == booked.id)  # type: ignore[arg-type]
            .values(session_id=second.id),
            {mayor},
        ),
        (
            update(ReceptionSession)
            .where(ReceptionSession.id == second.id)  # type: ignore[arg-type]
            .values(leader_id=deputy),
            {mayor, deputy},
        ),
        (delete(Appointment).where(Appointment.id == booked.id), {deputy}),  # type: ignore[arg-type]
        (delete(ReceptionSession).where(ReceptionSession.id == second.id), {deputy}),  # type: ignore[arg-type]
        (
            update(ReceptionSession)
            .where(ReceptionSession.id == other.id)  # type: ignore[arg-type]
            .values(address="改在信访接待中心"),
            {deputy},
        ),
    ):
        before = await _versions(sessionmaker)
        await _run(sessionmaker, statement)
        assert bumped(before, await _versions(sessionmaker)) == leaders, statement

    # Unchanged since: the last ETag answers 304.
    etag = (await client.get(path)).headers["etag"]
    await _run(
        sessionmaker,
        update(ReceptionSession)
        .where(ReceptionSession.id == other.id)  # type: ignore[arg-type]
        .values(address="另一个地址"),
    )
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 304
