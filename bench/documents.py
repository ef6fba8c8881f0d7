"""Notice PDFs (PostgreSQL, `reception serve --workers 2`, which keeps LibreOffice warm behind
unoserver): p50 / p95 of a stored PDF download and of a first render, beside the DOCX
download of the same notices in the same run (the floor: the sealed bytes opened and sent).

1. N 处理意见书 (default 30) are issued through the API with RECEPTION_PDF_AHEAD=0, so none
   has its PDF yet.
2. DOCX: each notice's DOCX downloaded (N requests, one at a time).
3. First render: each notice's PDF downloaded once — LibreOffice converts it and it is kept.
4. Stored: each PDF downloaded again (N requests) — the kept bytes.
5. For the record: one conversion the cold way (a LibreOffice started for it), as before.

Targets: stored p95 ≤ 2× the DOCX p95; first render p95 ≤ 1.5 s.

    .venv/bin/python bench/documents.py [--notices 30] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.review import PG_SERVER, with_db  # noqa: E402
from tests.builders import build_world, case_body, served  # noqa: E402
from tests.live import TEST_KEYS, serve  # noqa: E402

STORED_TARGET = 2.0
FIRST_TARGET_S = 1.5


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def line(label: str, values: list[float]) -> None:
    print(
        f"{label:<44} p50 {statistics.median(values) * 1000:8.1f} ms"
        f"   p95 {p95(values) * 1000:8.1f} ms   (n={len(values)})"
    )


async def timed(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    t = time.perf_counter()
    r = await client.get(url, headers=headers)
    took = time.perf_counter() - t
    if r.status_code != 200:
        raise SystemExit(f"GET {url}: {r.status_code} {r.text[:300]}")
    return took


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--notices", type=int, default=30)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from reception.config import Settings
    from reception.context import SystemClock
    from reception.db import create_engine, create_sessionmaker, migrate
    from reception.documents import converter, defaults, rendering

    name = f"reception_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(with_db(PG_SERVER, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    sa_url = with_db(PG_SERVER, name, driver="asyncpg")
    ok = True
    try:
        await asyncio.to_thread(migrate, sa_url, "upgrade", "head")
        settings = Settings(database_url=sa_url, data_keys=TEST_KEYS)
        engine = create_engine(settings)
        world = await build_world(create_sessionmaker(engine, SystemClock()))
        await engine.dispose()
        clerk = {"Authorization": f"Bearer {world.tokens['clerk_a']}"}
        env = {"RECEPTION_PDF_AHEAD": "0", "RECEPTION_PDF_SERVER": "127.0.0.1:2093"}
        with serve(sa_url, workers=2, env=env) as base:
            async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                # The server starts LibreOffice in the background: wait until it answers.
                for _ in range(120):
                    if converter.listening(("127.0.0.1", 2093)):
                        break
                    await asyncio.sleep(0.5)
                else:
                    print("the warm converter did not start: first renders are cold")
                docs = []
                for _ in range(args.notices):
                    r = await client.post("/api/cases", json=case_body(world), headers=clerk)
                    cid = r.json()["id"]
                    await client.post(
                        f"/api/cases/{cid}/transitions",
                        json={"action": "accept", "on": "2026-09-21"},
                        headers=clerk,
                    )
                    r = await client.post(
                        f"/api/cases/{cid}/documents",
                        json={
                            "kind": "reply_opinion",
                            "on": "2026-11-20",
                            "facts": "经核查,开发商已承诺12月底前交房\n区住建委已约谈开发商",
                            "basis": "《城市房地产开发经营管理条例》第三十条",
                            "decision": "1. 督促开发商按期交房\n2. 逾期按合同约定支付违约金",
                            "delivery": served("2026-11-20"),
                        },
                        headers=clerk,
                    )
                    if r.status_code != 201:
                        raise SystemExit(r.text)
                    docs.append(r.json())
                docx = [await timed(client, d["docx_url"], clerk) for d in docs]
                first = [await timed(client, d["pdf_url"], clerk) for d in docs]
                stored = [await timed(client, d["pdf_url"], clerk) for d in docs]
        sample = rendering.render(
            defaults.template("reply_opinion", settings.office_name),
            {**rendering.SAMPLE, "title": "信访事项处理意见书"},
        )
        t = time.perf_counter()
        converter.convert(Settings(data_keys=TEST_KEYS, pdf_server=""), sample)
        cold = time.perf_counter() - t

        print(f"\nnotice PDFs, {args.notices} 处理意见书, `reception serve --workers 2`:\n")
        line("floor: DOCX download (the sealed bytes)", docx)
        line("first PDF download (warm LibreOffice)", first)
        line("stored PDF download", stored)
        print(f"{'for the record: one cold LibreOffice conversion':<44} {cold * 1000:8.1f} ms")
        ratio = p95(stored) / p95(docx)
        print(
            f"\nstored p95 / DOCX p95 = {ratio:.2f}  (target <= {STORED_TARGET}: "
            f"{'met' if ratio <= STORED_TARGET else 'NOT met'})"
        )
        print(
            f"first render p95 = {p95(first):.2f} s  (target <= {FIRST_TARGET_S} s: "
            f"{'met' if p95(first) <= FIRST_TARGET_S else 'NOT met'})"
        )
        ok = ratio <= STORED_TARGET and p95(first) <= FIRST_TARGET_S
    finally:
        if args.keep:
            print(f"kept: {sa_url}")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
