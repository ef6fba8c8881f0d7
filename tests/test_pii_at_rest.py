"""Petitioners' identity data at rest (#17): what a stolen database file holds, and that nobody
at the office notices the difference.

Planted values — an ID number, phones and an address no other test uses — go in through the
API (a case, its 受理告知书, a booking); then the raw database (the SQLite file and its WAL; a
`pg_dump` of the PostgreSQL test database) must hold none of them, while search, the repeat
check, the once-per-session rule, the case page and the notice work as before.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception import datakeys
from reception.crypto import KeyError_, Keyring
from reception.pii import SEALED, aad_column
from tests.builders import World, at, build_world, case_body, future_workday
from tests.conftest import NOW, assert_problem, auth
from tests.live import RECEPTION, TEST_KEYS, serve, suite_for

# GB 11643 check digit holds (the API checks it); used by no other test.
PLANTED_ID = "11010519491231002X"
PLANTED_PHONE = "13977712345"
PLANTED_ADDRESS = "蓟州区渔阳镇秘密胡同十七号"
BOOKED_ID = "110105195001010012"
BOOKED_PHONE = "13566655544"


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


def _person(**extra: str) -> dict[str, str]:
    return {
        "name": "严守密",
        "id_number": PLANTED_ID,
        "phone": PLANTED_PHONE,
        "address": PLANTED_ADDRESS,
        **extra,
    }


async def _register(client: httpx.AsyncClient, world: World, **extra: Any) -> dict[str, Any]:
    r = await client.post(
        "/api/cases",
        json=case_body(world, **{"petitioners": [_person()], **extra}),
        headers=auth(world.tokens["clerk_a"]),
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _session(client: httpx.AsyncClient, world: World) -> int:
    day = future_workday()
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
        headers=auth(world.tokens["secretary"]),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _booking(n: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "petitioner_name": f"来访人{n}",
        "petitioner_phone": f"1350000{n:04d}",
        "matter_summary": "反映拆迁补偿问题",
        **extra,
    }


def _raw_bytes(database_url: str, backend: str) -> bytes:
    """What a thief gets: the SQLite file and its WAL, or a pg_dump of the database."""
    if backend == "sqlite":
        path = Path(make_url(database_url).database or "")
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    dump = shutil.which("pg_dump")
    assert dump, "pg_dump is needed (postgresql-client)"
    url = make_url(database_url)
    out = subprocess.run(
        [
            dump,
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "--data-only",
            url.database or "",
        ],
        capture_output=True,
        check=True,
    )
    return out.stdout


def _planted(raw: bytes) -> list[str]:
    values = [PLANTED_ID, PLANTED_PHONE, PLANTED_ADDRESS, BOOKED_ID, BOOKED_PHONE]
    found = [v for v in values if v.encode() in raw]
    # Also the parts a reader could piece together, and the address in another encoding.
    found += [v for v in (PLANTED_ID[6:14] + PLANTED_ID[14:],) if v.encode() in raw]
    found += [PLANTED_ADDRESS for enc in ("gbk", "utf-16-le") if PLANTED_ADDRESS.encode(enc) in raw]
    return found


async def test_a_stolen_database_holds_no_id_number_phone_or_address_and_all_still_works(
    client: httpx.AsyncClient,
    world: World,
    database_url: str,
    backend: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    case = await _register(client, world)
    r = await client.post(
        f"/api/cases/{case['id']}/transitions",
        json={"action": "accept", "on": "2026-09-21"},
        headers=clerk,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/cases/{case['id']}/documents",
        json={"kind": "accept_notice", "on": "2026-09-21"},
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    notice = r.json()
    session_id = await _session(client, world)
    secretary = auth(world.tokens["secretary"])
    booked = await client.post(
        f"/api/sessions/{session_id}/appointments",
        json=_booking(1, petitioner_id_number=BOOKED_ID, petitioner_phone=BOOKED_PHONE),
        headers=secretary,
    )
    assert booked.status_code == 201, booked.text

    async with sessionmaker() as s:
        if backend == "sqlite":
            await s.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        # The sealed columns hold ciphertext under the active key, nothing else.
        phone = await s.scalar(text("SELECT phone_sealed FROM case_petitioner"))
        prefix = {"aes": "v1:t1:", "sm": "v2:sm4:s1:"}[suite_for(database_url)]
        assert phone.startswith(prefix) and PLANTED_PHONE not in phone
    raw = _raw_bytes(database_url, backend)
    assert len(raw) > 10_000
    assert _planted(raw) == []

    # Nobody at the office notices: the handling clerk sees the values whole …
    detail = (await client.get(f"/api/cases/{case['id']}", headers=clerk)).json()
    (person,) = detail["petitioners"]
    assert (person["id_number"], person["phone"], person["address"]) == (
        PLANTED_ID,
        PLANTED_PHONE,
        PLANTED_ADDRESS,
    )
    # … a list masks them as before; search by exact ID (any case of X) and by phone finds it.
    for q in (PLANTED_ID.lower(), PLANTED_PHONE, "139 7771 2345"):
        found = (await client.get("/api/cases", params={"q": q}, headers=clerk)).json()
        assert [c["id"] for c in found["items"]] == [case["id"]], q
    # Someone with neither ID nor phone: a term with none in it must not find them.
    await _register(client, world, petitioners=[_person(id_number="", phone="", address="")])
    for miss in ("13977712346", "-", "()"):
        found = (await client.get("/api/cases", params={"q": miss}, headers=clerk)).json()
        assert found["items"] == [], miss
    # The repeat check fires on the ID number alone, and on name + phone.
    for who in (
        {"name": "别的名字", "id_number": PLANTED_ID},
        {"name": "严守密", "phone": PLANTED_PHONE},
    ):
        r = await client.post(
            "/api/cases/repeat-check",
            json={"petitioners": [who], "category": "housing", "unit_id": world.township_a},
            headers=clerk,
        )
        assert r.status_code == 200 and [c["case_id"] for c in r.json()] == [case["id"]], r.text
    # The booking secretary sees the booked values whole; a second booking is refused.
    appointment = booked.json()
    assert appointment["petitioner_id_number"] == BOOKED_ID
    assert appointment["petitioner_phone"] == BOOKED_PHONE
    again = await client.post(
        f"/api/sessions/{session_id}/appointments",
        json=_booking(2, petitioner_id_number=BOOKED_ID.lower()),
        headers=secretary,
    )
    assert_problem(again, 409)
    # The notice reads back as issued (name and address printed on it).
    r = await client.get(notice["docx_url"], headers=clerk)
    assert r.status_code == 200
    from reception.documents.rendering import text_of

    assert PLANTED_ADDRESS in text_of(r.content) or "严守密" in text_of(r.content)


async def test_a_value_moved_to_another_row_does_not_decrypt(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await _register(client, world)
    second = await _register(
        client, world, petitioners=[_person(id_number="", phone="13800001111", address="")]
    )
    async with sessionmaker() as s:
        await s.execute(
            text(
                "UPDATE case_petitioner SET phone_sealed = "
                "(SELECT phone_sealed FROM case_petitioner WHERE case_id = :a) "
                "WHERE case_id = :b"
            ),
            {"a": first["id"], "b": second["id"]},
        )
        await s.commit()
    r = await client.get(f"/api/cases/{second['id']}", headers=auth(world.tokens["clerk_a"]))
    body = assert_problem(r, 500)
    assert body["type"].endswith("/data-undecryptable") and "RECEPTION_DATA_KEYS" in body["detail"]
    assert PLANTED_PHONE not in r.text
    # The first case is untouched.
    ok = await client.get(f"/api/cases/{first['id']}", headers=auth(world.tokens["clerk_a"]))
    assert ok.status_code == 200 and ok.json()["petitioners"][0]["phone"] == PLANTED_PHONE


async def test_the_start_up_check_refuses_wrong_and_missing_keys(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _register(client, world)
    keys = Keyring.parse(TEST_KEYS, "test", suite_for(str(sessionmaker.kw["bind"].url)))
    async with sessionmaker() as s:
        await datakeys.check(s, keys)
        # The same key ids with other bytes: wrong keys.
        wrong = Keyring(
            actives=keys.actives,
            data={k: os.urandom(len(v)) for k, v in keys.data.items()},
            index=keys.index,
            suite=keys.suite,
        )
        with pytest.raises(KeyError_, match="RECEPTION_DATA_KEYS") as refused:
            await datakeys.check(s, wrong)
        assert "打不开" in str(refused.value)
        # A new key only: the data names a key the document lacks.
        newer = keys.with_new_active_key()
        only_new = Keyring(
            actives={keys.suite: newer.active},
            data={newer.active: newer.data[newer.active]},
            index=keys.index,
            suite=keys.suite,
        )
        with pytest.raises(KeyError_, match="缺少一把旧密钥"):
            await datakeys.check(s, only_new)


def test_serve_refuses_to_start_with_a_wrong_key(database_url: str, tmp_path: Path) -> None:
    """A real `reception serve` against a database with sealed data, given the wrong key."""
    doc = json.loads(TEST_KEYS)
    other = {"t1": "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkhIQ==", "s1": "d3Jvbmctc200LWtleSEhIQ=="}
    wrong = json.dumps({**doc, "data": other})
    env = {
        **os.environ,
        "RECEPTION_DATABASE_URL": database_url,
        "RECEPTION_DATA_KEYS": TEST_KEYS,
        "RECEPTION_DATA_DIR": str(tmp_path),
    }
    # One sealed value at least (the other tests' data is there only by chance).
    _seal_one(database_url)
    r = subprocess.run(
        [RECEPTION, "serve", "--port", "1"],
        env={**env, "RECEPTION_DATA_KEYS": wrong},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert "RECEPTION_DATA_KEYS" in r.stderr and "密钥" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    # No key at all on PostgreSQL (no embedded key file): the same clear refusal.
    if not database_url.startswith("sqlite"):
        r = subprocess.run(
            [RECEPTION, "serve", "--port", "1"],
            env={**env, "RECEPTION_DATA_KEYS": ""},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode != 0 and "RECEPTION_DATA_KEYS" in r.stderr, r.stderr


def _seal_one(database_url: str) -> None:
    """One sealed value in the database, written through the service's own code."""

    async def work() -> None:
        from reception.config import Settings
        from reception.context import Context
        from reception.db import create_engine, create_sessionmaker
        from reception.notify import schemas as nschemas
        from reception.notify import service as notify

        settings = Settings(database_url=database_url, data_keys=TEST_KEYS, now=NOW)
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine, Context.of(settings).clock)() as s:
                await notify.create_endpoint(
                    session=s,
                    ctx=Context.of(settings),
                    actor=None,
                    data=nschemas.EndpointIn(
                        name="测试", kind="webhook", url="https://hooks.example/x"
                    ),
                )
                await s.commit()
        finally:
            await engine.dispose()

    asyncio.run(work())


