"""Registration benchmark (#26 item 3): CPU and statements per case registered, this tree
against the code at --baseline, in interleaved rounds.

Each variant runs in a subprocess of its own (PYTHONPATH=<variant>/src; the baseline is a
temporary `git worktree`, removed at the end), against a fresh PostgreSQL database of its own
migrated by its own code, with the same world (tests.builders.build_world) and the service
in-process (httpx over ASGI, no network): --warmup unmeasured registrations, then one request
whose SQL statements are counted (a SQLAlchemy listener), then --per-round registrations per
round, each POST /api/cases by a township clerk with one petitioner (a distinct valid ID
number, phone and address: no repeat candidates). The CPU is the process's (service and
client together, `time.process_time`), so compare the two variants, not the absolute figure.
Rounds alternate the variants' order (base, tree | tree, base | …); the verdict is the median
of the per-round ratios tree / base. Target: the tree no slower than the baseline (≤ 1.0×),
with fewer statements.

Databases: `reception_bench_<random>_<variant>` on postgresql://postgres@127.0.0.1:5432
(override with RECEPTION_BENCH_PG_URL), dropped at the end.

    .venv/bin/python bench/registration.py [--baseline 385fc45] [--rounds 4] [--per-round 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.0


def child(database: str, warmup: int, per_round: int, rounds: int) -> None:
    """One variant: set up, then answer one line of JSON per round asked on stdin."""
    import logging

    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(1, str(ROOT))
    import suites
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from tests.builders import case_body

    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def run() -> None:
        s = suites.Suite("aes", database, Path(tempfile.mkdtemp()))
        await s.setup(0)
        counter = iter(range(10**6))

        async def register(c: Any) -> None:
            n = next(counter)
            body = case_body(
                s.world,
                petitioners=[
                    {
                        "name": f"信访人{n}",
                        "id_number": suites.valid_id(600_000 + n),
                        "phone": f"137{n:08d}",
                        "address": f"某区某街道{n}号",
                    }
                ],
            )
            r = await c.post("/api/cases", json=body, headers=s.auth("clerk_a"))
            if r.status_code != 201:
                raise SystemExit(f"registration {r.status_code} {r.text[:200]}")

        async with s.client() as c:
            for _ in range(warmup):
                await register(c)
            statements: list[str] = []

            def count(*args: Any) -> None:
                statements.append(args[2])

            event.listen(Engine, "before_cursor_execute", count)
            await register(c)
            event.remove(Engine, "before_cursor_execute", count)
            print(json.dumps({"statements": len(statements)}), flush=True)
            for _ in range(rounds):
                sys.stdin.readline()
                started = time.process_time()
                for _ in range(per_round):
                    await register(c)
                ms = (time.process_time() - started) * 1000 / per_round
                print(json.dumps({"cpu_ms": ms}), flush=True)
        s.app = None

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="385fc45", help="the code before #26 item 3")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.warmup, args.per_round, args.rounds)
        return
    sys.path.insert(0, str(ROOT / "bench"))
    import suites

    prefix = f"reception_bench_{uuid.uuid4().hex[:8]}"
    worktree = Path(tempfile.mkdtemp()) / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(worktree), args.baseline],
        check=True,
    )
    variants = {"base": worktree / "src", "tree": ROOT / "src"}
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for name, src in variants.items():
            asyncio.run(suites.admin(f'CREATE DATABASE "{prefix}_{name}"'))
            procs[name] = subprocess.Popen(
                [sys.executable, __file__, "--child", f"{prefix}_{name}"]
                + [f"--{k}={getattr(args, k.replace('-', '_'))}" for k in ("rounds", "warmup")]
                + [f"--per-round={args.per_round}"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(src)},
            )
        counts = {n: json.loads(_line(p))["statements"] for n, p in procs.items()}
        cpu: dict[str, list[float]] = {n: [] for n in procs}
        for r in range(args.rounds):
            order = ["base", "tree"] if r % 2 == 0 else ["tree", "base"]
            for name in order:
                assert procs[name].stdin is not None
                procs[name].stdin.write("go\n")
                procs[name].stdin.flush()
                cpu[name].append(json.loads(_line(procs[name]))["cpu_ms"])
            print(
                f"round {r + 1} ({' then '.join(order)}): base {cpu['base'][-1]:.2f} ms, "
                f"tree {cpu['tree'][-1]:.2f} ms per registration",
                flush=True,
            )
        ratio = statistics.median(t / b for t, b in zip(cpu["tree"], cpu["base"], strict=True))
        print(
            f"\nstatements per registration: base ({args.baseline}) {counts['base']}, "
            f"tree {counts['tree']}"
        )
        print(
            f"CPU per registration (process, service + client), medians: base "
            f"{statistics.median(cpu['base']):.2f} ms, tree {statistics.median(cpu['tree']):.2f} ms"
        )
        met = ratio <= TARGET and counts["tree"] < counts["base"]
        print(
            f"tree / base = {ratio:.2f}x (median of the per-round ratios), "
            f"{counts['tree']} vs {counts['base']} statements  "
            f"(target <= {TARGET:g}x with fewer statements: {'met' if met else 'NOT met'})"
        )
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
        for name in variants:
            asyncio.run(suites.admin(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)'))
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False
        )


def _line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("a variant stopped: see its output above")
    return line


if __name__ == "__main__":
    main()
