"""A township's villages and communities (村/居委会) from a list (name, township, 村/社区):
read and checked like a ledger — each row's verdict first (新建 / 已有 / 错误), then the
administrator confirms and the units are made under their townships, one audited creation each.
A list is small (a district has about a thousand), so it is read whole and carried to the
confirmation; the confirmation is checked again, as anything a form sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import Principal
from reception.errors import Forbidden, InvalidInput
from reception.imports import mapping as maps
from reception.imports import values
from reception.imports.reading import Workbook
from reception.imports.rows import Cells
from reception.org import schemas as org_schemas
from reception.org import service as org
from reception.org.models import Unit

# More rows than a district has villages: not a village list.
MAX_VILLAGES = 20_000
NAME_LIMIT = 100


@dataclass(frozen=True)
class Village:
    line: int
    name: str
    township_id: int | None
    township: str
    verdict: str  # create | same | error
    reason: str = ""


def _may(actor: Principal | None) -> None:
    if actor is not None and actor.role != "admin":
        raise Forbidden("只有系统管理员可以导入村(社区)名单")


async def _townships(session: AsyncSession) -> dict[int, str]:
    rows = await session.execute(
        select(Unit.id, Unit.name).where(Unit.kind == "township", Unit.active == True)  # noqa: E712
    )
    return {int(i): str(n) for i, n in rows}


async def _existing(session: AsyncSession) -> set[tuple[int, str]]:
    rows = await session.execute(
        select(Unit.parent_id, Unit.name).where(
            Unit.kind == "village", col(Unit.parent_id).is_not(None)
        )
    )
    return {(int(p), str(n)) for p, n in rows}


def _rows(book: Workbook, sheet: str) -> tuple[list[list[Any]], dict[str, int], int]:
    rows = []
    for i, raw in enumerate(book.rows(sheet)):
        rows.append(list(raw))
        if i > MAX_VILLAGES + 20:
            raise InvalidInput(f"名单超过 {MAX_VILLAGES} 行,不像村(社区)名单", field="file")
    top = [[_text(v) for v in r] for r in rows[:15]]
    headers = maps.find_headers("units", top)
    if headers is None:
        raise InvalidInput(
            "找不到表头:名单应有「村(社区)名称」和「所属乡镇(街道)」两列", field="file"
        )
    mapping = maps.propose("units", headers.names, None)
    problems = maps.mapping_problems("units", mapping)
    if problems:
        raise InvalidInput(";".join(problems), field="file")
    index = {f: c for c, name in enumerate(headers.names) if (f := mapping.get(name))}
    return rows, index, headers.last_row


def _text(value: Any) -> str:
    try:
        return values.text(value)
    except values.Unreadable:
        return ""


async def read_villages(
    *, session: AsyncSession, actor: Principal | None, data: bytes, sheet: str | None = None
) -> list[Village]:
    """Each row of the list with its verdict; nothing written."""
    _may(actor)
    book = Workbook(data)
    rows, index, last = _rows(book, book.sheet(sheet))
    names = await _townships(session)
    townships = values.UnitNames(names, label="系统中已有的乡镇(街道)")
    existing = await _existing(session)
    out: list[Village] = []
    for i, raw in enumerate(rows):
        if i <= last:
            continue
        cells = Cells(i + 1, raw, index, "units")
        if cells.blank():
            continue
        name = cells.read("name", values.text) or ""
        town = cells.read("township", townships.find)
        cells.read("kind", lambda v: values.coded("village_kind", v))
        if not name and not cells.errors:
            cells.errors.append("名称为空")
        if len(name) > NAME_LIMIT:
            cells.errors.append(f"名称超过 {NAME_LIMIT} 字")
        where = names.get(town or 0, "")
        if cells.errors or town is None:
            out.append(Village(i + 1, name[:NAME_LIMIT], None, "", "error", ";".join(cells.errors)))
        elif (town, name) in existing:
            out.append(Village(i + 1, name, town, where, "same", "该乡镇(街道)下已有同名村(社区)"))
        else:
            existing.add((town, name))
            out.append(Village(i + 1, name, town, where, "create"))
    return out


async def add_villages(
    *, session: AsyncSession, actor: Principal | None, villages: list[tuple[str, int]]
) -> int:
    """Make the villages (name, township id) confirmed after the check — checked again here:
    a township that is none, a name too long or already there is refused or passed over."""
    _may(actor)
    townships = await _townships(session)
    existing = await _existing(session)
    made = 0
    for name, township_id in villages:
        name = name.strip()
        if township_id not in townships:
            raise InvalidInput(f"乡镇(街道) {township_id} 不存在", field="villages")
        if not name or len(name) > NAME_LIMIT:
            raise InvalidInput(f"村(社区)名称须为 1 至 {NAME_LIMIT} 字", field="villages")
        if (township_id, name) in existing:
            continue
        data = org_schemas.UnitCreate(name=name, kind="village", parent_id=township_id)
        await org.create_unit(session=session, actor=actor, data=data)
        existing.add((township_id, name))
        made += 1
    return made
