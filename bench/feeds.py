"""Calendar feed benchmark: a unit feed of 2,000 events.

Measures, in one run on one machine, with one load generator and one server set-up
(uvicorn, 1 worker, loopback, no access log):
- cold build: loading the 2,000 events and rendering them (no cache), in-process;
- warm GET /feeds/<token>.ics requests/s, and 304 (If-None-Match) requests/s;
- baselines: (a) a bare ASGI app returning the same bytes from memory, (b) GET /health,
  (c) Radicale (CalDAV server) serving the same 2,000 events as one calendar collection.

Targets: cold build < 300 ms; warm GET >= 0.5 x the bare ASGI app (#26; was 0.33); 304 >=
0.5 x GET /health. Each verdict is printed beside its figure and again at the end (the exit
code stays 0).

Database: a fresh PostgreSQL database `reception_bench_<random>` on 127.0.0.1:5432 (trust auth,
user postgres), dropped at the end. Radicale: `pip install -e '.[bench]'`.

    .venv/bin/python bench/feeds.py [--seconds 5] [--connections 8] [--setup-sql SQL ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.live import TEST_KEYS  # noqa: E402

EVENTS = 2000
LEADERS = 20
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
COLD_TARGET_S = 0.300
WARM_TARGET = 0.5  # warm GET / the bare ASGI app
NOT_MODIFIED_TARGET = 0.5  # 304 / GET /health


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


# (a) the floor: the same bytes from memory, in a few lines of ASGI.
_BARE_BODY = (
    Path(os.environ["BENCH_BARE_BODY"]).read_bytes() if "BENCH_BARE_BODY" in os.environ else b""
)


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/calendar; charset=utf-8"), (b"etag", b'"bare"')]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _BARE_BODY})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(url: str, auth: tuple[str, str] | None = None, within: float = 30) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(auth=auth) as client:
        while time.monotonic() < deadline:
            try:
                await client.get(url, timeout=2)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def uvicorn(app: str, port: int, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", "1", "--no-access-log", "--log-level", "warning", *extra]
    return subprocess.Popen(cmd, env={**os.environ, **env})


async def load(
    url: str,
    *,
    seconds: float,
    connections: int,
    max_requests: int,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    expect: int = 200,
) -> float:
    """Requests/s with `connections` concurrent keep-alive connections, bounded in time and
    count; every response is checked and read whole."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    done = 0
    async with httpx.AsyncClient(limits=limits, headers=headers, auth=auth, timeout=30) as client:
        for _ in range(connections):  # warm-up: open the connections, fill caches
            response = await client.get(url)
            assert response.status_code == expect, (url, response.status_code)
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop and done < max_requests:
                response = await client.get(url)
                assert response.status_code == expect, (url, response.status_code)
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return done / elapsed


