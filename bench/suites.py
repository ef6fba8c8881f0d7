"""The SM cipher suite against AES in the same run, and verifying a million-row audit chain.

1. Suites (PostgreSQL): one database per suite, migrated, with the tests' world
   (tests/builders.build_world) and future reception sessions of 6 slots x 100 places. The app
   (`create_app`, the settings' RECEPTION_CIPHER_SUITE aes or sm) is driven in this process
   through httpx.ASGITransport — so the CPU measured (time.process_time of this process) is
   the service's work plus a small constant client share, the same for both suites. Per round,
   the suites alternate (aes, sm | sm, aes | …): --bookings POST /api/sessions/{id}/appointments
   (distinct ID number and phone each: sealed twice, indexed twice, audited and chained), then
   --searches GET /api/cases?q=<an exact ID number> over --cases registered cases (the blind
   index, one petitioner opened per hit). CPU ms per request per suite, and the median of the
   per-round ratios sm / aes. Target: sm <= 1.3x aes.

2. Audit chain: --audit-rows rows (default 1,000,000) written straight into a third database
   with their SM3 chain computed here (as the commit hook does), loaded with COPY; then
   `reception.audit.chain.verify` walks them all, on one core (this process pinned to CPU 0),
   timed. Target: <= 60 s. The floor printed beside it: reading the same rows without
   checking anything.

Databases `reception_bench_<random>_*` on postgresql://postgres@127.0.0.1:5432 (override with
RECEPTION_BENCH_PG_URL), dropped at the end.

    .venv/bin/python bench/suites.py [--rounds 4] [--bookings 300] [--cases 300]
        [--searches 600] [--audit-rows 1000000] [--skip-suites] [--skip-audit]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("RECEPTION_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
TARGET_RATIO = 1.3
TARGET_VERIFY_S = 60.0


def url(name: str, driver: str = "postgresql+asyncpg") -> str:
    _, rest = PG_SERVER.split("://", 1)
    return f"{driver}://{rest.rstrip('/')}/{name}"


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url("postgres", "postgresql"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def valid_id(n: int) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    born = date(1950, 1, 1) + timedelta(days=n % 15000)
    body = f"120225{born:%Y%m%d}{n % 1000:03d}"
    return body + "10X98765432"[sum(int(a) * w for a, w in zip(body, weights, strict=True)) % 11]


# ---------------------------------------------------------------- 1. suites


class Suite:
    def __init__(self, name: str, db: str, data_dir: Path) -> None:
        self.name, self.db, self.data_dir = name, db, data_dir
        self.app: Any = None
        self.world: Any = None
        self.slots: list[tuple[int, int]] = []
        self.ids: list[str] = []
        self.booked = 0
        self.booking_ms: list[float] = []
        self.search_ms: list[float] = []

    async def setup(self, cases: int) -> None:
        from sqlalchemy import select
        from tests.builders import at, build_world, case_body
        from tests.live import TEST_KEYS

        from reception.app import create_app
        from reception.config import Settings
        from reception.context import Context
        from reception.db import migrate
        from reception.scheduling import schemas, service
        from reception.scheduling.models import SessionSlot

        await asyncio.to_thread(migrate, url(self.db), "upgrade", "head")
        settings = Settings(
            database_url=url(self.db),
            data_dir=self.data_dir,
            data_keys=TEST_KEYS,
            cipher_suite=self.name,
            outbox_worker=False,
            pdf_ahead=False,
        )
        self.app = create_app(settings)
        maker = self.app.state.sessionmaker
        self.world = await build_world(maker)
        first = date.today() + timedelta(days=30)
        async with maker() as s:
            for k in range(20):
                day = first + timedelta(days=k)
                await service.create_session(
                    session=s,
                    ctx=Context.of(settings),
                    actor=None,
                    data=schemas.SessionCreate(
                        leader_id=self.world.leaders["mayor"],
                        kind="reception",
                        venue_id=self.world.venue,
                        starts_at=datetime.fromisoformat(at(day, "09:00")),
                        ends_at=datetime.fromisoformat(at(day, "12:00")),
                        slot_minutes=30,
                        people_per_slot=100,
                    ),
                )
            await s.commit()
            rows = (await s.scalars(select(SessionSlot).order_by(SessionSlot.id))).all()  # type: ignore[arg-type]
            self.slots = [(r.session_id, r.slot_index) for r in rows]
        import httpx

        async with self.client() as c:
            for n in range(cases):
                number = valid_id(500_000 + n)
                body = case_body(
                    self.world,
                    petitioners=[
                        {"name": f"信访人{n}", "id_number": number, "phone": f"136{n:08d}"}
                    ],
                )
                r = await c.post("/api/cases", json=body, headers=self.auth("clerk_a"))
                if r.status_code != 201:
                    raise SystemExit(f"{self.name}: registration {r.status_code} {r.text[:200]}")
                self.ids.append(number)
        del httpx

    def client(self) -> Any:
        import httpx

        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://bench", timeout=60
        )

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.tokens[who]}"}

    async def bookings(self, count: int) -> float:
        async with self.client() as c:
            started = time.process_time()
            for _ in range(count):
                n = self.booked
                self.booked += 1
                session_id, slot = self.slots[(n // 90) % len(self.slots)]
                r = await c.post(
                    f"/api/sessions/{session_id}/appointments",
                    json={
                        "petitioner_name": f"来访人{n}",
                        "petitioner_phone": f"135{n:08d}",
                        "petitioner_id_number": valid_id(n),
                        "matter_summary": "反映拆迁补偿问题",
                        "slot_index": slot,
                    },
                    headers=self.auth("secretary"),
                )
                if r.status_code != 201:
                    raise SystemExit(f"{self.name}: booking {r.status_code} {r.text[:200]}")
            return (time.process_time() - started) * 1000 / count

    async def searches(self, count: int) -> float:
        async with self.client() as c:
            started = time.process_time()
            for k in range(count):
                number = self.ids[(k * 7919) % len(self.ids)]
                r = await c.get("/api/cases", params={"q": number}, headers=self.auth("clerk_a"))
                if r.status_code != 200 or r.json()["total"] != 1:
                    raise SystemExit(f"{self.name}: search {r.status_code} {r.text[:200]}")
            return (time.process_time() - started) * 1000 / count


async def suites(args: argparse.Namespace, prefix: str, tmp: Path) -> bool:
    runs = {name: Suite(name, f"{prefix}_{name}", tmp / name) for name in ("aes", "sm")}
    for s in runs.values():
        await admin(f'CREATE DATABASE "{s.db}"')
    try:
        for s in runs.values():
            started = time.perf_counter()
            await s.setup(args.cases)
            print(f"set-up {s.name}: {time.perf_counter() - started:.1f} s", flush=True)
        # Warm-up, unmeasured.
        for s in runs.values():
            await s.bookings(30)
            await s.searches(30)
        ratios_book, ratios_search = [], []
        for rnd in range(args.rounds):
            order = ["aes", "sm"] if rnd % 2 == 0 else ["sm", "aes"]
            got: dict[str, tuple[float, float]] = {}
            for name in order:
                s = runs[name]
                got[name] = (await s.bookings(args.bookings), await s.searches(args.searches))
                s.booking_ms.append(got[name][0])
                s.search_ms.append(got[name][1])
            rb, rs = got["sm"][0] / got["aes"][0], got["sm"][1] / got["aes"][1]
            ratios_book.append(rb)
            ratios_search.append(rs)
            print(
                f"round {rnd + 1} ({' then '.join(order)}): booking CPU aes {got['aes'][0]:.2f} ms"
                f" / sm {got['sm'][0]:.2f} ms = {rb:.2f}x; exact-ID search aes"
                f" {got['aes'][1]:.2f} ms / sm {got['sm'][1]:.2f} ms = {rs:.2f}x",
                flush=True,
            )
        mb, ms = statistics.median(ratios_book), statistics.median(ratios_search)
        print()
        for label, attr in (("booking", "booking_ms"), ("exact-ID search", "search_ms")):
            aes = statistics.median(getattr(runs["aes"], attr))
            sm = statistics.median(getattr(runs["sm"], attr))
            print(f"{label:<16} CPU per request: aes {aes:6.2f} ms   sm {sm:6.2f} ms (medians)")
        verdict = mb <= TARGET_RATIO and ms <= TARGET_RATIO
        print(
            f"sm / aes (median of rounds): booking {mb:.2f}x, search {ms:.2f}x — target <= "
            f"{TARGET_RATIO}x: {'met' if verdict else 'NOT met'}"
        )
        return verdict
    finally:
        for s in runs.values():
            if s.app is not None:
                await s.app.state.engine.dispose()
            await admin(f'DROP DATABASE IF EXISTS "{s.db}" WITH (FORCE)')


# ---------------------------------------------------------------- 2. the audit chain


async def audit_chain(args: argparse.Namespace, prefix: str) -> bool:
    import asyncpg
    from sqlalchemy.ext.asyncio import create_async_engine
    from tests.live import TEST_KEYS

    from reception.audit import chain
    from reception.crypto import Keyring
    from reception.db import migrate

    keys = Keyring.parse(TEST_KEYS, "bench", "sm")
    db = f"{prefix}_audit"
    await admin(f'CREATE DATABASE "{db}"')
    try:
        await asyncio.to_thread(migrate, url(db), "upgrade", "head")
        started = time.perf_counter()
        at0 = datetime(2026, 6, 1, tzinfo=UTC)
        previous, rows = "", []
        for i in range(1, args.audit_rows + 1):
            row = {
                "at": at0 + timedelta(seconds=i * 7),
                "actor_user_id": None,
                "actor_name": "冯某登",
                "action": "case.transition.accept",
                "target_type": "petition_case",
                "target_id": str(i // 3 + 1),
                "before": {"stage": "registered"},
                "after": {"stage": "accepted", "accepted_on": "2026-06-02"},
            }
            previous = chain.link(previous, chain.canonical(row), keys.suite)
            rows.append(
                (
                    i,
                    row["at"],
                    None,
                    row["actor_name"],
                    row["action"],
                    row["target_type"],
                    row["target_id"],
                    json.dumps(row["before"], ensure_ascii=False),
                    json.dumps(row["after"], ensure_ascii=False),
                    previous,
                )
            )
        made = time.perf_counter() - started
        conn = await asyncpg.connect(url(db, "postgresql"))
        try:
            columns = [
                "id", "at", "actor_user_id", "actor_name", "action", "target_type",
                "target_id", "before", "after", "chain",
            ]  # fmt: skip
            await conn.copy_records_to_table("audit_event", records=rows, columns=columns)
            await conn.execute(
                "UPDATE audit_head SET chain = $1, last_id = $2 WHERE id = 1",
                previous,
                args.audit_rows,
            )
            await conn.execute("VACUUM ANALYZE audit_event")
        finally:
            await conn.close()
        del rows
        print(f"{args.audit_rows:,} chained audit rows made in {made:.1f} s and loaded", flush=True)
        os.sched_setaffinity(0, {0})
        engine = create_async_engine(url(db))
        try:
            async with engine.connect() as c:
                started = time.perf_counter()
                count = await c.run_sync(lambda sync: sum(1 for _ in chain._rows(sync, 0)))
                floor = time.perf_counter() - started
                started = time.perf_counter()
                verdict = await c.run_sync(lambda sync: chain.verify(sync, keys.audit_seal()[1]))
                took = time.perf_counter() - started
        finally:
            await engine.dispose()
        ok = verdict.intact and verdict.checked == args.audit_rows == count
        print(
            f"verify {verdict.checked:,} rows on one core: {took:.1f} s (reading them alone:"
            f" {floor:.1f} s, {took / floor:.1f}x) — {verdict.summary()} Target <= "
            f"{TARGET_VERIFY_S:.0f} s: {'met' if ok and took <= TARGET_VERIFY_S else 'NOT met'}"
        )
        return ok and took <= TARGET_VERIFY_S
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--searches", type=int, default=600)
    parser.add_argument("--audit-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-suites", action="store_true")
    parser.add_argument("--skip-audit", action="store_true")
    args = parser.parse_args()
    prefix = f"reception_bench_{uuid.uuid4().hex[:8]}"
    os.environ.setdefault("RECEPTION_LOG_LEVEL", "WARNING")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_suites:
            ok &= asyncio.run(suites(args, prefix, Path(tmp)))
        if not args.skip_audit:
            ok &= asyncio.run(audit_chain(args, prefix))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