async def _every_value_opens(
    maker: async_sessionmaker[AsyncSession], keys: Keyring
) -> dict[str, int]:
    opened: dict[str, int] = {}
    async with maker() as s:
        for c in SEALED:
            rows = (await s.execute(text(f"SELECT id, {c.column} FROM {c.table}"))).all()
            for row_id, token in rows:
                if not token:
                    continue
                aad = aad_column(c.table, c.column)
                if c.binary:
                    keys.open_bytes(bytes(token), table=c.table, column=aad, row_id=row_id)
                else:
                    keys.open(token, table=c.table, column=aad, row_id=row_id)
                opened[f"{c.table}.{c.column}"] = opened.get(f"{c.table}.{c.column}", 0) + 1
    return opened


async def test_rotation_under_concurrent_bookings_loses_nothing(
    client: httpx.AsyncClient,
    world: World,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Values sealed under t1; a new active key; two server processes take bookings while
    `rotate` runs in small batches. Afterwards every value opens with the new key alone."""
    session_id = await _session(client, world)
    secretary = auth(world.tokens["secretary"])
    for n in range(60):
        r = await client.post(
            f"/api/sessions/{session_id}/appointments", json=_booking(n), headers=secretary
        )
        assert r.status_code == 201, r.text
    for _ in range(3):
        await _register(client, world)
    old = Keyring.parse(TEST_KEYS, "test", suite_for(database_url))
    both = old.with_new_active_key()
    new_only = Keyring(
        actives={old.suite: both.active},
        data={both.active: both.data[both.active]},
        index=old.index,
        suite=old.suite,
    )
    env = {"RECEPTION_DATA_KEYS": json.dumps(both.document())}
    with serve(database_url, workers=2, env=env) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as live:

            async def book(n: int) -> int:
                r = await live.post(
                    f"/api/sessions/{session_id}/appointments",
                    json=_booking(100 + n),
                    headers=secretary,
                )
                assert r.status_code == 201, r.text
                return int(r.json()["id"])

            async def bookings() -> list[int]:
                ids = []
                for wave in range(8):
                    ids += await asyncio.gather(*(book(wave * 5 + i) for i in range(5)))
                return ids

            progress: list[datakeys.Progress] = []
            made, rotated = await asyncio.gather(
                bookings(), datakeys.rotate(sessionmaker, both, batch=7, report=progress.append)
            )
            # A pass that finds nothing left: rotation is resumable and idempotent.
            again = await datakeys.rotate(sessionmaker, both, batch=7)
            # What the servers show is still what was booked.
            r = await live.get(f"/api/appointments/{made[-1]}", headers=secretary)
            assert r.json()["petitioner_phone"] == _booking(100 + 39)["petitioner_phone"]
    assert rotated["appointment.petitioner_phone_sealed"] >= 60
    assert sum(again.values()) == 0
    assert any(p.done and p.done == p.total for p in progress)
    opened = await _every_value_opens(sessionmaker, new_only)
    assert opened["appointment.petitioner_phone_sealed"] == 100
    assert opened["case_petitioner.id_number_sealed"] == 3
    async with sessionmaker() as s:
        await datakeys.check(s, new_only)
        assert await s.scalar(text("SELECT count(*) FROM appointment")) == 100
    with pytest.raises(Exception, match="unknown key"):
        await _every_value_opens(sessionmaker, old)


def test_backup_holds_only_ciphertext_and_restores_with_its_keys(tmp_path: Path) -> None:
    """The embedded default: `reception backup` while it runs, `reception restore` with the
    right keys, refused with the wrong ones."""
    env = {
        **os.environ,
        "RECEPTION_DATA_DIR": str(tmp_path / "data"),
        "RECEPTION_NOW": "2026-12-01T10:00:00+08:00",
    }
    env.pop("RECEPTION_DATABASE_URL", None)
    env["RECEPTION_DATA_KEYS"] = ""

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RECEPTION, *args], env={**env, **extra}, capture_output=True, text=True, timeout=300
        )

    made = run("demo", "--org-only")
    assert made.returncode == 0, made.stderr
    # The embedded default made its own key file, 0600, and said so loudly.
    key_file = tmp_path / "data" / "keys.json"
    assert key_file.stat().st_mode & 0o777 == 0o600 and "备份" in made.stderr
    _register_through_cli(env)
    out = tmp_path / "backup.db"
    r = run("backup", "--out", str(out))
    assert r.returncode == 0 and "另行备份" in r.stdout, r.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert _planted(out.read_bytes()) == []
    assert run("backup", "--out", str(out)).returncode != 0  # never overwrites a backup
    wrong = json.loads(TEST_KEYS)
    refused = run("restore", "--from", str(out), "--yes", RECEPTION_DATA_KEYS=json.dumps(wrong))
    assert refused.returncode != 0 and "备份未恢复" in refused.stderr, refused.stderr
    (tmp_path / "data" / "reception.db").unlink()
    restored = run("restore", "--from", str(out), "--yes")
    assert restored.returncode == 0, restored.stderr
    listed = run("keys", "check")
    assert listed.returncode == 0, listed.stderr


def _register_through_cli(env: dict[str, str]) -> None:
    """A case with the planted values in the embedded database, by the service's own code."""
    script = f"""
import asyncio
from reception.config import get_settings
from reception.context import Context
from reception.db import create_engine, create_sessionmaker
from reception.cases import schemas, registration
from sqlalchemy import select
from reception.org.models import Unit

async def main():
    ctx = Context.of(get_settings())
    engine = create_engine(ctx.settings)
    async with create_sessionmaker(engine, ctx.clock)() as s:
        unit = (await s.scalars(select(Unit))).first()
        await registration.register(session=s, ctx=ctx, actor=None, data=schemas.CaseCreate(
            petitioners=[schemas.PetitionerIn(name="严守密", id_number={PLANTED_ID!r},
                phone={PLANTED_PHONE!r}, address={PLANTED_ADDRESS!r})],
            channel="visit", category="housing", summary="测试", unit_id=unit.id,
            received_on=ctx.today()))
        await s.commit()
    await engine.dispose()

asyncio.run(main())
"""
    r = subprocess.run(
        [str(Path(RECEPTION).parent / "python"), "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
