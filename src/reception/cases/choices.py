"""What the case pages offer to choose from and how they name things: categories, the
leaders a caller may name as 包案 owner, and the labels of the case's vocabulary."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal
from reception.cases import registration, workflow
from reception.org.choices import leader_choices


async def choices(db: AsyncSession, principal: Principal) -> dict[str, Any]:
    categories = await registration.list_categories(session=db)
    return {
        "categories": [(c.code, c.name) for c in categories if c.active],
        "category_names": {c.code: c.name for c in categories},
        "leaders": await leader_choices(db, principal),
        "stages": workflow.STAGE_LABELS,
        "channels": workflow.CHANNEL_LABELS,
        "sources": workflow.SOURCE_LABELS,
        "resolutions": workflow.RESOLUTION_LABELS,
        "satisfactions": workflow.SATISFACTION_LABELS,
        "clock_labels": workflow.CLOCK_LABELS,
    }
