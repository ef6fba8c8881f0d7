"""Booking benchmark: bookings/s through the API against raw asyncpg transactions (the floor).

Measured in one run, on one machine, against one fresh PostgreSQL database:
- API: N x POST /api/sessions/{id}/appointments to a real `reception serve --workers 2`
  (uvicorn, loopback, no access log), from exactly C concurrent httpx clients (keep-alive);
  every answer must be 201. Each booking carries a phone and a valid ID number, distinct
  per booking (the service seals both and indexes them).
- floor: N raw asyncpg transactions from a pool of C connections, each doing the essential
  work of a booking as the service now writes it: the two blind indexes computed
  (HMAC-SHA256, tests.live.TEST_KEYS), the conditional UPDATE of the slot that also takes
  the new appointment's id from its sequence (RETURNING nextval), then the phone and ID
  number sealed with that id (AES-GCM, the row id in the associated data) and the INSERT of
  the appointment with the indexes and the sealed values (ON CONFLICT DO NOTHING) — one
  transaction, the statements the service issues for them since #26.
- orientation: N bare single-INSERT transactions (autocommit) from the same pool (no
  petitioner data: empty indexes and sealed values); and a bare ASGI app (uvicorn, 2
  workers) doing the floor's transaction per POST, behind the same httpx client.

Bookings are spread round-robin over the slots of many future reception sessions (each
09:00-12:00, 6 slots of 100 places), so C consecutive bookings hit C different slots; the API
names the slot with `slot_index` and the floor updates the very same slots in the same order.
Targets: API >= 0.4 x floor (bookings/s); the server's CPU per booking (utime + stime of the
server process and its children, from /proc, over the measured phase, divided by N) at most
3 x the bare ASGI app's in the same run (#26). Each verdict is printed beside its figure and
again at the end (the exit code only says whether the checks passed).

Database: `reception_bench_<random>` on postgresql://postgres@127.0.0.1:5432 (trust auth;
override the server with RECEPTION_BENCH_PG_URL), migrated to head, dropped at the end.

    .venv/bin/python bench/booking.py [--n 2000] [--concurrency 32] [--idempotency-key]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.builders import at, build_world  # noqa: E402
from tests.live import TEST_KEYS, free_port, serve  # noqa: E402

from reception.crypto import Keyring  # noqa: E402
from reception.petitioner import id_check_digit  # noqa: E402

KEYS = Keyring.parse(TEST_KEYS, "bench")

PG_SERVER = os.environ.get("RECEPTION_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
SLOTS_PER_SESSION = 6  # 09:00-12:00 in 30-minute slots
PLACES_PER_SLOT = 100  # the API's maximum people_per_slot
TARGET = 0.4
CPU_TARGET = 3.0  # server CPU per booking, API / bare ASGI app
TIME_LIMIT = 600.0  # seconds, per measured phase

API_NAME = "孙某秘"  # build_world's secretary: booked_by_name of every API booking
FLOOR_NAME = "floor"
BARE_NAME = "bare"
HTTP_FLOOR_NAME = "http-floor"


@dataclass(frozen=True)
class Slot:
    session_id: int
    slot_index: int
    slot_id: int


@dataclass
class Phase:
    done: int
    elapsed: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.done / self.elapsed

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def with_db(server: str, name: str, *, driver: str = "") -> str:
    scheme, rest = server.split("://", 1)
    if driver:
        scheme = "postgresql+" + driver
    return f"{scheme}://{rest.rstrip('/')}/{name}"


def petitioner_id(i: int) -> str:
    """A valid resident ID number (GB 11643 check digit), a different one for each
    0 <= i < 25,000,000: 110105, a birth date from 1950-01-01, a 3-digit sequence."""
    born = date(1950, 1, 1) + timedelta(days=(i // 1000) % 25_000)
    first_17 = f"110105{born:%Y%m%d}{i % 1000:03d}"
    return first_17 + id_check_digit(first_17)


def petitioner_phone(i: int) -> str:
    return f"139{i % 100_000_000:08d}"


# ---------------------------------------------------------------- CPU accounting (Linux /proc)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


def cpu_snapshot(server_pid: int | None) -> dict[str, Any]:
    """CPU seconds used so far by this process (load generator), the server process tree,
    and each process named `postgres` (backends that exit during a phase are lost)."""
    server = 0.0
    if server_pid is not None:
        tree = [server_pid, *_children(server_pid)]
        tree += [c for p in tree[1:] for c in _children(p)]
        server = sum(_cpu_seconds(p) for p in tree)
    postgres = {p: _cpu_seconds(p) for p in _pids_named("postgres")}
    return {"client": time.process_time(), "server": server, "postgres": postgres}


def cpu_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    pg_before, pg_after = before["postgres"], after["postgres"]
    return {
        "client": after["client"] - before["client"],
        "server": after["server"] - before["server"],
        "postgres": sum(t - pg_before.get(p, 0.0) for p, t in pg_after.items()),
    }


# ---------------------------------------------------------------- set-up


async def seed(sa_url: str, sessions_needed: int) -> tuple[str, list[Slot]]:
    """build_world, then `sessions_needed` reception sessions of the secretary's two leaders,
    one a day from 30 days ahead (no overlaps); returns the token and all slots."""
    from sqlalchemy import select

    from reception.config import Settings
    from reception.context import Context, SystemClock
    from reception.db import create_engine, create_sessionmaker
    from reception.scheduling import schemas, service
    from reception.scheduling.models import SessionSlot

    engine = create_engine(Settings(database_url=sa_url, data_keys=TEST_KEYS))
    maker = create_sessionmaker(engine, SystemClock())
    try:
        world = await build_world(maker)
        leaders = [world.leaders["mayor"], world.leaders["deputy"]]
        first = date.today() + timedelta(days=30)
        ids = []
        async with maker() as s:
            for k in range(sessions_needed):
                day = first + timedelta(days=k // len(leaders))
                subject = await service.create_session(
                    session=s,
                    ctx=Context.of(Settings(database_url=sa_url, data_keys=TEST_KEYS)),
                    actor=None,
                    data=schemas.SessionCreate(
                        leader_id=leaders[k % len(leaders)],
                        kind="reception",
                        venue_id=world.venue,
                        starts_at=datetime.fromisoformat(at(day, "09:00")),
                        ends_at=datetime.fromisoformat(at(day, "12:00")),
                        slot_minutes=30,
                        people_per_slot=PLACES_PER_SLOT,
                    ),
                )
                ids.append(subject.id)
            await s.commit()
            rows = (
                await s.scalars(
                    select(SessionSlot).order_by(SessionSlot.session_id, SessionSlot.slot_index)  # type: ignore[arg-type]
                )
            ).all()
        slots = [Slot(r.session_id, r.slot_index, r.id) for r in rows]  # type: ignore[arg-type]
        assert len(slots) == sessions_needed * SLOTS_PER_SESSION, len(slots)
        return world.tokens["secretary"], slots
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- load


async def run_concurrent(
    count: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> Phase:
    """`count` calls of `one(i)` from exactly `concurrency` tasks; bounded in time."""
    latencies: list[float] = []
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        while next_i < count:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(concurrency))), timeout=TIME_LIMIT
    )
    return Phase(len(latencies), time.perf_counter() - start, latencies)


def api_booker(
    client: httpx.AsyncClient,
    slots: list[Slot],
    offset: int,
    statuses: Counter[int],
    failures: list[str],
    idempotency: bool,
) -> Callable[[int], Awaitable[None]]:
    async def one(i: int) -> None:
        slot = slots[(offset + i) % len(slots)]
        headers = {"Idempotency-Key": uuid.uuid4().hex} if idempotency else {}
        r = await client.post(
            f"/api/sessions/{slot.session_id}/appointments",
            json={
                "petitioner_name": f"来访人{offset + i}",
                "petitioner_phone": petitioner_phone(offset + i),
                "petitioner_id_number": petitioner_id(offset + i),
                "matter_summary": "讨薪",
                "slot_index": slot.slot_index,
            },
            headers=headers,
        )
        statuses[r.status_code] += 1
        if r.status_code != 201 and len(failures) < 3:
            failures.append(f"{r.status_code} {r.text[:300]}")

    return one


APPOINTMENT_COLUMNS = (
    "id, session_id, slot_id, petitioner_name, petitioner_phone_index, petitioner_id_number_index, "
    "petitioner_phone_sealed, petitioner_id_number_sealed, matter_summary, party_size, "
    "collective, representatives, places, case_id, status, booked_by_user_id, booked_by_name, "
    "created_at, updated_at"
)
# As the service writes a booking (#26): the slot's UPDATE also takes the new row's id from
# its sequence, so the sealed values (the id is in their associated data) go in the INSERT,
# with the blind indexes the unique indexes judge (ON CONFLICT DO NOTHING: a twin is a 409).
INSERT_APPOINTMENT = (
    f"INSERT INTO appointment ({APPOINTMENT_COLUMNS}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, false, $10, 1, NULL, 'booked', NULL, $11, "
    "$12, $12) ON CONFLICT DO NOTHING"
)
# The orientation's bare INSERT: the id from the column's default, nothing sealed.
BARE_INSERT = (
    f"INSERT INTO appointment ({APPOINTMENT_COLUMNS.removeprefix('id, ')}) "
    "VALUES ($1, $2, $3, $4, $5, '', '', $6, 1, false, $7, 1, NULL, 'booked', NULL, $8, $9, $9)"
)
TAKE_PLACE = (
    "UPDATE session_slot SET booked = booked + 1 WHERE id = $1 AND booked + 1 <= capacity "
    "RETURNING nextval(pg_get_serial_sequence('appointment', 'id'))"
)


def blind_indexes(phone: str, id_number: str) -> tuple[str, str]:
    return KEYS.blind("phone", phone), KEYS.blind("id_number", id_number)


def sealed_values(appointment_id: int, phone: str, id_number: str) -> tuple[str, str]:
    t = "appointment"
    return (
        KEYS.seal(phone, table=t, column="petitioner_phone_sealed", row_id=appointment_id),
        KEYS.seal(id_number, table=t, column="petitioner_id_number_sealed", row_id=appointment_id),
    )


async def book_with_sql(
    conn: asyncpg.Connection, slot: Slot, name: str, phone: str, id_number: str, booked_by: str
) -> int | None:
    """The floor's transaction (the caller opens it); None when the slot is full."""
    phone_index, id_index = blind_indexes(phone, id_number)
    new_id: int | None = await conn.fetchval(TAKE_PLACE, slot.slot_id)
    if new_id is None:
        return None
    await conn.execute(
        INSERT_APPOINTMENT,
        new_id,
        slot.session_id,
        slot.slot_id,
        name,
        phone_index,
        id_index,
        *sealed_values(new_id, phone, id_number),
        "讨薪",
        "[]",
        booked_by,
        datetime.now(UTC),
    )
    return new_id