async def seed(database_url: str) -> str:
    """The org, 2,000 sessions of 20 district leaders with 2 appointments each; a unit feed."""
    from sqlalchemy import insert

    from reception.auth import Principal
    from reception.config import Settings
    from reception.context import SystemClock
    from reception.db import create_engine, create_sessionmaker
    from reception.feeds import tokens as feed_tokens
    from reception.feeds.schemas import FeedCreate
    from reception.org import schemas
    from reception.org import service as org
    from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot

    settings = Settings(database_url=database_url, data_keys=TEST_KEYS)
    engine = create_engine(settings)
    maker = create_sessionmaker(engine, SystemClock())
    tz = settings.tz
    today = datetime.now(tz).date()
    # Bulk inserts skip the session's stamping of created_at / updated_at (reception.db).
    stamps = {"created_at": datetime.now(UTC), "updated_at": datetime.now(UTC)}
    async with maker() as s:
        district = await org.create_unit(
            session=s, actor=None, data=schemas.UnitCreate(name="蓟州区", kind="district")
        )
        venue = await org.create_venue(
            session=s,
            actor=None,
            data=schemas.VenueCreate(
                name="区矛调中心接待室", unit_id=district.id, address="人民东路1号"
            ),  # type: ignore[arg-type]
        )
        leaders = [
            await org.create_leader(
                session=s,
                actor=None,
                data=schemas.LeaderCreate(name=f"领导{i:02d}", title="副区长", unit_id=district.id),  # type: ignore[arg-type]
            )
            for i in range(LEADERS)
        ]
        admin = await org.create_user(
            session=s, actor=None, data=schemas.UserCreate(name="管理员", role="admin")
        )
        sessions, slots, appointments = [], [], []
        per_leader = EVENTS // LEADERS
        sid = 0
        for li, leader in enumerate(leaders):
            for k in range(per_leader):
                sid += 1
                day = today - timedelta(days=80) + timedelta(days=k * 6 + li % 6)
                start = datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=9)
                sessions.append(
                    dict(
                        id=sid,
                        uid=f"{uuid.uuid4()}@bench",
                        leader_id=leader.id,
                        kind="reception" if k % 5 else "field_visit",
                        venue_id=venue.id if k % 5 else None,
                        unit_id=None if k % 5 else district.id,
                        address="" if k % 5 else "某村村委会",
                        purpose="",
                        local_date=day,
                        starts_at=start,
                        ends_at=start + timedelta(hours=3),
                        status="cancelled" if k % 17 == 0 else "scheduled",
                        sequence=k % 3,
                        provisional=day.year > today.year,
                        edited=False,
                        outcome="",
                        cancelled_at=datetime.now(UTC) if k % 17 == 0 else None,
                        **stamps,
                    )
                )
                slots.append(
                    dict(
                        id=sid,
                        session_id=sid,
                        slot_index=0,
                        starts_at=start,
                        ends_at=start + timedelta(minutes=30),
                        capacity=5,
                        booked=2,
                    )
                )
                for _ in range(2):
                    appointments.append(
                        dict(
                            session_id=sid,
                            slot_id=sid,
                            petitioner_name="某某",
                            matter_summary="—",
                            booked_by_name="秘书",
                            representatives=[],
                            collective=False,
                            party_size=1,
                            places=1,
                            status="booked",
                            **stamps,
                        )
                    )
        await s.execute(insert(ReceptionSession), sessions)
        await s.execute(insert(SessionSlot), slots)
        await s.execute(insert(Appointment), appointments)
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            for table in ("reception_session", "session_slot"):
                await s.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
        actor = Principal(user_id=admin.id, name=admin.name, role="admin")  # type: ignore[arg-type]
        _, token = await feed_tokens.create_feed(
            session=s,
            actor=actor,
            data=FeedCreate(scope="unit", unit_id=district.id),  # type: ignore[arg-type]
        )
        await s.commit()
    await engine.dispose()
    return token


async def cold_build(
    database_url: str, token: str, rounds: int = 5
) -> tuple[list[float], list[float]]:
    """Seconds to look the feed up, load and render it with empty caches (as the server does
    on a new version: token + version query, then the events in one snapshot), and to render
    alone."""
    from reception.config import Settings
    from reception.db import create_engine
    from reception.feeds import ics
    from reception.feeds import service as feeds

    settings = Settings(database_url=database_url, data_keys=TEST_KEYS)
    engine = create_engine(settings)
    total, render = [], []
    for _ in range(rounds):
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            t0 = time.perf_counter()
            window = feeds.Window.for_day(datetime.now(settings.tz).date(), settings)
            version = await feeds.feed_version(
                conn=conn, token=token, window=window, settings=settings, now=datetime.now(UTC)
            )
            entries = await feeds.feed_entries(conn=conn, token=token, window=window)
            t1 = time.perf_counter()
            body = ics.render(
                entries,
                tzid=settings.timezone,
                name=version.calname,
                ttl_minutes=settings.feed_ttl_minutes,
                cache=ics.EventCache(),  # empty: every event is built and serialized
            )
            t2 = time.perf_counter()
        assert body.count(b"BEGIN:VEVENT") == len(entries) == EVENTS, len(entries)
        total.append(t2 - t0)
        render.append(t2 - t1)
    await engine.dispose()
    return total, render


