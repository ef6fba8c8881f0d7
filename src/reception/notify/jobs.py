"""The daily job: deadline reminders, overdue escalations and tomorrow's reception digest.

Idempotent: each promise is a row in notify_job_mark (UNIQUE key) inserted in the same
transaction as its event, so the job run twice — or on two processes — sends one reminder per
clock per threshold and one digest per leader per day. Working days come from the stored
calendar, never from weekday() < 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception.cases import workflow
from reception.cases.models import CaseClock, CaseOwnership, PetitionCase
from reception.context import Context
from reception.db import now_of, upsert_insert
from reception.expr import where
from reception.ledger import periods as ledger_periods
from reception.ledger import rules as ledger_rules
from reception.notify import outbox
from reception.notify.models import JobMark
from reception.org.models import Leader, Unit, Venue
from reception.scheduling import rules
from reception.scheduling.models import Appointment, ReceptionSession
from reception.supervision import decisions as supervision_decisions
from reception.supervision import findings as supervision_findings
from reception.workcal import service as workcal

# Missed 稳控 check-ins are looked for this many days back (each told once).
CHECK_IN_LOOKBACK_DAYS = 7


@dataclass(frozen=True)
class Done:
    reminders: int = 0
    escalations: int = 0
    digests: int = 0
    # 矛盾纠纷排查台账: yesterday's missed 稳控 check-ins, and entries past their review date.
    missed_check_ins: int = 0
    ledger_overdue: int = 0
    # 督查督办: spot-check findings past their rectification deadline, and conference
    # decisions past theirs (空转).
    rectifications_overdue: int = 0
    decisions_overdue: int = 0


async def mark(session: AsyncSession, key: str) -> bool:
    """Claim a job's promise; False when it was kept already (by this or another run)."""
    result = await session.execute(
        upsert_insert(session, JobMark.__table__)  # type: ignore[attr-defined]
        .values(key=key[:100], created_at=now_of(session))
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def tell_once(session: AsyncSession, key: str, **event: Any) -> int:
    """Emit an event (`outbox.emit`'s arguments) unless the promise `key` was kept already:
    1 when it went out now, 0 when it had gone before."""
    if not await mark(session, key):
        return 0
    await outbox.emit(session, **event)
    return 1


def _day(value: date) -> str:
    return f"{value.month}月{value.day}日"


async def reminders(session: AsyncSession, ctx: Context) -> tuple[int, int]:
    """N working days before an office clock is due (RECEPTION_REMINDER_DAYS, per kind, default
    3): a reminder to the unit and the owner leader's group; on its first overdue day, an
    escalation to the unit and the supervisors."""
    today = ctx.today()
    now = ctx.now()
    rows = (
        await session.execute(
            select(CaseClock, PetitionCase, Unit)
            .join(PetitionCase, col(PetitionCase.id) == col(CaseClock.case_id))
            .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
            .where(where(workflow.running_office_clock, CaseClock))
        )
    ).all()
    if not rows:
        return 0, 0
    dues = [k.current_due for k, _, _ in rows]
    calendar = await workcal.calendar_around(
        session=session, start=min([*dues, today]), end=max([*dues, today])
    )
    owners = {
        o.case_id: o.leader_id
        for o in await session.scalars(
            select(CaseOwnership).where(
                col(CaseOwnership.case_id).in_({c.id for _, c, _ in rows}),
                col(CaseOwnership.ended_at).is_(None),
            )
        )
    }
    soon = escalated = 0
    for clock, case, unit in rows:
        label = workflow.CLOCK_LABELS.get(clock.kind, clock.kind)
        if workflow.overdue(clock, today):
            escalated += await tell_once(
                session,
                f"overdue:{clock.id}:{clock.current_due}",
                type="reminder.overdue",
                aggregate=f"case:{case.id}",
                payload={
                    "case_id": case.id,
                    "clock": clock.kind,
                    "due": clock.current_due.isoformat(),
                    "text": f"**超期**:{case.reference} {label}期限已于 {_day(clock.current_due)} "
                    f"届满,责任单位 {unit.name},请督办",
                },
                now=now,
                unit_id=case.unit_id,
                leader_id=owners.get(case.id or 0),
            )
            continue
        threshold = ctx.settings.reminder_days.get(clock.kind, 3)
        left = calendar.workdays_between(today, clock.current_due)
        if left > threshold:
            continue
        soon += await tell_once(
            session,
            f"soon:{clock.id}:{threshold}:{clock.current_due}",
            type="reminder.due_soon",
            aggregate=f"case:{case.id}",
            payload={
                "case_id": case.id,
                "clock": clock.kind,
                "due": clock.current_due.isoformat(),
                "working_days_left": left,
                "text": f"**期限提醒**:{case.reference} {label}期限 {_day(clock.current_due)} 届满,"
                f"还有 {left} 个工作日,责任单位 {unit.name}",
            },
            now=now,
            unit_id=case.unit_id,
            leader_id=owners.get(case.id or 0),
        )
    return soon, escalated


async def digest(session: AsyncSession, ctx: Context) -> int:
    """Tomorrow's reception days, one message per leader for his group: time, venue, places
    booked, collective visits — counts only."""
    if ctx.local(ctx.now()).hour < ctx.settings.digest_hour:
        return 0
    tomorrow = ctx.today() + timedelta(days=1)
    sessions = (
        await session.execute(
            select(ReceptionSession, Leader)
            .join(Leader, col(Leader.id) == col(ReceptionSession.leader_id))
            .where(
                col(ReceptionSession.local_date) == tomorrow,
                col(ReceptionSession.status) == "scheduled",
            )
            .order_by(col(Leader.id), col(ReceptionSession.starts_at))
        )
    ).all()
    by_leader: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for s, leader in sessions:
        booked, collective = (
            await session.execute(
                select(
                    func.coalesce(func.sum(Appointment.places), 0),
                    func.count().filter(col(Appointment.collective).is_(True)),
                ).where(
                    col(Appointment.session_id) == s.id,
                    rules.holds_place(col(Appointment.status)),
                )
            )
        ).one()
        venue = await session.get(Venue, s.venue_id) if s.venue_id else None
        kind = "接访" if s.kind == "reception" else "下访"
        where = venue.name if venue else s.address
        by_leader.setdefault(leader.id or 0, []).append(
            f"{ctx.local(s.starts_at):%H:%M}–{ctx.local(s.ends_at):%H:%M} {kind} {where},"
            f"已预约 {int(booked)} 人,集体访 {int(collective)} 起"
        )
        names[leader.id or 0] = f"{leader.name}({leader.title})"
    sent = 0
    for leader_id, lines in by_leader.items():
        sent += await tell_once(
            session,
            f"digest:{tomorrow}:{leader_id}",
            type="digest.tomorrow",
            aggregate=f"leader:{leader_id}",
            payload={
                "leader_id": leader_id,
                "date": tomorrow.isoformat(),
                "text": f"**明日安排 {_day(tomorrow)}** {names[leader_id]}\n\n"
                + "\n".join(f"- {x}" for x in lines),
            },
            now=ctx.now(),
            leader_id=leader_id,
        )
    return sent


async def ledger_escalations(session: AsyncSession, ctx: Context) -> tuple[int, int]:
    """A sensitive period's day that went by without an entry's 稳控 check-in (judged once the
    whole day has passed; the last week's days, so a day the job did not run is not lost): to
    the 稳控责任人's group, the unit's and the supervisors'. An open entry past its review date:
    to the unit's and the supervisors'."""
    today, now = ctx.today(), ctx.now()
    missed = 0
    for back in range(CHECK_IN_LOOKBACK_DAYS, 0, -1):
        day = today - timedelta(days=back)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ctx.tz)
        for m in await ledger_periods.missed_check_ins(session, day, end):
            e = m.entry
            missed += await tell_once(
                session,
                f"check_in:{e.id}:{day}",
                type="reminder.overdue_check_in",
                aggregate=f"ledger:{e.id}",
                payload={
                    "entry_id": e.id,
                    "reference": e.reference,
                    "day": day.isoformat(),
                    "text": f"**稳控未报**:{m.period}期间,{e.reference}"
                    f"({ledger_rules.RISK_LABELS[e.risk]}) {_day(day)} 未报稳控情况,"
                    f"稳控责任人 {m.leader_name},责任单位 {m.unit_name},请督办",
                },
                now=now,
                unit_id=e.unit_id,
                leader_id=e.stability_leader_id,
            )
    late = 0
    for e, unit_name in await ledger_periods.overdue_reviews(session, today):
        late += await tell_once(
            session,
            f"ledger_review:{e.id}:{e.review_on}",
            type="reminder.overdue_ledger",
            aggregate=f"ledger:{e.id}",
            payload={
                "entry_id": e.id,
                "reference": e.reference,
                "review_on": e.review_on.isoformat(),
                "text": f"**台账逾期**:{e.reference}({ledger_rules.RISK_LABELS[e.risk]})应于"
                f" {_day(e.review_on)} 复核,至今未跟进,责任单位 {unit_name},请督办",
            },
            now=now,
            unit_id=e.unit_id,
            leader_id=e.resolution_leader_id,
        )
    return missed, late


