"""联席会议 decisions and 督办: a conference (its day, convening leader, the units that sat) takes up
matters — petition cases, ledger entries — and decides on them; each decision names the owner
unit, a deadline and what counts as done, and goes out as a numbered 督办单. The owner reports,
the conference's secretary presses (催办) or closes; every step dated, audited, on the
decision's own history (and on the case's timeline when the matter is a case). A decision
past its deadline and not closed is 空转: flagged on the case page and in the review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.audit.service import actor_name
from reception.auth import Principal
from reception.cases import access as case_access
from reception.cases.models import PetitionCase
from reception.cases.timeline import effective_date, record_event
from reception.context import Context
from reception.db import get_in_scope, next_in_counter, now_of
from reception.errors import Broken, Conflict, Forbidden, InvalidInput
from reception.etags import require_match
from reception.expr import where
from reception.org.access import subtree_ids
from reception.org.models import Leader, Unit
from reception.supervision import access, conferences, notice, rules, schemas
from reception.supervision.models import (
    Conference,
    ConferenceMatter,
    Decision,
    DecisionCounter,
    DecisionStep,
)
from reception.wording import chinese_date

NOTICE_MARK = "督"


# ---------------------------------------------------------------- decisions


async def _unit(session: AsyncSession, unit_id: int) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None or not unit.active:
        raise InvalidInput(f"单位 {unit_id} 不存在或已停用", field="owner_unit_id")
    return unit


async def decide(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    conference_id: int,
    data: schemas.DecisionIn,
) -> Decision:
    """A decision on one of the conference's matters, and its 督办单 (numbered, kept as issued);
    the owner unit's group is told."""
    access.may_check(actor)
    conference = await conferences.get_conference(
        session=session, principal=actor, conference_id=conference_id
    )
    matter = await session.get(ConferenceMatter, data.matter_id)
    if matter is None or matter.conference_id != conference.id:
        raise InvalidInput(f"议题 {data.matter_id} 不是这次会议的议题", field="matter_id")
    unit = await _unit(session, data.owner_unit_id)
    if data.deadline <= conference.held_on:
        raise InvalidInput("办结时限须在会议日期之后", field="deadline")
    today = ctx.today()
    seq = await next_in_counter(session, DecisionCounter, year=today.year)
    number = f"{ctx.settings.case_ref_prefix}{NOTICE_MARK}〔{today.year}〕{seq}号"
    leader = await session.get(Leader, conference.convener_leader_id)
    matter_ref = (await conferences.matters_by_id(session, [matter]))[matter.id or 0]
    decision = Decision(
        conference_id=conference.id or 0,
        matter_id=matter.id or 0,
        case_id=matter.case_id,
        ledger_entry_id=matter.ledger_entry_id,
        owner_unit_id=unit.id or 0,
        content=data.content.strip(),
        done_criteria=data.done_criteria.strip(),
        deadline=data.deadline,
        number=number,
        ref_year=today.year,
        ref_seq=seq,
    )
    decision.notice = notice.render(
        ctx.settings.office_name,
        {
            "office_name": ctx.settings.office_name,
            "number": number,
            "issued_on": chinese_date(today),
            "owner_unit": unit.name,
            "conference": conference.title,
            "held_on": chinese_date(conference.held_on),
            "convener": f"{leader.name}（{leader.title}）" if leader else "",
            "matter": matter_ref,
            "content": decision.content,
            "done_criteria": decision.done_criteria,
            "deadline": chinese_date(decision.deadline),
        },
    )
    session.add(decision)
    await session.flush()
    await audit.record(
        session=session, actor=actor, action="conference.decision", target_type="decision",
        target_id=decision.id,
        after={"unit_id": unit.id, "number": number, "matter": matter_ref,
               "deadline": decision.deadline.isoformat(), "conference_id": conference.id},
    )  # fmt: skip
    # On the case's timeline on the day it was decided (the conference's), entered today.
    await _on_case(session, actor, decision, "decision.made", conference.held_on)
    return decision


async def _on_case(
    session: AsyncSession, actor: Principal | None, decision: Decision, kind: str, on: date
) -> None:
    """A decision's steps are on its case's timeline too (when the matter is a case)."""
    if decision.case_id is None:
        return
    case = await session.get(PetitionCase, decision.case_id)
    if case is None:
        raise Broken("expected: the decision's case")
    await record_event(
        session=session, case=case, actor=actor, kind=kind, on=on,
        after={"decision_id": decision.id, "number": decision.number,
               "status": decision.status, "unit_id": decision.owner_unit_id},
    )  # fmt: skip


async def get_decision(
    *,
    session: AsyncSession,
    principal: Principal | None,
    decision_id: int,
    for_update: bool = False,
) -> Decision:
    decision: Decision = await get_in_scope(
        session, Decision, decision_id, access.decision_scope(principal),
        missing=f"议定事项 {decision_id} 不存在", for_update=for_update,
    )  # fmt: skip
    return decision


