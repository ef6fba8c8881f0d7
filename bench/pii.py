"""PII benchmark: booking and case registration with the petitioners' data sealed (this tree)
against the code before it (encryption off), and exact-ID search at a million petitioners by
the blind index against a plain indexed column.

Encryption on vs off, measured in the same run:
- "off" is the code at --baseline (default 7cb91da, the parent of 79720ca, #17), checked
  out in a temporary `git worktree` (removed at the end; main's tree and index are left
  alone); "on" is this working tree. Each variant gets its own fresh database, migrated by its
  own code (`python -m reception.cli db upgrade` with PYTHONPATH=<variant>/src), and the same
  world built by its own code in a subprocess (tests/builders.build_world: units, leaders,
  users with API tokens; then future reception sessions of 6 slots x 100 places through the
  scheduling service). The schemas are checked: "off" has the plain `petitioner_phone`
  column and no `phone_sealed`, "on" the reverse.
- Two real `reception serve --workers 2` (tests.live.serve, real clock), one per variant, the
  baseline's started with PYTHONPATH=<worktree>/src so its console script imports the
  baseline package (the sealed values found in "on" and the plain ones in "off" afterwards
  prove which code wrote them: neither package could write the other's schema).
- bookings/s: --bookings POST /api/sessions/{id}/appointments (secretary's token), each with
  a phone and a valid ID number distinct per booking, round-robin over the slots; cases/s:
  --registrations POST /api/cases (a township clerk's token), one petitioner with a distinct
  valid ID number, phone and address each (no repeat candidates). Exactly --concurrency httpx
  clients (keep-alive) in this process; every answer must be 201. After an unmeasured
  warm-up of each server, --rounds rounds, the variants' order alternating (off, on | on, off
  | …, so a drift of the machine falls on both); bookings of both variants, then
  registrations of both, in each round. Each round is printed; the verdict uses the median
  of the per-round ratios on/off. Server CPU ms per request (its process tree, /proc) is
  printed too: less sensitive than rates to the other work on a shared machine.
Target: booking (and, the same bar, registration) at most 10% slower with encryption on.

Search at --petitioners (default 1,000,000), in a third database: one table with BOTH a plain
indexed `id_number` and the indexed blind index `id_number_index` (HMAC-SHA256 under
tests.live.TEST_KEYS' index key, as `reception.pii.blind_id_number`), plus the ID sealed as
the service seals `case_petitioner.id_number_sealed`; distinct valid ID numbers (10 region
codes, birth dates 1940–1994), filled with COPY, both btree indexes built after the load,
then VACUUM ANALYZE. --lookups random existing IDs (after as many unmeasured ones), each
looked up three ways on one asyncpg connection with prepared statements, in rotating order:
(a) plain: SELECT case_id WHERE id_number = $1; (b) blind: the HMAC computed here, then
SELECT case_id WHERE id_number_index = $1; (c) blind + open: (b) fetching the sealed value
too and opening it (one AES-GCM decrypt), checked against the ID. p50 / p95 of each.
Target: blind p95 within 1.5x of the plain column's p95.

Databases: `reception_bench_<random>_off|_on|_search` on postgresql://postgres@127.0.0.1:5432
(override with RECEPTION_BENCH_PG_URL), dropped at the end unless --keep.

    .venv/bin/python bench/pii.py [--baseline 7cb91da] [--rounds 6] [--bookings 1000]
        [--registrations 300] [--concurrency 32] [--petitioners 1000000] [--lookups 2000]
        [--skip-api] [--skip-search] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("RECEPTION_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
PYTHON = sys.executable
SLOTS_PER_SESSION = 6
PLACES_PER_SLOT = 100
SLOWER_TARGET = 0.10  # encryption on: at most 10% fewer bookings/s
SEARCH_TARGET = 1.5  # blind-index p95 within 1.5x of the plain column's
TIME_LIMIT = 600.0  # seconds, per measured phase
CHUNK = 50_000
REGISTRATION_IDS = 5_000_000  # registrations' petitioners: IDs apart from the bookings'
SHANGHAI = ZoneInfo("Asia/Shanghai")
REGIONS = (
    "120225", "120101", "120102", "120103", "120104", "120105", "120106", "120110", "120111",
    "120112",
)  # fmt: skip


def with_db(server: str, name: str, *, driver: str = "") -> str:
    scheme, rest = server.split("://", 1)
    if driver:
        scheme = "postgresql+" + driver
    return f"{scheme}://{rest.rstrip('/')}/{name}"


def pct(values: list[float], q: int) -> float:
    """The q-th percentile (statistics.quantiles, exclusive method)."""
    return statistics.quantiles(values, n=100)[q - 1]


# ---------------------------------------------------------------- the world (in a subprocess)


def world_setup(out: str, sessions_needed: int) -> None:
    """Run with a variant's PYTHONPATH: build_world and the reception sessions through that
    variant's services, on RECEPTION_DATABASE_URL; write what the load needs to `out`."""

    async def run() -> dict[str, Any]:
        from sqlalchemy import select
        from tests.builders import at, build_world
        from tests.live import TEST_KEYS

        import reception
        from reception.config import Settings
        from reception.context import Context
        from reception.db import create_engine, create_sessionmaker
        from reception.scheduling import schemas, service
        from reception.scheduling.models import SessionSlot

        settings = Settings(database_url=os.environ["RECEPTION_DATABASE_URL"], data_keys=TEST_KEYS)
        engine = create_engine(settings)
        # The variant before #23 made sessions without a clock.
        takes_clock = "clock" in inspect.signature(create_sessionmaker).parameters
        maker = (
            create_sessionmaker(engine, Context.of(settings).clock)  # type: ignore[call-arg]
            if takes_clock
            else create_sessionmaker(engine)  # type: ignore[call-arg]
        )
        try:
            world = await build_world(maker)
            leaders = [world.leaders["mayor"], world.leaders["deputy"]]
            first = date.today() + timedelta(days=30)
            async with maker() as s:
                for k in range(sessions_needed):
                    day = first + timedelta(days=k // len(leaders))
                    await service.create_session(
                        session=s,
                        ctx=Context.of(settings),
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
                await s.commit()
                rows = (
                    await s.scalars(
                        select(SessionSlot).order_by(SessionSlot.session_id, SessionSlot.slot_index)  # type: ignore[arg-type]
                    )
                ).all()
            return {
                "package": reception.__file__,
                "secretary": world.tokens["secretary"],
                "clerk": world.tokens["clerk_a"],
                "unit_id": world.township_a,
                "slots": [[r.session_id, r.slot_index] for r in rows],
            }
        finally:
            await engine.dispose()

    Path(out).write_text(json.dumps(asyncio.run(run())))


# ---------------------------------------------------------------- variants


@dataclass
class Phase:
    done: int
    elapsed: float
    latencies: list[float]
    cpu_ms: float  # server CPU per request

    @property
    def rate(self) -> float:
        return self.done / self.elapsed


@dataclass
class Variant:
    label: str  # "off" (the baseline's code) or "on" (this tree)
    src: Path
    db: str
    data_dir: Path
    sa_url: str = ""
    raw_url: str = ""
    world: dict[str, Any] = field(default_factory=dict)
    booked: int = 0  # bookings made so far (the next booking's number)
    registered: int = 0
    bookings: list[Phase] = field(default_factory=list)
    registrations: list[Phase] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        from tests.live import TEST_KEYS

        return {
            **os.environ,
            "PYTHONPATH": str(self.src),
            "RECEPTION_DATABASE_URL": self.sa_url,
            "RECEPTION_DATA_KEYS": TEST_KEYS,
            "RECEPTION_DATA_DIR": str(self.data_dir),
            "RECEPTION_LOG_LEVEL": "WARNING",
        }


def prepare(variant: Variant, sessions_needed: int) -> None:
    """Migrate the variant's database with its own code, then build its world with it."""
    variant.data_dir.mkdir(parents=True, exist_ok=True)
    env = variant.env()
    subprocess.run(
        [PYTHON, "-m", "reception.cli", "db", "upgrade"],
        env=env,
        check=True,
        cwd=variant.data_dir,
        stdout=subprocess.DEVNULL,
    )
    out = variant.data_dir / "world.json"
    subprocess.run(
        [PYTHON, __file__, "--world-setup", str(out), "--world-sessions", str(sessions_needed)],
        env=env,
        check=True,
        cwd=variant.data_dir,
    )
    variant.world = json.loads(out.read_text())
    package = Path(variant.world["package"]).resolve()
    if not package.is_relative_to(variant.src.resolve()):
        raise SystemExit(f"{variant.label}: the world was built by {package}, not {variant.src}")


async def columns_of(raw_url: str, table: str) -> set[str]:
    import asyncpg

    conn = await asyncpg.connect(raw_url)
    try:
        rows = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1", table
        )
    finally:
        await conn.close()
    return {r[0] for r in rows}


@contextmanager
def baseline_worktree(rev: str, parent: Path) -> Iterator[tuple[Path, str]]:
    """A detached worktree of `rev` (main's own tree and index are not touched), and the
    commit's short hash; removed afterwards."""
    tree = parent / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        short = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield tree, short
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )


