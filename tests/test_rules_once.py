"""Rules written once (reception.expr): the same function answers in Python for a loaded row
and as SQL for the table, and both give the same answer."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from reception.cases import workflow
from reception.cases.models import CaseClock, PetitionCase
from reception.cases.registration import ensure_default_categories
from reception.expr import where
from reception.org.access import (
    Viewer,
    calendar_scope,
    leader_scope,
    reads_calendar_of,
    sees_leader,
)
from reception.org.models import Leader, Unit
from reception.org.principals import load_principal
from tests.builders import build_world

DUE = date(2026, 10, 8)


async def test_overdue_in_python_and_in_sql_agree(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessionmaker)
    async with sessionmaker() as s:
        case = PetitionCase(
            reference="蓟信〔2026〕09999",
            ref_year=2026,
            ref_seq=9999,
            channel="letter",
            category_code="other",
            summary="样例",
            unit_id=world.township_a,
            received_on=date(2026, 9, 1),
            registered_on=date(2026, 9, 1),
            registered_by_name="测试",
        )
        await ensure_default_categories(session=s)
        s.add(case)
        await s.flush()
        shapes = [
            ("handle", "running", None),
            ("handle", "met", date(2026, 10, 20)),
            ("handle", "met", date(2026, 10, 1)),
            ("accept", "void", None),
            ("review_request", "running", None),
            ("objection", "running", None),
        ]
        for round_, (kind, status, met_on) in enumerate(shapes, start=1):
            s.add(
                CaseClock(
                    case_id=case.id or 0,
                    kind=kind,
                    round=round_,
                    started_on=date(2026, 8, 9),
                    length=60,
                    original_due=DUE,
                    current_due=DUE,
                    status=status,
                    met_on=met_on,
                )
            )
        await s.commit()
        clocks = list(await s.scalars(select(CaseClock)))
        for as_of in (date(2026, 9, 30), DUE, date(2026, 10, 15), date(2026, 10, 31)):
            in_python = {c.id for c in clocks if workflow.overdue(c, as_of)}
            in_sql = set(
                await s.scalars(
                    select(CaseClock.id).where(where(workflow.overdue, CaseClock, as_of))
                )
            )
            assert in_python == in_sql, as_of
        # Not a vacuous agreement: on 10-15 the running handle and objection clocks and the
        # one met on 10-20 are overdue; the void one and the petitioner's window never are.
        as_of = date(2026, 10, 15)
        assert {(c.kind, c.status) for c in clocks if workflow.overdue(c, as_of)} == {
            ("handle", "running"),
            ("handle", "met"),
            ("objection", "running"),
        }


async def test_leader_scope_in_python_and_in_sql_agree(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessionmaker)
    async with sessionmaker() as s:
        rows = (
            await s.execute(
                select(Leader, Unit.path).join(Unit, col(Unit.id) == col(Leader.unit_id))
            )
        ).all()
        seen: dict[str, set[int]] = {}
        calendars: dict[str, set[int]] = {}
        for who, token in world.tokens.items():
            principal = await load_principal(s, token)
            assert principal is not None
            in_sql = set(await s.scalars(select(Leader.id).where(leader_scope(principal))))
            viewer = Viewer.of(principal)
            in_python = {leader.id for leader, path in rows if sees_leader(viewer, leader.id, path)}
            assert in_python == in_sql, who
            seen[who] = in_sql
            # Whose calendar he reads: the same rule, again in both.
            in_sql = set(await s.scalars(select(Leader.id).where(calendar_scope(principal))))
            in_python = {
                leader.id for leader, path in rows if reads_calendar_of(viewer, leader.id, path)
            }
            assert in_python == in_sql, who
            calendars[who] = in_sql
    leaders = world.leaders
    assert seen["secretary"] == {leaders["mayor"], leaders["deputy"]}
    assert seen["leader"] == {leaders["mayor"]}
    assert seen["clerk_a"] == {
        leaders["township_a"],
        leaders["mayor"],
        leaders["deputy"],
        leaders["other"],
    }
    assert seen["clerk_district"] == seen["admin"] == seen["reviewer"] == set(leaders.values())
    # A township clerk knows the district's leaders (to name one as 包案 owner) but reads
    # only his own township's calendars.
    assert calendars["clerk_a"] == {leaders["township_a"]}
    assert calendars["secretary"] == seen["secretary"] and calendars["leader"] == seen["leader"]
