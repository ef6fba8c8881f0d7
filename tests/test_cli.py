"""The `reception` command through its real entry point (the installed console script)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.org.models import Leader, Unit, User, Venue
from tests.conftest import auth

RECEPTION = str(Path(sys.executable).parent / "reception")


def run(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECEPTION_DATABASE_URL": database_url}
    result = subprocess.run(
        [RECEPTION, *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def db_url(database_url: str, app: object) -> str:
    # Depending on `app` empties the tables first.
    return database_url


async def test_user_add_prints_a_working_token_alone_on_the_last_line(
    db_url: str, client: httpx.AsyncClient
) -> None:
    result = run(db_url, "user", "add", "王某管", "--role", "admin")
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("rcp_") and " " not in token
    r = await client.get("/api/me", headers=auth(token))
    assert r.status_code == 200 and r.json()["name"] == "王某管"

    listing = run(db_url, "user", "list").stdout
    assert "王某管" in listing and "admin" in listing

    revoked = run(db_url, "token", "revoke", token)
    assert "revoked" in revoked.stdout
    assert (await client.get("/api/me", headers=auth(token))).status_code == 401


async def test_user_add_refuses_bad_input(db_url: str) -> None:
    result = run(db_url, "user", "add", "某登记", "--role", "clerk", check=False)
    assert result.returncode != 0
    assert "unit" in result.stderr.lower()
    result = run(db_url, "user", "add", "某", "--role", "king", check=False)
    assert result.returncode == 2


async def test_demo_is_idempotent(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = run(db_url, "demo").stdout
    assert "secretary" in first and "rcp_" in first

    async def counts() -> tuple[int, ...]:
        async with sessionmaker() as s:
            return tuple(
                [
                    await s.scalar(select(func.count()).select_from(m)) or 0
                    for m in (Unit, Leader, Venue, User)
                ]
            )

    after_first = await counts()
    run(db_url, "demo")
    assert await counts() == after_first
    async with sessionmaker() as s:
        townships = await s.scalar(
            select(func.count()).select_from(Unit).where(Unit.kind == "township")
        )
    assert townships == 27
    _units, leaders, venues, _users = after_first
    assert leaders == 8 + 27 and venues == 28


async def test_db_current_reports_head(db_url: str) -> None:
    out = run(db_url, "db", "current")
    assert "(head)" in out.stdout + out.stderr
