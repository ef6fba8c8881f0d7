"""台账导入 in the console (#28): a township clerk uploads another system's GBK export whose
channel column no synonym knows, fixes that one mapping, tries it, downloads the report,
imports; the same file again creates nothing (the office's mapping is remembered); the
import is taken back whole. Files that are no ledger get a page saying why, never a 500,
and nothing is written; another office's imports do not exist for a clerk."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import replace
from pathlib import Path

import httpx
import openpyxl
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.cases.models import PetitionCase
from reception.config import Settings
from reception.context import Context, FixedClock
from reception.errors import InvalidInput
from reception.imports import runs, service
from reception.imports.models import ImportBatch
from tests.builders import World, build_world, give_passwords
from tests.console import Console
from tests.ledgers import CSV_HEADERS, generate_ledger, write_csv

ROWS = 120


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


@pytest.fixture
def browser(app: Litestar) -> Console:
    return Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )


async def _cases(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as s:
        return int(await s.scalar(select(func.count()).select_from(PetitionCase)) or 0)


def _export(path: Path) -> bytes:
    """Another system's GBK export, whose 信访形式 column is headed 反映途径 (no synonym)."""
    rows = generate_ledger(seed=5, rows=ROWS, year=2020, units=["下仓镇", "小杨家庄村"], leaders=[])
    write_csv(rows, path)
    text = path.read_bytes().decode("gbk")
    header, rest = text.split("\r\n", 1)
    assert "信访形式" in CSV_HEADERS
    return (header.replace("信访形式", "反映途径") + "\r\n" + rest).encode("gbk")


async def _upload(browser: Console, data: bytes, name: str = "导出.csv") -> httpx.Response:
    if not browser.token():
        await browser.get("/login")
    return await browser.client.post(
        "/imports",
        data={"_csrf_token": browser.token(), "kind": "cases"},
        files={"file": (name, data, "text/csv")},
    )


def _selects(page: str) -> dict[str, str]:
    """The mapping form as the page proposes it: col-i → the selected field."""
    out = {}
    for name, body in re.findall(r'<select name="(col-\d+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        out[name] = chosen.group(1) if chosen else ""
    return out


async def test_a_clerk_maps_tries_imports_and_takes_back_a_ledger(
    browser: Console,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    data = await asyncio.to_thread(_export, tmp_path / "导出.csv")
    await browser.sign_in("clerk_a")
    r = await _upload(browser, data)
    assert r.status_code == 303, r.text
    batch_url = r.headers["location"]
    page = (await browser.get(batch_url)).text
    assert "反映途径" in page and "核对各列" in page
    form = _selects(page)
    channel_col = next(
        c for c, _ in form.items() if re.search(rf'name="{c}"[^>]*aria-label="「反映途径」', page)
    )
    assert form[channel_col] == ""
    # As proposed, the mapping lacks the channel: the dry run is refused with the reason.
    tried = await browser.post(f"{batch_url}/mapping", form)
    assert tried.status_code == 422 and "信访形式" in tried.text
    # One fix: 反映途径 is the channel.
    tried = await browser.post(f"{batch_url}/mapping", {**form, channel_col: "channel"})
    assert tried.status_code == 200, tried.text
    assert "试运行结果" in tried.text and await _cases(sessionmaker) == 0
    report = await browser.get(f"{batch_url}/report.xlsx")
    assert report.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(report.content)).worksheets[0]
    verdicts = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(verdicts) == ROWS and set(verdicts) <= {"新建", "新建(重复信访)"}
    done = await browser.post(f"{batch_url}/import")
    assert done.status_code == 303, done.text
    assert await _cases(sessionmaker) == ROWS
    # The worklist with 含已办结 holds the whole year (the box used to be ignored by the page).
    assert "共 120 件" in (await browser.get("/cases?closed=true")).text
    # The same file again: the office's mapping is proposed at once, and nothing is new.
    again = await _upload(browser, data)
    second = again.headers["location"]
    form2 = _selects((await browser.get(second)).text)
    assert form2[channel_col] == "channel"
    tried = await browser.post(f"{second}/mapping", form2)
    assert re.search(r"已存在,不再导入 <strong>120</strong>", tried.text), tried.text
    assert (await browser.post(f"{second}/import")).status_code == 303
    assert await _cases(sessionmaker) == ROWS
    # The district's clerk sees the township's imports among his units'.
    other = Console(httpx.AsyncClient(transport=browser.client._transport, base_url="https://test"))
    await other.sign_in("clerk_district")
    assert (await other.get(batch_url)).status_code == 200
    assert batch_url.rsplit("/", 1)[1] in (await other.get("/imports")).text
    # Taken back whole.
    back = await browser.post(f"{batch_url}/rollback")
    assert back.status_code == 303
    assert await _cases(sessionmaker) == 0


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("照片.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "不是表格文件"),
        ("空.csv", b"", "文件是空的"),
        ("文档.xlsx", b"PK\x03\x04" + b"\x00" * 40, "ZIP"),
        ("带空字符.csv", "登记日期,信访人\n2020-3-5,张\x00某\n".encode(), "不是表格文件"),
        ("只有字.csv", "这不是表格,只是一段话".encode(), "找不到表头"),
    ],
)
async def test_what_is_no_ledger_is_refused_with_the_reason(
    browser: Console,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    data: bytes,
    says: str,
) -> None:
    await browser.sign_in("clerk_a")
    r = await _upload(browser, data, name)
    assert r.status_code == 422 and says in r.text, r.text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ImportBatch)) == 0


