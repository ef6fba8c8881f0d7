"""An entry's moves (跟进, 调整责任人, 升级, 销账, 转为信访事项): the rules' table says which are
allowed; each is a history row and an audit entry in the change's transaction. 转为信访事项
registers the case through the cases' own registration (the repeat check runs there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from reception.auth import Principal
from reception.cases import registration
from reception.cases import schemas as case_schemas
from reception.cases.models import PetitionCase
from reception.cases.timeline import facts
from reception.context import Context
from reception.db import now_of
from reception.errors import Broken, Conflict, InvalidInput
from reception.etags import require_match
from reception.ledger import rules, schemas
from reception.ledger.access import entry_etag, get_entry, may_keep
from reception.ledger.models import LedgerEntry, LedgerMove, LedgerParty
from reception.ledger.service import (
    check_risk,
    domain_row,
    record,
    review_day,
)
from reception.ledger.views import parties_of
from reception.org.choices import named_leader
from reception.org.models import Unit


@dataclass(frozen=True)
class Moved:
    entry: LedgerEntry
    case: PetitionCase | None = None
    candidates: list[case_schemas.RepeatCandidate] | None = None


async def _last_step(session: AsyncSession, entry: LedgerEntry) -> date:
    last = await session.scalar(
        select(func.max(LedgerMove.on)).where(LedgerMove.entry_id == entry.id)
    )
    return max(last or entry.found_on, entry.found_on)


# What a move may change (its history row keeps these before and after).
CHANGED = (
    "summary",
    "domain_code",
    "people_count",
    "amount_disputed",
    "plan",
    "target_on",
    "risk",
    "review_on",
    "unit_id",
    "stability_leader_id",
    "resolution_leader_id",
    "status",
    "closed_on",
    "resolve_method",
    "amount_recovered",
    "case_id",
)
NEEDS_NOTE = {"follow_up": "跟进情况", "escalate": "升级原因"}


@dataclass
class Step:
    """One move being made: the entry (locked), its unit, the body, the day, and what it did."""

    session: AsyncSession
    ctx: Context
    actor: Principal | None
    entry: LedgerEntry
    unit: Unit
    data: schemas.MoveIn
    on: date
    status: str
    from_unit: int | None = None
    to_unit: int | None = None
    moved: Moved | None = None


async def _leaders(step: Step) -> None:
    """New 稳控/化解责任人, where the body names them."""
    data, entry = step.data, step.entry
    if data.stability_leader_id is not None:
        await named_leader(
            step.session, step.actor, data.stability_leader_id, "stability_leader_id"
        )
        entry.stability_leader_id = data.stability_leader_id
    if data.resolution_leader_id is not None:
        await named_leader(
            step.session, step.actor, data.resolution_leader_id, "resolution_leader_id"
        )
        entry.resolution_leader_id = data.resolution_leader_id


async def _follow_up(step: Step) -> None:
    entry, data = step.entry, step.data
    if data.risk is not None:
        check_risk(step.ctx, data.risk, entry.people_count, entry.amount_disputed)
        entry.risk = data.risk
    review_on = data.review_on or await review_day(step.session, step.ctx, step.on, entry.risk)
    if review_on < step.on:
        raise InvalidInput("下次复核日期早于本次跟进", field="review_on")
    entry.review_on = review_on


async def _correct(step: Step) -> None:
    """更正: facts entered wrongly at 建账, the risk rule checked on the result (the risk may be
    corrected in the same step)."""
    entry, data = step.entry, step.data
    given = {
        "summary": data.summary,
        "domain_code": (await domain_row(step.session, data.domain)).code if data.domain else None,
        "people_count": data.people_count,
        "amount_disputed": data.amount_disputed,
        "plan": data.plan,
        "target_on": data.target_on,
        "risk": data.risk,
    }
    changes = {k: v for k, v in given.items() if v is not None and getattr(entry, k) != v}
    if not changes:
        raise InvalidInput("没有要更正的内容", field="summary")
    for name, value in changes.items():
        setattr(entry, name, value)
    if entry.target_on < entry.found_on:
        raise InvalidInput("化解期限早于发现日期", field="target_on")
    parties = await step.session.scalar(
        select(func.count()).where(LedgerParty.entry_id == entry.id)
    )
    if entry.people_count < (parties or 0):
        raise InvalidInput(f"涉及人数不能少于当事人数({parties} 人)", field="people_count")
    check_risk(step.ctx, entry.risk, entry.people_count, entry.amount_disputed)


async def _reassign(step: Step) -> None:
    if step.data.stability_leader_id is None and step.data.resolution_leader_id is None:
        raise InvalidInput("请选择新的稳控责任人或化解责任人", field="stability_leader_id")
    await _leaders(step)


async def _escalate(step: Step) -> None:
    """升级: the unit above takes it (a village → its township → the district), its review
    counted again from the day."""
    unit = step.unit
    if unit.parent_id is None:
        raise InvalidInput(f"{unit.name}已是最高一级,无法再升级", field="move")
    parent = await step.session.get(Unit, unit.parent_id)
    if parent is None:
        raise Broken("expected: the parent unit exists")
    step.from_unit, step.to_unit = unit.id, parent.id
    step.entry.unit_id = parent.id or 0
    step.entry.review_on = await review_day(step.session, step.ctx, step.on, step.entry.risk)
    await _leaders(step)


async def _resolve(step: Step) -> None:
    if step.data.method is None:
        raise InvalidInput(
            "请选择化解方式(调解协议、司法确认、行政处理、诉讼引导…)", field="method"
        )
    step.entry.resolve_method = step.data.method
    step.entry.amount_recovered = step.data.amount_recovered or 0
    step.entry.status, step.entry.closed_on = step.status, step.on


async def _convert(step: Step) -> None:
    """转为信访事项: the parties as petitioners, the domain as category, received on the day."""
    entry, data, on = step.entry, step.data, step.on
    parties = await parties_of(step.ctx.keys, step.session, entry.id or 0)
    done = await registration.register(
        session=step.session,
        ctx=step.ctx,
        actor=step.actor,
        data=case_schemas.CaseCreate(
            petitioners=[
                case_schemas.PetitionerIn(name=p.name, id_number=p.id_number, phone=p.phone)
                for p in parties
            ],
            channel=data.channel or "visit",
            category=entry.domain_code,
            summary=entry.summary,
            unit_id=entry.unit_id,
            received_on=on,
            people_count=entry.people_count,
            repeat_of=data.repeat_of,
            on=on,
        ),
    )
    entry.case_id = done.case.id
    entry.status, entry.closed_on = step.status, on
    step.moved = Moved(entry, done.case, done.candidates)


MOVES = {
    "follow_up": _follow_up,
    "correct": _correct,
    "reassign": _reassign,
    "escalate": _escalate,
    "resolve": _resolve,
    "convert": _convert,
}


async def move(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    entry_id: int,
    data: schemas.MoveIn,
    if_match: str | None = None,
) -> Moved:
    entry = await get_entry(session=session, principal=actor, entry_id=entry_id, for_update=True)
    unit = await session.get(Unit, entry.unit_id)
    if unit is None:
        raise Broken("expected: the entry's unit exists")
    may_keep(actor, unit)
    require_match(entry_etag(entry), if_match, f"台账{entry.reference}")
    status = rules.next_move(entry.status, data.move)
    if status is None:
        raise Conflict(
            f"台账{entry.reference}{rules.STATUS_LABELS[entry.status]},"
            f"不能再{rules.MOVE_LABELS[data.move]}"
        )
    today = ctx.today()
    on = data.on or today
    if on > today:
        raise InvalidInput(f"{on.isoformat()} 晚于今天", field="on")
    last = await _last_step(session, entry)
    if on < last:
        raise InvalidInput(f"{on.isoformat()} 早于上一步({last.isoformat()})", field="on")
    if data.move in NEEDS_NOTE and not data.note.strip():
        raise InvalidInput(f"请填写{NEEDS_NOTE[data.move]}", field="note")
    before = facts(entry, CHANGED)
    step = Step(session, ctx, actor, entry, unit, data, on, status)
    await MOVES[data.move](step)
    entry.version += 1
    entry.updated_at = now_of(session)
    after = facts(entry, CHANGED)
    await record(
        session,
        actor,
        entry,
        data.move,
        on,
        note=data.note.strip(),
        before={k: v for k, v in before.items() if after.get(k) != v},
        after={k: v for k, v in after.items() if before.get(k) != v},
        from_unit_id=step.from_unit,
        to_unit_id=step.to_unit,
    )
    return step.moved or Moved(entry)
