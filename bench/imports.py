"""The ledger importer (#28) on PostgreSQL: a dry run and the import of a generated XLSX
ledger of --rows rows (default 50,000), rows/s beside a bare COPY of the same rows, and the
memory they take at --small rows (default 10,000) and at --rows, so that "flat" can be judged.

The ledger is tests/ledgers.py's (`generate_ledger` + `write_xlsx`: a merged title, a two-row
header, blank rows between pages, dates in seven forms, a totals footer), its units the
tests' world (tests/builders.build_world: 下仓镇, 邦均镇 and 区住建委, named in the ledger by
its alias 住房和城乡建设委员会), its leaders three of the world's. Each size goes through what
`reception import cases` does: the upload (here, in this process), then the dry run and the
import, each in its own transaction and each in a fresh child process (actor None), so that
the process's peak resident size measures that step alone: printed as its growth, the peak
after the call less the resident size just before it. The peak is /proc/self/status VmHWM,
reset before the call (clear_refs 5), not `ru_maxrss`: Linux carries ru_maxrss over from the
parent across fork and exec (the child starts with this process's peak), so its before/after
difference would hide the step's growth; both are in the child's line. Python's own allocations are measured by
tracemalloc's peak in a second, traced pass on another fresh database (tracemalloc slows
allocation-heavy code, so the timed pass runs without it).

Baselines in the same run: a bare `COPY` (asyncpg `copy_records_to_table`) of the same ledger
rows, as tuples of their 18 plain columns, into a scratch table of 18 integer/text/date/boolean
columns; and reading the XLSX alone with the importer's reader (openpyxl, read-only),
which the dry run and the import both do. Target: the import at >= 500 rows/s.

Databases `reception_bench_<random>_*` on postgresql://postgres@127.0.0.1:5432 (override with
RECEPTION_BENCH_PG_URL), dropped at the end.

    .venv/bin/python bench/imports.py [--rows 50000] [--small 10000] [--no-trace]
    .venv/bin/python bench/imports.py --profile 5000   # cProfile of a dry run and an import
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("RECEPTION_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
TARGET_ROWS_PER_S = 500
# "Flat": the Python peak at --rows at most this many times the peak at --small.
FLAT_RATIO = 1.25
SEED = 28
YEAR = 2020
UNITS = ["下仓镇", "邦均镇", "住房和城乡建设委员会"]
# Three of the world's leaders (build_world's, the first three by name, as the test takes them).
LEADERS = sorted(("李某乙", "张某丙", "刘某丁", "周某镇", "吴某镇"))[:3]
# What the import writes besides petition_case (counted after the timed import).
WRITTEN = (
    "petition_case",
    "case_petitioner",
    "case_clock",
    "case_event",
    "case_evaluation",
    "case_ownership",
    "import_record",
)
COPY_COLUMNS = (
    ("number", "integer"), ("registered_on", "date"), ("name", "text"), ("id_number", "text"),
    ("phone", "text"), ("address", "text"), ("channel", "text"), ("summary", "text"),
    ("category", "text"), ("unit", "text"), ("repeat", "boolean"), ("accepted_on", "date"),
    ("replied_on", "date"), ("outcome", "text"), ("resolved", "boolean"),
    ("satisfaction", "text"), ("owner", "text"), ("note", "text"),
)  # fmt: skip


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


def settings_for(db: str, data_dir: Path) -> Any:
    from tests.live import TEST_KEYS

    from reception.config import Settings

    return Settings(
        database_url=url(db),
        data_dir=data_dir,
        data_keys=TEST_KEYS,
        cipher_suite="aes",
        outbox_worker=False,
        pdf_ahead=False,
    )


def proc_status(key: str) -> float:
    """A size from /proc/self/status, in MB (VmRSS: resident now; VmHWM: its peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {key} in /proc/self/status")


def reset_peak() -> None:
    """Start VmHWM again from the resident size now (Linux >= 4.0: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # VmHWM then also holds the child's start-up peak: still small


def ru_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- one step, in a child


async def child_step(args: argparse.Namespace) -> dict[str, Any]:
    """One dry run or import of a batch already uploaded, measured in this fresh process."""
    import openpyxl  # noqa: F401  (the reader's import is not the step's memory)
    from sqlalchemy import text

    from reception.context import Context
    from reception.db import create_engine, create_sessionmaker
    from reception.imports import runs
    from reception.notify import outbox

    outbox.listen()  # as `reception import cases` does
    ctx = Context.of(settings_for(args.db, Path(args.data_dir)))
    engine = create_engine(ctx.settings)
    maker = create_sessionmaker(engine, ctx.clock, ctx.keys)
    try:
        async with maker() as s:
            await s.execute(text("SELECT 1"))
        gc.collect()
        reset_peak()
        before, ru_before = proc_status("VmRSS"), ru_maxrss_mb()
        if args.trace:
            tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        async with maker() as s:
            if args.child == "dry":
                _, outcome, _ = await runs.dry_run(
                    session=s, ctx=ctx, actor=None, batch_id=args.batch
                )
            else:
                _, outcome = await runs.run_import(
                    session=s, ctx=ctx, actor=None, batch_id=args.batch
                )
            await s.commit()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = tracemalloc.get_traced_memory()[1] if args.trace else 0
        if args.trace:
            tracemalloc.stop()
        return {
            "seconds": seconds,
            "cpu": cpu,
            "rss_before": before,
            "rss_after": proc_status("VmHWM"),
            "ru_maxrss": [ru_before, ru_maxrss_mb()],
            "py_peak": peak / 1024 / 1024,
            "rows": outcome.rows,
            "counts": runs.shown_counts(outcome),
        }
    finally:
        await engine.dispose()


def run_child(step: str, db: str, batch_id: int, data_dir: Path, trace: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", step, "--db", db, "--batch", str(batch_id)]
    command += ["--data-dir", str(data_dir)] + (["--trace"] if trace else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{step} in {db} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return result


# ---------------------------------------------------------------- the parent


@dataclass
class Size:
    rows: int
    path: Path
    ledger: list[Any]
    leaders: list[str]
    made_s: float
    timed: dict[str, dict[str, Any]] = field(default_factory=dict)
    traced: dict[str, dict[str, Any]] = field(default_factory=dict)
    upload_s: float = 0.0
    written: dict[str, int] = field(default_factory=dict)
    copy_s: float = 0.0
    read_s: float = 0.0


async def fresh_database(db: str, data_dir: Path) -> tuple[Any, Any, Any, list[str]]:
    """A migrated database with the tests' world: (engine, maker, world, three leader names)."""
    from sqlalchemy import select
    from tests.builders import build_world

    from reception.context import Context
    from reception.db import create_engine, create_sessionmaker, migrate
    from reception.org.models import Leader

    await admin(f'CREATE DATABASE "{db}"')
    await asyncio.to_thread(migrate, url(db), "upgrade", "head")
    ctx = Context.of(settings_for(db, data_dir))
    engine = create_engine(ctx.settings)
    maker = create_sessionmaker(engine, ctx.clock, ctx.keys)
    world = await build_world(maker)
    async with maker() as s:
        leaders = sorted((await s.scalars(select(Leader.name))).all())[:3]
    return engine, maker, world, leaders


async def upload(maker: Any, db: str, data_dir: Path, world: Any, path: Path) -> tuple[int, float]:
    from reception.context import Context
    from reception.imports import service

    ctx = Context.of(settings_for(db, data_dir))
    data = await asyncio.to_thread(path.read_bytes)
    t0 = time.perf_counter()
    async with maker() as s:
        batch = await service.upload(
            session=s,
            ctx=ctx,
            actor=None,
            kind="cases",
            file_name=path.name,
            data=data,
            default_unit_id=world.district,
        )
        await s.commit()
    return batch.id or 0, time.perf_counter() - t0


def make_ledger(rows: int, leaders: list[str], tmp: Path) -> Size:
    from tests.ledgers import generate_ledger, write_xlsx

    t0 = time.perf_counter()
    ledger = generate_ledger(seed=SEED, rows=rows, year=YEAR, units=UNITS, leaders=leaders)
    path = tmp / f"ledger_{rows}.xlsx"
    write_xlsx(ledger, path)
    made = time.perf_counter() - t0
    print(
        f"ledger of {rows:,} rows generated and written in {made:.1f} s"
        f" ({path.stat().st_size / 1024 / 1024:.1f} MB XLSX)",
        flush=True,
    )
    return Size(rows, path, ledger, leaders, made)


async def copy_floor(db: str, size: Size) -> float:
    """A bare COPY of the ledger's rows (their 18 plain columns) into a scratch table."""
    import asyncpg

    records = [tuple(getattr(r, f.name) for f in fields(r)) for r in size.ledger]
    conn = await asyncpg.connect(url(db, "postgresql"))
    try:
        columns = ", ".join(f"{n} {t}" for n, t in COPY_COLUMNS)
        await conn.execute(f"CREATE TABLE bench_ledger_copy ({columns})")
        t0 = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "bench_ledger_copy", records=records, columns=[n for n, _ in COPY_COLUMNS]
            )
        took = time.perf_counter() - t0
        copied = await conn.fetchval("SELECT count(*) FROM bench_ledger_copy")
        if copied != size.rows:
            raise SystemExit(f"COPY put {copied} rows, not {size.rows}")
        return took
    finally:
        await conn.close()


