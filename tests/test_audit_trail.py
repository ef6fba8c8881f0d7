"""The audit trail shows tampering (等保三级): the hash chain, the signed daily checkpoints,
the database's refusals, archiving past the retention — on both databases, with writers at
the same time."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit import chain, service
from reception.audit.models import AuditEvent
from reception.config import Settings
from reception.context import Context, FixedClock
from reception.crypto import Keyring
from reception.db import create_sessionmaker
from tests.builders import World, at, build_world, future_workday
from tests.conftest import auth
from tests.live import RECEPTION, TEST_KEYS, serve, suite_for


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def _verify(maker: async_sessionmaker[AsyncSession], ctx: Context) -> chain.Verdict:
    async with maker() as s:
        return await service.verify_trail(session=s, audit_key=ctx.keys.audit_seal()[1])


async def _tamper(maker: async_sessionmaker[AsyncSession], backend: str, sql: str) -> None:
    """What an administrator with database access can do: set the triggers aside, edit."""
    async with maker() as s:
        if backend == "postgresql":
            await s.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            await s.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER"))
            await s.execute(text(sql))
            await s.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
            await s.execute(text("ALTER TABLE audit_checkpoint ENABLE TRIGGER USER"))
        else:
            triggers = (
                await s.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                        " AND tbl_name IN ('audit_event', 'audit_checkpoint')"
                    )
                )
            ).all()
            for name, _ in triggers:
                await s.execute(text(f"DROP TRIGGER {name}"))
            await s.execute(text(sql))
            for _, definition in triggers:
                await s.execute(text(definition))
        await s.commit()


async def _writes(client: httpx.AsyncClient, world: World, count: int) -> None:
    admin = auth(world.tokens["admin"])
    for n in range(count):
        r = await client.patch(
            f"/api/venues/{world.venue}", json={"capacity": 10 + n}, headers=admin
        )
        assert r.status_code == 200, r.text


async def test_a_hand_edited_row_is_found_by_verify(
    client: httpx.AsyncClient,
    world: World,
    ctx: Context,
    backend: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _writes(client, world, 5)
    verdict = await _verify(sessionmaker, ctx)
    assert verdict.intact and verdict.checked >= 5, verdict.summary()
    assert "完整" in verdict.summary()
    async with sessionmaker() as s:
        rows = (await s.execute(text("SELECT id, chain FROM audit_event ORDER BY id"))).all()
    prefix = {"aes": "sha256:", "sm": "sm3:"}[ctx.keys.suite]
    assert all(c.startswith(prefix) for _, c in rows)
    victim = rows[-3][0]
    # The edit an insider would make: who changed the venue.
    edited = json.dumps({"capacity": 99})
    await _tamper(
        sessionmaker, backend, f"UPDATE audit_event SET after = '{edited}' WHERE id = {victim}"
    )
    verdict = await _verify(sessionmaker, ctx)
    assert not verdict.intact and verdict.first_broken is not None
    assert verdict.first_broken.row_id == victim
    assert f"第 {victim} 号记录" in verdict.summary() and "被改动" in verdict.summary()


async def test_a_deleted_row_and_a_cut_tail_are_found(
    client: httpx.AsyncClient,
    world: World,
    ctx: Context,
    backend: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _writes(client, world, 4)
    async with sessionmaker() as s:
        ids = list((await s.scalars(text("SELECT id FROM audit_event ORDER BY id"))).all())
    await _tamper(sessionmaker, backend, f"DELETE FROM audit_event WHERE id = {ids[-2]}")
    verdict = await _verify(sessionmaker, ctx)
    assert verdict.first_broken is not None and verdict.first_broken.row_id == ids[-1]
    # The last rows removed (nothing after them to break): the head still names them.
    await _tamper(sessionmaker, backend, f"DELETE FROM audit_event WHERE id >= {ids[-2]}")
    verdict = await _verify(sessionmaker, ctx)
    assert verdict.first_broken is not None and "缺失" in verdict.first_broken.reason


async def test_the_database_refuses_to_change_or_delete_a_recent_row(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _writes(client, world, 1)
    for sql in (
        "UPDATE audit_event SET actor_name = '某人'",
        "DELETE FROM audit_event",
        "UPDATE audit_head SET chain = chain",  # the head moves, its rows do not
    ):
        async with sessionmaker() as s:
            if sql.startswith("UPDATE audit_head"):
                await s.execute(text(sql))
                continue
            with pytest.raises(Exception, match="audit_event rows are kept"):
                await s.execute(text(sql))


async def test_each_day_is_closed_by_a_signed_checkpoint(
    settings: Settings,
    world: World,
    backend: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: Any,
) -> None:
    """Writes on three days: two checkpoints, each MAC'd with the audit key; a checkpoint
    rewritten without the key is found, and so is a row edited with its chain recomputed
    (the checkpoint no longer matches)."""
    keys = Keyring.parse(TEST_KEYS, "test", settings.cipher_suite)
    engine = app.state.engine
    start = datetime.fromisoformat("2026-12-01T10:00:00+08:00")
    for day in range(3):
        clock = FixedClock(start + timedelta(days=day))
        maker = create_sessionmaker(engine, clock, keys)
        async with maker() as s:
            for n in range(2):
                await service.record(
                    session=s,
                    actor=None,
                    action="venue.update",
                    target_type="venue",
                    target_id=world.venue,
                    after={"capacity": day * 10 + n},
                )
            await s.commit()
    ctx = Context.of(settings, FixedClock(start), keys)
    verdict = await _verify(sessionmaker, ctx)
    assert verdict.intact and verdict.checkpoints == 2, verdict.summary()
    async with sessionmaker() as s:
        days = (await s.execute(text("SELECT day, last_id, chain FROM audit_checkpoint"))).all()
    first = days[0]
    # Rewriting a closed day's last row and recomputing the chain from there on still
    # leaves the signed checkpoint pointing at the old chain.
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    async with sessionmaker() as s:
        rows = (await s.execute(select(t).order_by(t.c.id))).mappings().all()
    at_day_end = next(i for i, r in enumerate(rows) if r["id"] == first.last_id)
    forged = dict(rows[at_day_end]) | {"actor_name": "伪造"}
    previous = rows[at_day_end - 1]["chain"]
    new_chain = chain.link(previous, chain.canonical(forged), settings.cipher_suite)
    await _tamper(
        sessionmaker,
        backend,
        f"UPDATE audit_event SET actor_name = '伪造', chain = '{new_chain}'"
        f" WHERE id = {first.last_id}",
    )
    verdict = await _verify(sessionmaker, ctx)
    assert verdict.first_broken is not None
    # Forging the checkpoint too needs the audit key: without it, its MAC gives it away.
    await _tamper(
        sessionmaker,
        backend,
        f"UPDATE audit_checkpoint SET chain = '{new_chain}' WHERE last_id = {first.last_id}",
    )
    verdict = await _verify(sessionmaker, ctx)
    assert verdict.first_broken is not None and "签名不符" in verdict.first_broken.reason


async def test_archiving_exports_then_removes_only_what_is_past_the_retention(
    settings: Settings,
    app: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    """Rows of a year ago (older than 180 days by the database's own clock too) go to a JSONL
    file with its checksum; the rows kept still verify from where the archive ended."""
    keys = Keyring.parse(TEST_KEYS, "test", settings.cipher_suite)
    old = datetime.now().astimezone() - timedelta(days=400)
    for when, count in ((old, 3), (datetime.now().astimezone() - timedelta(days=10), 2)):
        async with create_sessionmaker(app.state.engine, FixedClock(when), keys)() as s:
            for n in range(count):
                await service.record(
                    session=s,
                    actor=None,
                    action="venue.update",
                    target_type="venue",
                    target_id=1,
                    after={"n": n},
                )
            await s.commit()
    out = tmp_path / "audit-2025.jsonl"
    async with sessionmaker() as s:
        count, sums = await service.archive(
            session=s,
            now=datetime.now().astimezone(),
            retention_days=180,
            before=None,
            suite=settings.cipher_suite,
            out=out,
        )
        await s.commit()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert count == len(lines) == 3 and [r["after"]["n"] for r in lines] == [0, 1, 2]
    async with sessionmaker() as s:
        kept = await s.scalar(text("SELECT count(*) FROM audit_event"))
    assert kept == 2
    assert out.stat().st_mode & 0o777 == 0o600 and sums is not None
    digest = sums.read_text().split()[0]
    algorithm = sums.suffix.lstrip(".")
    assert f"{algorithm}:{digest}" == keys.checksum(out.read_bytes())
    ctx = Context.of(settings, FixedClock(datetime.now().astimezone()), keys)
    verdict = await _verify(sessionmaker, ctx)
    assert verdict.intact, verdict.summary()


def test_retention_under_six_months_is_refused() -> None:
    with pytest.raises(ValueError, match="180"):
        Settings(audit_retention_days=90)


async def test_the_chain_holds_under_concurrent_writers_and_the_cli_verifies_it(
    client: httpx.AsyncClient,
    world: World,
    database_url: str,
    tmp_path: Path,
    backend: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Two server processes book at once: every audit row is chained in commit order, and
    `reception audit verify` says so; after a hand edit it names the row and exits 1."""
    day = future_workday()
    secretary = auth(world.tokens["secretary"])
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, "11:00"),
            "slot_minutes": 30,
            "people_per_slot": 50,
        },
        headers=secretary,
    )
    assert r.status_code == 201, r.text
    session_id = r.json()["id"]
    with serve(database_url, workers=2) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as live:

            async def book(n: int) -> None:
                r = await live.post(
                    f"/api/sessions/{session_id}/appointments",
                    json={
                        "petitioner_name": f"来访人{n}",
                        "petitioner_phone": f"1350000{n:04d}",
                        "matter_summary": "反映拆迁补偿问题",
                    },
                    headers=secretary,
                )
                assert r.status_code == 201, r.text

            await asyncio.gather(*(book(n) for n in range(24)))
    env = {
        **os.environ,
        "RECEPTION_DATABASE_URL": database_url,
        "RECEPTION_DATA_DIR": str(tmp_path),
        "RECEPTION_CIPHER_SUITE": suite_for(database_url),
    }
    ok = await asyncio.to_thread(
        subprocess.run,
        [RECEPTION, "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and "审计记录完整" in ok.stdout, ok.stdout + ok.stderr
    async with sessionmaker() as s:
        count = await s.scalar(
            text("SELECT count(*) FROM audit_event WHERE action = 'appointment.create'")
        )
        victim = await s.scalar(text("SELECT max(id) - 5 FROM audit_event"))
    assert count == 24
    await _tamper(
        sessionmaker, backend, f"UPDATE audit_event SET actor_name = 'x' WHERE id = {victim}"
    )
    bad = await asyncio.to_thread(
        subprocess.run,
        [RECEPTION, "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and f"第 {victim} 号记录" in bad.stdout, bad.stdout + bad.stderr


async def test_reading_whole_values_is_audited_and_masked_reads_are_not(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The handling clerk opens the case (whole ID number and phone): one audit row naming
    the fields, never the values; the reviewer's masked view writes none."""
    from tests.builders import case_body

    clerk = auth(world.tokens["clerk_a"])
    r = await client.post("/api/cases", json=case_body(world), headers=clerk)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    async with sessionmaker() as s:
        before = await s.scalar(text("SELECT count(*) FROM audit_event WHERE action = 'pii.read'"))
    r = await client.get(f"/api/cases/{case_id}", headers=clerk)
    assert r.status_code == 200
    r = await client.get(f"/api/cases/{case_id}", headers=auth(world.tokens["reviewer"]))
    assert r.status_code == 200
    async with sessionmaker() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT actor_name, target_type, target_id, after FROM audit_event"
                    " WHERE action = 'pii.read' ORDER BY id"
                )
            )
        ).all()
    new = rows[before:]
    assert len(new) == 1, new
    actor, kind, target_id, after = new[0]
    after = json.loads(after) if isinstance(after, str) else after
    assert (kind, target_id) == ("petition_case", str(case_id))
    assert "id_number" in after["fields"] and actor == "褚某记"
    person = case_body(world)["petitioners"][0]
    assert person["id_number"] not in json.dumps(after)
