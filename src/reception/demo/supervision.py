"""The demo's 督查督办: last month's spot check drawn (about two thirds of its cases checked
now, findings due in ten working days), the month before's checked and mostly rectified — a
few late, so the review and the daily job have something to say — and 流调 of recent repeat
matters, some signed by the 区长, some still open (listed in the clerks' worklist). The
problems found lean the way the report says they do: 档案资料不全, 答复送达不规范.
Idempotent: nothing is added when a check exists."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.auth import Principal
from reception.base import shift_month
from reception.cases.models import PetitionCase
from reception.context import Context
from reception.ledger.models import LedgerEntry
from reception.org.models import Leader, Unit, User
from reception.supervision import (
    checklist,
    conferences,
    decisions,
    findings,
    inquiries,
    schemas,
    spot_checks,
)
from reception.supervision.models import SpotCheck, SpotCheckCase

# How often a checklist line fails in the demo (the report's weak points fail most).
FAIL_RATE = {
    "registered": 0.04,
    "on_time": 0.08,
    "delivery": 0.15,
    "verified": 0.06,
    "archive": 0.18,
}
PROBLEMS = {
    "registered": "来访登记要素不全,缺联系方式和诉求要点",
    "on_time": "受理告知书超过15日才出具",
    "delivery": "处理意见书送达回证无签收人签名",
    "verified": "处理意见未附调查核实材料",
    "archive": "档案缺受理告知书和送达回证",
}
ANSWERS = [
    "已补齐材料并归档,经办人已作说明",
    "已重新出具并当面送达,回证已归档",
    "已组织经办人员学习信访工作条例,完善登记台账",
]


async def _draw(session: AsyncSession, ctx: Context, month: str, drawn_on: date) -> list[SpotCheck]:
    checks = await spot_checks.draw(
        session=session, ctx=ctx, actor=None, data=schemas.DrawIn(month=month)
    )
    for c in checks:
        c.drawn_on = drawn_on  # the demo's earlier month was drawn then
    await session.flush()
    return checks


async def _check(
    rng: random.Random, session: AsyncSession, ctx: Context, check: SpotCheck, share: float,
    on: date,
) -> int:  # fmt: skip
    items = await checklist.list_items(session, active_only=True)
    samples = list(
        await session.scalars(
            select(SpotCheckCase)
            .where(col(SpotCheckCase.spot_check_id) == check.id)
            .order_by(col(SpotCheckCase.position))
        )
    )
    found = 0
    for sample in samples[: round(len(samples) * share)]:
        marks = []
        for i in items:
            failed = rng.random() < FAIL_RATE.get(i.code, 0.05)
            found += failed
            marks.append(
                schemas.MarkIn(
                    item_id=i.id or 0, passed=not failed, note=PROBLEMS[i.code] if failed else ""
                )
            )
        await spot_checks.mark(
            session=session, ctx=ctx, actor=None, sample_id=sample.id or 0,
            data=schemas.MarksIn(marks=marks, on=on),
        )  # fmt: skip
    return found


async def _rectify(rng: random.Random, session: AsyncSession, ctx: Context, month: str) -> None:
    """The earlier month's findings: most answered in time and closed, a few answered late,
    one or two not answered at all (overdue)."""
    rows, _ = await findings.list_findings(
        session=session, principal=None, today=ctx.today(),
        filters=findings.FindingFilters(month=month), limit=1000, offset=0,
    )  # fmt: skip
    for f in rows:
        roll = rng.random()
        if roll < 0.15:
            continue  # not answered: overdue, escalated by tomorrow's job
        late = roll < 0.3
        answered = f.deadline + timedelta(days=3) if late else f.deadline - timedelta(days=2)
        answered = min(max(answered, f.found_on), ctx.today())
        await findings.answer(
            session=session, ctx=ctx, actor=None, finding_id=f.id or 0,
            data=schemas.AnswerIn(answer=rng.choice(ANSWERS), on=answered),
        )  # fmt: skip
        if rng.random() < 0.8:
            await findings.close(
                session=session, ctx=ctx, actor=None, finding_id=f.id or 0,
                data=schemas.CloseIn(on=min(answered + timedelta(days=1), ctx.today())),
            )  # fmt: skip


async def _inquiries(rng: random.Random, session: AsyncSession, ctx: Context) -> int:
    """流调 of the last two months' repeat matters (a dozen): the 区长 signs most."""
    mayor = await session.scalar(select(Leader).where(col(Leader.name) == "李某乙"))
    login = await session.scalar(select(User).where(col(User.username) == "liyi"))
    townships = list(await session.scalars(select(Unit).where(col(Unit.kind) == "township")))
    if mayor is None or login is None:
        return 0
    signer = Principal(user_id=login.id or 0, name=login.name, role="leader", leader_id=mayor.id)
    since = ctx.today() - timedelta(days=60)
    repeats = list(
        await session.scalars(
            select(PetitionCase)
            .where(
                col(PetitionCase.first_time).is_(False), col(PetitionCase.registered_on) >= since
            )
            .order_by(col(PetitionCase.registered_on).desc(), col(PetitionCase.id).desc())
            .limit(12)
        )
    )
    for n, case in enumerate(reversed(repeats)):
        inquiry = await inquiries.open_inquiry(
            session=session, ctx=ctx, actor=None, case_id=case.id or 0,
            data=schemas.InquiryIn(leader_id=mayor.id or 0, on=case.registered_on),
        )  # fmt: skip
        if n % 3 == 2:
            continue  # still being written
        unit = rng.choice(townships) if townships else None
        await inquiries.update(
            session=session, ctx=ctx, actor=None, inquiry_id=inquiry.id or 0,
            data=schemas.InquiryPatch(
                causes=rng.sample(["first_handling", "delay", "reply", "policy", "historical"], 2),
                cause_note="初次答复未讲清政策依据,信访人对处理结果不理解",
                responsibilities=[
                    schemas.Responsibility(
                        unit_id=unit.id if unit else None,
                        failing="初信初访办理不到位,未当面答复",
                    )
                ],
                conclusion="重复信访系首办责任不落实所致;责成责任单位重新答复,包案领导当面化解",
            ),
        )  # fmt: skip
        await inquiries.sign(
            session=session, ctx=ctx, actor=signer, inquiry_id=inquiry.id or 0,
            data=schemas.SignIn(),
        )  # fmt: skip
    return len(repeats)