def read_floor(size: Size) -> float:
    """Reading every row of the XLSX with the importer's reader, nothing else."""
    from reception.imports.reading import Workbook

    t0 = time.perf_counter()
    book = Workbook(size.path.read_bytes())
    n = sum(1 for _ in book.rows(book.sheet(None)))
    took = time.perf_counter() - t0
    if n < size.rows:
        raise SystemExit(f"read {n} rows, fewer than {size.rows}")
    return took


async def written(engine: Any) -> dict[str, int]:
    from sqlalchemy import text

    async with engine.connect() as c:
        return {t: int(await c.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in WRITTEN}


async def one_pass(size: Size, prefix: str, tmp: Path, trace: bool) -> None:
    """Upload, dry run and import of the size's ledger on a fresh database (timed or traced)."""
    label = "traced" if trace else "timed"
    db = f"{prefix}_{size.rows}_{label}"
    data_dir = tmp / db
    data_dir.mkdir()
    engine = None
    try:
        engine, maker, world, leaders = await fresh_database(db, data_dir)
        if leaders != size.leaders:
            raise SystemExit(f"the ledger names leaders {size.leaders}, the world has {leaders}")
        batch_id, upload_s = await upload(maker, db, data_dir, world, size.path)
        into = size.traced if trace else size.timed
        for step in ("dry", "import"):
            into[step] = r = run_child(step, db, batch_id, data_dir, trace)
            print(
                f"  {size.rows:,} rows, {label}: {step} {r['seconds']:.1f} s"
                f" (CPU of the process {r['cpu']:.1f} s), RSS {r['rss_before']:.0f} MB before,"
                f" peak {r['rss_after']:.0f} MB (ru_maxrss {r['ru_maxrss'][0]:.0f} →"
                f" {r['ru_maxrss'][1]:.0f} MB)"
                + (f", Python peak {r['py_peak']:.1f} MB" if trace else "")
                + f"; {r['counts']}",
                flush=True,
            )
        if into["dry"]["counts"] != into["import"]["counts"]:
            raise SystemExit(f"the dry run and the import disagree: {into}")
        if not trace:
            size.upload_s = upload_s
            size.written = await written(engine)
            size.copy_s = await copy_floor(db, size)
            size.read_s = await asyncio.to_thread(read_floor, size)
            print(
                f"  {size.rows:,} rows: upload {upload_s:.2f} s; bare COPY {size.copy_s:.2f} s;"
                f" reading the XLSX alone {size.read_s:.1f} s; the import wrote"
                f" {sum(size.written.values()):,} rows: {size.written}",
                flush=True,
            )
    finally:
        if engine is not None:
            await engine.dispose()
        await admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def report(sizes: list[Size]) -> bool:
    big = sizes[-1]
    print()
    head = (
        f"{'what':<34} {'rows':>7} {'seconds':>8} {'rows/s':>8} {'RSS growth':>11}"
        f" {'Python peak':>12}"
    )
    print(head)
    print("-" * len(head))
    for s in sizes:
        for step, what in (("dry", "dry run"), ("import", "import (one transaction)")):
            t = s.timed[step]
            growth = t["rss_after"] - t["rss_before"]
            traced = f"{s.traced[step]['py_peak']:>9.1f} MB" if s.traced else f"{'-':>12}"
            print(
                f"{what:<34} {s.rows:>7,} {t['seconds']:>8.1f} {rate(s.rows, t['seconds']):>8}"
                f" {growth:>8.0f} MB {traced}"
            )
    for s in sizes:
        print(f"{'baseline: read the XLSX alone':<34} {s.rows:>7,} {s.read_s:>8.1f}"
              f" {rate(s.rows, s.read_s):>8}")  # fmt: skip
        print(f"{'baseline: bare COPY of the rows':<34} {s.rows:>7,} {s.copy_s:>8.2f}"
              f" {rate(s.rows, s.copy_s):>8}")  # fmt: skip
    print()
    imp, dry = big.timed["import"], big.timed["dry"]
    speed = big.rows / imp["seconds"]
    met = speed >= TARGET_ROWS_PER_S
    print(
        f"import of {big.rows:,} rows: {speed:,.0f} rows/s — target >= {TARGET_ROWS_PER_S}"
        f" rows/s: {'met' if met else 'NOT met'}; it takes {imp['seconds'] / big.copy_s:,.0f}x the"
        f" time of a bare COPY of the same rows ({big.rows / big.copy_s:,.0f} rows/s), and"
        f" {imp['seconds'] / dry['seconds']:.1f}x the dry run's; it wrote"
        f" {sum(big.written.values()) / big.rows:.1f} rows per ledger row"
    )
    print(
        f"dry run of {big.rows:,} rows: {big.rows / dry['seconds']:,.0f} rows/s; reading the"
        f" XLSX alone is {big.read_s / dry['seconds']:.0%} of the dry run's time, and"
        f" {big.read_s / imp['seconds']:.0%} of the import's; this process's CPU is"
        f" {dry['cpu'] / dry['seconds']:.0%} of the dry run's wall time,"
        f" {imp['cpu'] / imp['seconds']:.0%} of the import's"
    )
    flat = True
    if len(sizes) > 1 and big.traced:
        small = sizes[0]
        for step, what in (("dry", "dry run"), ("import", "import")):
            a, b = small.traced[step]["py_peak"], big.traced[step]["py_peak"]
            ra = small.timed[step]["rss_after"] - small.timed[step]["rss_before"]
            rb = big.timed[step]["rss_after"] - big.timed[step]["rss_before"]
            per_row = (b - a) * 1024 * 1024 / (big.rows - small.rows)
            ok = b <= FLAT_RATIO * a
            flat &= ok
            verdict = (
                "flat"
                if ok
                else f"NOT flat: it grows with the rows, ~{per_row / 1024:.1f} KB per row"
                f" ({b / a:.1f}x the memory for {big.rows / small.rows:.0f}x the rows)"
            )
            print(
                f"memory of the {what}: Python peak {a:.1f} MB at {small.rows:,} rows,"
                f" {b:.1f} MB at {big.rows:,} rows; RSS growth {ra:.0f} → {rb:.0f} MB"
                f" — {verdict} (flat: <= {FLAT_RATIO}x)"
            )
    return met and flat


async def bench(args: argparse.Namespace) -> bool:
    prefix = f"reception_bench_{uuid.uuid4().hex[:8]}"
    counts = sorted({n for n in (args.small, args.rows) if 0 < n <= args.rows})
    print(
        f"ledger import bench: {' and '.join(f'{n:,}' for n in counts)} rows on PostgreSQL;"
        f" load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    sizes: list[Size] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for n in counts:
            size = make_ledger(n, LEADERS, tmp)
            await one_pass(size, prefix, tmp, trace=False)
            if not args.no_trace:
                await one_pass(size, prefix, tmp, trace=True)
            sizes.append(size)
    ok = report(sizes)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return ok


# ---------------------------------------------------------------- --profile


async def profile(args: argparse.Namespace) -> None:
    """cProfile of a dry run and an import of --profile rows, in this process."""
    from reception.context import Context
    from reception.imports import runs
    from reception.notify import outbox

    outbox.listen()
    db = f"reception_bench_{uuid.uuid4().hex[:8]}_profile"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        engine = None
        try:
            engine, maker, world, leaders = await fresh_database(db, tmp)
            size = make_ledger(args.profile, leaders, tmp)
            batch_id, _ = await upload(maker, db, tmp, world, size.path)
            ctx = Context.of(settings_for(db, tmp))
            for step in ("dry", "import"):
                profiler = cProfile.Profile()
                t0 = time.perf_counter()
                profiler.enable()
                async with maker() as s:
                    if step == "dry":
                        await runs.dry_run(session=s, ctx=ctx, actor=None, batch_id=batch_id)
                    else:
                        await runs.run_import(session=s, ctx=ctx, actor=None, batch_id=batch_id)
                    await s.commit()
                profiler.disable()
                took = time.perf_counter() - t0
                print(f"\n=== {step}: {size.rows:,} rows in {took:.1f} s under cProfile")
                for order in ("tottime", "cumulative"):
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
                    print(out.getvalue())
        finally:
            if engine is not None:
                await engine.dispose()
            await admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=10_000, help="the size memory is compared at")
    parser.add_argument(
        "--no-trace", action="store_true", help="skip the tracemalloc passes (RSS only)"
    )
    parser.add_argument("--profile", type=int, default=0, help="only profile N rows (cProfile)")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    parser.add_argument("--child", choices=("dry", "import"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("RECEPTION_LOG_LEVEL", "WARNING")
    if args.child:
        print("RESULT " + json.dumps(asyncio.run(child_step(args))), flush=True)
        return
    if args.profile:
        asyncio.run(profile(args))
        return
    sys.exit(0 if asyncio.run(bench(args)) else 1)


if __name__ == "__main__":
    main()
