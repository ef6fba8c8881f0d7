"""An office's Excel ledger brought in (#28): a generated, messy-on-purpose ledger of a year
in the seed's proportions goes through the dry run and the import; the review of each month
of that year then equals an independent count made from the ledger's rows themselves
(tests/ledgers.py, which shares no code with the importer or the review). A second import
of the same rows creates nothing; an import is rolled back as a whole."""

from __future__ import annotations

import asyncio
import io
from calendar import monthrange
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.cases.models import CasePetitioner, PetitionCase
from reception.context import Context
from reception.imports import runs, service
from reception.imports.models import ImportBatch, ImportRecord
from reception.org.models import Leader, Unit
from reception.reports import service as reports
from reception.workcal import service as workcal
from tests.builders import World, build_world
from tests.ledgers import COUNTS, expected_month, generate_ledger, write_csv, write_xlsx

YEAR = 2020
ROWS = 2000
# What the ledger calls the units (an alias and a village among them) → the review's rows.
UNITS = {
    "下仓镇": "下仓镇",
    "邦均镇": "邦均镇",
    "住房和城乡建设委员会": "区住建委",
    "小杨家庄村": "下仓镇",
}


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


async def _leaders(maker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with maker() as s:
        return sorted((await s.scalars(select(Leader.name))).all())[:3]


async def _import(
    maker: async_sessionmaker[AsyncSession], ctx: Context, path: Path, district: int
) -> tuple[ImportBatch, dict[str, int], dict[str, int]]:
    """Upload, dry run, import, as the command line does (one transaction each)."""
    data = await asyncio.to_thread(path.read_bytes)
    async with maker() as s:
        batch = await service.upload(
            session=s,
            ctx=ctx,
            actor=None,
            kind="cases",
            file_name=path.name,
            data=data,
            default_unit_id=district,
        )
        await s.commit()
        batch_id = batch.id or 0
    async with maker() as s:
        _, outcome, _ = await runs.dry_run(session=s, ctx=ctx, actor=None, batch_id=batch_id)
        dry = runs.shown_counts(outcome)
        await s.commit()
    async with maker() as s:
        batch, outcome = await runs.run_import(session=s, ctx=ctx, actor=None, batch_id=batch_id)
        done = runs.shown_counts(outcome)
        await s.commit()
    return batch, dry, done


def _figures(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    rows = {u["unit_name"]: {k: u[k] for k in COUNTS} for u in report["units"]}
    rows["合计"] = {k: report["total"][k] for k in COUNTS}
    return {name: counts for name, counts in rows.items() if any(counts.values())}


async def test_a_messy_year_goes_in_and_its_review_equals_an_independent_count(
    sessionmaker: async_sessionmaker[AsyncSession], ctx: Context, world: World, tmp_path: Path
) -> None:
    rows = generate_ledger(
        seed=28, rows=ROWS, year=YEAR, units=list(UNITS), leaders=await _leaders(sessionmaker)
    )
    path = tmp_path / "2020年信访台账.xlsx"
    write_xlsx(rows, path)
    _, dry, done = await _import(sessionmaker, ctx, path, world.district)
    # The dry run said what the import then did; every case row went in (wrong ID check
    # digits are warnings, not rejections).
    assert dry == done and done["error"] == 0 and done["same"] == 0, done
    assert done["create"] + done["repeat"] == ROWS
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(PetitionCase)) == ROWS
        calendar = await workcal.load_calendar(session=s, years=[YEAR, YEAR + 1])
        # Sealed, never in clear: the ID numbers are not stored as typed.
        sealed = (await s.scalars(select(CasePetitioner.id_number_sealed).limit(5))).all()
        assert all(not v or v.startswith(("v1:", "v2:")) for v in sealed)
        for month in range(1, 13):
            key = f"{YEAR}-{month:02d}"
            last = date(YEAR, month, monthrange(YEAR, month)[1])
            report = await reports.review(session=s, ctx=ctx, actor=None, month=key, as_of=last)
            expected = expected_month(
                rows,
                month=key,
                as_of=last,
                is_workday=calendar.is_workday,
                bucket=lambda name: UNITS[name],
            )
            want = {n: c for n, c in expected.items() if any(c.values())}
            assert _figures(report) == want, key
        # The trend of the year reads the same figures (its months as of their last day).
        trend = await reports.trend(
            session=s, ctx=ctx, first_month=f"{YEAR}-01", last_month=f"{YEAR}-12"
        )
        for month in trend["months"]:
            first = date.fromisoformat(month["month"] + "-01")
            last = date(YEAR, first.month, monthrange(YEAR, first.month)[1])
            want = expected_month(
                rows,
                month=month["month"],
                as_of=last,
                is_workday=calendar.is_workday,
                bucket=lambda name: UNITS[name],
            )["合计"]
            assert (month["new_cases"], month["repeat"], month["overdue_handle"]) == (
                want["new_cases"],
                want["repeat"],
                want["overdue_handle"],
            ), month["month"]
    # The same file again: every row is already there, nothing new.
    _, dry2, done2 = await _import(sessionmaker, ctx, path, world.district)
    assert dry2 == done2 == {"create": 0, "repeat": 0, "same": ROWS, "error": 0}
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(PetitionCase)) == ROWS


