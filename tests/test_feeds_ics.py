"""GET /feeds/{token}.ics: content, validators and 304s, HEAD, no personal data, the cache
across processes, and parsing by independent clients (Mozilla ical.js, Python vobject)."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import warnings
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
import vobject
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.app import create_app
from reception.config import Settings
from reception.context import FixedClock
from reception.feeds import ics
from reception.feeds import service as feed_service
from reception.scheduling.models import Appointment, ReceptionSession
from tests.builders import World, build_world
from tests.conftest import auth, dispose
from tests.feeds_support import (
    PII,
    add_appointment,
    add_session,
    create_feed,
    feed_path,
    local,
    today,
)

JS_DIR = Path(__file__).parent / "js"


async def _calendar_world(maker: async_sessionmaker[AsyncSession]) -> tuple[World, dict[str, Any]]:
    """A moved reception day with appointments, a cancelled one, a field visit, a provisional
    one, and sessions that must stay out (too old, too far, cancelled long ago, other unit)."""
    w = await build_world(maker)
    d = today()
    moved = await add_session(
        maker, leader_id=w.leaders["mayor"], day=d + timedelta(days=5), venue_id=w.venue, sequence=2
    )
    await add_appointment(maker, moved)
    await add_appointment(maker, moved, collective=True, party_size=7)
    await add_appointment(maker, moved, status="cancelled")
    cancelled = await add_session(
        maker,
        leader_id=w.leaders["deputy"],
        day=d + timedelta(days=8),
        venue_id=w.venue,
        status="cancelled",
        sequence=1,
        cancelled_at=local(today() - timedelta(days=3), 9),
    )
    visit = await add_session(
        maker,
        leader_id=w.leaders["township_a"],
        day=d - timedelta(days=10),
        kind="field_visit",
        unit_id=w.village_a,
        address="村委会",
        status="held",
        purpose=f"走访 {PII['name']}",
    )
    provisional = await add_session(
        maker,
        leader_id=w.leaders["mayor"],
        day=d + timedelta(days=400),
        venue_id=w.venue,
        provisional=True,
    )
    excluded = [
        await add_session(
            maker, leader_id=w.leaders["mayor"], day=d - timedelta(days=120), venue_id=w.venue
        ),
        await add_session(
            maker, leader_id=w.leaders["mayor"], day=d + timedelta(days=600), venue_id=w.venue
        ),
        await add_session(
            maker,
            leader_id=w.leaders["deputy"],
            day=d + timedelta(days=9),
            venue_id=w.venue,
            status="cancelled",
            cancelled_at=local(today() - timedelta(days=40), 9),
        ),
    ]
    return w, {
        "moved": moved,
        "cancelled": cancelled,
        "visit": visit,
        "provisional": provisional,
        "excluded": excluded,
    }


def _events(body: bytes) -> dict[str, Any]:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).events}


async def test_unit_feed_content_and_headers(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    w, s = await _calendar_world(sessionmaker)
    new = await create_feed(client, w.tokens["admin"], scope="unit", unit_id=w.district)
    response = await client.get(feed_path(new))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    etag = response.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    parsedate_to_datetime(response.headers["last-modified"])
    assert "no-cache" in response.headers["cache-control"]

    body = response.content
    cal = icalendar.Calendar.from_ical(body)
    assert cal["METHOD"] == "PUBLISH" and cal["CALSCALE"] == "GREGORIAN"
    assert cal["X-WR-CALNAME"] == "蓟州区 领导接访下访日程"
    assert cal["X-WR-TIMEZONE"] == "Asia/Shanghai"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]

    events = _events(body)
    assert set(events) == {s[k].uid for k in ("moved", "cancelled", "visit", "provisional")}
    moved = events[s["moved"].uid]
    assert int(moved["SEQUENCE"]) == 2
    assert moved["STATUS"] == "CONFIRMED"
    assert moved["SUMMARY"] == "接访日 · 区长 李某乙 · 区矛调中心接待室"
    assert moved["LOCATION"] == "区矛调中心接待室"
    assert moved["CATEGORIES"].cats == ["接访"]
    assert "有效预约：2 起" in moved["DESCRIPTION"]
    assert "集体访：1 起" in moved["DESCRIPTION"]
    assert moved["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert moved["DTSTART"].dt == local(today() + timedelta(days=5), 9)
    assert moved["DTEND"].dt - moved["DTSTART"].dt == timedelta(hours=3)
    # DTSTAMP/LAST-MODIFIED come from the data: the latest change, here an appointment.
    assert moved["DTSTAMP"].dt == moved["LAST-MODIFIED"].dt
    assert moved["CREATED"].dt <= moved["DTSTAMP"].dt <= clock.now()

    cancelled = events[s["cancelled"].uid]
    assert cancelled["STATUS"] == "CANCELLED" and int(cancelled["SEQUENCE"]) == 1
    assert cancelled["SUMMARY"].startswith("已取消 · 接访日 · 副区长 张某丙")

    visit = events[s["visit"].uid]
    assert visit["SUMMARY"] == "下访 · 下仓镇党委书记 周某镇 · 小杨家庄村"
    assert visit["LOCATION"] == "小杨家庄村，村委会"
    assert visit["CATEGORIES"].cats == ["下访"]
    assert visit["STATUS"] == "CONFIRMED"

    provisional = events[s["provisional"].uid]
    assert ics.PROVISIONAL_NOTE in provisional["DESCRIPTION"]
    assert provisional["X-RECEPTION-PROVISIONAL"] == "TRUE"
    assert "X-RECEPTION-PROVISIONAL" not in moved

    # Nothing changed: the same bytes and validators on the next poll.
    again = await client.get(feed_path(new))
    assert again.content == body
    assert again.headers["etag"] == etag
    assert again.headers["last-modified"] == response.headers["last-modified"]


async def test_scopes_select_their_leaders(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w, s = await _calendar_world(sessionmaker)
    township = await create_feed(client, w.tokens["clerk_a"], scope="unit", unit_id=w.township_a)
    leader = await create_feed(
        client, w.tokens["leader"], scope="leader", leader_id=w.leaders["mayor"]
    )
    secretary = await create_feed(client, w.tokens["secretary"], scope="secretary", name="我的领导")
    got = {
        name: _events((await client.get(feed_path(f))).content)
        for name, f in [("township", township), ("leader", leader), ("secretary", secretary)]
    }
    assert set(got["township"]) == {s["visit"].uid}
    assert set(got["leader"]) == {s["moved"].uid, s["provisional"].uid}
    assert set(got["secretary"]) == {s["moved"].uid, s["provisional"].uid, s["cancelled"].uid}
    body = (await client.get(feed_path(secretary))).content
    assert icalendar.Calendar.from_ical(body)["X-WR-CALNAME"] == "我的领导"


async def test_no_personal_data_in_any_feed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w, s = await _calendar_world(sessionmaker)
    feeds = [
        await create_feed(client, w.tokens["admin"], scope="unit", unit_id=w.district),
        await create_feed(client, w.tokens["admin"], scope="leader", leader_id=w.leaders["mayor"]),
        await create_feed(client, w.tokens["secretary"], scope="secretary"),
    ]
    bodies = [(await client.get(feed_path(f))).content for f in feeds]
    bodies.append(
        (
            await client.get(
                f"/api/sessions/{s['moved'].id}/event.ics", headers=auth(w.tokens["admin"])
            )
        ).content
    )
    for body in bodies:
        assert b"BEGIN:VEVENT" in body  # the check below looks at real events
        text = icalendar.Calendar.from_ical(body).to_ical().decode()  # unfolded and folded
        unfolded = body.decode().replace("\r\n ", "")
        for secret in PII.values():
            assert secret not in unfolded and secret not in text


async def test_conditional_requests_and_head(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    w, s = await _calendar_world(sessionmaker)
    path = feed_path(await create_feed(client, w.tokens["admin"], scope="unit", unit_id=w.district))
    first = await client.get(path)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]

    by_etag = await client.get(path, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.content == b""
    assert by_etag.headers["etag"] == etag
    assert (await client.get(path, headers={"If-None-Match": f'"x", W/{etag}'})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": '"other"'})).status_code == 200

    by_date = await client.get(path, headers={"If-Modified-Since": last_modified})
    assert by_date.status_code == 304 and by_date.content == b""
    earlier = format_datetime(
        parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True
    )
    assert (await client.get(path, headers={"If-Modified-Since": earlier})).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    both = await client.get(
        path, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}
    )
    assert both.status_code == 200

    head = await client.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag
    assert int(head.headers["content-length"]) == len(first.content)
    assert (await client.head(path, headers={"If-None-Match": etag})).status_code == 304

    # A change (an appointment cancelled) gives new validators, and the old ones no 304.
    # (HTTP dates have one-second resolution: the change comes a minute later, by the clock.)
    clock.set(clock.now() + timedelta(minutes=1))
    async with sessionmaker() as db:
        await db.execute(
            update(Appointment)
            .where(Appointment.session_id == s["moved"].id, Appointment.status == "booked")  # type: ignore[arg-type]
            .values(status="cancelled", updated_at=clock.now())
        )
        await db.commit()
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "有效预约：0 起" in str(_events(changed.content)[s["moved"].uid]["DESCRIPTION"])
    assert (await client.get(path, headers={"If-Modified-Since": last_modified})).status_code == 200


async def test_body_is_cached_per_version_and_fresh_in_every_process(
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
) -> None:
    w, s = await _calendar_world(sessionmaker)
    path = feed_path(await create_feed(client, w.tokens["admin"], scope="unit", unit_id=w.district))
    builds = 0
    real = feed_service.feed_entries

    async def counting(**kwargs: Any) -> list[ics.SessionEntry]:
        nonlocal builds
        builds += 1
        return await real(**kwargs)

    monkeypatch.setattr(feed_service, "feed_entries", counting)
    # A second "worker process": its own app, engine and cache on the same database.
    other = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other), base_url="http://test"
        ) as client2:
            one = await client.get(path)
            two = await client2.get(path)
            assert one.content == two.content and one.headers["etag"] == two.headers["etag"]
            assert builds == 2
            for _ in range(3):
                assert (await client.get(path)).content == one.content
            assert builds == 2  # served from the cache

            # Moved through "process 1": process 2's next poll shows it at once.
            new_start = s["moved"].starts_at + timedelta(days=1)
            clock.set(clock.now() + timedelta(minutes=1))
            async with sessionmaker() as db:
                await db.execute(
                    update(ReceptionSession)
                    .where(ReceptionSession.id == s["moved"].id)  # type: ignore[arg-type]
                    .values(
                        starts_at=new_start,
                        ends_at=new_start + timedelta(hours=3),
                        sequence=3,
                        updated_at=clock.now(),
                    )
                )
                await db.commit()
            moved = _events((await client2.get(path)).content)[s["moved"].uid]
            assert int(moved["SEQUENCE"]) == 3 and moved["DTSTART"].dt == new_start
            assert (await client2.get(path)).headers["etag"] != one.headers["etag"]
            assert (await client.get(path)).content == (await client2.get(path)).content
    finally:
        await dispose(other)


async def test_serialize_matches_icalendar_folding() -> None:
    """The fast folding gives exactly icalendar's own bytes, long lines and escapes included."""
    start = datetime(2026, 2, 24, 1, tzinfo=UTC)
    entries = [
        ics.SessionEntry(
            id=i,
            uid=f"{i}@t",
            kind="reception",
            status="scheduled",
            sequence=i,
            provisional=True,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            created_at=start,
            modified_at=start,
            leader_name="李某乙" * i,
            leader_title="区长",
            venue_name=("区矛调中心接待室,;\\" * i) + "x" * i,
            venue_address="a\\" * (i + 30),
            unit_name=None,
            address="",
            appointments=i,
            collective=i % 2,
        )
        for i in range(1, 40)
    ]
    cal = ics.calendar(entries, tzid="Asia/Shanghai", name="名" * 60, ttl_minutes=60)
    assert ics.serialize(cal) == cal.to_ical(sorted=False)
    assert max(len(line) for line in ics.serialize(cal).split(b"\r\n")) <= 75


