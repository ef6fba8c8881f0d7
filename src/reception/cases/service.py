"""A case's stage machine, delivery of the reply, resolution and evaluation.

`transition` is the one place a case changes stage: it reads the move table
(`workflow.MOVES`: which stages an action starts from, where it leads, which date it stamps
and which clocks it meets, voids and starts), runs the action's own checks, and writes the
timeline event, all in the caller's transaction. Plain functions that flush, never commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal
from reception.cases import clocks, deliveries, schemas, workflow
from reception.cases.access import check_if_match, for_change, get_case, may_write, resolves
from reception.cases.models import PetitionCase
from reception.cases.ownership import current_owner
from reception.cases.timeline import effective_date, facts, record_event
from reception.context import Context
from reception.errors import Broken, Conflict, InvalidInput


async def matter_re_reviewed(session: AsyncSession, case: PetitionCase) -> bool:
    """Whether an earlier case of this matter (its repeat_of chain) went through 复核."""
    seen: set[int] = set()
    current = case.repeat_of_id
    while current is not None and current not in seen:
        seen.add(current)
        earlier = await session.get(PetitionCase, current)
        if earlier is None:
            return False
        if earlier.re_review_decided_on is not None:
            return True
        current = earlier.repeat_of_id
    return False


async def allowed(session: AsyncSession, case: PetitionCase) -> list[str]:
    return workflow.allowed_actions(
        case, matter_re_reviewed=await matter_re_reviewed(session, case)
    )


def _last_step(case: PetitionCase) -> date:
    days = [
        d
        for d in (
            case.registered_on,
            case.accepted_on,
            case.replied_on,
            case.delivered_on,
            case.review_requested_on,
            case.review_decided_on,
            case.re_review_requested_on,
            case.re_review_decided_on,
            case.closed_on,
        )
        if d is not None
    ]
    return max(days)


TRACKED = (
    "stage",
    "simple_procedure",
    "accepted_on",
    "rejection_reason",
    "diverted_to",
    "reply_doc_number",
    "replied_on",
    "delivery_method",
    "delivered_on",
    "review_requested_on",
    "review_decided_on",
    "re_review_requested_on",
    "re_review_decided_on",
    "closed_on",
)


# ---------------------------------------------------------------- each action's own checks
#
# A step checks and records what only its action takes (a reason, a procedure, a document
# number, a delivery); the move table does the rest.


@dataclass(frozen=True)
class Act:
    """One action being taken on a case: what every step may need."""

    session: AsyncSession
    ctx: Context
    actor: Principal | None
    case: PetitionCase
    data: schemas.Transition
    on: date
    # Where the delivery sits in the request (its errors name the fields so).
    delivery_prefix: str = "delivery."


Step = Callable[[Act], Awaitable[None]]


async def _reject(act: Act) -> None:
    if not act.data.reason.strip():
        raise InvalidInput("不予受理须写明理由", field="reason")
    act.case.rejection_reason = act.data.reason


async def _divert(act: Act) -> None:
    if act.data.procedure is None:
        raise InvalidInput(
            "请选择导入的法定程序:litigation(诉讼)、arbitration(仲裁)或 reconsideration(行政复议)",
            field="procedure",
        )
    act.case.diverted_to = act.data.procedure


async def _simple(act: Act) -> None:
    act.case.simple_procedure = True


async def _extend(act: Act) -> None:
    await clocks.extend_handling(
        act.session,
        act.actor,
        act.case,
        days=act.data.days,
        reason=act.data.reason,
        approver=act.data.approver,
        petitioner_told_on=act.data.petitioner_told_on,
        on=act.on,
    )


async def _reply(act: Act) -> None:
    if not act.data.doc_number.strip():
        raise InvalidInput("处理意见书须有文号", field="doc_number")
    act.case.reply_doc_number = act.data.doc_number.strip()


async def _deliver(act: Act) -> None:
    """The reply reached the petitioner: the one delivery record (cases.deliveries), and the
    case's delivery state taken from it (the move table then starts the 复查 window)."""
    data = act.data.delivery_record()
    if data is None:
        raise InvalidInput("请登记送达:方式、日期和签收人", field="delivery")
    if data.outcome != "delivered":
        raise InvalidInput(
            "“送达”登记的是已经送达的一次;未能送达的,请在处理意见书的送达记录中登记",
            field="delivery.outcome",
        )
    row = await deliveries.record(
        session=act.session,
        ctx=act.ctx,
        actor=act.actor,
        case=act.case,
        doc_number=act.case.reply_doc_number,
        issued_on=act.case.replied_on or act.on,
        data=msgspec.structs.replace(data, on=data.on or act.on),
        prefix=act.delivery_prefix if act.data.delivery is not None else "",
    )
    act.case.delivery_method = row.method
    act.case.delivered_on = row.delivered_on


