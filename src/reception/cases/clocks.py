"""Statutory clocks of a case: start, meet, void, extend, and recompute when the calendar
changes. Each keeps its original due date beside the current one, its extensions, and an
on-time verdict frozen when it is met (`reception.cases.workflow` holds the rules)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select

from reception.audit.service import actor_name
from reception.auth import Principal
from reception.cases import workflow
from reception.cases.models import CaseClock, ClockExtension, ClockPause, PetitionCase
from reception.context import Context
from reception.db import in_parts, now_of
from reception.errors import Broken, Conflict, InvalidInput
from reception.workcal import service as workcal
from reception.workcal.models import CalendarDay, CalendarYear
from reception.workdays import WorkCalendar


@event.listens_for(Session, "after_flush")
def _keep_next_office_due(session: Session, _context: Any) -> None:
    """`petition_case.next_office_due` follows every flush that touches a case's clocks (a
    start, a meeting, a void, an extension, a pause, a calendar's re-dating)."""
    touched = (*session.new, *session.dirty, *session.deleted)
    refresh_next_office_due(session, {row.case_id for row in touched if isinstance(row, CaseClock)})


def refresh_next_office_due(session: Session, case_ids: Iterable[int]) -> None:
    """Set the cases' next office deadline from their running office clocks, in the session's
    transaction, and tell the loaded cases the new value. The flush calls it; so must whatever
    writes clocks without the ORM (an import's multi-row INSERT).

    The cases are locked first, in id order, by a statement of their own: a case action locks
    its case before its clocks, so this never waits in the other order, and the UPDATE after
    the lock reads the clocks as they are then (READ COMMITTED: a snapshot per statement), not
    as they were before a concurrent action committed. A few thousand ids per statement
    (db.in_parts): a calendar's re-dating can touch a city's running clocks."""
    ids = sorted(set(case_ids))
    if not ids:
        return
    cases, clocks = PetitionCase.__table__, CaseClock.__table__  # type: ignore[attr-defined]
    earliest = (
        select(func.min(clocks.c.current_due))
        .where(
            clocks.c.case_id == cases.c.id,
            clocks.c.status == "running",
            clocks.c.kind.in_(workflow.OFFICE_CLOCKS),
        )
        .scalar_subquery()
    )
    connection = session.connection()
    for chunk in in_parts(ids):
        connection.execute(lock_cases(chunk))
        changed = connection.execute(
            update(cases)
            .where(cases.c.id.in_(chunk))
            .values(next_office_due=earliest)
            .returning(cases.c.id, cases.c.next_office_due)
        )
        for case_id, due in changed:
            loaded = session.identity_map.get(identity_key(PetitionCase, case_id))
            if loaded is not None:
                set_committed_value(loaded, "next_office_due", due)


def lock_cases(case_ids: Sequence[int]) -> Any:
    """SELECT … FOR UPDATE of the cases, in id order (every writer takes them in this order
    before their clocks; nothing on SQLite, whose writer holds the whole database)."""
    cases = PetitionCase.__table__  # type: ignore[attr-defined]
    return select(cases.c.id).where(cases.c.id.in_(case_ids)).order_by(cases.c.id).with_for_update()


# A clock's period never reaches further than this beyond its start (60 days + 30 extension,
# rolled past a holiday): the calendar loaded for it covers that.
HORIZON_DAYS = 130


async def _calendar_for(session: AsyncSession, start: date) -> WorkCalendar:
    return await workcal.calendar_around(
        session=session, start=start, end=start + timedelta(days=HORIZON_DAYS)
    )


async def due_from(session: AsyncSession, kind: str, started_on: date) -> date:
    """When a clock of `kind` started on a day falls due, by its rule (without starting it)."""
    calendar = await _calendar_for(session, started_on)
    return workflow.due_date(calendar, kind, started_on).value


async def start_clock(
    session: AsyncSession, case: PetitionCase, kind: str, started_on: date, *, round_: int = 1
) -> CaseClock:
    if case.id is None:
        raise Broken("expected: case.id is not None")
    calendar = await _calendar_for(session, started_on)
    due = workflow.due_date(calendar, kind, started_on)
    rule = workflow.CLOCK_RULES[kind]
    clock = CaseClock(
        case_id=case.id,
        kind=kind,
        round=round_,
        started_on=started_on,
        length=rule.length,
        working_days=rule.working_days,
        original_due=due.value,
        current_due=due.value,
        provisional=due.provisional,
    )
    session.add(clock)
    await session.flush()
    return clock


async def running(session: AsyncSession, case_id: int, kind: str) -> CaseClock | None:
    """The latest running clock of a kind (row-locked: the caller is about to change it)."""
    return await session.scalar(
        select(CaseClock)
        .where(CaseClock.case_id == case_id, CaseClock.kind == kind, CaseClock.status == "running")
        .order_by(col(CaseClock.round).desc())
        .limit(1)
        .with_for_update()
    )