async def _feed_file(
    client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> tuple[Path, dict[str, Any]]:
    w, s = await _calendar_world(maker)
    path = feed_path(await create_feed(client, w.tokens["admin"], scope="unit", unit_id=w.district))
    body = (await client.get(path)).content
    assert body.count(b"BEGIN:VEVENT") == 4
    file = tmp_path / "feed.ics"
    file.write_bytes(body)
    return file, s


async def test_feed_parses_in_mozilla_icaljs(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    node = shutil.which("node")
    assert node, "node is needed (see README: Calendar feeds)"
    assert (JS_DIR / "node_modules" / "ical.js").is_dir(), "run `npm ci --prefix tests/js`"
    file, s = await _feed_file(client, sessionmaker, tmp_path)
    run = await asyncio.to_thread(
        subprocess.run,
        [node, str(JS_DIR / "parse.mjs"), str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    parsed = json.loads(run.stdout)
    assert parsed["method"] == "PUBLISH" and parsed["version"] == "2.0"
    assert parsed["calname"] == "蓟州区 领导接访下访日程"
    assert parsed["refresh"] == "PT1H" and parsed["ttl"] == "PT1H"
    assert parsed["zones"] == ["Asia/Shanghai"]
    events = {e["uid"]: e for e in parsed["events"]}
    assert set(events) == {s[k].uid for k in ("moved", "cancelled", "visit", "provisional")}
    for key in ("moved", "cancelled", "visit", "provisional"):
        event, row = events[s[key].uid], s[key]
        assert event["tzid"] == "Asia/Shanghai"
        # ical.js resolved the local time through our VTIMEZONE to the stored instant.
        assert event["start"] == int(row.starts_at.timestamp())
        assert event["end"] == int(row.ends_at.timestamp())
        assert event["sequence"] == row.sequence
    assert events[s["moved"].uid]["status"] == "CONFIRMED"
    assert events[s["cancelled"].uid]["status"] == "CANCELLED"
    assert events[s["visit"].uid]["categories"] == ["下访"]
    assert events[s["provisional"].uid]["provisional"] == "TRUE"
    assert "有效预约：2 起" in events[s["moved"].uid]["description"]


async def test_feed_parses_in_vobject(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    file, s = await _feed_file(client, sessionmaker, tmp_path)
    text = file.read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING):
            cal = vobject.readOne(text, validate=True)
            cal.validate()  # type: ignore[attr-defined]
            events = {e.uid.value: e for e in cal.vevent_list}  # type: ignore[attr-defined]
            assert set(events) == {s[k].uid for k in ("moved", "cancelled", "visit", "provisional")}
            for key in ("moved", "cancelled", "visit", "provisional"):
                event, row = events[s[key].uid], s[key]
                assert event.dtstart.value == row.starts_at
                assert event.dtstart.value.utcoffset() == timedelta(hours=8)
                assert int(event.sequence.value) == row.sequence
            assert events[s["cancelled"].uid].status.value == "CANCELLED"
            assert events[s["visit"].uid].summary.value.startswith("下访")
            cal.serialize()  # type: ignore[attr-defined]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_change_rebuilds_only_its_event_and_unrelated_changes_keep_the_etag(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
) -> None:
    w, s = await _calendar_world(sessionmaker)
    path = feed_path(
        await create_feed(client, w.tokens["clerk_a"], scope="unit", unit_id=w.township_a)
    )
    mayor = feed_path(
        await create_feed(client, w.tokens["admin"], scope="leader", leader_id=w.leaders["mayor"])
    )
    first = await client.get(path)
    mayor_first = await client.get(mayor)
    assert set(_events(first.content)) == {s["visit"].uid}

    rendered: list[str] = []
    real = ics.event_bytes

    def counting(entry: ics.SessionEntry, tzid: str) -> bytes:
        rendered.append(entry.uid)
        return real(entry, tzid)

    monkeypatch.setattr(ics, "event_bytes", counting)

    # A change outside the township's feed (the mayor's session and its appointments):
    # the township feed keeps its ETag and body; the mayor's feed changes.
    await add_appointment(sessionmaker, s["moved"])
    same = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    changed = await client.get(mayor, headers={"If-None-Match": mayor_first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != mayor_first.headers["etag"]
    assert "有效预约：3 起" in str(_events(changed.content)[s["moved"].uid]["DESCRIPTION"])
    # Only the changed event was rendered again; the mayor's other event came from the cache.
    assert rendered == [s["moved"].uid]

    # A change to the township's own session changes its body and ETag.
    rendered.clear()
    clock.set(clock.now() + timedelta(minutes=1))
    async with sessionmaker() as db:
        await db.execute(
            update(ReceptionSession)
            .where(ReceptionSession.id == s["visit"].id)  # type: ignore[arg-type]
            .values(address="镇政府", sequence=1, updated_at=clock.now())
        )
        await db.commit()
    after = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
    visit = _events(after.content)[s["visit"].uid]
    assert visit["LOCATION"] == "小杨家庄村，镇政府" and int(visit["SEQUENCE"]) == 1
    assert rendered == [s["visit"].uid]


async def test_render_with_cache_matches_icalendar() -> None:
    start = datetime(2026, 2, 24, 1, tzinfo=UTC)
    entries = [
        ics.SessionEntry(
            id=i,
            uid=f"{i}@t",
            kind="field_visit" if i % 3 else "reception",
            status="cancelled" if i % 4 == 0 else "scheduled",
            sequence=i,
            provisional=i % 2 == 0,
            starts_at=start + timedelta(days=i),
            ends_at=start + timedelta(days=i, hours=3),
            created_at=start,
            modified_at=start + timedelta(minutes=i),
            leader_name="李某乙",
            leader_title="区长",
            venue_name="接待室" if i % 3 == 0 else None,
            venue_address=None,
            unit_name="某村" * i,
            address="村委会,;\\",
            appointments=i,
            collective=i % 2,
        )
        for i in range(1, 30)
    ]
    expected = ics.calendar(entries, tzid="Asia/Shanghai", name="名", ttl_minutes=60).to_ical(
        sorted=False
    )
    cache = ics.EventCache()
    for _ in range(2):  # cold, then every event from the cache
        body = ics.render(entries, tzid="Asia/Shanghai", name="名", ttl_minutes=60, cache=cache)
        assert body == expected
    assert len(cache) == len(entries)