async def radicale_rate(body: bytes, seconds: float, connections: int, max_requests: int) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        proc = subprocess.Popen(  # noqa: ASYNC220 - starts a server, does not wait on it
            [
                sys.executable,
                "-m",
                "radicale",
                "--server-hosts",
                f"127.0.0.1:{port}",
                "--storage-filesystem-folder",
                folder,
                "--auth-type",
                "none",
                "--logging-level",
                "warning",
            ]
        )
        try:
            base = f"http://127.0.0.1:{port}"
            auth = ("bench", "bench")
            await wait_up(base + "/", auth=auth)
            url = f"{base}/bench/feed/"
            async with httpx.AsyncClient(auth=auth, timeout=120) as client:
                put = await client.put(url, content=body, headers={"Content-Type": "text/calendar"})
                assert put.status_code in (201, 204), (put.status_code, put.text[:300])
                got = await client.get(url)
                assert got.status_code == 200 and got.content.count(b"BEGIN:VEVENT") == EVENTS
            return await load(
                url, seconds=seconds, connections=connections, max_requests=max_requests, auth=auth
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument(
        "--setup-sql",
        action="append",
        default=[],
        metavar="SQL",
        help="run on the bench database after seeding (repeatable), e.g. a candidate index",
    )
    args = parser.parse_args()
    bound = dict(seconds=args.seconds, connections=args.connections, max_requests=args.max_requests)

    from reception.db import migrate

    name = f"reception_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    procs: list[subprocess.Popen[bytes]] = []
    tmp = tempfile.TemporaryDirectory()
    try:
        await asyncio.to_thread(migrate, database_url, "upgrade", "head")
        token = await seed(database_url)
        if args.setup_sql:
            bench_db = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
            try:
                for sql in args.setup_sql:
                    await bench_db.execute(sql)
                    print(f"setup: {sql}")
            finally:
                await bench_db.close()
        print(
            f"database: PostgreSQL ({name}), {EVENTS} events in one unit feed, "
            f"{args.connections} connections, {args.seconds:g} s per figure, "
            f"uvicorn 1 worker, httpx load generator on loopback"
        )

        total, render = await cold_build(database_url, token)
        cold = statistics.median(total)
        verdicts = [
            f"cold build (load + render), median of {len(total)}: {cold * 1000:7.1f} ms  "
            f"(target < {COLD_TARGET_S * 1000:.0f} ms: {verdict(cold < COLD_TARGET_S)})"
        ]
        print(verdicts[-1])
        print(
            f"  of which render (icalendar)          : {statistics.median(render) * 1000:7.1f} ms"
        )

        port = free_port()
        env = {
            "RECEPTION_DATABASE_URL": database_url,
            "RECEPTION_LOG_LEVEL": "WARNING",
            "RECEPTION_DATA_KEYS": TEST_KEYS,
        }
        procs.append(uvicorn("reception.app:factory", port, env, "--factory"))
        base = f"http://127.0.0.1:{port}"
        await wait_up(base + "/health")
        feed_url = f"{base}/feeds/{token}.ics"
        async with httpx.AsyncClient(timeout=60) as client:
            t0 = time.perf_counter()
            first = await client.get(feed_url)
            first_ms = (time.perf_counter() - t0) * 1000
            assert first.status_code == 200
            etag = first.headers["etag"]
        body = first.content
        print(
            f"first GET on a fresh server (cold)     : {first_ms:7.1f} ms, {len(body) / 1e6:.2f} MB"
        )

        feed_rps = await load(feed_url, **bound)
        not_modified_rps = await load(
            feed_url, headers={"If-None-Match": etag}, expect=304, **bound
        )
        health_rps = await load(base + "/health", **bound)

        body_file = Path(tmp.name) / "feed.ics"
        body_file.write_bytes(body)
        bare_port = free_port()
        procs.append(
            uvicorn(
                "feeds:bare_app",
                bare_port,
                {"BENCH_BARE_BODY": str(body_file)},
                "--app-dir",
                str(Path(__file__).parent),
            )
        )
        bare_url = f"http://127.0.0.1:{bare_port}/"
        await wait_up(bare_url)
        bare_rps = await load(bare_url, **bound)

        try:
            radicale_rps: float | None = await radicale_rate(body, **bound)
        except (ImportError, FileNotFoundError, RuntimeError, AssertionError) as exc:
            print(f"radicale: not measured ({exc!r}); pip install -e '.[bench]'")
            radicale_rps = None

        print()
        print(f"{'what':44} {'req/s':>9}")
        print(f"{'(a) bare ASGI app, same bytes from memory':44} {bare_rps:9.1f}")
        print(f"{'warm GET feed (200, 2,000 events)':44} {feed_rps:9.1f}")
        if radicale_rps is not None:
            print(f"{'(c) Radicale GET collection (2,000 events)':44} {radicale_rps:9.1f}")
        print(f"{'(b) GET /health':44} {health_rps:9.1f}")
        print(f"{'304 If-None-Match feed':44} {not_modified_rps:9.1f}")
        print()
        warm, fresh = feed_rps / bare_rps, not_modified_rps / health_rps
        verdicts.append(
            f"warm GET / bare floor     = {warm:5.2f}  (target >= {WARM_TARGET}: "
            f"{verdict(warm >= WARM_TARGET)})"
        )
        print(verdicts[-1])
        verdicts.append(
            f"304 / health              = {fresh:5.2f}  (target >= {NOT_MODIFIED_TARGET}: "
            f"{verdict(fresh >= NOT_MODIFIED_TARGET)})"
        )
        print(verdicts[-1])
        if radicale_rps is not None:
            print(f"warm GET / Radicale       = {feed_rps / radicale_rps:5.2f}")
        print("\nverdicts:")
        for line in verdicts:
            print(f"  {line}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        tmp.cleanup()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
