"""Ledger benchmark (#29): the 矛盾纠纷排查台账 list and the monthly 排查情况表 at 200,000 entries,
through HTTP, beside the same SQL replayed with raw asyncpg (the floor).

Set-up (one fresh PostgreSQL database): bench/review.py's org (a district, 27 townships with
2 villages each, 5 departments, leaders), a district and a township clerk and a reviewer with
tokens; then N entries (default 200,000) over the last 5 years written with COPY, each with one
party (sealed columns filled, blind indexes beside them): found by a village, a township or a
department, domains in the report's proportions, 一般/较大/重大 70/25/5, ~85% closed (销账 or
转为信访事项) within 90 days of being found, the rest open with a review date (some past). Then
ANALYZE.

Measured (one run, after one unmeasured warm-up each): the app in-process behind
httpx.ASGITransport (all of the service's Python: routing, auth, the statements, shaping the
JSON), --requests times (default 100) each, p50 / p95:
- the open ledger's first page for the district clerk and for the township clerk;
- a filtered page (涉薪, all statuses, newest first) for the district clerk;
- the month's 排查情况表 for the whole district, and the whole year's (reviewer).
The floor: the SELECTs one request issues (captured with a SQLAlchemy listener), replayed in
order on one raw asyncpg connection the same number of times. Targets: a list page p95 < 100 ms
and within 3x of its floor; a table p95 < 1 s and within 3x.

    .venv/bin/python bench/ledger.py [--entries 200000] [--requests 100] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.review import CTX, KEYS, PG_SERVER, TIME_LIMIT, build_org, with_db  # noqa: E402
from tests.live import TEST_KEYS  # noqa: E402

LIST_P95 = 0.100
TABLE_P95 = 1.0
FLOOR_TARGET = 3.0
YEARS = 5
DOMAINS = [("other", 34), ("housing", 22), ("wages", 20), ("land", 12), ("mass_finance", 8), ("veterans", 4)]  # fmt: skip
ENTRY_COLUMNS = (
    "id", "reference", "ref_year", "ref_seq", "found_on", "found_by_unit_id", "how_found",
    "domain_code", "summary", "people_count", "amount_disputed", "amount_recovered", "risk",
    "opened_risk",
    "unit_id", "stability_leader_id", "resolution_leader_id", "plan", "target_on", "review_on",
    "status", "closed_on", "resolve_method", "case_id", "created_by_user_id", "created_by_name",
    "version", "created_at", "updated_at",
)  # fmt: skip
PARTY_COLUMNS = (
    "id", "entry_id", "position", "name", "id_number_sealed", "id_number_index", "phone_sealed",
    "phone_index",
)  # fmt: skip


def entries(org: Any, n: int, today: date) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(20201)
    start = today - timedelta(days=365 * YEARS)
    span = (today - start).days
    now = datetime.now(UTC)
    rows, parties = [], []
    seq: dict[int, int] = {}
    places = [(v, t) for t in org.townships for v in org.villages[t]]
    places += [(t, t) for t in org.townships] + [(d, None) for d in org.departments]
    domains, weights = zip(*DOMAINS, strict=True)
    for i in range(1, n + 1):
        found = start + timedelta(days=rng.randrange(span))
        unit, township = rng.choice(places)
        leader = org.township_leaders.get(township) or rng.choice(org.district_leaders)
        risk = rng.choices(["general", "serious", "major"], [70, 25, 5])[0]
        people = {"general": 2, "serious": 8, "major": 40}[risk]
        closed = found + timedelta(days=rng.randrange(3, 90))
        status, resolve, closed_on = "open", "", None
        if closed <= today and rng.random() < 0.97:
            status = "converted" if rng.random() < 0.04 else "resolved"
            resolve = "agreement" if status == "resolved" else ""
            closed_on = closed
        review = today + timedelta(days=rng.randrange(-10, 10)) if status == "open" else found
        seq[found.year] = seq.get(found.year, 0) + 1
        amount = rng.choice([0, 0, 50_000, 200_000])
        rows.append(
            (
                i, f"蓟矛〔{found.year}〕{seq[found.year]:06d}", found.year, seq[found.year], found,
                unit, rng.choice(["screening", "grid", "visit", "online"]),
                rng.choices(domains, weights)[0], "某工地拖欠工资纠纷", people, amount,
                amount if status == "resolved" else 0, risk, risk, unit, leader, leader, "", found
                + timedelta(days=60), max(review, found), status, closed_on, resolve, None, None,
                "bench", 1, now, now,
            )
        )  # fmt: skip
        parties.append((i, i, 0, f"当事人{i}", "x", f"i{i:010d}", "x", f"p{i:010d}"))
    return rows, parties


async def percentile(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def measure(
    app: Any,
    client: httpx.AsyncClient,
    conn: asyncpg.Connection,
    path: str,
    headers: dict[str, str],
    target: float,
    requests: int,
    label: str,
) -> tuple[bool, str]:
    """One page: its SELECTs captured, then `requests` GETs and as many raw replays."""
    from sqlalchemy import event

    captured: list[tuple[str, tuple[Any, ...]]] = []

    def listener(c: Any, cur: Any, statement: str, params: Any, ctx: Any, many: Any) -> None:
        captured.append((statement, tuple(params or ())))

    r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text[:300]
    sync = app.state.engine.sync_engine
    event.listen(sync, "before_cursor_execute", listener)
    await client.get(path, headers=headers)
    event.remove(sync, "before_cursor_execute", listener)
    selects = [(q, p) for q, p in captured if q.lstrip().upper().startswith(("SELECT", "WITH"))]
    times: list[float] = []

    async def run_all() -> None:
        for _ in range(requests):
            s = time.perf_counter()
            answer = await client.get(path, headers=headers)
            answer.raise_for_status()
            times.append(time.perf_counter() - s)

    await asyncio.wait_for(run_all(), TIME_LIMIT)
    floor = []
    for _ in range(requests):
        s = time.perf_counter()
        async with conn.transaction(readonly=True):
            for q, p in selects:
                await conn.fetch(q, *p)
        floor.append(time.perf_counter() - s)
    p50, p95 = statistics.median(times), await percentile(times, 0.95)
    f95 = await percentile(floor, 0.95)
    met = p95 < target and p95 <= FLOOR_TARGET * f95
    return met, (
        f"{label:<28} {p50 * 1000:>8.1f} {p95 * 1000:>8.1f} {f95 * 1000:>10.1f} "
        f"{p95 / f95:>8.1f} {len(selects):>8}  p95 < {target * 1000:.0f} ms and "
        f"<= {FLOOR_TARGET:.0f}x floor: {'met' if met else 'NOT met'}"
    )


async def main() -> int:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from reception.app import create_app
    from reception.config import Settings
    from reception.context import SystemClock
    from reception.db import create_engine, create_sessionmaker, migrate
    from reception.org import schemas
    from reception.org import service as org_service

    today = CTX.today()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    load_before = f"{os.getloadavg()[0]:.2f}"
    name = f"reception_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(with_db(PG_SERVER, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    sa_url, raw_url = with_db(PG_SERVER, name, driver="asyncpg"), with_db(PG_SERVER, name)
    ok = True
    try:
        t0 = time.perf_counter()
        await asyncio.to_thread(migrate, sa_url, "upgrade", "head")
        engine = create_engine(Settings(database_url=sa_url, data_keys=TEST_KEYS))
        maker = create_sessionmaker(engine, SystemClock(), KEYS)
        org = await build_org(maker)
        tokens: dict[str, str] = {"reviewer": org.token}
        async with maker() as s:
            for key, unit in (("district", org.district), ("township", org.townships[0])):
                user = await org_service.create_user(
                    session=s, actor=None,
                    data=schemas.UserCreate(name=f"{key}登", role="clerk", unit_id=unit),
                )  # fmt: skip
                _, tokens[key] = await org_service.issue_token(
                    session=s, actor=None, user_id=user.id or 0
                )
            await s.commit()
        await engine.dispose()
        rows, parties = entries(org, args.entries, today)
        # The floor gets the best plans PostgreSQL makes for these statements: a custom plan
        # every time, as the service asks for its aggregates (db.plan_each_time).
        conn = await asyncpg.connect(
            raw_url, server_settings={"plan_cache_mode": "force_custom_plan"}
        )
        await conn.copy_records_to_table("ledger_entry", records=rows, columns=list(ENTRY_COLUMNS))
        await conn.copy_records_to_table(
            "ledger_party", records=parties, columns=list(PARTY_COLUMNS)
        )
        await conn.execute("SELECT setval('ledger_entry_id_seq', $1)", len(rows))
        await conn.execute("ANALYZE")
        open_now = await conn.fetchval("SELECT count(*) FROM ledger_entry WHERE status = 'open'")
        print(
            f"set-up: {len(rows):,} entries ({open_now:,} open) in {time.perf_counter() - t0:.1f} s; "
            f"load average before {load_before}",
            flush=True,
        )

        app = create_app(Settings(database_url=sa_url, data_keys=TEST_KEYS))
        transport = httpx.ASGITransport(app=app)
        pages = [
            ("list, district clerk", "district", "/api/ledger?limit=50", LIST_P95),
            ("list, township clerk", "township", "/api/ledger?limit=50", LIST_P95),
            ("list, 涉薪 all statuses", "district", "/api/ledger?limit=50&status=all&domain=wages", LIST_P95),
            (f"table {last_month}, district", "reviewer", f"/api/ledger/table?month={last_month}", TABLE_P95),
            (f"table {today.year - 1}, district", "reviewer", f"/api/ledger/table?year={today.year - 1}", TABLE_P95),
        ]  # fmt: skip
        print(
            f"\n{'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'floor p95':>10} {'x floor':>8} "
            f"{'SELECTs':>8}  target"
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, who, path, target in pages:
                headers = {"Authorization": f"Bearer {tokens[who]}"}
                met, line = await measure(
                    app, client, conn, path, headers, target, args.requests, label
                )
                ok &= met
                print(line, flush=True)
        await app.state.engine.dispose()
        await conn.close()
    finally:
        if args.keep:
            print(f"kept: {raw_url}")
        else:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
