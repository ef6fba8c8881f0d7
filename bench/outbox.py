"""Outbox benchmark (PostgreSQL): events/s from commit to the receiver's 200 with 2 workers,
beside the floor of the same signed posts sent by a bare loop; and the booking path with the
outbox on vs off.

1. Delivery: N events (default 2,000) committed through the outbox to one webhook endpoint
   (a local receiver: a plain threaded HTTP server on 127.0.0.1 answering 200), then two
   `reception worker` processes deliver them; measured from the first commit to the receiver
   holding all N. Floor, in the same run: two asyncio loops posting the same N signed bodies
   to the same receiver with httpx, nothing else.
2. Booking: M appointments (default 1,000) booked in-process through the booking service
   (the code the API runs: audit trail, capacity UPDATE, now also the outbox write and the
   fan-out to the endpoint), once with the outbox as it is and once with its write skipped.
   Target: the outbox costs the booking path under 15%.

    .venv/bin/python bench/outbox.py [--events 2000] [--bookings 1000] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.review import PG_SERVER, with_db  # noqa: E402
from tests.builders import at, build_world  # noqa: E402
from tests.live import RECEPTION, TEST_KEYS  # noqa: E402

TARGET = 0.15


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([RECEPTION, "worker"], env=env)


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with outer.changed:
                    outer.count += 1
                    outer.changed.notify_all()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.count >= n, timeout=timeout)


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from reception.audit import service as audit
    from reception.config import Settings
    from reception.context import Context, SystemClock
    from reception.db import create_engine, create_sessionmaker, migrate
    from reception.notify import outbox, schemas, service, worker
    from reception.notify.models import Delivery
    from reception.scheduling import booking
    from reception.scheduling import schemas as ss
    from reception.scheduling import service as sched

    name = f"reception_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(with_db(PG_SERVER, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    sa_url = with_db(PG_SERVER, name, driver="asyncpg")
    ok = True
    receiver = Receiver()
    try:
        await asyncio.to_thread(migrate, sa_url, "upgrade", "head")
        settings = Settings(database_url=sa_url, data_keys=TEST_KEYS)
        ctx = Context.of(settings)
        engine = create_engine(settings)
        maker = create_sessionmaker(engine, SystemClock())
        world = await build_world(maker)
        async with maker() as s:
            _, secret = await service.create_endpoint(
                session=s,
                ctx=ctx,
                actor=None,
                data=schemas.EndpointIn(name="bench", kind="webhook", url=receiver.url),
            )
            await s.commit()
        assert secret

        # ---------------------------------------------------------- 1. delivery
        t0 = time.perf_counter()
        for start in range(0, args.events, 200):
            async with maker() as s:
                for i in range(start, min(start + 200, args.events)):
                    await outbox.emit(
                        s,
                        type="session.moved",
                        aggregate=f"session:{i}",
                        payload={"object": "reception_session", "id": i, "changes": {}},
                        now=ctx.now(),
                    )
                await s.commit()
        env = {**os.environ, "RECEPTION_DATABASE_URL": sa_url, "RECEPTION_DATA_KEYS": TEST_KEYS,
               "RECEPTION_LOG_LEVEL": "WARNING"}  # fmt: skip
        workers = [start_worker(env) for _ in range(2)]
        try:
            await asyncio.to_thread(receiver.wait_for, args.events, 600.0)
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(timeout=30)
        delivered_s = time.perf_counter() - t0
        got = receiver.count
        async with maker() as s:
            from sqlalchemy import func, select

            done = await s.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "delivered")
            )
        rate = got / delivered_s

        receiver.count = 0
        body = '{"type":"session.moved","data":{"id":1}}'

        async def loop(client: httpx.AsyncClient, n: int) -> None:
            for i in range(n):
                headers = worker.webhook_headers(
                    [secret], f"evt_{i}", body, datetime.now().astimezone()
                )
                await client.post(receiver.url, content=body.encode(), headers=headers)

        f0 = time.perf_counter()
        async with httpx.AsyncClient() as a, httpx.AsyncClient() as b:
            await asyncio.gather(loop(a, args.events // 2), loop(b, args.events - args.events // 2))
        floor_rate = args.events / (time.perf_counter() - f0)
        print(
            f"delivery: {got:,} of {args.events:,} events in {delivered_s:.1f} s from the first "
            f"commit = {rate:,.0f} events/s (2 workers; {done:,} marked delivered); floor, two "
            f"bare httpx loops posting the same signed bodies: {floor_rate:,.0f}/s "
            f"({rate / floor_rate:.2f}x)",
            flush=True,
        )
        ok = ok and got == args.events

        # ---------------------------------------------------------- 2. booking
        async def book_many(n: int, offset_days: int) -> float:
            async with maker() as s:
                subjects = []
                for k in range((n + 17) // 18):
                    day = (datetime.now() + timedelta(days=60 + offset_days + k)).date()
                    subjects.append(
                        await sched.create_session(
                            session=s,
                            ctx=ctx,
                            actor=None,
                            data=ss.SessionCreate(
                                leader_id=world.leaders["mayor"],
                                kind="reception",
                                venue_id=world.venue,
                                starts_at=datetime.fromisoformat(at(day, "09:00")),
                                ends_at=datetime.fromisoformat(at(day, "12:00")),
                                slot_minutes=30,
                                people_per_slot=3,
                            ),
                        )
                    )
                await s.commit()
            t = time.perf_counter()
            for i in range(n):
                async with maker() as s:
                    await booking.book(
                        session=s,
                        ctx=ctx,
                        actor=None,
                        session_id=subjects[i // 18].id,
                        data=ss.AppointmentCreate(
                            petitioner_name="王某民",
                            petitioner_phone=f"139{offset_days:02d}{i:06d}",
                            matter_summary="测试",
                        ),
                    )
                    await s.commit()
            return n / (time.perf_counter() - t)

        on = await book_many(args.bookings, 0)
        original = audit._emit

        async def skipped(*_: Any, **__: Any) -> None:
            return None

        audit._emit = skipped  # type: ignore[assignment]
        try:
            off = await book_many(args.bookings, 200)
        finally:
            audit._emit = original  # type: ignore[assignment]
        cost = 1 - on / off
        met = cost < TARGET
        ok = ok and met
        print(
            f"booking (in-process, {args.bookings:,} each): outbox on {on:,.0f}/s, off "
            f"{off:,.0f}/s: the outbox costs {cost * 100:.1f}% (target < {TARGET * 100:.0f}%: "
            f"{'met' if met else 'NOT met'})",
            flush=True,
        )
        await engine.dispose()
    finally:
        receiver.server.shutdown()
        if args.keep:
            print(f"kept: {with_db(PG_SERVER, name)}")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
