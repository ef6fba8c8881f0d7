"""A real PostgreSQL primary and its streaming replica, made under a temp dir for the read-replica
tests with Debian's own server binaries: `initdb`, `pg_basebackup -R` (the replica's standby
settings written for it) and `pg_ctl`. The servers run as the `postgres` user when the tests run
as root (PostgreSQL refuses root). Nothing here is mocked: the replica replays the primary's WAL
over a replication connection, and `pause()` stops its replay like a lagging replica."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.live import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian: postgresql)")
    return found[-1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str]) -> None:
    done = subprocess.run(_as_postgres(args), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}\n{done.stderr}")


@dataclass
class PgPair:
    root: Path
    primary_port: int
    replica_port: int

    def url(self, port: int, database: str = "reception") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _dsn(self, port: int) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    async def _one(self, port: int, sql: str) -> object:
        conn = await asyncpg.connect(self._dsn(port), timeout=10)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    async def caught_up(self, within: float = 20.0) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        target = await self._one(self.primary_port, "SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            done = await self._one(
                self.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
            )
            if done:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the replica did not replay up to {target} in {within} s")

    async def pause(self) -> None:
        await self._one(self.replica_port, "SELECT pg_wal_replay_pause()::text")

    async def resume(self) -> None:
        await self._one(self.replica_port, "SELECT pg_wal_replay_resume()::text")

    async def is_replica(self) -> bool:
        return bool(await self._one(self.replica_port, "SELECT pg_is_in_recovery()"))

    def stop(self) -> None:
        for name in ("replica", "primary"):
            data = self.root / name
            if (data / "postmaster.pid").exists():
                subprocess.run(
                    _as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                    capture_output=True,
                    timeout=60,
                )
        shutil.rmtree(self.root, ignore_errors=True)


def _server_options(port: int, sockets: Path) -> str:
    # fsync off: these servers live for one test run; their durability is not under test.
    return (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c wal_level=replica -c max_wal_senders=4 -c hot_standby=on -c shared_buffers=32MB"
    )


def start_pair() -> PgPair:
    """initdb a primary, start it, clone it with pg_basebackup -R and start the replica."""
    root = Path(tempfile.mkdtemp(prefix="reception-pg-pair-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pair = PgPair(root, free_port(), free_port())
    try:
        primary, replica = root / "primary", root / "replica"
        _run([_bin("initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])  # fmt: skip
        _run([_bin("pg_ctl"), "-D", str(primary), "-l", str(root / "primary.log"), "-w",
              "-o", _server_options(pair.primary_port, root), "start"])  # fmt: skip
        _run([_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(pair.primary_port),
              "-U", "postgres", "-D", str(replica), "-R", "-X", "stream", "--no-sync"])  # fmt: skip
        _run([_bin("pg_ctl"), "-D", str(replica), "-l", str(root / "replica.log"), "-w",
              "-o", _server_options(pair.replica_port, root), "start"])  # fmt: skip
        _run([_bin("createdb"), "-h", "127.0.0.1", "-p", str(pair.primary_port),
              "-U", "postgres", "reception"])  # fmt: skip
    except BaseException:
        pair.stop()
        raise
    return pair