async def test_a_gbk_csv_of_another_system_and_a_rollback(
    sessionmaker: async_sessionmaker[AsyncSession], ctx: Context, world: World, tmp_path: Path
) -> None:
    rows = generate_ledger(seed=7, rows=300, year=YEAR, units=list(UNITS), leaders=[])
    path = tmp_path / "导出.csv"
    write_csv(rows, path)
    assert path.read_bytes().decode("gbk")
    batch, dry, done = await _import(sessionmaker, ctx, path, world.district)
    assert dry == done and done["create"] + done["repeat"] == 300
    # Another system's synonyms, GBK, dates as 2020/3/5: the year's review is the sheet's count.
    async with sessionmaker() as s:
        calendar = await workcal.load_calendar(session=s, years=[YEAR, YEAR + 1])
        for month in (3, 6, 9, 12):
            key = f"{YEAR}-{month:02d}"
            last = date(YEAR, month, monthrange(YEAR, month)[1])
            report = await reports.review(session=s, ctx=ctx, actor=None, month=key, as_of=last)
            expected = expected_month(
                rows, month=key, as_of=last, is_workday=calendar.is_workday,
                bucket=lambda name: UNITS[name],
            )  # fmt: skip
            assert _figures(report) == {n: c for n, c in expected.items() if any(c.values())}
    async with sessionmaker() as s:
        await runs.rollback(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
        await s.commit()
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(PetitionCase)) == 0
        assert await s.scalar(select(func.count()).select_from(ImportRecord)) == 0
        assert (await s.get(ImportBatch, batch.id)).status == "rolled_back"  # type: ignore[union-attr]
    # Rolled back, the same file goes in again.
    _, _, again = await _import(sessionmaker, ctx, path, world.district)
    assert again == done
    async with sessionmaker() as s:
        units = {u.id: u.name for u in await s.scalars(select(Unit))}
        used = {units[i] for i in (await s.scalars(select(PetitionCase.unit_id))).all()}
        assert used <= {"下仓镇", "邦均镇", "区住建委", "小杨家庄村"}