@dataclass(frozen=True)
class StepDone:
    decision: Decision
    step: DecisionStep


async def step(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    decision_id: int,
    data: schemas.DecisionStepIn,
    if_match: str | None = None,
) -> StepDone:
    """report: the owner unit's clerk says what was done; press (催办): the secretary asks
    again (a report found wanting goes back to 办理中); close: the secretary 办结s it."""
    decision = await get_decision(
        session=session, principal=actor, decision_id=decision_id, for_update=True
    )
    require_match(access.decision_etag(decision), if_match, f"议定事项{decision.number}")
    unit = await session.get(Unit, decision.owner_unit_id)
    if unit is None:
        raise Broken("expected: the decision's unit")
    if decision.status == "closed":
        raise Conflict(f"{decision.number} 已办结")
    if data.kind == "report":
        if not case_access.handles(actor, unit):
            raise Forbidden(f"办理情况由承办单位{unit.name}报告")
    else:
        access.may_check(actor)
    if data.kind in ("report", "press") and not data.note.strip():
        raise InvalidInput(
            "请写明办理情况" if data.kind == "report" else "请写明催办要求", field="note"
        )
    if data.kind == "close" and decision.status != "reported":
        raise Conflict("承办单位报告办理情况后才能办结")
    last = await session.scalar(
        select(func.max(DecisionStep.on)).where(DecisionStep.decision_id == decision.id)
    )
    conference = await session.get(Conference, decision.conference_id)
    if data.kind == "report" and data.on is not None and not access.dates_back(actor):
        # The owner unit's report is dated the day it is entered: 空转 is judged by it.
        raise InvalidInput("办理情况按报告当天记录,不能改填日期", field="on")
    on = effective_date(
        ctx, data.on, not_before=last or (conference.held_on if conference else None),
        label="上一步",
    )  # fmt: skip
    before = decision.status
    if data.kind == "report":
        decision.status, decision.reported_on = "reported", on
    elif data.kind == "press":
        # A report found wanting is no report: back to 办理中 (and 空转 if past the deadline).
        decision.status, decision.reported_on = "open", None
        decision.pressed += 1
    else:
        decision.status, decision.closed_on = "closed", on
    row = DecisionStep(
        decision_id=decision.id or 0,
        kind=data.kind,
        on=on,
        note=data.note.strip(),
        actor_user_id=actor.user_id if actor else None,
        actor_name=actor_name(actor),
    )
    session.add(row)
    decision.version += 1
    decision.updated_at = now_of(session)
    await session.flush()
    await audit.record(
        session=session, actor=actor, action=f"decision.{data.kind}", target_type="decision",
        target_id=decision.id,
        before={"status": before},
        after={"status": decision.status, "unit_id": decision.owner_unit_id,
               "number": decision.number, "deadline": decision.deadline.isoformat(),
               "on": on.isoformat()},
    )  # fmt: skip
    await _on_case(session, actor, decision, f"decision.{data.kind}", on)
    return StepDone(decision, row)


async def steps_of(session: AsyncSession, decision_id: int) -> list[DecisionStep]:
    rows = await session.scalars(
        select(DecisionStep)
        .where(DecisionStep.decision_id == decision_id)
        .order_by(col(DecisionStep.on), col(DecisionStep.id))
    )
    return list(rows.all())


async def decisions_out(
    session: AsyncSession, rows: list[Decision], today: date, *, with_steps: bool = False
) -> list[schemas.DecisionOut]:
    if not rows:
        return []
    units = {
        u.id: u.name
        for u in await session.scalars(
            select(Unit).where(col(Unit.id).in_({d.owner_unit_id for d in rows}))
        )
    }
    matters = await conferences.matters_by_id(
        session,
        list(
            await session.scalars(
                select(ConferenceMatter).where(
                    col(ConferenceMatter.id).in_({d.matter_id for d in rows})
                )
            )
        ),
    )
    held = {
        c.id: c
        for c in await session.scalars(
            select(Conference).where(col(Conference.id).in_({d.conference_id for d in rows}))
        )
    }
    out = []
    for d in rows:
        c = held.get(d.conference_id)
        out.append(
            schemas.DecisionOut(
                id=d.id or 0,
                number=d.number,
                conference_id=d.conference_id,
                conference=c.title if c else "",
                held_on=c.held_on if c else d.deadline,
                matter=matters.get(d.matter_id, ""),
                case_id=d.case_id,
                ledger_entry_id=d.ledger_entry_id,
                owner_unit_id=d.owner_unit_id,
                owner_unit=units.get(d.owner_unit_id, ""),
                content=d.content,
                done_criteria=d.done_criteria,
                deadline=d.deadline,
                status=d.status,
                status_label=rules.DECISION_STATUS_LABELS[d.status],
                stalled=bool(rules.stalled(d, today)),
                pressed=d.pressed,
                closed_on=d.closed_on,
                steps=[
                    schemas.DecisionStepOut(
                        kind=s.kind, label=rules.DECISION_STEP_LABELS[s.kind], on=s.on,
                        note=s.note, actor_name=s.actor_name,
                    )
                    for s in (await steps_of(session, d.id or 0) if with_steps else [])
                ],
            )
        )  # fmt: skip
    return out