def meet(clock: CaseClock, on: date, now: datetime) -> None:
    """Stop a clock; its on-time verdict is frozen here and never recomputed."""
    if on < clock.started_on:
        raise InvalidInput(
            f"{on.isoformat()} 早于{workflow.CLOCK_LABELS[clock.kind]}期限的起算日"
            f"({clock.started_on.isoformat()})",
            field="on",
        )
    clock.met_on = on
    clock.on_time = on <= clock.current_due
    clock.status = "met"
    clock.updated_at = now


async def meet_running(session: AsyncSession, case_id: int, kind: str, on: date) -> None:
    clock = await running(session, case_id, kind)
    if clock is not None:
        meet(clock, on, now_of(session))
        await session.flush()


async def void_running(session: AsyncSession, case_id: int, kind: str) -> None:
    clock = await running(session, case_id, kind)
    if clock is not None:
        clock.status = "void"
        clock.updated_at = now_of(session)
        await session.flush()


async def extend_handling(
    session: AsyncSession,
    actor: Principal | None,
    case: PetitionCase,
    *,
    days: int | None,
    reason: str,
    approver: str,
    petitioner_told_on: date | None,
    on: date,
) -> None:
    """延期: at most 30 days in all, with a reason, an approver and the day the petitioner was
    told; granted before the period runs out (art. 34)."""
    if case.id is None:
        raise Broken("expected: case.id is not None")
    clock = await running(session, case.id, "handle")
    if clock is None:
        raise Conflict("没有正在计算的办理期限,无法延期")
    if days is None:
        raise InvalidInput("请填写延期天数(累计不超过30日)", field="days")
    if not reason.strip():
        raise InvalidInput("延期须写明理由", field="reason")
    if not approver.strip():
        raise InvalidInput("延期须写明批准人", field="approver")
    if petitioner_told_on is None:
        raise InvalidInput(
            "请填写告知信访人延期的日期",
            field="petitioner_told_on",
        )
    if on > clock.current_due:
        raise Conflict(f"办理期限已于 {clock.current_due.isoformat()} 届满:延期须在期限届满前批准")
    total = clock.extended_days + days
    if total > workflow.MAX_HANDLE_EXTENSION_DAYS:
        raise Conflict(
            f"延期累计不得超过{workflow.MAX_HANDLE_EXTENSION_DAYS}日;已延期{clock.extended_days}日",
            already_extended_days=clock.extended_days,
        )
    calendar = await _calendar_for(session, clock.started_on)
    due = workflow.due_date(calendar, "handle", clock.started_on, total + clock.paused_days)
    clock.extended_days = total
    clock.current_due = due.value
    clock.provisional = due.provisional
    clock.updated_at = now_of(session)
    if clock.id is None:
        raise Broken("expected: clock.id is not None")
    session.add(
        ClockExtension(
            clock_id=clock.id,
            days=days,
            reason=reason,
            approver=approver.strip(),
            granted_on=on,
            petitioner_told_on=petitioner_told_on,
            created_by_name=actor_name(actor),
        )
    )
    await session.flush()


async def pause(
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case: PetitionCase,
    *,
    kind: str,
    starts_on: date | None,
    ends_on: date | None,
    reason: str,
) -> ClockPause:
    """Days a running clock does not count (复核's hearing, 听证, art. 36): its due date moves by
    the days from `starts_on` to `ends_on`, both counted."""
    if case.id is None:
        raise Broken("expected: case.id is not None")
    clock = await running(session, case.id, kind)
    if clock is None:
        raise Conflict(f"没有正在计算的{workflow.CLOCK_LABELS[kind]}期限")
    if starts_on is None or ends_on is None:
        raise InvalidInput("请填写听证的开始和结束日期", field="hearing_from")
    if ends_on < starts_on:
        raise InvalidInput("听证结束日期早于开始日期", field="hearing_to")
    if starts_on <= clock.started_on:
        raise InvalidInput(
            f"听证须在{workflow.CLOCK_LABELS[kind]}期限起算({clock.started_on.isoformat()})之后",
            field="hearing_from",
        )
    if ends_on > ctx.today():
        raise InvalidInput("听证结束日期晚于今天:听证结束后再登记", field="hearing_to")
    if clock.id is None:
        raise Broken("expected: clock.id is not None")
    earlier = await session.scalars(select(ClockPause).where(ClockPause.clock_id == clock.id))
    for other in earlier:
        if other.starts_on <= ends_on and starts_on <= other.ends_on:
            raise Conflict(
                f"与已登记的听证({other.starts_on.isoformat()}至{other.ends_on.isoformat()})重叠"
            )
    days = (ends_on - starts_on).days + 1
    row = ClockPause(
        clock_id=clock.id,
        starts_on=starts_on,
        ends_on=ends_on,
        days=days,
        reason=reason.strip() or "听证",
        created_by_name=actor_name(actor),
    )
    session.add(row)
    clock.paused_days += days
    calendar = await _calendar_for(session, clock.started_on)
    due = workflow.due_date(
        calendar, kind, clock.started_on, clock.extended_days + clock.paused_days
    )
    clock.current_due = due.value
    clock.provisional = due.provisional
    clock.updated_at = now_of(session)
    await session.flush()
    return row