def floor_booker(
    pool: asyncpg.Pool, slots: list[Slot], offset: int
) -> Callable[[int], Awaitable[None]]:
    async def one(i: int) -> None:
        slot = slots[(offset + i) % len(slots)]
        k = offset + i
        async with pool.acquire() as conn, conn.transaction():
            new_id = await book_with_sql(
                conn, slot, f"来访人{k}", petitioner_phone(k), petitioner_id(k), FLOOR_NAME
            )
            assert new_id is not None, f"slot {slot} is full"

    return one


def bare_inserter(pool: asyncpg.Pool, slot: Slot) -> Callable[[int], Awaitable[None]]:
    async def one(i: int) -> None:
        now = datetime.now(UTC)
        async with pool.acquire() as conn:
            await conn.execute(
                BARE_INSERT,
                slot.session_id,
                slot.slot_id,
                f"来访人{i}",
                "",
                "",
                "讨薪",
                "[]",
                BARE_NAME,
                now,
            )

    return one


# ---------------------------------------------------------------- HTTP floor


async def http_floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The same HTTP path with the same database work and nothing else: a bare ASGI app
    (served by uvicorn with 2 workers) doing the floor's transaction per POST."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                size = int(os.environ["BENCH_POOL_SIZE"])
                _HTTP_FLOOR["pool"] = await asyncpg.create_pool(
                    os.environ["BENCH_PG_DSN"], min_size=size, max_size=size
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _HTTP_FLOOR["pool"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    data = json.loads(body)
    pool: asyncpg.Pool = _HTTP_FLOOR["pool"]
    slot = Slot(data["session_id"], -1, data["slot_id"])
    async with pool.acquire() as conn, conn.transaction():
        new_id = await book_with_sql(
            conn,
            slot,
            data["petitioner_name"],
            data["petitioner_phone"],
            data["petitioner_id_number"],
            HTTP_FLOOR_NAME,
        )
    if new_id is None:
        status, payload = 409, b'{"detail": "full"}'
    else:
        status, payload = 201, json.dumps({"id": new_id}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


_HTTP_FLOOR: dict[str, Any] = {}


@contextmanager
def serve_http_floor(dsn: str, pool_size: int) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "BENCH_PG_DSN": dsn, "BENCH_POOL_SIZE": str(pool_size)}
    cmd = [sys.executable, "-m", "uvicorn", "booking:http_floor_app", "--app-dir"]
    cmd += [str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", "2", "--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("HTTP floor server exited")
            try:
                httpx.get(base, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("HTTP floor server did not start within 60 s") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def http_floor_booker(
    client: httpx.AsyncClient, slots: list[Slot], offset: int, statuses: Counter[int]
) -> Callable[[int], Awaitable[None]]:
    async def one(i: int) -> None:
        slot = slots[(offset + i) % len(slots)]
        r = await client.post(
            "/",
            json={
                "session_id": slot.session_id,
                "slot_id": slot.slot_id,
                "petitioner_name": f"来访人{offset + i}",
                "petitioner_phone": petitioner_phone(offset + i),
                "petitioner_id_number": petitioner_id(offset + i),
                "matter_summary": "讨薪",
            },
        )
        statuses[r.status_code] += 1

    return one


# ---------------------------------------------------------------- main


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="bookings measured per figure")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=128, help="unmeasured bookings first")
    parser.add_argument(
        "--idempotency-key", action="store_true", help="send a fresh Idempotency-Key per booking"
    )
    args = parser.parse_args()
    n, c, warm = args.n, args.concurrency, args.warmup

    from reception.db import migrate

    # API, floor and HTTP floor, warm-up + N each: all take places; keep every slot below
    # capacity.
    places_needed = 3 * (warm + n)
    slots_needed = max(c, math.ceil(places_needed * 1.1 / PLACES_PER_SLOT))
    sessions_needed = math.ceil(slots_needed / SLOTS_PER_SESSION)

    load_before = f"{os.getloadavg()[0]:.2f}"
    name = f"reception_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(with_db(PG_SERVER, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    sa_url = with_db(PG_SERVER, name, driver="asyncpg")
    raw_url = with_db(PG_SERVER, name)
    ok = True
    try:
        await asyncio.to_thread(migrate, sa_url, "upgrade", "head")
        token, slots = await seed(sa_url, sessions_needed)
        pool = await asyncpg.create_pool(raw_url, min_size=c, max_size=c)
        try:
            with serve(sa_url, workers=2, now=None) as base:
                server_pid = _server_pid(base)
                limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
                headers = {"Authorization": f"Bearer {token}"}
                statuses: Counter[int] = Counter()
                failures: list[str] = []
                async with httpx.AsyncClient(
                    base_url=base, limits=limits, headers=headers, timeout=60
                ) as client:
                    await run_concurrent(
                        warm,
                        c,
                        api_booker(client, slots, 0, statuses, failures, args.idempotency_key),
                    )
                    if statuses != Counter({201: warm}):
                        raise SystemExit(
                            f"warm-up bookings failed: {dict(statuses)}; first: {failures[:1]}"
                        )
                    before = cpu_snapshot(server_pid)
                    api = await run_concurrent(
                        n,
                        c,
                        api_booker(client, slots, warm, statuses, failures, args.idempotency_key),
                    )
                    api_cpu = cpu_delta(before, cpu_snapshot(server_pid))

                offset = warm + n
                await run_concurrent(warm, c, floor_booker(pool, slots, offset))
                before = cpu_snapshot(None)
                floor = await run_concurrent(n, c, floor_booker(pool, slots, offset + warm))
                floor_cpu = cpu_delta(before, cpu_snapshot(None))
                before = cpu_snapshot(None)
                bare = await run_concurrent(n, c, bare_inserter(pool, slots[0]))
                bare_cpu = cpu_delta(before, cpu_snapshot(None))

            # The same HTTP client and server (uvicorn, 2 workers) around the floor's work.
            http_statuses: Counter[int] = Counter()
            with serve_http_floor(raw_url, pool_size=c // 2) as base:
                async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
                    offset = 2 * (warm + n)
                    await run_concurrent(
                        warm, c, http_floor_booker(client, slots, offset, http_statuses)
                    )
                    before = cpu_snapshot(_server_pid(base))
                    http_floor = await run_concurrent(
                        n, c, http_floor_booker(client, slots, offset + warm, http_statuses)
                    )
                    http_cpu = cpu_delta(before, cpu_snapshot(_server_pid(base)))

            counts = dict(
                await pool.fetch(
                    "SELECT booked_by_name, count(*) FROM appointment GROUP BY booked_by_name"
                )
            )
            booked = await pool.fetchval("SELECT sum(booked) FROM session_slot")
            audit_rows = await pool.fetchval("SELECT count(*) FROM audit_event")
        finally:
            await pool.close()

        api_ok = statuses == Counter({201: warm + n})
        rows_ok = (
            counts.get(API_NAME) == warm + n
            and counts.get(FLOOR_NAME) == warm + n
            and counts.get(BARE_NAME) == n
            and counts.get(HTTP_FLOOR_NAME) == warm + n
            and http_statuses == Counter({201: warm + n})
            and booked == 3 * (warm + n)
        )
        ok = api_ok and rows_ok
        ratio = api.rate / floor.rate

        print(
            f"database: PostgreSQL ({name}); server: reception serve --workers 2 (uvicorn, "
            f"loopback); cpu count: {os.cpu_count()}; load generator: httpx in this process"
        )
        print(
            f"load average before: {load_before}, after: {os.getloadavg()[0]:.2f} "
            "(other work on the machine skews the figures)"
        )
        print(
            f"N = {n}, concurrency = {c}, warm-up = {warm} each, "
            f"{len(slots)} slots in {sessions_needed} sessions (round-robin), "
            f"Idempotency-Key: {'yes' if args.idempotency_key else 'no'}"
        )
        print()
        print(
            f"{'what':44} {'N':>6} {'conc':>5} {'elapsed s':>10} {'per s':>9} "
            f"{'p50 ms':>8} {'p95 ms':>8}"
        )
        for label, phase in (
            ("API: POST /api/sessions/{id}/appointments", api),
            ("floor: asyncpg slot + INSERT + sealing, 1 tx", floor),
            ("orientation: asyncpg bare single INSERT", bare),
            ("orientation: bare ASGI app, same tx as floor", http_floor),
        ):
            print(
                f"{label:44} {phase.done:6d} {c:5d} {phase.elapsed:10.2f} {phase.rate:9.1f} "
                f"{phase.pct(0.5):8.1f} {phase.pct(0.95):8.1f}"
            )
        print()
        verdicts = [
            f"ratio API / floor       = {ratio:5.2f}  (target >= {TARGET}: "
            f"{'met' if ratio >= TARGET else 'NOT met'})"
        ]
        print(verdicts[-1])
        print(f"ratio API / bare INSERT = {api.rate / bare.rate:5.2f}")
        print(
            f"ratio API / bare ASGI   = {api.rate / http_floor.rate:5.2f}  (same HTTP path + client)"
        )
        print()
        print(
            "CPU ms per booking   client   server   postgres   "
            "(postgres: its processes alive at the end of the phase)"
        )
        for label, cpu in (
            ("API", api_cpu),
            ("floor", floor_cpu),
            ("bare INSERT", bare_cpu),
            ("bare ASGI", http_cpu),
        ):
            print(
                f"  {label:16} {cpu['client'] * 1000 / n:8.2f} {cpu['server'] * 1000 / n:8.2f} "
                f"{cpu['postgres'] * 1000 / n:10.2f}"
            )
        api_ms, bare_ms = api_cpu["server"] * 1000 / n, http_cpu["server"] * 1000 / n
        if api_ms > 0 and bare_ms > 0:
            cpu_ratio = api_ms / bare_ms
            verdicts.append(
                f"server CPU per booking, API / bare ASGI = {api_ms:.2f} / {bare_ms:.2f} ms = "
                f"{cpu_ratio:.2f}x  (target <= {CPU_TARGET:g}x: "
                f"{'met' if cpu_ratio <= CPU_TARGET else 'NOT met'})"
            )
        else:  # a server process not found in /proc
            verdicts.append(
                f"server CPU per booking, API / bare ASGI: not measured (API {api_ms:.2f} ms, "
                f"bare ASGI {bare_ms:.2f} ms)  (target <= {CPU_TARGET:g}x: NOT met)"
            )
        print(verdicts[-1])
        print()
        print(
            f"checks: API statuses {dict(statuses)}; appointment rows {counts}; "
            f"sum(booked) = {booked} (expected {3 * (warm + n)}); audit rows {audit_rows}; "
            f"bare ASGI statuses {dict(http_statuses)}"
        )
        if failures:
            print("first failures:", *failures, sep="\n  ")
        print("checks:", "OK" if ok else "FAILED")
        print("\nverdicts:")
        for line in verdicts:
            print(f"  {line}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return 0 if ok else 1


def _server_pid(base: str) -> int | None:
    """The `reception serve` process listening on base's port (for CPU accounting)."""
    port = int(base.rsplit(":", 1)[1])
    me = os.getpid()
    for pid in _children(me):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(port).encode() in cmdline:
            return pid
    return None


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