async def test_past_reception_days_become_held_sessions_in_the_leaders_figures(
    sessionmaker: async_sessionmaker[AsyncSession], ctx: Context, world: World, tmp_path: Path
) -> None:
    async with sessionmaker() as s:
        mayor = await s.get(Leader, world.leaders["mayor"])
        assert mayor is not None
        name = mayor.name
    lines = ["接访日期,接访领导,形式,信访人,联系电话,反映问题"]
    for day in (5, 20):
        for i in range(3):
            lines.append(
                f"2020/6/{day},{name},接访,来访人{day}{i},1380000{day:02d}{i:02d},反映问题{i}"
            )
    lines.append(f"2020/6/23,{name},下访,村民甲,,带案下访:征地补偿")
    lines.append("2020/6/24,查无此人,接访,某某,,反映问题")
    # A field visit on a reception day of the same leader: not made one with it.
    lines.append(f"2020/6/5,{name},下访,村民乙,,现场查看")
    path = tmp_path / "接访台账.csv"
    data = "\n".join(lines).encode("gb18030")
    async with sessionmaker() as s:
        batch = await service.upload(
            session=s, ctx=ctx, actor=None, kind="sessions", file_name=path.name, data=data
        )
        await s.commit()
    async with sessionmaker() as s:
        _, dry, shown = await runs.dry_run(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
        await s.commit()
    assert runs.shown_counts(dry) == {"create": 7, "repeat": 0, "same": 0, "error": 2}
    reasons = ";".join(r for v in shown for r in v.reasons)
    assert "查无此人" in reasons and "冲突" in reasons
    async with sessionmaker() as s:
        _, done = await runs.run_import(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
        await s.commit()
    assert runs.shown_counts(done) == runs.shown_counts(dry)
    async with sessionmaker() as s:
        report = await reports.review(
            session=s, ctx=ctx, actor=None, month="2020-06", as_of=date(2020, 6, 30)
        )
    row = next(r for r in report["leaders"] if r["leader"] == name)
    # Every person received counts (6 on the two days, 1 on the visit).
    assert (row["reception_days"], row["reception_held"], row["appointments"]) == (2, 2, 7)
    assert (row["field_visits"], row["field_visits_held"]) == (1, 1)
    # Taken back whole: the sessions it made go with their appointments.
    async with sessionmaker() as s:
        await runs.rollback(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
        await s.commit()
    async with sessionmaker() as s:
        report = await reports.review(
            session=s, ctx=ctx, actor=None, month="2020-06", as_of=date(2020, 6, 30)
        )
    row = next(r for r in report["leaders"] if r["leader"] == name)
    assert (row["reception_days"], row["field_visits"]) == (0, 0)


async def test_an_old_xls_ledger_is_read_too(
    sessionmaker: async_sessionmaker[AsyncSession], ctx: Context, world: World, tmp_path: Path
) -> None:
    import xlwt  # type: ignore[import-untyped]

    rows = generate_ledger(seed=11, rows=80, year=YEAR, units=list(UNITS), leaders=[])
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("2020年")
    headers = [
        "登记日期",
        "信访人",
        "身份证号",
        "联系电话",
        "信访形式",
        "反映问题",
        "问题类别",
        "责任单位",
    ]
    for c, name in enumerate(headers):
        sheet.write(0, c, name)
    dated = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows, start=1):
        sheet.write(r, 0, row.registered_on, dated)
        for c, value in enumerate(
            [row.name, row.id_number, row.phone, row.channel, row.summary, row.category, row.unit],
            start=1,
        ):
            sheet.write(r, c, value)
    path = tmp_path / "旧台账.xls"
    await asyncio.to_thread(book.save, str(path))
    assert (await asyncio.to_thread(path.read_bytes)).startswith(bytes.fromhex("d0cf11e0"))
    _, dry, done = await _import(sessionmaker, ctx, path, world.district)
    assert dry == done and done["error"] == 0 and done["create"] + done["repeat"] == 80
    async with sessionmaker() as s:
        on = sorted((await s.scalars(select(PetitionCase.registered_on))).all())
    assert on == sorted(r.registered_on for r in rows)


async def test_a_workbook_of_one_sheet_per_year_goes_in_whole(
    sessionmaker: async_sessionmaker[AsyncSession], ctx: Context, world: World, tmp_path: Path
) -> None:
    """ "*" takes every sheet with a header (columns in another order on each; a sheet of
    notes passed over); the report names each row's sheet."""
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "填表说明"
    notes.append(["本台账按年度分表,请勿改动表头。"])
    headers = ["登记日期", "信访人", "联系电话", "信访形式", "反映问题", "责任单位"]
    for year, seed in ((2019, 1), (2020, 2)):
        rows = generate_ledger(seed=seed, rows=40, year=year, units=["下仓镇"], leaders=[])
        sheet = book.create_sheet(f"{year}年")
        order = headers if year == 2019 else list(reversed(headers))
        sheet.append(order)
        for r in rows:
            cells = [r.registered_on, r.name, r.phone, r.channel, r.summary, r.unit]
            values = dict(zip(headers, cells, strict=True))
            sheet.append([values[h] for h in order])
    path = tmp_path / "历年台账.xlsx"
    await asyncio.to_thread(book.save, path)
    data = await asyncio.to_thread(path.read_bytes)
    async with sessionmaker() as s:
        batch = await service.upload(
            session=s, ctx=ctx, actor=None, kind="cases", file_name=path.name, data=data, sheet="*"
        )
        await s.commit()
    async with sessionmaker() as s:
        _, report = await runs.report(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
        await runs.dry_run(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
        _, done = await runs.run_import(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
        await s.commit()
    counts = runs.shown_counts(done)
    assert counts["create"] + counts["repeat"] == 80 and counts["error"] == 0
    sheet = openpyxl.load_workbook(io.BytesIO(report)).worksheets[0]
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"2019年", "2020年"}
    async with sessionmaker() as s:
        years = (await s.scalars(select(PetitionCase.ref_year))).all()
    assert sorted(set(years)) == [2019, 2020] and len(years) == 80