async def pauses_of(
    *, session: AsyncSession, clock_ids: Sequence[int]
) -> dict[int, list[ClockPause]]:
    out: dict[int, list[ClockPause]] = {cid: [] for cid in clock_ids}
    if clock_ids:
        for row in await session.scalars(
            select(ClockPause)
            .where(col(ClockPause.clock_id).in_(list(clock_ids)))
            .order_by(col(ClockPause.starts_on))
        ):
            out[row.clock_id].append(row)
    return out


async def latest(session: AsyncSession, case_id: int, kind: str) -> CaseClock | None:
    """The latest clock of a kind, running or not."""
    return await session.scalar(
        select(CaseClock)
        .where(CaseClock.case_id == case_id, CaseClock.kind == kind)
        .order_by(col(CaseClock.round).desc())
        .limit(1)
    )


async def clocks_of(
    *, session: AsyncSession, case_ids: Sequence[int]
) -> dict[int, list[tuple[CaseClock, list[ClockExtension]]]]:
    out: dict[int, list[tuple[CaseClock, list[ClockExtension]]]] = {cid: [] for cid in case_ids}
    if not case_ids:
        return out
    # One statement: each clock with its extensions (a row per extension, or one without).
    rows = await session.execute(
        select(CaseClock, ClockExtension)
        .outerjoin(ClockExtension, col(ClockExtension.clock_id) == col(CaseClock.id))
        .where(col(CaseClock.case_id).in_(list(case_ids)))
        .order_by(col(CaseClock.id), col(ClockExtension.id))
    )
    extensions: dict[int, list[ClockExtension]] = {}
    for clock, ext in rows:
        cid = clock.id or 0
        if cid not in extensions:
            extensions[cid] = []
            out[clock.case_id].append((clock, extensions[cid]))
        if ext is not None:
            extensions[cid].append(ext)
    return out


async def recompute_running_clocks(*, session: AsyncSession, years: Iterable[int]) -> int:
    """After a calendar year changed: recompute every running clock that may touch it.

    Met clocks keep their frozen verdict. Returns how many clocks changed.
    """
    years = sorted(set(years))
    if not years:
        return 0
    first, last = date(years[0] - 1, 9, 1), date(years[-1], 12, 31)
    clocks = list(
        await session.scalars(
            select(CaseClock).where(
                CaseClock.status == "running",
                col(CaseClock.started_on) >= first,
                col(CaseClock.started_on) <= last,
            )
        )
    )
    if not clocks:
        return 0
    calendar = await workcal.calendar_around(
        session=session,
        start=min(c.started_on for c in clocks),
        end=last + timedelta(days=HORIZON_DAYS),
    )
    changed = 0
    for clock in clocks:
        original = workflow.due_date(calendar, clock.kind, clock.started_on)
        current = workflow.due_date(
            calendar, clock.kind, clock.started_on, clock.extended_days + clock.paused_days
        )
        if (clock.original_due, clock.current_due, clock.provisional) != (
            original.value,
            current.value,
            current.provisional,
        ):
            clock.original_due, clock.current_due = original.value, current.value
            clock.provisional = current.provisional
            clock.updated_at = now_of(session)
            changed += 1
    # The cases before their clocks, as every case action takes them (see
    # refresh_next_office_due, which the flush runs for these cases).
    dirty = sorted({c.case_id for c in clocks if c in session.dirty})
    for chunk in in_parts(dirty):
        await session.execute(lock_cases(chunk))
    await session.flush()
    return changed


async def apply_calendar_year(
    *,
    session: AsyncSession,
    actor: Principal | None,
    year: int,
    holidays: dict[date, str],
    workdays: dict[date, str],
    official: bool,
    source: str,
) -> tuple[CalendarYear, list[CalendarDay]]:
    """Replace a year's schedule (API and CLI alike) and recompute the statutory clocks still
    running on it; met clocks keep their frozen verdicts."""
    await workcal.put_year(
        session=session,
        actor=actor,
        year=year,
        holidays=holidays,
        workdays=workdays,
        official=official,
        source=source,
    )
    await recompute_running_clocks(session=session, years=[year])
    return await workcal.get_year(session=session, year=year)


async def restart_window(session: AsyncSession, case: PetitionCase, received_on: date) -> None:
    """The petitioner's 30 days to ask for 复核 run from receiving the 复查意见书 (art. 36):
    when its delivery is recorded after the decision, the window started at the decision is
    replaced by one from the day of delivery (the first is kept, void)."""
    if case.id is None:
        raise Broken("expected: case.id is not None")
    window = await running(session, case.id, "review_request")
    if window is None or window.started_on >= received_on:
        return
    window.status = "void"
    window.updated_at = now_of(session)
    await session.flush()
    await start_clock(session, case, "review_request", received_on, round_=window.round + 1)


async def running_dues(session: AsyncSession) -> dict[int, date]:
    """Every running clock's current due date, by clock id (the calendar import's preview:
    which due dates a new schedule moves)."""
    rows = await session.execute(
        select(col(CaseClock.id), col(CaseClock.current_due)).where(
            col(CaseClock.status) == "running"
        )
    )
    return {int(clock_id or 0): due for clock_id, due in rows.all()}
