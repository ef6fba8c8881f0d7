"""The outbox and its delivery, against a real HTTP receiver on 127.0.0.1 (no mocks): signed
webhooks verified with the `standardwebhooks` package, retries with backoff and the same
webhook-id, nothing for a rolled-back change, no double delivery by two workers, DingTalk's
signature, a robot's 20-a-minute limit, and the daily reminders sent once."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from reception.context import Context, FixedClock
from reception.notify import jobs, worker
from reception.notify.models import Delivery, OutboxEvent
from tests.builders import World, at, build_world, case_body, future_workday
from tests.conftest import auth
from tests.live import serve


class Receiver:
    """A real HTTP server: answers from a script (then 200), records every request."""

    def __init__(self, hold_first: float = 0.0) -> None:
        self.hold_first = hold_first
        self.script: list[int] = []
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode()
                with outer.lock:
                    outer.in_flight += 1
                    outer.most_in_flight = max(outer.most_in_flight, outer.in_flight)
                    status = outer.script.pop(0) if outer.script else 200
                    outer.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    hold = outer.hold_first if len(outer.requests) == 1 else 0.0
                if hold:
                    # The first answer is slow: the sender is killed while it waits.
                    time.sleep(hold)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode":0}' if status == 200 else b'{"error":"x"}')
                with outer.lock:
                    outer.in_flight -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def endpoint(client: httpx.AsyncClient, world: World, **body: object) -> dict[str, Any]:
    r = await client.post("/api/notify/endpoints", json=body, headers=auth(world.tokens["admin"]))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def new_session(client: httpx.AsyncClient, world: World, days: int = 21) -> int:
    day = future_workday(days)
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, "10:00"),
            "slot_minutes": 30,
            "people_per_slot": 3,
        },
        headers=auth(world.tokens["secretary"]),
    )
    assert r.status_code == 201, r.text
    sid: int = r.json()["id"]
    return sid


async def run(app: Litestar, times: int = 1) -> int:
    sent = 0
    async with httpx.AsyncClient() as http:
        for _ in range(times):
            sent += await worker.run_once(app.state.sessionmaker, app.state.ctx, http)
    return sent


async def count(maker: async_sessionmaker[AsyncSession], model: Any, **where: Any) -> int:
    async with maker() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(await s.scalar(q) or 0)


async def test_a_webhook_is_signed_retried_with_backoff_and_keeps_its_id(
    app: Litestar,
    world: World,
    client: httpx.AsyncClient,
    receiver: Receiver,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    hook = await endpoint(
        client,
        world,
        name="区数据平台",
        kind="webhook",
        url=f"{receiver.url}/in",
        events=["session."],
    )
    assert hook["secret"].startswith("whsec_") and hook["host"].startswith("127.0.0.1")
    listed = await client.get("/api/notify/endpoints", headers=auth(world.tokens["admin"]))
    assert "secret" not in json.dumps([e for e in listed.json() if e.get("secret")])
    sid = await new_session(client, world)
    # A booking: not a session event, so this endpoint's filter leaves it out.
    r = await client.post(
        f"/api/sessions/{sid}/appointments",
        json={"petitioner_name": "张小明", "petitioner_phone": "13812345678",
              "matter_summary": "小区逾期交房"},
        headers=auth(world.tokens["secretary"]),
    )  # fmt: skip
    assert r.status_code == 201
    receiver.script = [500, 500]
    assert await run(app) == 0
    assert await run(app) == 0  # not due yet: it waits its backoff
    clock.set(clock.now() + timedelta(minutes=2))
    assert await run(app) == 0
    clock.set(clock.now() + timedelta(minutes=5))
    assert await run(app) == 1
    assert len(receiver.requests) == 3
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1
    for request in receiver.requests:
        payload = Webhook(hook["secret"]).verify(request["body"], request["headers"])
        assert payload["type"] == "session.created" and payload["data"]["id"] == sid
        assert "张小明" not in request["body"] and "13812345678" not in request["body"]
    log = await client.get(
        f"/api/notify/endpoints/{hook['id']}/deliveries", headers=auth(world.tokens["admin"])
    )
    (row,) = log.json()
    assert row["status"] == "delivered" and row["attempts"] == 3
    # Rotation: the new secret and the old one both sign until the rotation is finished.
    rotated = await client.post(
        f"/api/notify/endpoints/{hook['id']}/rotate-secret", headers=auth(world.tokens["admin"])
    )
    new_secret = rotated.json()["secret"]
    await client.post(
        f"/api/sessions/{sid}/cancel", json={"reason": "领导出差"},
        headers=auth(world.tokens["secretary"]),
    )  # fmt: skip
    assert await run(app) == 1
    last = receiver.requests[-1]
    for secret in (hook["secret"], new_secret):
        assert Webhook(secret).verify(last["body"], last["headers"])["type"] == "session.cancelled"


async def test_a_rolled_back_change_emits_nothing(
    app: Litestar, world: World, client: httpx.AsyncClient, receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    await endpoint(client, world, name="全部", kind="webhook", url=receiver.url)
    sid = await new_session(client, world)
    before = await count(sessionmaker, OutboxEvent)
    # The same leader at the same time: refused by the database, so rolled back.
    day = future_workday(21)
    r = await client.post(
        "/api/sessions",
        json={"leader_id": world.leaders["mayor"], "kind": "reception", "venue_id": world.venue,
              "starts_at": at(day, "09:30"), "ends_at": at(day, "10:30"),
              "slot_minutes": 30, "people_per_slot": 3},
        headers=auth(world.tokens["secretary"]),
    )  # fmt: skip
    assert r.status_code == 409
    assert await count(sessionmaker, OutboxEvent) == before
    assert sid


async def test_a_new_endpoint_receives_what_happens_after_it_is_made(
    app: Litestar, world: World, client: httpx.AsyncClient, receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    """A backlog never fanned out (the demo writes events and no worker runs): an endpoint
    registered afterwards gets the booking made after it, not the three made before."""
    sid = await new_session(client, world)
    secretary = auth(world.tokens["secretary"])
    for name in ("甲", "乙", "丙"):
        r = await client.post(
            f"/api/sessions/{sid}/appointments",
            json={"petitioner_name": f"张{name}", "matter_summary": "交房"},
            headers=secretary,
        )
        assert r.status_code == 201, r.text
    waiting = await count(sessionmaker, OutboxEvent, fanned_out=False)
    assert waiting == 4  # the session and the three bookings
    await endpoint(
        client, world, name="预约", kind="webhook", url=receiver.url, events=["appointment.booked"]
    )
    r = await client.post(
        f"/api/sessions/{sid}/appointments",
        json={"petitioner_name": "张丁", "matter_summary": "交房"},
        headers=secretary,
    )
    new_id = r.json()["id"]
    while await run(app):
        pass
    assert len(receiver.requests) == 1
    payload = json.loads(receiver.requests[0]["body"])
    assert payload["type"] == "appointment.booked" and payload["data"]["id"] == new_id
    assert await count(sessionmaker, OutboxEvent, fanned_out=False) == 0


async def test_two_workers_never_send_one_delivery_at_once(
    app: Litestar, world: World, client: httpx.AsyncClient, receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    await endpoint(client, world, name="全部", kind="webhook", url=receiver.url)
    for n in range(12):
        await new_session(client, world, days=7 * (n + 1))
    events = await count(sessionmaker, OutboxEvent)
    async with httpx.AsyncClient() as a, httpx.AsyncClient() as b:
        ctx: Context = app.state.ctx
        await asyncio.gather(
            worker.run_once(app.state.sessionmaker, ctx, a, batch=5),
            worker.run_once(app.state.sessionmaker, ctx, b, batch=5),
            worker.run_once(app.state.sessionmaker, ctx, a, batch=5),
        )
    while await run(app):
        pass
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == events
    assert await count(sessionmaker, Delivery, status="delivered") == events


def test_the_dingtalk_signature_is_the_documented_one() -> None:
    secret, ts = "SEC0123456789abcdef", 1764640800000
    url = worker.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=T", secret, ts)
    string_to_sign = f"{ts}\n{secret}"
    expected = urllib.parse.quote_plus(
        base64.b64encode(
            hmac.new(
                secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
            ).digest()
        )
    )
    assert url == (
        f"https://oapi.dingtalk.com/robot/send?access_token=T&timestamp={ts}&sign={expected}"
    )


async def test_a_burst_to_a_robot_stays_under_twenty_a_minute(
    app: Litestar, world: World, client: httpx.AsyncClient, receiver: Receiver,
    clock: FixedClock, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    robot = await endpoint(
        client, world, name="区长群", kind="wecom", url=f"{receiver.url}/cgi-bin/webhook/send?key=K",
        events=["test"],
    )  # fmt: skip
    for _ in range(100):
        r = await client.post(
            f"/api/notify/endpoints/{robot['id']}/test", headers=auth(world.tokens["admin"])
        )
        assert r.status_code == 202
    times: list[Any] = []
    for _ in range(40):
        before = len(receiver.requests)
        async with httpx.AsyncClient() as http:
            await worker.run_once(app.state.sessionmaker, app.state.ctx, http, batch=5)
        times += [clock.now()] * (len(receiver.requests) - before)
        clock.set(clock.now() + timedelta(seconds=15))
    assert await count(sessionmaker, Delivery, status="delivered") == 100  # none dropped
    for t in times:
        assert sum(1 for u in times if t <= u < t + timedelta(minutes=1)) <= 20
    # Merged: fewer messages than events, each in Chinese, none with a petitioner's data.
    assert len(receiver.requests) < 100
    assert all("测试消息" in r["body"] for r in receiver.requests)


async def test_the_daily_reminders_go_out_once(
    app: Litestar, world: World, client: httpx.AsyncClient, receiver: Receiver,
    clock: FixedClock, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    from datetime import datetime

    await endpoint(
        client, world, name="下仓镇群", kind="dingtalk", url=f"{receiver.url}/robot/send?access_token=T",
        secret="SECabc", scope="unit", unit_id=world.township_a,
    )  # fmt: skip
    supervisor = await endpoint(
        client, world, name="督查室群", kind="wecom", url=f"{receiver.url}/w?key=K", scope="supervisor"
    )  # fmt: skip
    # Received 11-18: the 15-day accept clock is due 12-03, 2 working days ahead (≤ 3).
    r = await client.post(
        "/api/cases", json=case_body(world, received_on="2026-11-18", on="2026-11-18"),
        headers=auth(world.tokens["clerk_a"]),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    late = await client.post(
        "/api/cases", json=case_body(world, received_on="2026-11-01", on="2026-11-01",
                                     petitioners=[{"name": "李四", "phone": "13911112222"}]),
        headers=auth(world.tokens["clerk_a"]),
    )  # fmt: skip
    assert late.status_code == 201
    for _ in range(2):
        async with sessionmaker() as s:
            await jobs.daily(s, app.state.ctx)
            await s.commit()
    soon = await count(sessionmaker, OutboxEvent, type="reminder.due_soon")
    overdue = await count(sessionmaker, OutboxEvent, type="reminder.overdue")
    assert (soon, overdue) == (1, 1)
    assert await run(app, 3)
    bodies = [r["body"] for r in receiver.requests]
    assert any("期限提醒" in b for b in bodies) and any("超期" in b for b in bodies)
    assert all("张小明" not in b and "李四" not in b for b in bodies)
    # DingTalk requests carry the signed URL.
    assert any("timestamp=" in r["path"] and "sign=" in r["path"] for r in receiver.requests)
    log = await client.get(
        f"/api/notify/endpoints/{supervisor['id']}/deliveries", headers=auth(world.tokens["admin"])
    )
    assert [d["type"] for d in log.json()] == ["reminder.overdue"]
    clock.set(datetime.fromisoformat("2026-12-01T18:00:00+08:00"))
    async with sessionmaker() as s:
        assert (await jobs.daily(s, app.state.ctx)).reminders == 0


async def test_kill_9_mid_delivery_loses_nothing(
    app: Litestar,
    world: World,
    client: httpx.AsyncClient,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    slow = Receiver(hold_first=8.0)
    try:
        await endpoint(client, world, name="全部", kind="webhook", url=slow.url)
        for n in range(5):
            await new_session(client, world, days=7 * (n + 1))
        async with sessionmaker() as s:
            uids = set((await s.scalars(select(OutboxEvent.uid))).all())
        assert len(uids) == 5
        env = {"RECEPTION_OUTBOX_LEASE_SECONDS": "3"}
        started: list[Any] = []
        with serve(database_url, workers=1, env=env, started=started):
            for _ in range(200):
                if slow.requests:
                    break
                await asyncio.sleep(0.05)
            assert slow.requests, "the server's worker never sent"
            started[0].kill()  # kill -9, mid-delivery: the receiver has not answered
            started[0].wait()
        with serve(database_url, workers=1, env=env):
            for _ in range(300):
                if await count(sessionmaker, Delivery, status="delivered") == 5:
                    break
                await asyncio.sleep(0.1)
        assert await count(sessionmaker, Delivery, status="delivered") == 5
        received = [r["headers"]["webhook-id"] for r in slow.requests]
        # Every event arrived at least once; the one in flight twice, with the same id.
        assert set(received) == uids and len(received) >= 6
    finally:
        slow.server.shutdown()


async def test_the_admin_page_registers_tests_and_shows_the_log(
    app: Litestar,
    world: World,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from tests.builders import give_passwords
    from tests.console import Console

    await give_passwords(sessionmaker, world)
    admin = Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )
    await admin.sign_in("admin")
    r = await admin.get("/admin/notify")
    assert r.status_code == 200 and "消息推送" in r.text
    r = await admin.post("/admin/notify", {"name": "", "kind": "wecom", "url": "x"})
    assert r.status_code in (400, 422) and "名称" in r.text
    r = await admin.post(
        "/admin/notify",
        {"name": "对接平台", "kind": "webhook", "url": f"{receiver.url}/hook", "scope": "all"},
    )
    assert r.status_code == 200 and "只显示这一次" in r.text
    secret = r.text.split("<code>")[1].split("</code>")[0]
    assert secret.startswith("whsec_")
    again = await admin.get("/admin/notify")
    assert secret not in again.text and "127.0.0.1" in again.text and "/hook" not in again.text
    eid = int(again.text.split('action="/admin/notify/')[1].split("/")[0])
    r = await admin.post(f"/admin/notify/{eid}/test")
    assert r.status_code == 303
    assert await run(app) == 1
    page = await admin.get("/admin/notify")
    assert "已送达" in page.text and "测试消息" in page.text
    assert "Standard Webhooks" not in page.text
    # Limited to some messages by ticking them, read back in words.
    r = await admin.post(
        "/admin/notify",
        {"name": "区长工作群", "kind": "wecom", "url": f"{receiver.url}/wecom", "scope": "all",
         "events": ["session.", "reminder.overdue"]},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    page = await admin.get("/admin/notify")
    assert "只推送:场次安排与变动(新安排、调整、取消、举行)、超期督办" in page.text
    assert Webhook(secret).verify(receiver.requests[-1]["body"], receiver.requests[-1]["headers"])
    r = await admin.post(f"/admin/notify/{eid}/nonsense")
    assert r.status_code == 404
    # A delivery id past any column's range names no delivery: 404, not a database error.
    r = await admin.post(f"/admin/notify/{eid}/retry-9223372036854775808")
    assert r.status_code == 404


async def test_a_moved_reception_day_reaches_the_leaders_dingtalk_group(
    app: Litestar, world: World, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await endpoint(
        client, world, name="区长工作群", kind="dingtalk",
        url=f"{receiver.url}/robot/send?access_token=T", secret="SECxyz",
        scope="leader", leader_id=world.leaders["mayor"],
    )  # fmt: skip
    await endpoint(
        client, world, name="副区长群", kind="dingtalk", url=f"{receiver.url}/other",
        scope="leader", leader_id=world.leaders["deputy"],
    )  # fmt: skip
    sid = await new_session(client, world)
    r = await client.post(
        f"/api/sessions/{sid}/appointments",
        json={"petitioner_name": "张小明", "petitioner_phone": "13812345678",
              "matter_summary": "小区逾期交房"},
        headers=auth(world.tokens["secretary"]),
    )  # fmt: skip
    assert r.status_code == 201
    day = future_workday(28)
    r = await client.patch(
        f"/api/sessions/{sid}",
        json={"starts_at": at(day, "14:00"), "ends_at": at(day, "15:00")},
        headers=auth(world.tokens["secretary"]),
    )
    assert r.status_code == 200, r.text
    # The worker's first round (it runs every 2 s inside serve): within the minute.
    assert await run(app, 2)
    to_mayor = [r for r in receiver.requests if r["path"].startswith("/robot/send")]
    assert to_mayor and not [r for r in receiver.requests if r["path"].startswith("/other")]
    text = " ".join(json.loads(r["body"])["markdown"]["text"] for r in to_mayor)
    assert (
        "时间调整" in text and "李某乙" in text and f"{day.year}年{day.month}月{day.day}日" in text
    )
    assert "14:00" in text
    assert "张小明" not in text and "13812345678" not in text and "逾期交房" not in text
    assert all("sign=" in r["path"] and "timestamp=" in r["path"] for r in to_mayor)
