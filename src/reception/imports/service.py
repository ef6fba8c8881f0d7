"""Bringing an office's ledger in: upload (the file kept sealed), the mapping proposed and
fixed, a dry run whose per-row verdicts are what the import then does, the import in one
transaction (all rows or none), and rolling an import back while its records are untouched.
Plain functions with keyword-only arguments; the console pages, the API and the command line
are three faces of them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases.access import may_write, unit_in_scope
from reception.cases.registration import list_categories
from reception.context import Context
from reception.db import now_of
from reception.errors import Conflict, InvalidInput, NotFound
from reception.imports import cases as case_rows
from reception.imports import mapping as maps
from reception.imports.models import IMPORT_KINDS, ImportBatch, ImportMapping
from reception.imports.reading import Formula, Workbook
from reception.imports.rows import Cells, Lookups
from reception.imports.values import UnitNames, text
from reception.org.access import leader_scope, reach_clause
from reception.org.models import Leader, Unit
from reception.privacy import mask_id_number, mask_phone
from reception.workcal import service as workcal

TABLE = "import_batch"
CHUNK = 500
# The header is looked for among a sheet's first rows (a title and notes may come first).
HEADER_ROWS = 15
# The sheet name that takes every sheet of the workbook.
ALL_SHEETS = "*"
FOOTER_WORDS = ("合计", "总计", "小计", "制表", "填表", "审核")
MASKED = {"id_number": mask_id_number, "phone": mask_phone}


# ---------------------------------------------------------------- the batch


def _office(actor: Principal | None) -> int | None:
    return actor.unit_id if actor is not None and actor.role == "clerk" else None


async def get_batch(
    *, session: AsyncSession, actor: Principal | None, batch_id: int
) -> ImportBatch:
    """An import the caller may see: a clerk those of his unit and the units under it (the
    district's clerk all of them); the command line and the administrator every one."""
    query = select(ImportBatch).where(
        ImportBatch.id == batch_id, reach_clause(actor, col(ImportBatch.unit_id))
    )
    batch = await session.scalar(query)
    if batch is None:
        raise NotFound(f"导入批次 {batch_id} 不存在")
    return batch


async def list_batches(*, session: AsyncSession, actor: Principal | None) -> list[ImportBatch]:
    query = (
        select(ImportBatch)
        .where(reach_clause(actor, col(ImportBatch.unit_id)))
        .order_by(col(ImportBatch.id).desc())
        .limit(100)
    )
    return list(await session.scalars(query))


def file_of(ctx: Context, batch: ImportBatch) -> Workbook:
    data = ctx.keys.open_bytes(
        batch.file_sealed, table=TABLE, column="file_sealed", row_id=batch.id or 0
    )
    return Workbook(data)


async def upload(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    kind: str,
    file_name: str,
    data: bytes,
    sheet: str | None = None,
    default_unit_id: int | None = None,
) -> ImportBatch:
    """A draft import of a file: read enough to know it is a spreadsheet, its mapping proposed."""
    may_write(actor)
    if kind not in IMPORT_KINDS:
        raise InvalidInput(
            f"没有这种台账:「{kind[:20]}」;可导入 cases(信访事项台账)或 sessions(领导接访/下访台账)",
            field="kind",
        )
    limit = ctx.settings.import_max_megabytes
    if len(data) > limit * 1024 * 1024:
        raise InvalidInput(f"文件超过 {limit} MB 的上限", field="file")
    book = Workbook(data)
    chosen = book.sheet(sheet)
    if default_unit_id is not None:
        await unit_in_scope(session, actor, default_unit_id, "default_unit_id")
    batch = ImportBatch(
        kind=kind,
        unit_id=await _office_unit(session, actor),
        default_unit_id=default_unit_id or (actor.unit_id if actor else None),
        file_name=file_name[:200] or "未命名",
        file_size=len(data),
        file_checksum=ctx.keys.checksum(data),
        sheet=chosen,
        created_by_user_id=actor.user_id if actor else None,
        created_by_name=audit.actor_name(actor),
    )
    session.add(batch)
    await session.flush()
    batch.file_sealed = ctx.keys.seal_bytes(
        data, table=TABLE, column="file_sealed", row_id=batch.id or 0
    )
    names = union_names(sheet_headers(book, chosen, kind))
    saved = await _saved_mapping(session, actor, kind)
    batch.mapping = maps.propose(kind, names, saved)
    await session.flush()
    return batch


def _headers(book: Workbook, sheet: str, kind: str) -> maps.Headers:
    top = []
    for i, raw in enumerate(book.rows(sheet)):
        top.append([text_or_blank(v) for v in raw])
        if i + 1 >= HEADER_ROWS:
            break
    if not top:
        raise InvalidInput(f"工作表「{sheet}」是空的", field="file")
    found = maps.find_headers(kind, top)
    if found is None:
        known = "、".join(t.label for t in maps.FIELDS[kind].values() if t.required)
        raise InvalidInput(
            f"工作表「{sheet}」的前 {HEADER_ROWS} 行里找不到表头(应有 {known} 等列)",
            field="file",
        )
    return found


def sheet_headers(book: Workbook, sheet: str, kind: str) -> list[tuple[str, maps.Headers]]:
    """Each sheet taken and its header: one sheet, or (ALL_SHEETS) every sheet with a header
    (a workbook of one sheet per year or per unit; sheets of notes are passed over)."""
    if sheet != ALL_SHEETS:
        return [(sheet, _headers(book, sheet, kind))]
    found = []
    for name in book.sheets:
        try:
            found.append((name, _headers(book, name, kind)))
        except InvalidInput:
            continue
    if not found:
        _headers(book, book.sheets[0], kind)
    return found


def union_names(found: list[tuple[str, maps.Headers]]) -> list[str]:
    """Every header name of the sheets taken, in the order first met."""
    out: list[str] = []
    for _, headers in found:
        out += [n for n in headers.names if n and n not in out]
    return out


def text_or_blank(value: Any) -> str:
    if isinstance(value, Formula):
        return value.text
    try:
        return text(value)
    except ValueError:
        return ""


async def _office_unit(session: AsyncSession, actor: Principal | None) -> int:
    office = _office(actor)
    if office is not None:
        return office
    root = await session.scalar(
        select(Unit.id).where(Unit.kind == "district").order_by(col(Unit.id)).limit(1)
    )
    if root is None:
        raise InvalidInput("尚未建立区级单位", field="unit")
    return int(root)


async def _saved_mapping(
    session: AsyncSession, actor: Principal | None, kind: str
) -> dict[str, Any] | None:
    office = await _office_unit(session, actor)
    return await session.scalar(
        select(ImportMapping.headers).where(
            ImportMapping.unit_id == office, ImportMapping.kind == kind
        )
    )


@dataclass(frozen=True)
class Column:
    name: str
    field: str
    samples: list[str]


async def columns(*, session: AsyncSession, ctx: Context, batch: ImportBatch) -> list[Column]:
    """The file's columns with their mapped fields and a few values (ID numbers and phones
    masked: the page shows what the column holds, not whose)."""
    book = file_of(ctx, batch)
    found = sheet_headers(book, batch.sheet, batch.kind)
    mapping = batch.mapping or {}
    names = union_names(found)
    samples: dict[str, list[str]] = {n: [] for n in names}
    for sheet, headers in found:
        for i, raw in enumerate(book.rows(sheet)):
            if i <= headers.last_row:
                continue
            for name, value in zip(headers.names, raw, strict=False):
                shown = text_or_blank(value)
                if name and shown and len(samples[name]) < 3:
                    masker = MASKED.get(str(mapping.get(name, "")))
                    samples[name].append(masker(shown) if masker else shown[:30])
            if i > headers.last_row + 30 or all(len(v) >= 3 for v in samples.values()):
                break
    return [Column(name, str(mapping.get(name, "")), samples[name]) for name in names]


# ---------------------------------------------------------------- walking the rows


async def set_mapping(
    *,
    session: AsyncSession,
    actor: Principal | None,
    batch_id: int,
    mapping: dict[str, str],
    default_unit_id: int | None = None,
) -> ImportBatch:
    """The person's mapping (header → field, "" to leave a column out), checked, kept with the
    batch and saved as the office's for its next file."""
    batch = await draft(session, actor, batch_id)
    known = set(batch.mapping or {})
    unknown = [h for h in mapping if h not in known]
    if unknown:
        raise InvalidInput(f"文件中没有这一列:{unknown[0][:50]}", field="mapping")
    # A field may be named by its code or as the page shows it (登记日期).
    labels = {t.label: code for code, t in maps.FIELDS[batch.kind].items()}
    labels |= {t.label.split("(")[0]: code for code, t in maps.FIELDS[batch.kind].items()}
    chosen = {h: labels.get(f, f) if f else "" for h, f in mapping.items()}
    merged = {**(batch.mapping or {}), **chosen}
    problems = maps.mapping_problems(batch.kind, merged)
    if problems:
        raise InvalidInput(";".join(problems), field="mapping")
    if default_unit_id is not None:
        await unit_in_scope(session, actor, default_unit_id, "default_unit_id")
        batch.default_unit_id = default_unit_id
    batch.mapping = merged
    office = await _office_unit(session, actor)
    saved = await session.scalar(
        select(ImportMapping).where(
            ImportMapping.unit_id == office, ImportMapping.kind == batch.kind
        )
    )
    if saved is None:
        saved = ImportMapping(unit_id=office, kind=batch.kind, updated_by_name="")
        session.add(saved)
    saved.headers = merged
    saved.updated_by_name = audit.actor_name(actor)
    saved.updated_at = now_of(session)
    await session.flush()
    return batch


async def draft(session: AsyncSession, actor: Principal | None, batch_id: int) -> ImportBatch:
    may_write(actor)
    batch = await get_batch(session=session, actor=actor, batch_id=batch_id)
    if batch.status != "draft":
        raise Conflict(f"导入批次 {batch_id} 已经导入过(或已撤销),请重新上传文件")
    return batch


# ---------------------------------------------------------------- walking the rows


def data_rows(book: Workbook, batch: ImportBatch, limit: int) -> tuple[Iterator[Cells], list[str]]:
    """The file's data rows as Cells (blank rows, the header and a totals line left out),
    sheet after sheet, and the header names. More rows than `limit` stop the walk with the
    limit named."""
    found = sheet_headers(book, batch.sheet, batch.kind)
    mapping = batch.mapping or {}
    problems = maps.mapping_problems(batch.kind, mapping)
    if problems:
        raise InvalidInput(";".join(problems), field="mapping")
    names = union_names(found)
    hint = sum(book.size_hint(sheet) or 0 for sheet, _ in found)
    if hint > limit + len(found) * (HEADER_ROWS + 10):
        raise InvalidInput(
            f"文件约有 {hint} 行,超过每次导入 {limit} 行的上限,请分批导入", field="file"
        )
    several = len(found) > 1

    def walk() -> Iterator[Cells]:
        n = 0
        for sheet, headers in found:
            index = {f: c for c, name in enumerate(headers.names) if (f := mapping.get(name))}
            # The report shows every row under the header names of all sheets.
            order = [headers.names.index(name) if name in headers.names else -1 for name in names]
            for i, raw in enumerate(book.rows(sheet)):
                if i <= headers.last_row:
                    continue
                cells = Cells(i + 1, list(raw), index, batch.kind, sheet if several else "")
                if cells.blank() or _footer(raw):
                    continue
                n += 1
                if n > limit:
                    raise InvalidInput(
                        f"文件超过每次导入 {limit} 行的上限,请分批导入", field="file"
                    )
                cells.shown = [raw[c] if 0 <= c < len(raw) else None for c in order]
                yield cells

    return walk(), names


def _footer(raw: list[Any]) -> bool:
    first = next((text_or_blank(v) for v in raw if text_or_blank(v)), "")
    return first.startswith(FOOTER_WORDS)


async def lookups(
    session: AsyncSession, ctx: Context, actor: Principal | None, batch: ImportBatch
) -> Lookups:
    rows = (
        await session.execute(
            select(Unit.id, Unit.name, Unit.kind, Unit.parent_id).where(
                Unit.active == True,  # noqa: E712
                reach_clause(actor, col(Unit.id)),
            )
        )
    ).all()
    names = {int(i): str(n) for i, n, _, _ in rows}
    units = UnitNames(
        names,
        parents={int(i): names.get(int(p or 0), "") for i, _, _, p in rows},
        villages=frozenset(int(i) for i, _, kind, _ in rows if kind == "village"),
    )
    leader_query = select(Leader.id, Leader.name).where(Leader.active == True)  # noqa: E712
    if actor is not None:
        leader_query = leader_query.where(leader_scope(actor))
    leaders: dict[str, list[int]] = {}
    for leader_id, name in await session.execute(leader_query):
        leaders.setdefault(name, []).append(int(leader_id))
    categories = {c.code: c.name for c in await list_categories(session=session) if c.active}
    return Lookups(
        units=units,
        leaders=leaders,
        categories=categories,
        default_unit_id=batch.default_unit_id,
        today=ctx.today(),
    )


@dataclass
class Outcome:
    """What a dry run found (or an import did): the count per verdict, the rows."""

    counts: Counter[str] = field(default_factory=Counter)
    rows: int = 0


Sink = Callable[[case_rows.Verdict], None]


async def walk_cases(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    batch: ImportBatch,
    write: bool,
    sink: Sink | None = None,
) -> Outcome:
    book = file_of(ctx, batch)
    rows, _ = data_rows(book, batch, ctx.settings.import_max_rows)
    planner = case_rows.Planner(session, ctx, actor, await lookups(session, ctx, actor, batch))
    outcome = Outcome()
    chunk: list[Cells] = []

    async def flush_chunk() -> None:
        verdicts = await planner.plan(chunk)
        if write:
            days = [v.row.received_on for v in verdicts if v.row is not None]
            if days:
                calendar = await workcal.calendar_around(
                    session=session, start=min(days), end=max(days) + timedelta(days=400)
                )
                await case_rows.write(session, ctx, actor, batch.id or 0, verdicts, calendar)
        for v in verdicts:
            outcome.counts[v.verdict] += 1
            if sink is not None:
                sink(v)
        outcome.rows += len(verdicts)
        chunk.clear()
        # A long file is worked through in the server's one event loop: other requests get
        # their turn between chunks.
        await asyncio.sleep(0)

    for cells in rows:
        chunk.append(cells)
        if len(chunk) >= CHUNK:
            await flush_chunk()
    await flush_chunk()
    return outcome
