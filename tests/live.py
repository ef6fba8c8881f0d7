"""A real `reception serve` process (several workers) for tests that need true concurrency."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

RECEPTION = str(Path(sys.executable).parent / "reception")

# Throwaway data keys (fixed, so the app, the CLI and server processes of a test run or a
# benchmark share them): an AES-256 key (t1) and an SM4 key (s1), each active for its suite.
# Never a deployment's keys.
TEST_KEYS = (
    '{"active": {"aes": "t1", "sm": "s1"}, "data": {"t1": '
    '"dGVzdC1kYXRhLWtleS0wMDAwMDAwMDAwMDAwMDAwMDE=", "s1": "dGVzdC1zbTQta2V5LTAwMQ=="},'
    ' "index": "dGVzdC1pbmRleC1rZXktMDAwMDAwMDAwMDAwMDAwMDI="}'
)


def suite_for(database_url: str) -> str:
    """The cipher suite a test seals with: SM4/SM3 on SQLite, AES/SHA-256 on PostgreSQL — so
    the whole suite runs under both; the tests of the suites themselves (tests/test_sm_suite.py)
    run both on both databases."""
    return "sm" if database_url.startswith("sqlite") else "aes"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(
    database_url: str,
    *,
    workers: int = 2,
    now: str | None = "tests",
    env: dict[str, str] | None = None,
    started: list[subprocess.Popen[str]] | None = None,
) -> Iterator[str]:
    """`now`: the server's clock starts at the tests' "now" (default), at this ISO instant,
    or (None) runs on the real time, as benchmarks do. `env`: more of the environment;
    `started` receives the process (a test that kills it)."""
    port = free_port()
    from tests.conftest import NOW

    extra = env or {}
    env = {
        "RECEPTION_DATA_KEYS": TEST_KEYS,
        **os.environ,
        "RECEPTION_DATABASE_URL": database_url,
        "RECEPTION_CIPHER_SUITE": suite_for(database_url),
        "RECEPTION_LOG_LEVEL": "WARNING",
        **extra,
    }
    # The server works out its own public URL (serve's default), as on a fresh install.
    env.pop("RECEPTION_PUBLIC_URL", None)
    if now is not None:
        env["RECEPTION_NOW"] = NOW if now == "tests" else now
    proc = subprocess.Popen(
        [RECEPTION, "serve", "--no-migrate", "--workers", str(workers), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if started is not None:
        started.append(proc)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        # Shown by pytest when a test fails: the server's own account of any error.
        print(output[-20_000:] if output else "(no server output)")
