"""/api/imports (#28): the same ledger import for programs — the file as the body, the
mapping read and fixed, dry run, import, report, rollback — within the caller's office, and
only for those who register cases."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.cases.models import PetitionCase
from tests.builders import World, build_world
from tests.conftest import assert_problem, auth
from tests.ledgers import generate_ledger, write_xlsx


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def test_a_program_brings_a_ledger_in_and_takes_it_back(
    client: httpx.AsyncClient,
    world: World,
    tmp_path: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rows = generate_ledger(seed=3, rows=50, year=2020, units=["下仓镇", "小杨家庄村"], leaders=[])
    path = tmp_path / "台账.xlsx"
    await asyncio.to_thread(write_xlsx, rows, path)
    data = await asyncio.to_thread(path.read_bytes)
    clerk = auth(world.tokens["clerk_a"])
    r = await client.post(
        "/api/imports",
        params={"kind": "cases", "file_name": "台账.xlsx"},
        content=data,
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    batch = r.json()
    columns = {c["name"]: c for c in batch["columns"]}
    assert columns["登记日期"]["field"] == "registered_on" and batch["status"] == "draft"
    assert columns["身份证号"]["samples"][0].count("*") >= 8  # masked
    bid = batch["id"]
    # Leave 备注 out; a header the file does not have is refused.
    bad = await client.put(
        f"/api/imports/{bid}/mapping", json={"mapping": {"没有的列": "note"}}, headers=clerk
    )
    assert "没有这一列" in assert_problem(bad, 422)["detail"]
    r = await client.put(
        f"/api/imports/{bid}/mapping", json={"mapping": {"备注": ""}}, headers=clerk
    )
    assert r.status_code == 200 and r.json()["mapping"]["备注"] == ""
    tried = await client.post(f"/api/imports/{bid}/dry-run", headers=clerk)
    assert tried.status_code == 200, tried.text
    counts = tried.json()["counts"]
    assert counts["create"] + counts["repeat"] == 50 and counts["error"] == 0
    report = await client.get(f"/api/imports/{bid}/report.xlsx", headers=clerk)
    sheet = openpyxl.load_workbook(io.BytesIO(report.content)).worksheets[1]
    totals = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, values_only=True) if row[0]}
    assert totals["新建"] == counts["create"] and totals["合计"] == 50
    # The district's clerk sees the township's import (his units include it); the township's
    # clerk does not see the district's; roles that register no cases see none.
    district = auth(world.tokens["clerk_district"])
    assert (await client.get(f"/api/imports/{bid}", headers=district)).status_code == 200
    theirs = await client.post("/api/imports", content=data, headers=district)
    assert theirs.status_code == 201
    tid = theirs.json()["id"]
    assert_problem(await client.get(f"/api/imports/{tid}", headers=clerk), 404)
    assert_problem(await client.post(f"/api/imports/{tid}/dry-run", headers=clerk), 404)
    assert [b["id"] for b in (await client.get("/api/imports", headers=clerk)).json()] == [bid]
    assert_problem(await client.get("/api/imports", headers=auth(world.tokens["secretary"])), 403)
    assert_problem(await client.get("/api/imports", headers=auth(world.tokens["auditor"])), 403)
    done = await client.post(f"/api/imports/{bid}/import", headers=clerk)
    assert done.status_code == 200 and done.json()["counts"] == counts
    assert_problem(await client.post(f"/api/imports/{bid}/import", headers=clerk), 409)
    # One audit entry for the whole import, with the file's checksum and the counts.
    async with sessionmaker() as s:
        entries = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "import.cases"))
        ).all()
        case_id = await s.scalar(select(PetitionCase.id).order_by(PetitionCase.id).limit(1))
    assert len(entries) == 1 and entries[0].after is not None
    assert entries[0].after["file_checksum"] == batch["file_checksum"]
    assert entries[0].after["counts"] == counts
    # A case's timeline tells its course as the ledger dated it, marked as imported.
    timeline = (await client.get(f"/api/cases/{case_id}/timeline", headers=clerk)).json()
    assert timeline[0]["kind"] == "imported.registered"
    assert "由台账导入" in timeline[0]["note"]
    back = await client.post(f"/api/imports/{bid}/rollback", headers=clerk)
    assert back.status_code == 200 and back.json()["status"] == "rolled_back"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "文件是空的"),
        (b"\x00\x01\x02garbage" * 10, "不是表格文件"),
        (b"PK\x03\x04junk", "ZIP"),
    ],
)
async def test_a_body_that_is_no_ledger_is_a_422(
    client: httpx.AsyncClient, world: World, body: bytes, says: str
) -> None:
    r = await client.post("/api/imports", content=body, headers=auth(world.tokens["clerk_a"]))
    assert says in assert_problem(r, 422)["detail"]


async def test_an_import_worked_on_since_is_not_taken_back(
    client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    rows = generate_ledger(seed=4, rows=20, year=2020, units=["下仓镇"], leaders=[])
    path = tmp_path / "台账.xlsx"
    await asyncio.to_thread(write_xlsx, rows, path)
    clerk = auth(world.tokens["clerk_a"])
    body = await asyncio.to_thread(path.read_bytes)
    bid = (await client.post("/api/imports", content=body, headers=clerk)).json()["id"]
    assert (await client.post(f"/api/imports/{bid}/dry-run", headers=clerk)).status_code == 200
    assert (await client.post(f"/api/imports/{bid}/import", headers=clerk)).status_code == 200
    cases = (await client.get("/api/cases", params={"limit": 5}, headers=clerk)).json()["items"]
    # Someone works on one of them: a leader now owns it (包案).
    r = await client.post(
        f"/api/cases/{cases[0]['id']}/ownership",
        json={"leader_id": world.leaders["township_a"], "plan": "约谈"},
        headers=clerk,
    )
    assert r.status_code in (200, 201), r.text
    refused = assert_problem(await client.post(f"/api/imports/{bid}/rollback", headers=clerk), 409)
    assert "不能整批撤销" in refused["detail"]
    still = (await client.get("/api/cases", params={"limit": 5}, headers=clerk)).json()["total"]
    assert still == 20


async def test_an_import_needs_its_dry_run_and_some_rows(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    header_only = "登记日期,信访人,信访形式,反映问题,责任单位\n".encode()
    bid = (await client.post("/api/imports", content=header_only, headers=clerk)).json()["id"]
    untried = assert_problem(await client.post(f"/api/imports/{bid}/import", headers=clerk), 409)
    assert "请先试运行" in untried["detail"]
    tried = await client.post(f"/api/imports/{bid}/dry-run", headers=clerk)
    assert tried.json()["counts"] == {"create": 0, "repeat": 0, "same": 0, "error": 0}
    empty = assert_problem(await client.post(f"/api/imports/{bid}/import", headers=clerk), 422)
    assert "没有可导入的数据行" in empty["detail"]