def _window_check(label: str) -> Step:
    async def check(act: Act) -> None:
        if act.case.id is None:
            raise Broken("expected: act.case.id is not None")
        window = await clocks.running(act.session, act.case.id, "review_request")
        if window is not None and act.on > window.current_due:
            raise Conflict(
                f"申请{label}的30日期限已于 {window.current_due.isoformat()} 届满",
                window_closed_on=window.current_due.isoformat(),
            )

    return check


async def _hearing(act: Act) -> None:
    await clocks.pause(
        act.session,
        act.ctx,
        act.actor,
        act.case,
        kind="re_review",
        starts_on=act.data.hearing_from,
        ends_on=act.data.hearing_to,
        reason=act.data.reason,
    )


STEPS: dict[str, Step] = {
    "reject": _reject,
    "divert": _divert,
    "simple_procedure": _simple,
    "extend": _extend,
    "reply": _reply,
    "deliver": _deliver,
    "request_review": _window_check("复查"),
    "request_re_review": _window_check("复核"),
    "hearing": _hearing,
}


async def _apply(act: Act, action: str) -> None:
    """One action: its own step, then what the move table says, in the table's order."""
    session, case, on = act.session, act.case, act.on
    move = workflow.MOVES[action]
    if case.id is None:
        raise Broken("expected: case.id is not None")
    step = STEPS.get(action)
    if step is not None:
        await step(act)
    if move.stamps:
        setattr(case, move.stamps, on)
    for kind in move.meets:
        await clocks.meet_running(session, case.id, kind, on)
    for kind in move.voids:
        await clocks.void_running(session, case.id, kind)
    for start in move.starts:
        started_on = getattr(case, start.from_field) if start.from_field else on
        await clocks.start_clock(session, case, start.kind, started_on, round_=start.round)
    if move.target is not None:
        case.stage = move.target


async def transition(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case_id: int,
    data: schemas.Transition,
    if_match: str | None = None,
    delivery_prefix: str = "delivery.",
) -> PetitionCase:
    """`delivery_prefix`: where the route's body holds the delivery (a notice's own route
    sends the delivery alone)."""
    case = await for_change(session, actor, case_id, if_match)
    possible = await allowed(session, case)
    action = data.action
    if action not in possible:
        why = ""
        if action == "accept" and case.stage == "registered":
            why = "(该事项此前已经复核,不再受理)"
        raise Conflict(
            f"处于“{workflow.STAGE_LABELS[case.stage]}”阶段的事项不能{workflow.ACTION_LABELS[action]}"
            f"{why};现在可以:{'、'.join(workflow.ACTION_LABELS[a] for a in possible) or '无'}",
            stage=case.stage,
            allowed=possible,
        )
    on = effective_date(ctx, data.on, not_before=_last_step(case), label="该事项上一步的日期")
    before = facts(case, TRACKED)
    act = Act(session, ctx, actor, case, data, on, delivery_prefix)
    await _apply(act, action)
    if action == "reply" and data.delivery_record() is not None:
        # Delivered with the reply: the same as a `deliver` right after it.
        await _apply(act, "deliver")
    await session.flush()
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind=f"transition.{action}",
        on=on,
        before=before,
        after=facts(case, TRACKED),
        note=data.note,
    )
    return case


# ---------------------------------------------------------------- resolution and evaluation


async def set_resolution(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case_id: int,
    data: schemas.ResolutionPut,
    if_match: str | None = None,
) -> PetitionCase:
    """化解 / 息诉罢访: by the office, or by the leader who owns the case now."""
    case = await get_case(session=session, case_id=case_id, principal=actor, for_update=True)
    owner = await current_owner(session, case_id)
    if not resolves(actor, owner.leader_id if owner else None):
        may_write(actor)
    check_if_match(case, if_match)
    if case.stage == "registered":
        raise Conflict("信访事项须先受理或作出处理,才能记录化解情况")
    if data.resolution != "unresolved" and not data.method.strip():
        raise InvalidInput("请填写化解方式", field="method")
    on = effective_date(ctx, data.on, not_before=case.registered_on, label="登记日期")
    before = facts(
        case, ("resolution", "resolution_on", "resolution_method", "resolution_evidence")
    )
    case.resolution = data.resolution
    case.resolution_on = None if data.resolution == "unresolved" else on
    case.resolution_method = data.method
    case.resolution_evidence = data.evidence
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="resolution",
        on=on,
        before=before,
        after=facts(case, list(before)),
    )
    return case


async def set_evaluation(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case_id: int,
    data: schemas.EvaluationPut,
    if_match: str | None = None,
) -> PetitionCase:
    case = await for_change(session, actor, case_id, if_match)
    if case.replied_on is None:
        raise Conflict("出具处理意见后信访人才能评价")
    on = effective_date(ctx, data.on, not_before=case.replied_on, label="答复日期")
    before = facts(case, ("satisfaction", "evaluated_on"))
    case.satisfaction = data.satisfaction
    case.evaluated_on = None if data.satisfaction == "not_evaluated" else on
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="evaluation",
        on=on,
        before=before,
        after=facts(case, list(before)),
    )
    return case
