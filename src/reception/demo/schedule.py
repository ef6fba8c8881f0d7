"""Demo reception days: every district leader's 20th-day rule, 12 months of sessions (6 back,
6 ahead), appointments on them and a few field visits. Idempotent."""

from __future__ import annotations

import random
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


async def load_schedule(session: AsyncSession, ctx: Context) -> dict[str, int]:
    """20th-day rules for every district leader, 12 months of sessions (6 back, 6 ahead),
    appointments on them and a few field visits. Idempotent."""
    rng = random.Random(2020)
    today = ctx.today()
    tz = ctx.tz
    venue = await session.scalar(select(Venue).where(Venue.name == "区矛调中心接待室"))
    district = await session.scalar(
        select(Unit).where(Unit.kind == "district", Unit.name == DISTRICT)
    )
    if venue is None or venue.id is None or district is None:
        raise Broken(
            "expected: venue is not None and venue.id is not None and (district is not None)"
        )
    leaders = list(
        await session.scalars(
            select(Leader).where(Leader.unit_id == district.id).order_by(col(Leader.id))
        )
    )
    townships = list(
        await session.scalars(select(Unit).where(Unit.kind == "township").order_by(col(Unit.id)))
    )
    start, until = _month_start(today, -6), _month_start(today, 6) - timedelta(days=1)
    calendar = await calendar_around(session=session, start=today - timedelta(days=60), end=today)
    counts = {"rules": 0, "sessions": 0, "appointments": 0, "field_visits": 0}
    for leader in leaders:
        if leader.id is None:
            raise Broken("expected: leader.id is not None")
        rule = await session.scalar(
            select(ReceptionRule).where(ReceptionRule.leader_id == leader.id)
        )
        if rule is None:
            rule = await service.create_rule(
                session=session,
                actor=None,
                data=sched.RuleCreate(
                    leader_id=leader.id,
                    venue_id=venue.id,
                    start_time="09:00",
                    end_time="12:00",
                    valid_from=start,
                    slot_minutes=30,
                    people_per_slot=3,
                ),
            )
            counts["rules"] += 1
        if rule.id is None:
            raise Broken("expected: rule.id is not None")
        generated = await generation.generate(
            session=session, ctx=ctx, actor=None, rule_id=rule.id, until=until
        )
        counts["sessions"] += len(generated.created)
        for subject in generated.created:
            if subject.id is None:
                raise Broken("expected: subject.id is not None")
            past = subject.local_date < today
            for _ in range(rng.randint(2, 5) if past else rng.randint(0, 3)):
                matter, size = rng.choice(MATTERS)
                name = (
                    rng.choice(PETITIONER_SURNAMES)
                    + rng.choice(PETITIONER_GIVEN)
                    + rng.choice(PETITIONER_GIVEN)
                )
                reps = [name] + (
                    [rng.choice(PETITIONER_SURNAMES) + "某" + rng.choice(PETITIONER_GIVEN)]
                    if size >= 5
                    else []
                )
                # Booked a few days before the session, as the office would have.
                booked_then = ctx.with_clock(FixedClock(subject.starts_at - timedelta(days=3)))
                try:
                    made = await booking.book(
                        session=session,
                        ctx=booked_then,
                        actor=None,
                        session_id=subject.id,
                        data=sched.AppointmentCreate(
                            petitioner_name=name,
                            matter_summary=matter,
                            petitioner_phone=f"139{rng.randint(0, 99_999_999):08d}",
                            petitioner_id_number=fake_id_number(rng),
                            party_size=size,
                            representatives=reps if size >= 5 else [],
                        ),
                    )
                    appointment = made.appointment
                except Conflict:
                    break
                counts["appointments"] += 1
                if past:
                    if appointment.id is None:
                        raise Broken("expected: appointment.id is not None")
                    await booking.transition_appointment(
                        session=session,
                        ctx=ctx,
                        actor=None,
                        appointment_id=appointment.id,
                        to="checked_in",
                    )
                    await booking.transition_appointment(
                        session=session,
                        ctx=ctx,
                        actor=None,
                        appointment_id=appointment.id,
                        to="completed" if rng.random() < 0.9 else "cancelled",
                        reason="来访人未到场后撤回",
                    )
            if past:
                await service.hold_session(
                    session=session,
                    ctx=ctx,
                    actor=None,
                    session_id=subject.id,
                    outcome="按时接访,现场答复并交办责任单位",
                )
        has_visits = await session.scalar(
            select(func.count())
            .select_from(ReceptionSession)
            .where(ReceptionSession.leader_id == leader.id, ReceptionSession.kind == "field_visit")
        )
        if has_visits:
            continue
        for offset in (-45, -10, 12, 40):
            # On working days of the calendar (with its 调休), like real visits.
            day = calendar.next_workday(today + timedelta(days=offset + leader.id % 5)).value
            township = rng.choice(townships)
            begins = datetime.combine(day, time(14, 30), tzinfo=tz)
            try:
                visit = await service.create_session(
                    session=session,
                    ctx=ctx,
                    actor=None,
                    data=sched.SessionCreate(
                        leader_id=leader.id,
                        kind="field_visit",
                        starts_at=begins,
                        ends_at=begins + timedelta(hours=2, minutes=30),
                        unit_id=township.id,
                        address=f"{township.name}矛调中心",
                        purpose=rng.choice(VISIT_PURPOSES),
                    ),
                )
            except Conflict:
                continue
            counts["field_visits"] += 1
            if offset < 0:
                if visit.id is None:
                    raise Broken("expected: visit.id is not None")
                await service.hold_session(
                    session=session,
                    ctx=ctx,
                    actor=None,
                    session_id=visit.id,
                    outcome="与信访人当面沟通,明确化解方案和时限",
                )
    return counts