async def _conferences(rng: random.Random, session: AsyncSession, ctx: Context) -> int:
    """Two 联席会议: last month's (one decision closed, one past its deadline and pressed: 空转)
    and this month's (one running)."""
    mayor = await session.scalar(select(Leader).where(col(Leader.name) == "李某乙"))
    today = ctx.today()
    cases = list(
        await session.scalars(
            select(PetitionCase)
            .where(col(PetitionCase.first_time).is_(False), col(PetitionCase.stage) != "closed")
            .order_by(col(PetitionCase.registered_on).desc())
            .limit(3)
        )
    )
    entry = await session.scalar(
        select(LedgerEntry)
        .where(col(LedgerEntry.status) == "open", col(LedgerEntry.risk) != "general")
        .order_by(col(LedgerEntry.id))
        .limit(1)
    )
    if mayor is None or len(cases) < 3:
        return 0
    housing = await session.scalar(select(Unit).where(col(Unit.name) == "区住建委"))
    made = 0
    held = [today - timedelta(days=35), today - timedelta(days=3)]
    for n, day in enumerate(held):
        matters = [schemas.MatterIn(case_id=cases[n].id)]
        if n == 0 and entry is not None:
            matters.append(schemas.MatterIn(ledger_entry_id=entry.id))
        if n == 1:
            matters.append(schemas.MatterIn(case_id=cases[2].id))
        c = await conferences.create_conference(
            session=session, ctx=ctx, actor=None,
            data=schemas.ConferenceIn(
                held_on=day, title=f"{day.year}年第{day.month}次信访工作联席会议",
                convener_leader_id=mayor.id or 0,
                unit_ids=[u for u in (cases[n].unit_id, housing.id if housing else None) if u],
                notes="研究重复信访和重大矛盾纠纷的化解,明确牵头单位和时限",
                matters=matters,
            ),
        )  # fmt: skip
        for i, m in enumerate(await conferences.matters_of(session, c.id or 0)):
            owner = (
                cases[n].unit_id if m.case_id == cases[n].id else (housing.id if housing else 0)
            ) or cases[n].unit_id
            d = await decisions.decide(
                session=session, ctx=ctx, actor=None, conference_id=c.id or 0,
                data=schemas.DecisionIn(
                    matter_id=m.id, owner_unit_id=owner,
                    content="牵头约谈相关企业,制定化解方案,包案领导当面答复信访人",
                    done_criteria="化解方案书面报联席会议办公室,信访人签字确认",
                    deadline=day + timedelta(days=14 + 7 * i),
                ),
            )  # fmt: skip
            made += 1
            if n == 0 and i == 0:
                for kind, note, on in (
                    ("report", "已约谈企业,方案已报", day + timedelta(days=10)),
                    ("close", "", day + timedelta(days=12)),
                ):
                    await decisions.step(
                        session=session, ctx=ctx, actor=None, decision_id=d.id or 0,
                        data=schemas.DecisionStepIn(kind=kind, note=note, on=on),  # type: ignore[arg-type]
                    )  # fmt: skip
            elif n == 0:
                await decisions.step(
                    session=session, ctx=ctx, actor=None, decision_id=d.id or 0,
                    data=schemas.DecisionStepIn(
                        kind="press", note="时限将到,请抓紧报送化解方案",
                        on=day + timedelta(days=20),
                    ),
                )  # fmt: skip
    return made


async def load_supervision(session: AsyncSession, ctx: Context) -> dict[str, int]:
    if await session.scalar(select(func.count()).select_from(SpotCheck)):
        return {"spot_checks": 0, "findings": 0, "inquiries": 0, "decisions": 0}
    rng = random.Random(2020)
    today = ctx.today()
    last = shift_month(f"{today:%Y-%m}", -1)
    before = shift_month(last, -1)
    # The month before last: checked early last month, rectified (mostly) since.
    early = date(int(last[:4]), int(last[5:7]), 3)
    older = await _draw(session, ctx, before, early)
    found = 0
    for c in older:
        found += await _check(rng, session, ctx, c, 1.0, early)
    await _rectify(rng, session, ctx, before)
    # Last month: drawn today, two thirds checked.
    recent = await _draw(session, ctx, last, today)
    for c in recent:
        found += await _check(rng, session, ctx, c, 0.67, today)
    made = await _inquiries(rng, session, ctx)
    decided = await _conferences(rng, session, ctx)
    await session.flush()
    return {
        "spot_checks": len(older) + len(recent),
        "findings": found,
        "inquiries": made,
        "decisions": decided,
    }
