"""Demo reception days: every district leader's 20th-day rule, 12 months of sessions (6 back,
6 ahead), appointments on them and a few field visits. Idempotent."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.context import Context, FixedClock
from reception.demo.org import DISTRICT
from reception.errors import Broken, Conflict
from reception.org.models import Leader, Unit, Venue
from reception.petitioner import id_check_digit
from reception.scheduling import booking, generation, service
from reception.scheduling import schemas as sched
from reception.scheduling.models import ReceptionRule, ReceptionSession
from reception.workcal.service import calendar_around
from reception.workdays import WorkCalendar

PETITIONER_SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
PETITIONER_GIVEN = "华明军红丽强伟芳敏静磊洋艳勇杰娟涛超霞平"
MATTERS = [
    ("小区逾期交房,要求开发商履约", 1),
    ("改燃改电工程欠薪,讨要工资", 6),
    ("征地补偿标准有异议", 2),
    ("宅基地确权纠纷", 1),
    ("退役军人安置待遇", 1),
    ("非法集资受损,要求追赃挽损", 8),
    ("物业服务与收费纠纷", 2),
    ("低保资格认定", 1),
]
VISIT_PURPOSES = [
    "带案下访:龙府壹号逾期交房集体访",
    "带案下访:改燃改电工程欠薪",
    "走访积案信访人,面对面化解",
    "督导乡镇矛调中心接待工作",
]


def fake_id_number(rng: random.Random) -> str:
    """A made-up resident ID number with a valid check digit (蓟州 region code 120225)."""
    body = f"120225{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + id_check_digit(body)


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class _Schedule:
    """What loading the schedule works with."""

    session: AsyncSession
    ctx: Context
    rng: random.Random
    venue_id: int
    townships: list[Unit]
    calendar: WorkCalendar
    counts: dict[str, int]


async def _rule_for(s: _Schedule, leader_id: int, valid_from: date) -> int:
    rule = await s.session.scalar(select(ReceptionRule).where(ReceptionRule.leader_id == leader_id))
    if rule is None:
        rule = await service.create_rule(
            session=s.session,
            actor=None,
            data=sched.RuleCreate(
                leader_id=leader_id,
                venue_id=s.venue_id,
                start_time="09:00",
                end_time="12:00",
                valid_from=valid_from,
                slot_minutes=30,
                people_per_slot=3,
            ),
        )
        s.counts["rules"] += 1
    if rule.id is None:
        raise Broken("expected: a stored rule")
    return rule.id


def _petitioner(rng: random.Random, size: int) -> tuple[str, list[str]]:
    name = (
        rng.choice(PETITIONER_SURNAMES)
        + rng.choice(PETITIONER_GIVEN)
        + rng.choice(PETITIONER_GIVEN)
    )
    reps = [name, rng.choice(PETITIONER_SURNAMES) + "某" + rng.choice(PETITIONER_GIVEN)]
    return name, reps if size >= 5 else []


async def _book_session(s: _Schedule, subject: ReceptionSession) -> None:
    """Bookings made a few days before the session; a past session's were received (or
    called off) and the session held."""
    if subject.id is None:
        raise Broken("expected: a stored session")
    past = subject.local_date < s.ctx.today()
    booked_then = s.ctx.with_clock(FixedClock(subject.starts_at - timedelta(days=3)))
    for _ in range(s.rng.randint(2, 5) if past else s.rng.randint(0, 3)):
        matter, size = s.rng.choice(MATTERS)
        name, reps = _petitioner(s.rng, size)
        try:
            made = await booking.book(
                session=s.session,
                ctx=booked_then,
                actor=None,
                session_id=subject.id,
                data=sched.AppointmentCreate(
                    petitioner_name=name,
                    matter_summary=matter,
                    petitioner_phone=f"139{s.rng.randint(0, 99_999_999):08d}",
                    petitioner_id_number=fake_id_number(s.rng),
                    party_size=size,
                    representatives=reps,
                ),
            )
        except Conflict:
            break
        s.counts["appointments"] += 1
        if past and made.appointment.id is not None:
            outcome = "completed" if s.rng.random() < 0.9 else "cancelled"
            for to in ("checked_in", outcome):
                await booking.transition_appointment(
                    session=s.session,
                    ctx=s.ctx,
                    actor=None,
                    appointment_id=made.appointment.id,
                    to=to,
                    reason="来访人未到场后撤回",
                )
    if past:
        await service.hold_session(
            session=s.session,
            ctx=s.ctx,
            actor=None,
            session_id=subject.id,
            outcome="按时接访,现场答复并交办责任单位",
        )


async def _field_visits(s: _Schedule, leader_id: int) -> None:
    """Four field visits around today, on working days of the calendar (with its 调休)."""
    has_visits = await s.session.scalar(
        select(func.count())
        .select_from(ReceptionSession)
        .where(ReceptionSession.leader_id == leader_id, ReceptionSession.kind == "field_visit")
    )
    if has_visits:
        return
    today = s.ctx.today()
    for offset in (-45, -10, 12, 40):
        day = s.calendar.next_workday(today + timedelta(days=offset + leader_id % 5)).value
        township = s.rng.choice(s.townships)
        begins = datetime.combine(day, time(14, 30), tzinfo=s.ctx.tz)
        try:
            visit = await service.create_session(
                session=s.session,
                ctx=s.ctx,
                actor=None,
                data=sched.SessionCreate(
                    leader_id=leader_id,
                    kind="field_visit",
                    starts_at=begins,
                    ends_at=begins + timedelta(hours=2, minutes=30),
                    unit_id=township.id,
                    address=f"{township.name}矛调中心",
                    purpose=s.rng.choice(VISIT_PURPOSES),
                ),
            )
        except Conflict:
            continue
        s.counts["field_visits"] += 1
        if offset < 0 and visit.id is not None:
            await service.hold_session(
                session=s.session,
                ctx=s.ctx,
                actor=None,
                session_id=visit.id,
                outcome="与信访人当面沟通,明确化解方案和时限",
            )


async def load_schedule(session: AsyncSession, ctx: Context) -> dict[str, int]:
    """20th-day rules for every district leader, 12 months of sessions (6 back, 6 ahead),
    appointments on them and a few field visits. Idempotent."""
    today = ctx.today()
    venue = await session.scalar(select(Venue).where(Venue.name == "区矛调中心接待室"))
    district = await session.scalar(
        select(Unit).where(Unit.kind == "district", Unit.name == DISTRICT)
    )
    if venue is None or venue.id is None or district is None:
        raise Broken("expected: the demo org (its district and venue)")
    leaders = list(
        await session.scalars(
            select(Leader).where(Leader.unit_id == district.id).order_by(col(Leader.id))
        )
    )
    townships = await session.scalars(
        select(Unit).where(Unit.kind == "township").order_by(col(Unit.id))
    )
    s = _Schedule(
        session=session,
        ctx=ctx,
        rng=random.Random(2020),
        venue_id=venue.id,
        townships=list(townships),
        calendar=await calendar_around(
            session=session, start=today - timedelta(days=60), end=today
        ),
        counts={"rules": 0, "sessions": 0, "appointments": 0, "field_visits": 0},
    )
    start, until = _month_start(today, -6), _month_start(today, 6) - timedelta(days=1)
    for leader in leaders:
        if leader.id is None:
            raise Broken("expected: a stored leader")
        rule_id = await _rule_for(s, leader.id, start)
        generated = await generation.generate(
            session=session, ctx=ctx, actor=None, rule_id=rule_id, until=until
        )
        s.counts["sessions"] += len(generated.created)
        for subject in generated.created:
            await _book_session(s, subject)
        await _field_visits(s, leader.id)
    return s.counts
