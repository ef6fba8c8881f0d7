"""A case's timeline: append-only events (who, when, what, before/after), one per change.

Writing an event also bumps the case's version (its ETag), in the same transaction as the
change it records.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.audit.service import actor_name
from reception.auth import Principal
from reception.cases import workflow
from reception.cases.models import CaseEvent, PetitionCase
from reception.context import Context
from reception.db import now_of
from reception.errors import Broken, InvalidInput

# How a person reads a timeline row's kind (the case page, a 流调's 办理过程).
EVENT_LABELS = {
    **{f"transition.{k}": v for k, v in workflow.ACTION_LABELS.items()},
    "registered": "登记",
    "updated": "修改登记信息",
    "resolution": "记录化解情况",
    "evaluation": "记录满意度评价",
    "ownership.assigned": "确定包案领导",
    "ownership.reassigned": "更换包案领导",
    "document.issued": "出具文书",
    "document.delivered": "文书送达",
    "document.superseded": "文书更正",
    "session.linked": "关联接访",
    "session.unlinked": "取消关联接访",
    "session.outcome": "接访/下访情况",
    "evaluation.petitioner": "信访人评价",
    # A ledger brought in from a spreadsheet (reception.imports): its steps, dated as recorded.
    "imported.registered": "登记(台账导入)",
    "imported.accepted": "受理(台账导入)",
    "imported.rejected": "不予受理(台账导入)",
    "imported.replied": "答复(台账导入)",
    "imported.closed": "办结(台账导入)",
    # 督查督办: the case's 流调.
    "inquiry.opened": "开展流调",
    "inquiry.updated": "修改流调记录",
    "inquiry.signed": "流调结论签批",
    # 督查督办: a 联席会议's decision on the case, and its steps.
    "decision.made": "联席会议议定(督办)",
    "decision.report": "报告督办事项办理情况",
    "decision.press": "联席会议催办",
    "decision.close": "督办事项办结",
}


def effective_date(
    ctx: Context,
    on: date | None,
    *,
    not_before: date | None = None,
    label: str = "",
    field: str = "on",
) -> date:
    """The day something happened: default today, never in the future, never before
    `not_before` (补录: a step entered later is dated when it happened). `field`: the body's
    field the day came in (its message is shown beside it)."""
    today = ctx.today()
    day = on or today
    if day > today:
        raise InvalidInput(f"{day.isoformat()} 晚于今天", field=field)
    if not_before is not None and day < not_before:
        raise InvalidInput(
            f"{day.isoformat()} 早于{label or '上一步'}({not_before.isoformat()})",
            field=field,
        )
    return day


def facts(row: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of a row (a case, a ledger entry) as JSON-ready values (dates as ISO
    strings): what a history row keeps before and after a change."""
    out = {}
    for name in names:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


async def record_event(
    *,
    session: AsyncSession,
    case: PetitionCase,
    actor: Principal | None,
    kind: str,
    on: date,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
    actor_label: str | None = None,
) -> CaseEvent:
    """Append a timeline event and bump the case's version (its ETag)."""
    if case.id is None:
        raise Broken("expected: case.id is not None")
    event = CaseEvent(
        case_id=case.id,
        effective_on=on,
        actor_user_id=actor.user_id if actor else None,
        actor_name=actor_label or actor_name(actor),
        kind=kind,
        note=note,
        before=before,
        after=after,
    )
    session.add(event)
    case.version += 1
    case.updated_at = now_of(session)
    await session.flush()
    # The office's audit log sees every write, cases included (the timeline is the case's own
    # story; before/after hold facts of the case, never a petitioner's data).
    await audit.record(
        session=session,
        actor=actor,
        action=f"case.{kind}",
        target_type="petition_case",
        target_id=case.id,
        before=before,
        after=after,
        actor_label=actor_label,
    )
    return event


async def timeline(*, session: AsyncSession, case_id: int) -> list[CaseEvent]:
    """In the order things happened: by the day each step is dated (a step entered later,
    补录, stands on its own day), then as recorded."""
    rows = await session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id)
        .order_by(col(CaseEvent.effective_on), col(CaseEvent.id))
    )
    return list(rows.all())


async def timeline_since(*, session: AsyncSession, case_id: int, version: int) -> list[CaseEvent]:
    """The events recorded after the case stood at `version` (each event made one version),
    in the order they were recorded."""
    rows = await session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id)
        .order_by(col(CaseEvent.id))
        .offset(max(version, 0))
    )
    return list(rows.all())


async def stages_as_of(
    *, session: AsyncSession, case_ids: Iterable[int], as_of: date
) -> dict[int, str]:
    """Each case's stage as it stood on a day: the last timeline event dated by then that
    recorded a stage (registration, then each transition)."""
    ids = sorted(set(case_ids))
    out: dict[int, str] = {}
    if not ids:
        return out
    # Only the events that recorded a stage, and only that of them (a review lists thousands
    # of cases, each with its whole timeline).
    stage = col(CaseEvent.after)["stage"].as_string()
    rows = await session.execute(
        select(col(CaseEvent.case_id), stage)
        .where(
            col(CaseEvent.case_id).in_(ids),
            col(CaseEvent.effective_on) <= as_of,
            stage.is_not(None),
        )
        .order_by(col(CaseEvent.effective_on), col(CaseEvent.id))
    )
    for case_id, recorded in rows:
        out[case_id] = recorded
    return out