async def rectification_escalations(session: AsyncSession, ctx: Context) -> int:
    """A spot check's finding still not rectified after its deadline: to the unit's group and
    the supervisors' (once per finding and deadline)."""
    sent = 0
    for f, unit_name, reference in await supervision_findings.overdue_findings(
        session, ctx.today()
    ):
        sent += await tell_once(
            session,
            f"rectification:{f.id}:{f.deadline}",
            type="reminder.overdue_rectification",
            aggregate=f"finding:{f.id}",
            payload={
                "finding_id": f.id,
                "case_reference": reference,
                "deadline": f.deadline.isoformat(),
                "text": f"**抽查问题逾期未整改**:{unit_name} {reference} 应于 {_day(f.deadline)}"
                f" 前整改并反馈,至今未反馈,请督办",
            },
            now=ctx.now(),
            unit_id=f.unit_id,
        )
    return sent


async def decision_escalations(session: AsyncSession, ctx: Context) -> int:
    """A conference's decision past its deadline and not closed (空转): to the owner unit's
    group and the supervisors' (once per decision and deadline)."""
    sent = 0
    for d, unit_name in await supervision_decisions.overdue_decisions(session, ctx.today()):
        sent += await tell_once(
            session,
            f"decision:{d.id}:{d.deadline}",
            type="reminder.overdue_decision",
            aggregate=f"decision:{d.id}",
            payload={
                "decision_id": d.id,
                "number": d.number,
                "deadline": d.deadline.isoformat(),
                "text": f"**议定事项逾期(空转)**:{d.number} 应于 {_day(d.deadline)} 前办结,"
                f"承办单位 {unit_name},请督办",
            },
            now=ctx.now(),
            unit_id=d.owner_unit_id,
        )
    return sent


async def daily(session: AsyncSession, ctx: Context) -> Done:
    """Everything the day's job does (in the caller's transaction)."""
    soon, escalated = await reminders(session, ctx)
    sent = await digest(session, ctx)
    missed, late = await ledger_escalations(session, ctx)
    rectifications = await rectification_escalations(session, ctx)
    decisions = await decision_escalations(session, ctx)
    return Done(soon, escalated, sent, missed, late, rectifications, decisions)
