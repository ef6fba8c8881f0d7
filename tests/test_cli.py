"""The `reception` command through its real entry point (the installed console script)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from reception.org.models import ApiToken, Leader, Unit, User, Venue
from reception.scheduling.models import Appointment, ReceptionSession
from tests.builders import TODAY
from tests.conftest import NOW, auth
from tests.live import serve

RECEPTION = str(Path(sys.executable).parent / "reception")


def run(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # The command's clock starts at the tests' "now", like the app's in every other test; its
    # data directory (demo tokens) is the test database's own, never the clone's ./data.
    data_dir = Path(tempfile.gettempdir()) / f"reception-cli-{abs(hash(database_url))}"
    env = {
        **os.environ,
        "RECEPTION_DATABASE_URL": database_url,
        "RECEPTION_NOW": NOW,
        "RECEPTION_DATA_DIR": str(data_dir),
    }
    # A backstop against a hung command, not a measurement (10x a busy machine's time).
    result = subprocess.run(
        [RECEPTION, *args], env=env, capture_output=True, text=True, timeout=600
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
    # A small demo: the whole year takes half a minute and would make this a timed test.
    first = run(db_url, "demo", "--cases", "40").stdout
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
    again = run(db_url, "demo", "--cases", "40").stdout
    assert "0 new rules, 0 new reception sessions, 0 appointments, 0 field visits" in again
    # The same tokens again, not ten more live ones per run.
    tokens = sorted(re.findall(r"rcp_[\w-]+", first))
    assert len(tokens) == 11 and sorted(re.findall(r"rcp_[\w-]+", again)) == tokens
    async with sessionmaker() as s:
        live = await s.scalar(
            select(func.count()).select_from(ApiToken).where(col(ApiToken.revoked_at).is_(None))
        )
    assert live == 11
    assert await counts() == after_first
    async with sessionmaker() as s:
        per_leader = (
            await s.execute(
                select(ReceptionSession.leader_id, func.count())
                .where(ReceptionSession.kind == "reception")
                .group_by(ReceptionSession.leader_id)
            )
        ).all()
        assert len(per_leader) == 8 and {n for _, n in per_leader} == {12}
        assert await s.scalar(select(func.count()).select_from(Appointment)) > 50
    listed = run(db_url, "rules", "list").stdout.strip().splitlines()
    assert len(listed) == 8 and all("day 20 09:00-12:00" in line for line in listed)
    rule_id = listed[0].split()[0]
    # A year further on: 12 months already there are skipped, about 6 more are created.
    until = (TODAY + timedelta(days=366)).isoformat()
    out = run(db_url, "rules", "generate", rule_id, "--until", until).stdout.splitlines()
    assert 5 <= sum(line.startswith("created") for line in out) <= 7
    assert sum(line.startswith("skipped") for line in out) == 12
    refused = run(db_url, "rules", "generate", rule_id, "--until", "2099-01-01", check=False)
    assert refused.returncode == 1 and "最多生成3年内" in refused.stderr
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


async def test_calendar_and_rule_commands(db_url: str, tmp_path: Path) -> None:
    out = run(db_url, "calendar", "show", "2026").stdout
    assert out.startswith("2026: official") and "2026-09-20 日 班" in out
    # A year imported as provisional says so (not what the holidays package guesses for it).
    estimate = tmp_path / "estimate.json"
    estimate.write_text('{"holidays": ["2027-01-01"], "workdays": []}')
    out = run(db_url, "calendar", "import", "2027", "--json", str(estimate), "--provisional")
    assert "(provisional)" in out.stdout
    assert "PROVISIONAL" in run(db_url, "calendar", "show", "2027").stdout

    bad = tmp_path / "bad.json"
    bad.write_text('{"holidays": ["2027-02-30"]}')
    result = run(db_url, "calendar", "import", "2027", "--json", str(bad), check=False)
    assert result.returncode == 1 and "JSON 文件有误" in result.stderr
    good = tmp_path / "2027.json"
    good.write_text('{"holidays": ["2027-02-08", "2027-02-09"], "workdays": ["2027-02-20"]}')
    out = run(db_url, "calendar", "import", "2027", "--json", str(good)).stdout
    assert "2 holidays, 1 make-up working days (official)" in out
    assert "2027: official" in run(db_url, "calendar", "show", "2027").stdout
    assert "Demo schedule" not in run(db_url, "demo", "--org-only").stdout
    assert run(db_url, "rules", "list").stdout.strip() == ""


async def test_serve_on_one_worker_hands_out_feed_urls_on_its_own_port(db_url: str) -> None:
    """`serve --port P` with one worker and no RECEPTION_PUBLIC_URL: calendar apps must be
    sent to port P, not to the default 8000 (the settings are decided once, by `serve`)."""
    token = run(db_url, "user", "add", "王某管", "--role", "admin").stdout.strip().splitlines()[-1]
    with serve(db_url, workers=1) as base:
        port = base.rsplit(":", 1)[1]
        assert port != "8000"
        async with httpx.AsyncClient(base_url=base, headers=auth(token)) as c:
            unit = (await c.post("/api/units", json={"name": "蓟州区", "kind": "district"})).json()
            r = await c.post("/api/feeds", json={"scope": "unit", "unit_id": unit["id"]})
    assert r.status_code == 201, r.text
    assert r.json()["url"].startswith(f"http://127.0.0.1:{port}/feeds/fd_")