# ---------------------------------------------------------------- load


async def run_concurrent(
    count: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> tuple[int, float, list[float]]:
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
    return len(latencies), time.perf_counter() - start, latencies


def booker(client: Any, v: Variant) -> Callable[[int], Awaitable[None]]:
    from bench.booking import petitioner_id, petitioner_phone

    slots = v.world["slots"]
    headers = {"Authorization": f"Bearer {v.world['secretary']}"}

    async def one(_: int) -> None:
        k = v.booked
        v.booked += 1
        session_id, slot_index = slots[k % len(slots)]
        r = await client.post(
            f"/api/sessions/{session_id}/appointments",
            json={
                "petitioner_name": f"来访人{k}",
                "petitioner_phone": petitioner_phone(k),
                "petitioner_id_number": petitioner_id(k),
                "matter_summary": "讨薪",
                "slot_index": slot_index,
            },
            headers=headers,
        )
        v.statuses[r.status_code] += 1
        if r.status_code != 201 and len(v.failures) < 3:
            v.failures.append(f"booking {r.status_code} {r.text[:300]}")

    return one


def registrar(client: Any, v: Variant) -> Callable[[int], Awaitable[None]]:
    from bench.booking import petitioner_id, petitioner_phone

    headers = {"Authorization": f"Bearer {v.world['clerk']}"}
    received = (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()

    async def one(_: int) -> None:
        k = v.registered
        v.registered += 1
        r = await client.post(
            "/api/cases",
            json={
                "petitioners": [
                    {
                        "name": f"张某{k}",
                        "id_number": petitioner_id(REGISTRATION_IDS + k),
                        "phone": petitioner_phone(REGISTRATION_IDS + k),
                        "address": f"下仓镇小杨家庄村{k % 500}号",
                    }
                ],
                "channel": "online",
                "category": "housing",
                "summary": "龙府壹号小区逾期交房,要求开发商履约交付",
                "unit_id": v.world["unit_id"],
                "received_on": received,
            },
            headers=headers,
        )
        v.statuses[r.status_code] += 1
        if r.status_code != 201 and len(v.failures) < 3:
            v.failures.append(f"registration {r.status_code} {r.text[:300]}")

    return one


async def measure(
    client: Any, base: str, count: int, c: int, one: Callable[[int], Awaitable[None]]
) -> Phase:
    from bench.booking import _server_pid, cpu_delta, cpu_snapshot

    pid = _server_pid(base)
    before = cpu_snapshot(pid)
    done, elapsed, latencies = await run_concurrent(count, c, one)
    cpu = cpu_delta(before, cpu_snapshot(pid))
    return Phase(done, elapsed, latencies, cpu["server"] * 1000 / max(done, 1))


async def check_written(v: Variant, keys: Any) -> tuple[bool, str]:
    """What the variant's server wrote: plain columns (off) or sealed ones that open (on)."""
    import asyncpg
    from bench.booking import petitioner_id

    conn = await asyncpg.connect(v.raw_url)
    try:
        if v.label == "off":
            filled = await conn.fetchval(
                "SELECT count(*) FROM appointment WHERE petitioner_id_number <> ''"
            )
            people = await conn.fetchval("SELECT count(*) FROM case_petitioner WHERE phone <> ''")
            ok = filled == v.booked and people == v.registered
            return ok, f"{filled} appointments and {people} petitioners with plain values"
        rows = await conn.fetch(
            "SELECT id, petitioner_name, petitioner_id_number_sealed, petitioner_id_number_index "
            "FROM appointment ORDER BY random() LIMIT 50"
        )
        opened = 0
        for r in rows:
            plain = keys.open(
                r["petitioner_id_number_sealed"],
                table="appointment",
                column="petitioner_id_number_sealed",
                row_id=r["id"],
            )
            k = int(r["petitioner_name"].removeprefix("来访人"))
            opened += plain == petitioner_id(k) and r["petitioner_id_number_index"] == keys.blind(
                "id_number", plain
            )
        sealed = await conn.fetchval(
            "SELECT count(*) FROM appointment WHERE petitioner_id_number_sealed LIKE 'v1:%'"
        )
        people = await conn.fetchval(
            "SELECT count(*) FROM case_petitioner WHERE phone_sealed LIKE 'v1:%' "
            "AND address_sealed LIKE 'v1:%' AND id_number_index <> ''"
        )
        ok = sealed == v.booked and people == v.registered and opened == len(rows)
        return ok, (
            f"{sealed} appointments and {people} petitioners sealed; {opened}/{len(rows)} "
            "sampled appointments open to their ID and match its blind index"
        )
    finally:
        await conn.close()


async def api_phases(args: argparse.Namespace, tmp: Path, prefix: str) -> dict[str, Any]:
    import asyncpg
    import httpx
    from tests.live import TEST_KEYS, serve

    from reception.crypto import Keyring

    keys = Keyring.parse(TEST_KEYS, "bench")
    c, rounds = args.concurrency, args.rounds
    bookings_each = args.warmup + rounds * args.bookings
    slots_needed = max(c, math.ceil(bookings_each * 1.1 / PLACES_PER_SLOT))
    sessions_needed = math.ceil(slots_needed / SLOTS_PER_SESSION)

    with baseline_worktree(args.baseline, tmp) as (tree, rev):
        variants = [
            Variant("off", tree / "src", f"{prefix}_off", tmp / "data-off"),
            Variant("on", ROOT / "src", f"{prefix}_on", tmp / "data-on"),
        ]
        admin = await asyncpg.connect(with_db(PG_SERVER, "postgres"))
        try:
            for v in variants:
                await admin.execute(f'CREATE DATABASE "{v.db}"')
                v.sa_url = with_db(PG_SERVER, v.db, driver="asyncpg")
                v.raw_url = with_db(PG_SERVER, v.db)
        finally:
            await admin.close()
        t0 = time.perf_counter()
        for v in variants:
            await asyncio.to_thread(prepare, v, sessions_needed)
        schema = {}
        for v in variants:
            appointment = await columns_of(v.raw_url, "appointment")
            petitioner = await columns_of(v.raw_url, "case_petitioner")
            plain = {"petitioner_phone", "petitioner_id_number"} <= appointment and {
                "id_number",
                "phone",
                "address",
            } <= petitioner
            sealed = {"petitioner_phone_sealed", "petitioner_id_number_sealed"} <= appointment and {
                "id_number_sealed",
                "phone_sealed",
                "address_sealed",
            } <= petitioner
            if (v.label == "off") != (plain and not sealed) or (v.label == "on") != (
                sealed and not plain
            ):
                raise SystemExit(f"{v.label}: unexpected schema {sorted(petitioner)}")
            schema[v.label] = "plain columns" if plain else "sealed columns + blind indexes"
        print(
            f"set-up {time.perf_counter() - t0:.0f} s: off = {rev} ({tree}/src, schema: "
            f"{schema['off']}), on = working tree ({schema['on']}); {sessions_needed} sessions "
            f"x {SLOTS_PER_SESSION} slots each",
            flush=True,
        )

        limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
        with ExitStack() as stack:
            bases = {
                v.label: stack.enter_context(
                    serve(
                        v.sa_url,
                        workers=2,
                        now=None,
                        env={"PYTHONPATH": str(v.src), "RECEPTION_DATA_DIR": str(v.data_dir)},
                    )
                )
                for v in variants
            }
            async with (
                httpx.AsyncClient(base_url=bases["off"], limits=limits, timeout=120) as c_off,
                httpx.AsyncClient(base_url=bases["on"], limits=limits, timeout=120) as c_on,
            ):
                clients = {"off": c_off, "on": c_on}
                for v in variants:
                    client = clients[v.label]
                    await run_concurrent(args.warmup, c, booker(client, v))
                    await run_concurrent(args.warmup // 2, c, registrar(client, v))
                    if set(v.statuses) != {201}:
                        raise SystemExit(f"{v.label} warm-up: {dict(v.statuses)} {v.failures}")
                print(
                    f"\n{'round':6} {'order':8} {'bookings/s off':>15} {'on':>7} {'on/off':>7}"
                    f"   {'cases/s off':>12} {'on':>7} {'on/off':>7}   "
                    f"server CPU ms/booking off/on, ms/case off/on",
                    flush=True,
                )
                for r in range(rounds):
                    order = variants if r % 2 == 0 else variants[::-1]
                    for v in order:
                        one = booker(clients[v.label], v)
                        v.bookings.append(
                            await measure(clients[v.label], bases[v.label], args.bookings, c, one)
                        )
                    for v in order:
                        one = registrar(clients[v.label], v)
                        v.registrations.append(
                            await measure(
                                clients[v.label], bases[v.label], args.registrations, c, one
                            )
                        )
                    off, on = variants
                    b_off, b_on = off.bookings[-1], on.bookings[-1]
                    r_off, r_on = off.registrations[-1], on.registrations[-1]
                    print(
                        f"{r + 1:<6} {'/'.join(v.label for v in order):8} {b_off.rate:15.1f} "
                        f"{b_on.rate:7.1f} {b_on.rate / b_off.rate:7.3f}   {r_off.rate:12.1f} "
                        f"{r_on.rate:7.1f} {r_on.rate / r_off.rate:7.3f}   "
                        f"{b_off.cpu_ms:.2f}/{b_on.cpu_ms:.2f}, {r_off.cpu_ms:.2f}/"
                        f"{r_on.cpu_ms:.2f}",
                        flush=True,
                    )
        checks = {v.label: await check_written(v, keys) for v in variants}
    return {"variants": variants, "checks": checks, "rev": rev}


def report_api(result: dict[str, Any], args: argparse.Namespace) -> bool:
    off, on = result["variants"]
    med = statistics.median
    ok = True
    print()
    print(
        f"{'what (all rounds)':34} {'off':>9} {'on':>9}   {'median on/off':>13}  "
        f"p50 / p95 ms off -> on"
    )
    verdicts = []
    for label, attr in (("bookings/s", "bookings"), ("registrations/s", "registrations")):
        a, b = getattr(off, attr), getattr(on, attr)
        ratio = med([y.rate / x.rate for x, y in zip(a, b, strict=True)])
        lat_a = [t for p in a for t in p.latencies]
        lat_b = [t for p in b for t in p.latencies]
        print(
            f"{label + ' (median of rounds)':34} {med(p.rate for p in a):9.1f} "
            f"{med(p.rate for p in b):9.1f}   {ratio:13.3f}  "
            f"{pct(lat_a, 50) * 1000:.0f} / {pct(lat_a, 95) * 1000:.0f} -> "
            f"{pct(lat_b, 50) * 1000:.0f} / {pct(lat_b, 95) * 1000:.0f}"
        )
        cpu_a, cpu_b = med(p.cpu_ms for p in a), med(p.cpu_ms for p in b)
        print(
            f"{'  server CPU ms per request':34} {cpu_a:9.2f} {cpu_b:9.2f}   {cpu_b / cpu_a:13.3f}"
        )
        verdicts.append((label, 1 - ratio))
    print()
    for (label, slower), bar in zip(verdicts, ("the issue's target", "the same bar"), strict=True):
        met = slower <= SLOWER_TARGET
        change = f"{slower:.1%} slower" if slower >= 0 else f"{-slower:.1%} faster"
        print(
            f"{label:16} with encryption on: {change} than off (median of rounds; {bar}: "
            f"<= {SLOWER_TARGET:.0%} slower: {'met' if met else 'NOT met'})"
        )
    for v in (off, on):
        total = v.booked + v.registered
        good = v.statuses == Counter({201: total})
        ok = ok and good
        written_ok, written = result["checks"][v.label]
        ok = ok and written_ok
        print(
            f"checks {v.label}: statuses {dict(v.statuses)} (expected {total} x 201); "
            f"{written}: {'OK' if good and written_ok else 'FAILED'}"
        )
        for failure in v.failures:
            print(f"  {failure}")
    return ok


# ---------------------------------------------------------------- search at 1 M petitioners


def search_id(i: int) -> str:
    """A valid ID number, a different one for each 0 <= i < 200,000,000."""
    from reception.petitioner import id_check_digit

    j = i // len(REGIONS)
    born = date(1940, 1, 1) + timedelta(days=j % 20_000)
    first_17 = f"{REGIONS[i % len(REGIONS)]}{born:%Y%m%d}{(j // 20_000) % 1000:03d}"
    return first_17 + id_check_digit(first_17)


SEARCH_TABLE = """
CREATE TABLE search_petitioner (
    id integer PRIMARY KEY,
    case_id integer NOT NULL,
    name varchar(50) NOT NULL,
    id_number varchar(18) NOT NULL,
    id_number_index varchar(64) NOT NULL,
    id_number_sealed varchar(120) NOT NULL
)
"""


def search_rows(keys: Any, first: int, last: int) -> list[tuple[Any, ...]]:
    """Rows first..last (ids = i + 1); the ID sealed as case_petitioner.id_number_sealed."""
    rows = []
    seal, blind = keys.seal, keys.blind
    for i in range(first, last + 1):
        row_id = i + 1
        number = search_id(i)
        rows.append(
            (
                row_id,
                row_id,
                f"来访人{i}",
                number,
                blind("id_number", number),
                seal(number, table="case_petitioner", column="id_number_sealed", row_id=row_id),
            )
        )
    return rows


async def search_phase(args: argparse.Namespace, db: str) -> dict[str, Any]:
    import asyncpg
    from tests.live import TEST_KEYS

    from reception.crypto import Keyring

    keys = Keyring.parse(TEST_KEYS, "bench")
    n = args.petitioners
    admin = await asyncpg.connect(with_db(PG_SERVER, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(with_db(PG_SERVER, db))
    try:
        t0 = time.perf_counter()
        await conn.execute(SEARCH_TABLE)
        gen_s = 0.0
        columns = ["id", "case_id", "name", "id_number", "id_number_index", "id_number_sealed"]
        pending: asyncio.Future[Any] | None = None
        for first in range(0, n, CHUNK):
            g0 = time.perf_counter()
            rows = await asyncio.to_thread(search_rows, keys, first, min(n, first + CHUNK) - 1)
            gen_s += time.perf_counter() - g0
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(
                conn.copy_records_to_table("search_petitioner", records=rows, columns=columns)
            )
        if pending is not None:
            await pending
        copy_s = time.perf_counter() - t0
        i0 = time.perf_counter()
        await conn.execute("CREATE INDEX ix_search_id_number ON search_petitioner (id_number)")
        await conn.execute(
            "CREATE INDEX ix_search_id_number_index ON search_petitioner (id_number_index)"
        )
        index_s = time.perf_counter() - i0
        await conn.execute("VACUUM ANALYZE search_petitioner")
        sizes = dict(
            await conn.fetch(
                "SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class "
                "WHERE relname IN ('search_petitioner', 'ix_search_id_number', "
                "'ix_search_id_number_index')"
            )
        )
        setup_s = time.perf_counter() - t0

        plain = await conn.prepare("SELECT case_id FROM search_petitioner WHERE id_number = $1")
        blind = await conn.prepare(
            "SELECT case_id FROM search_petitioner WHERE id_number_index = $1"
        )
        blind_open = await conn.prepare(
            "SELECT id, case_id, id_number_sealed FROM search_petitioner WHERE id_number_index = $1"
        )

        async def by_plain(number: str, expected: int) -> None:
            rows = await plain.fetch(number)
            assert len(rows) == 1 and rows[0][0] == expected, (number, rows)

        async def by_blind(number: str, expected: int) -> None:
            rows = await blind.fetch(keys.blind("id_number", number))
            assert len(rows) == 1 and rows[0][0] == expected, (number, rows)

        async def by_blind_open(number: str, expected: int) -> None:
            rows = await blind_open.fetch(keys.blind("id_number", number))
            assert len(rows) == 1 and rows[0][1] == expected, (number, rows)
            opened = keys.open(
                rows[0][2], table="case_petitioner", column="id_number_sealed", row_id=rows[0][0]
            )
            assert opened == number, (opened, number)

        ways = [("plain", by_plain), ("blind", by_blind), ("blind+open", by_blind_open)]
        times: dict[str, list[float]] = {w: [] for w, _ in ways}
        rng = random.Random(20261202)
        picks = rng.sample(range(n), min(n, 2 * args.lookups))
        warm, measured = picks[: len(picks) // 2], picks[len(picks) // 2 :]
        for k, i in enumerate(warm + measured):
            number = search_id(i)
            for w, how in ways[k % 3 :] + ways[: k % 3]:
                t = time.perf_counter()
                await how(number, i + 1)
                if k >= len(warm):
                    times[w].append(time.perf_counter() - t)
        # One decrypt alone, for orientation.
        sealed = keys.seal("120225195001010014", table="t", column="c", row_id=1)
        o0 = time.perf_counter()
        for _ in range(10_000):
            keys.open(sealed, table="t", column="c", row_id=1)
        open_us = (time.perf_counter() - o0) / 10_000 * 1e6
        b0 = time.perf_counter()
        for _ in range(10_000):
            keys.blind("id_number", "120225195001010014")
        blind_us = (time.perf_counter() - b0) / 10_000 * 1e6
    finally:
        await conn.close()
    return {
        "times": times,
        "sizes": sizes,
        "setup_s": setup_s,
        "gen_s": gen_s,
        "copy_s": copy_s,
        "index_s": index_s,
        "open_us": open_us,
        "blind_us": blind_us,
        "lookups": len(measured),
    }


def report_search(s: dict[str, Any], args: argparse.Namespace) -> None:
    t = s["times"]
    sizes = s["sizes"]
    print()
    print(
        f"search set-up {s['setup_s']:.0f} s: {args.petitioners:,} petitioners by COPY "
        f"{s['copy_s']:.0f} s (Python generation, sealing and HMAC {s['gen_s']:.0f} s), both "
        f"indexes built {s['index_s']:.0f} s; table {sizes.get('search_petitioner')}, plain "
        f"index {sizes.get('ix_search_id_number')}, blind index "
        f"{sizes.get('ix_search_id_number_index')}"
    )
    print(
        f"one HMAC-SHA256 (blind) {s['blind_us']:.1f} us, one AES-GCM open {s['open_us']:.1f} us "
        "(in this process)"
    )
    print()
    print(
        f"{'exact-ID lookup (' + str(s['lookups']) + ' random IDs)':44} {'p50 ms':>8} {'p95 ms':>8}"
    )
    labels = {
        "plain": "(a) plain: WHERE id_number = $1",
        "blind": "(b) blind: HMAC + WHERE id_number_index = $1",
        "blind+open": "(c) blind + open the sealed ID",
    }
    for w, label in labels.items():
        print(f"{label:44} {pct(t[w], 50) * 1000:8.3f} {pct(t[w], 95) * 1000:8.3f}")
    print()
    plain95 = pct(t["plain"], 95)
    for w in ("blind", "blind+open"):
        ratio = pct(t[w], 95) / plain95
        ratio50 = pct(t[w], 50) / pct(t["plain"], 50)
        met = ratio <= SEARCH_TARGET
        print(
            f"ratio {w:10} / plain: p95 {ratio:5.2f} (target <= {SEARCH_TARGET}: "
            f"{'met' if met else 'NOT met'}), p50 {ratio50:5.2f}"
        )


# ---------------------------------------------------------------- main


def cli() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--baseline", default="7cb91da", help="the code without encryption")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--bookings", type=int, default=1000, help="per variant and round")
    parser.add_argument("--registrations", type=int, default=300, help="per variant and round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=128, help="unmeasured bookings per server")
    parser.add_argument("--petitioners", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--skip-api", action="store_true", help="only the search")
    parser.add_argument("--skip-search", action="store_true", help="only booking/registration")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--world-setup", help=argparse.SUPPRESS)
    parser.add_argument("--world-sessions", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.world_setup:
        world_setup(args.world_setup, args.world_sessions)
        return 0
    if args.rounds < 1 or args.bookings < 100 or args.registrations < 50:
        parser.error("at least 1 round, 100 bookings and 50 registrations")
    return asyncio.run(main(args))


async def main(args: argparse.Namespace) -> int:
    import asyncpg

    prefix = f"reception_bench_{uuid.uuid4().hex[:10]}"
    load_before = f"{os.getloadavg()[0]:.2f}"
    tmp = Path(tempfile.mkdtemp(prefix="reception_pii_"))
    ok = True
    api: dict[str, Any] | None = None
    search: dict[str, Any] | None = None
    try:
        if not args.skip_api:
            api = await api_phases(args, tmp, prefix)
        if not args.skip_search:
            search = await search_phase(args, f"{prefix}_search")
        print()
        print(
            f"databases: PostgreSQL {prefix}_*; cpu count: {os.cpu_count()}; load average "
            f"before: {load_before}, after: {os.getloadavg()[0]:.2f} (other work on the machine "
            "skews the figures: compare within a run)"
        )
        if api is not None:
            print(
                f"API: off = {api['rev']}, on = working tree; reception serve --workers 2 each; "
                f"{args.rounds} rounds x {args.bookings} bookings + {args.registrations} "
                f"registrations per variant, concurrency {args.concurrency}, warm-up "
                f"{args.warmup} bookings + {args.warmup // 2} registrations"
            )
            ok = report_api(api, args) and ok
        if search is not None:
            report_search(search, args)
    finally:
        if args.keep:
            print(f"kept: {prefix}_off, {prefix}_on, {prefix}_search")
        else:
            admin = await asyncpg.connect(with_db(PG_SERVER, "postgres"))
            try:
                for suffix in ("off", "on", "search"):
                    await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{suffix}" WITH (FORCE)')
            finally:
                await admin.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(cli())
