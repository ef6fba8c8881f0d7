"""The spot check's checklist (抽查清单): the office's first list put in once, then the admin's
to edit (a line no longer used is set inactive: past marks keep their meaning)."""

from __future__ import annotations

import secrets

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.db import now_of
from reception.errors import InvalidInput, NotFound
from reception.supervision import schemas
from reception.supervision.models import CheckItem

# The units a month's check covers: the base units under the district.
BASE_KINDS = ("township", "department")


# ---------------------------------------------------------------- the checklist


# The office's first checklist (rules.DEFAULT_ITEMS) is put in by the migration that made the
# table (0026): reading it never writes — two readers at once never race to seed it.


async def list_items(session: AsyncSession, *, active_only: bool = False) -> list[CheckItem]:
    query = select(CheckItem).order_by(col(CheckItem.position), col(CheckItem.id))
    if active_only:
        query = query.where(col(CheckItem.active).is_(True))
    return list((await session.scalars(query)).all())


def item_out(i: CheckItem) -> schemas.ItemOut:
    return schemas.ItemOut(
        id=i.id or 0, code=i.code, label=i.label, hint=i.hint, position=i.position, active=i.active
    )


async def create_item(
    *, session: AsyncSession, actor: Principal | None, data: schemas.ItemIn
) -> CheckItem:
    item = CheckItem(
        code=f"custom_{secrets.token_hex(4)}",
        label=data.label.strip(),
        hint=data.hint.strip(),
        position=data.position,
    )
    session.add(item)
    await session.flush()
    await audit.record(
        session=session, actor=actor, action="check_item.create", target_type="check_item",
        target_id=item.id, after={"label": item.label, "position": item.position},
    )  # fmt: skip
    return item


async def update_item(
    *, session: AsyncSession, actor: Principal | None, item_id: int, data: schemas.ItemPatch
) -> CheckItem:
    item = await session.get(CheckItem, item_id)
    if item is None:
        raise NotFound(f"抽查项目 {item_id} 不存在")
    changes = data.changes()
    before = {k: getattr(item, k) for k in changes}
    for name, value in changes.items():
        setattr(item, name, value.strip() if isinstance(value, str) else value)
    if changes.get("active") is False and not await session.scalar(
        select(func.count())
        .select_from(CheckItem)
        .where(col(CheckItem.active).is_(True), col(CheckItem.id) != item_id)
    ):
        raise InvalidInput("抽查清单至少保留一项", field="active")
    item.updated_at = now_of(session)
    await session.flush()
    await audit.record(
        session=session, actor=actor, action="check_item.update", target_type="check_item",
        target_id=item.id, before=before, after={k: getattr(item, k) for k in changes},
    )  # fmt: skip
    return item
