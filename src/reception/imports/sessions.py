"""Leaders' past reception days and field visits from a sheet (date, leader, petitioner,
matter): each (leader, day, 接访/下访) becomes a held session — the one already in the
calendar that day if there is one — and each row a completed appointment in it, so leaders'
history and the review's 领导接访 figures reach back before the system. Rows fingerprinted like
cases: the same sheet twice adds nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.audit import service as audit
from reception.auth import Principal
from reception.context import Context
from reception.db import flush_or_conflict, in_parts
from reception.errors import Conflict
from reception.imports import values
from reception.imports.cases import TWIN, Verdict
from reception.imports.models import ImportBatch, ImportRecord
from reception.imports.rows import Cells, column_letter
from reception.imports.service import Outcome, Sink, data_rows, file_of, lookups
from reception.petitioner import Identity, normal_id_number, normal_phone
from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot
from reception.scheduling.sealed import seal_appointment
from reception.scheduling.service import new_uid

# The hours an imported day is shown at (the sheet gives the day only).
HOURS = {"reception": (time(9), time(12)), "field_visit": (time(14), time(17))}


@dataclass
class Visit:
    line: int
    day: date
    leader_id: int
    kind: str
    place: str
    who: Identity
    summary: str
    people: int


def _visit(cells: Cells, leaders: dict[str, list[int]], today: date) -> Visit | None:
    on = cells.read("day", values.day)
    if on is not None and on > today:
        cells.errors.append(f"接访日期({column_letter(cells.columns['day'])}{cells.line}):晚于今天")
    leader = cells.read("leader", values.text)
    ids = leaders.get(leader or "", [])
    if leader and len(ids) != 1:
        cells.errors.append(f"接访领导「{leader}」不在系统的领导名单中(或有同名)")
    kind = cells.read("kind", lambda v: values.coded("session_kind", v)) or "reception"
    name = cells.read("name", values.text) or ""
    summary = cells.read("summary", values.text) or ""
    if not name or not summary or on is None or not leader:
        cells.errors.append("接访日期、接访领导、信访人、反映问题都须填写")
    if cells.errors or on is None:
        return None
    id_number = normal_id_number(cells.read("id_number", values.text) or "")[:40]
    phone = normal_phone(cells.read("phone", values.text) or "")[:30]
    return Visit(
        cells.line,
        on,
        ids[0],
        kind,
        (cells.read("place", values.text) or "")[:200],
        Identity(name[:50], id_number, phone),
        summary[:2000],
        cells.read("people_count", values.count) or 1,
    )


async def walk_sessions(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    batch: ImportBatch,
    write: bool,
    sink: Sink | None = None,
) -> Outcome:
    rows, _ = data_rows(file_of(ctx, batch), batch, ctx.settings.import_max_rows)
    known = await lookups(session, ctx, actor, batch)
    outcome = Outcome()
    seen: dict[str, str] = {}
    held: dict[tuple[int, date, str], tuple[int, int]] = {}
    # The kind of the leader's session already in the calendar on a day (None: none).
    booked: dict[tuple[int, date], str | None] = {}
    for cells in rows:
        visit = _visit(cells, known.leaders, known.today)
        if visit is not None and await _clashes(session, visit, booked):
            cells.errors.append(f"{visit.day} 该领导已有另一种接访/下访安排,与之冲突")
            visit = None
        verdict = Verdict(cells.line, "error", cells.errors, cells.shown, sheet=cells.sheet)
        if visit is not None:
            verdict = await _judge(session, ctx, visit, cells, seen)
            if write and verdict.verdict == "create":
                await _write(session, ctx, actor, batch, visit, verdict, held)
        outcome.counts[verdict.verdict] += 1
        outcome.rows += 1
        if outcome.rows % 500 == 0:
            await asyncio.sleep(0)  # other requests get their turn (one event loop)
        if sink is not None:
            sink(verdict)
    return outcome


async def _clashes(
    session: AsyncSession, visit: Visit, booked: dict[tuple[int, date], str | None]
) -> bool:
    """The leader already has a session of the other kind that day (a reception day and a
    field visit are not made one): the row is an error, in the dry run as in the import."""
    key = (visit.leader_id, visit.day)
    if key not in booked:
        booked[key] = await session.scalar(
            select(ReceptionSession.kind)
            .where(
                ReceptionSession.leader_id == visit.leader_id,
                ReceptionSession.local_date == visit.day,
                ReceptionSession.status != "cancelled",
            )
            .limit(1)
        )
    kind = booked[key]
    if kind is None:
        booked[key] = visit.kind
        return False
    return kind != visit.kind


async def _judge(
    session: AsyncSession, ctx: Context, visit: Visit, cells: Cells, seen: dict[str, str]
) -> Verdict:
    who = visit.who.id_number or f"{visit.who.name}|{visit.who.phone}"
    facts = f"{visit.day}\x1f{visit.leader_id}\x1f{visit.kind}\x1f{who}\x1f{visit.summary}"
    fingerprint = ctx.keys.mac("import.visit-row", facts.encode()).hex()[:64]
    verdict = Verdict(
        visit.line, "create", list(cells.warnings), cells.raw, fingerprint=fingerprint
    )
    if fingerprint in seen:
        verdict.verdict = "same"
        verdict.reasons.insert(0, f"与本文件{seen[fingerprint]}相同")
    elif await session.scalar(
        select(ImportRecord.id).where(ImportRecord.fingerprint == fingerprint)
    ):
        verdict.verdict = "same"
        verdict.reasons.insert(0, "此行已在之前的导入中导入")
    else:
        seen[fingerprint] = verdict.where
    return verdict


async def _session_for(
    session: AsyncSession,
    ctx: Context,
    visit: Visit,
    held: dict[tuple[int, date, str], tuple[int, int]],
) -> tuple[int, int]:
    """The leader's session of that day and kind (one in the calendar already, or one made
    for the import) and its slot."""
    key = (visit.leader_id, visit.day, visit.kind)
    if key in held:
        return held[key]
    existing = await session.scalar(
        select(ReceptionSession).where(
            ReceptionSession.leader_id == visit.leader_id,
            ReceptionSession.local_date == visit.day,
            ReceptionSession.status != "cancelled",
        )
    )
    if existing is not None and existing.kind != visit.kind:
        raise Conflict(f"第 {visit.line} 行:该领导当天已有另一种安排,与之冲突")
    start, end = HOURS[visit.kind]
    if existing is None:
        existing = ReceptionSession(
            uid=new_uid(),
            leader_id=visit.leader_id,
            kind=visit.kind,
            address=visit.place,
            purpose="台账导入" if visit.kind == "field_visit" else "",
            local_date=visit.day,
            starts_at=datetime.combine(visit.day, start, ctx.tz),
            ends_at=datetime.combine(visit.day, end, ctx.tz),
            status="held",
            outcome="由接访台账导入",
        )
        session.add(existing)
        await session.flush()
    slot = await session.scalar(
        select(SessionSlot).where(SessionSlot.session_id == existing.id).limit(1)
    )
    if slot is None:
        slot = SessionSlot(
            session_id=existing.id or 0,
            slot_index=0,
            starts_at=existing.starts_at,
            ends_at=existing.ends_at,
            capacity=0,
        )
        session.add(slot)
        await session.flush()
    held[key] = (existing.id or 0, slot.id or 0)
    return held[key]


async def _write(
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    batch: ImportBatch,
    visit: Visit,
    verdict: Verdict,
    held: dict[tuple[int, date, str], tuple[int, int]],
) -> None:
    session_id, slot_id = await _session_for(session, ctx, visit, held)
    slot = await session.get(SessionSlot, slot_id)
    if slot is not None:
        # A held day's places are the people received (capacity grows with them).
        slot.capacity += 1
        slot.booked += 1
    row = Appointment(
        session_id=session_id,
        slot_id=slot_id,
        petitioner_name=visit.who.name,
        petitioner_id_number_index=pii.blind_id_number(ctx.keys, visit.who.id_number),
        petitioner_phone_index=pii.blind_phone(ctx.keys, visit.who.phone),
        matter_summary=visit.summary,
        party_size=visit.people,
        status="completed",
        duplicate_allowed=True,
        booked_by_name=audit.actor_name(actor),
        status_changed_at=ctx.now(),
    )
    session.add(row)
    await session.flush()
    seal_appointment(ctx.keys, row, visit.who)
    record = ImportRecord(
        batch_id=batch.id or 0,
        row_number=visit.line,
        fingerprint=verdict.fingerprint,
        session_id=session_id,
        appointment_id=row.id,
    )
    await flush_or_conflict(session, TWIN, record)


async def rollback_sessions(*, session: AsyncSession, batch: ImportBatch) -> None:
    """The appointments the import added, and the sessions it made that hold nothing else."""
    records = list(
        await session.scalars(select(ImportRecord).where(ImportRecord.batch_id == batch.id))
    )
    appointments = [r.appointment_id for r in records if r.appointment_id is not None]
    sessions = sorted({r.session_id for r in records if r.session_id is not None})
    await session.execute(delete(ImportRecord).where(col(ImportRecord.batch_id) == batch.id))
    for part in in_parts(appointments):
        await session.execute(delete(Appointment).where(col(Appointment.id).in_(part)))
    for session_id in sessions:
        left = await session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.session_id == session_id)
        )
        made = await session.get(ReceptionSession, session_id)
        if not left and made is not None and made.outcome == "由接访台账导入":
            await session.execute(
                delete(SessionSlot).where(col(SessionSlot.session_id) == session_id)
            )
            await session.delete(made)
    await session.flush()