async def list_decisions(
    *,
    session: AsyncSession,
    principal: Principal | None,
    today: date,
    conference_id: int | None = None,
    case_id: int | None = None,
    status: str | None = None,
    stalled: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Decision], int]:
    query = select(Decision).where(access.decision_scope(principal))
    if conference_id is not None:
        query = query.where(Decision.conference_id == conference_id)
    if case_id is not None:
        query = query.where(Decision.case_id == case_id)
    if status:
        query = query.where(Decision.status == status)
    if stalled is not None:
        late = where(rules.stalled, Decision, today)
        query = query.where(late if stalled else ~late)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(col(Decision.deadline), col(Decision.id)).limit(limit).offset(offset)
    )
    return list(rows.all()), total


async def overdue_decisions(session: AsyncSession, today: date) -> list[tuple[Decision, str]]:
    """Decisions past their deadline with nothing from the owner unit standing (the daily
    job's escalations; one reported and waiting for the secretary is not the unit's delay)."""
    rows = await session.execute(
        select(Decision, Unit.name)
        .join(Unit, col(Unit.id) == col(Decision.owner_unit_id))
        .where(Decision.status == "open", col(Decision.deadline) < today)
        .order_by(col(Decision.deadline))
    )
    return [(d, name) for d, name in rows.all()]


async def review_figures(
    session: AsyncSession, *, root: Unit, first: date, last: date, as_of: date
) -> dict[str, Any]:
    """The review's 联席会议 figures: conferences held in the month (by the as-of day) — for a
    unit below the district, those that decided something for its subtree — the decisions
    they made for the subtree, and every decision of the subtree 空转 as of the day."""
    held_in = select(Conference).where(
        col(Conference.held_on) >= first, col(Conference.held_on) <= min(last, as_of)
    )
    if root.kind != "district":
        held_in = held_in.where(
            col(Conference.id).in_(
                select(Decision.conference_id).where(
                    col(Decision.owner_unit_id).in_(subtree_ids(root.path))
                )
            )
        )
    held = list(await session.scalars(held_in))
    made = await session.scalar(
        select(func.count())
        .select_from(Decision)
        .where(
            col(Decision.conference_id).in_([c.id for c in held]),
            col(Decision.owner_unit_id).in_(subtree_ids(root.path)),
        )
    )
    stalled_rows = list(
        await session.scalars(
            select(Decision)
            .join(Conference, col(Conference.id) == col(Decision.conference_id))
            .where(
                col(Conference.held_on) <= as_of,
                col(Decision.owner_unit_id).in_(subtree_ids(root.path)),
                where(rules.stalled, Decision, as_of),
            )
            .order_by(col(Decision.deadline))
        )
    )
    stalled = await decisions_out(session, stalled_rows, as_of)
    return {
        "conferences": len(held),
        "decisions": int(made or 0),
        "stalled": [
            {
                "number": d.number,
                "conference": d.conference,
                "matter": d.matter,
                "owner_unit": d.owner_unit,
                "deadline": d.deadline.isoformat(),
                "days_over": (as_of - d.deadline).days,
                "pressed": d.pressed,
                "status": d.status_label,
                "case_id": d.case_id,
            }
            for d in stalled
        ],
    }


async def conference_out(
    session: AsyncSession, principal: Principal | None, conference: Conference, today: date
) -> schemas.ConferenceOut:
    leader = await session.get(Leader, conference.convener_leader_id)
    units = {
        u.id: u.name
        for u in await session.scalars(select(Unit).where(col(Unit.id).in_(conference.unit_ids)))
    }
    rows, _ = await list_decisions(
        session=session, principal=principal, today=today, conference_id=conference.id,
        limit=500,
    )  # fmt: skip
    matters = await conferences.matters_of(session, conference.id or 0)
    whole = access.checks(principal)
    if not whole:
        # A unit's clerk learns of the matters decided for his subtree only (another
        # township's case is not his to know of), and not the minutes.
        mine = {d.matter_id for d in rows}
        matters = [m for m in matters if m.id in mine]
    return schemas.ConferenceOut(
        id=conference.id or 0,
        held_on=conference.held_on,
        title=conference.title,
        convener=f"{leader.name}({leader.title})" if leader else "",
        units=[units[i] for i in conference.unit_ids if i in units],
        notes=conference.notes if whole else "",
        secretary_name=conference.secretary_name,
        matters=matters,
        decisions=await decisions_out(session, rows, today, with_steps=True),
    )