async def test_formulas_nul_long_cells_and_too_many_rows_get_a_report(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FixedClock,
    world: World,
    tmp_path: Path,
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["登记日期", "信访人", "信访形式", "反映问题", "责任单位"])
    sheet.append(["2020-03-05", "张某", "来访", '=HYPERLINK("http://x","点我")', "下仓镇"])
    sheet.append(["2020-03-06", "李某", "来信", "反映物业问题", "下仓镇"])
    sheet["D3"] = "=1+1"  # a real formula cell
    sheet["D2"].data_type = "s"  # typed text that only looks like a formula
    sheet.append(["2020-03-07", "王某", "电话", "x" * 100_000, "下仓镇"])
    sheet.append(["2020-03-08", "赵某", "网上", "反映欠薪", "下仓镇", "=SUM(A1:A2)"])
    sheet["F6"] = "=SUM(A1:A2)"  # a formula in a column nobody maps: no harm
    for i in range(60):
        sheet.append(["2020-04-01", f"钱某{i}", "来访", f"反映问题{i}", "下仓镇"])
    path = tmp_path / "坏.xlsx"
    await asyncio.to_thread(book.save, path)
    data = await asyncio.to_thread(path.read_bytes)
    ctx = Context.of(replace(settings, import_max_rows=50), clock)
    async with sessionmaker() as s:
        batch = await service.upload(
            session=s, ctx=ctx, actor=None, kind="cases", file_name="坏.xlsx", data=data,
            default_unit_id=world.township_a,
        )  # fmt: skip
        await s.commit()
    async with sessionmaker() as s:
        with pytest.raises(InvalidInput, match="50 行的上限"):
            await runs.dry_run(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
    roomy = Context.of(settings, clock)
    async with sessionmaker() as s:
        _, outcome, shown = await runs.dry_run(
            session=s, ctx=roomy, actor=None, batch_id=batch.id or 0
        )
        await s.commit()
    reasons = {v.line: ";".join(v.reasons) for v in shown if v.verdict == "error"}
    assert "是公式" in reasons[3] and "超过 4000 字" in reasons[4]
    # A text that only looks like a formula is text: it goes in as typed.
    assert 2 not in reasons and 6 not in reasons and outcome.counts["error"] == 2
    async with sessionmaker() as s:
        _, done = await runs.run_import(session=s, ctx=roomy, actor=None, batch_id=batch.id or 0)
        await s.commit()
    assert done.counts["error"] == 2 and await _cases(sessionmaker) == 62


async def test_the_same_ledger_imported_twice_at_once_goes_in_once(
    browser: Console,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    """Two uploads of one file, both tried, imported by two requests at the same moment: the
    UNIQUE fingerprints let one through whole; the other is refused whole (409)."""
    data = await asyncio.to_thread(_export, tmp_path / "导出.csv")
    await browser.sign_in("clerk_a")
    urls = []
    for _ in range(2):
        url = (await _upload(browser, data)).headers["location"]
        fixed = _fixed((await browser.get(url)).text)
        assert (await browser.post(f"{url}/mapping", fixed)).status_code == 200
        urls.append(url)
    answers = await asyncio.gather(*(browser.post(f"{url}/import") for url in urls))
    assert sorted(a.status_code for a in answers) == [303, 409], [a.status_code for a in answers]
    assert await _cases(sessionmaker) == ROWS
    refused = next(a for a in answers if a.status_code == 409)
    assert "试运行" in refused.text


def _fixed(page: str) -> dict[str, str]:
    """The proposed mapping with its one fix: 反映途径 is the channel."""
    form = _selects(page)
    for column in form:
        if re.search(rf'name="{column}"[^>]*aria-label="「反映途径」', page):
            form[column] = "channel"
    return form


async def test_an_empty_sheet_and_a_million_rows_are_refused_with_the_reason(
    sessionmaker: async_sessionmaker[AsyncSession], ctx: Context, world: World
) -> None:
    empty = openpyxl.Workbook()
    buffer = io.BytesIO()
    await asyncio.to_thread(empty.save, buffer)
    async with sessionmaker() as s:
        with pytest.raises(InvalidInput, match="是空的"):
            await service.upload(
                session=s, ctx=ctx, actor=None, kind="cases", file_name="空.xlsx",
                data=buffer.getvalue(),
            )  # fmt: skip
    # A million rows (another system's whole export): refused before a row is read, the
    # limit named.
    body = (
        "登记日期,信访人,信访形式,反映问题,责任单位\n"
        + "2020-1-2,张某,来访,反映问题,下仓镇\n" * 1_000_000
    )
    async with sessionmaker() as s:
        batch = await service.upload(
            session=s, ctx=ctx, actor=None, kind="cases", file_name="全部.csv",
            data=body.encode(), default_unit_id=world.township_a,
        )  # fmt: skip
        await s.commit()
    async with sessionmaker() as s:
        with pytest.raises(InvalidInput, match="100000 行的上限"):
            await runs.dry_run(session=s, ctx=ctx, actor=None, batch_id=batch.id or 0)
    assert await _cases(sessionmaker) == 0
