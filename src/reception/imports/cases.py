"""A ledger of cases, chunk by chunk: each row's verdict (新建 / 重复信访 / 已存在 / 错误) from
the row itself, the rows before it in the file and the cases already in the database, and —
when importing — the cases made of it in bulk, with their petitioners sealed, their clocks,
their course on the timeline and the row's fingerprint. The dry run and the import take the
same path; only the import writes."""

from __future__ import annotations

import difflib
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.auth import Principal
from reception.base import COLLECTIVE_FROM
from reception.cases.access import case_scope
from reception.cases.clocks import refresh_next_office_due
from reception.cases.models import (
    CaseClock,
    CaseCounter,
    CaseEvaluation,
    CaseEvent,
    CaseOwnership,
    CasePetitioner,
    PetitionCase,
)
from reception.cases.petitioners import new_petitioner, seal_petitioner
from reception.cases.workflow import CLOCK_RULES
from reception.context import Context
from reception.db import flush_refused, next_in_counter, now_of
from reception.errors import Conflict
from reception.imports.models import ImportRecord
from reception.imports.rows import CaseRow, Cells, ClockPlan, Course, Lookups, case_row, course
from reception.petitioner import Identity
from reception.workdays import WorkCalendar

VERDICTS = {
    "create": "新建",
    "repeat": "新建(重复信访)",
    "same": "已存在,不再导入",
    "error": "有错误,不导入",
}
SIMILAR_SUMMARY = 0.5
# The part of a summary remembered for the rows after it (memory stays small per row).
SUMMARY_KEPT = 200
TWIN = "同样的行刚被另一次导入导入了:本次没有导入任何记录,请重新试运行后再导入"


class Made:
    """The case a planned row became (set once the import has written it): all an earlier
    row leaves behind for the rows after it — not its cells."""

    __slots__ = ("case_id",)

    def __init__(self) -> None:
        self.case_id: int | None = None


@dataclass
class Verdict:
    line: int
    verdict: str
    reasons: list[str]
    raw: list[Any]
    row: CaseRow | None = None
    # The sheet the row is on, when a workbook's sheets are taken together.
    sheet: str = ""
    fingerprint: str = ""
    repeat_of: int | None = None
    # The earlier row of this file the row repeats (its case made in this import).
    repeat_source: Made | None = None
    made: Made = field(default_factory=Made)

    @property
    def where(self) -> str:
        """第 12 行, or 「2019年」第 12 行 when the workbook's sheets are taken together."""
        return (f"「{self.sheet}」" if self.sheet else "") + f"第 {self.line} 行"


@dataclass(slots=True)
class Earlier:
    """A case (or an earlier row of the file) a row's petitioner already had: what the rows
    after it compare with, kept small (an import remembers one or two per row)."""

    registered_on: date
    category: str
    unit_id: int
    summary: str
    # A case in the database: its reference; a row of the file: where it is.
    reference: str = ""
    line: int = 0
    sheet: str = ""
    known_id: int | None = None
    source: Made | None = None

    @property
    def case_id(self) -> int | None:
        return self.source.case_id if self.source is not None else self.known_id

    @property
    def what(self) -> str:
        if self.reference:
            return f"事项 {self.reference}"
        return "事项(本文件" + (f"「{self.sheet}」" if self.sheet else "") + f"第 {self.line} 行)"


def _key(kind: str, name: str, digest: str) -> bytes:
    """An identity key as the planner remembers it: 16 bytes, not the 64-character index."""
    return hashlib.blake2b(f"{kind}:{name}:{digest}".encode(), digest_size=16).digest()


@dataclass
class Planner:
    """Verdicts for a file's rows, chunk after chunk, remembering the file's earlier rows."""

    session: AsyncSession
    ctx: Context
    actor: Principal | None
    lookups: Lookups
    # A fingerprint seen in this file (its first 16 bytes) → the row it was on.
    seen: dict[bytes, tuple[int, str]] = field(default_factory=dict)
    earlier: dict[bytes, list[Earlier]] = field(default_factory=lambda: defaultdict(list))

    def _keys(self, row: CaseRow) -> list[bytes]:
        """The petitioner's identity from the blind indexes (the same petitioner: the same ID
        number, or the same name and phone): what rows and cases are matched by."""
        out = []
        if row.id_number:
            out.append(_key("id", "", pii.blind_id_number(self.ctx.keys, row.id_number)))
        if row.name and row.phone:
            out.append(_key("np", row.name, pii.blind_phone(self.ctx.keys, row.phone)))
        return out

    def fingerprint(self, row: CaseRow) -> str:
        who = row.id_number or f"{row.name}|{row.phone}"
        summary = " ".join(row.summary.split())
        on = row.registered_on.isoformat()
        facts = "\x1f".join([on, who, row.category, str(row.unit_id), row.channel, summary])
        return self.ctx.keys.mac("import.case-row", facts.encode()).hex()[:64]

    async def _known(self, rows: Sequence[CaseRow]) -> dict[bytes, list[Earlier]]:
        """The cases already in the database of the chunk's petitioners (in the importer's
        scope), by identity key."""
        ids = {
            d for r in rows if r.id_number for d in self.ctx.keys.blinds(pii.ID_NUMBER, r.id_number)
        }
        phones = {d for r in rows if r.phone for d in self.ctx.keys.blinds(pii.PHONE, r.phone)}
        if not ids and not phones:
            return {}
        query = (
            sa_select(
                col(CasePetitioner.name),
                col(CasePetitioner.id_number_index),
                col(CasePetitioner.phone_index),
                col(PetitionCase.id),
                col(PetitionCase.reference),
                col(PetitionCase.registered_on),
                col(PetitionCase.category_code),
                col(PetitionCase.unit_id),
                col(PetitionCase.summary),
            )
            .join(PetitionCase, col(PetitionCase.id) == col(CasePetitioner.case_id))
            .where(
                or_(
                    col(CasePetitioner.id_number_index).in_(sorted(ids)),
                    col(CasePetitioner.phone_index).in_(sorted(phones)),
                )
            )
        )
        if self.actor is not None:
            query = query.where(case_scope(self.actor))
        # An index of either suite stands for the value (a database moving between suites).
        same = {d: ds[0] for r in rows for ds in self._all_digests(r) for d in ds}
        out: dict[bytes, list[Earlier]] = defaultdict(list)
        for (
            name,
            id_index,
            phone_index,
            case_id,
            ref,
            on,
            category,
            unit_id,
            summary,
        ) in await self.session.execute(query):
            found = Earlier(on, category, unit_id, summary, reference=ref, known_id=case_id)
            if id_index:
                out[_key("id", "", same.get(id_index, id_index))].append(found)
            if phone_index:
                out[_key("np", name, same.get(phone_index, phone_index))].append(found)
        return out

    def _all_digests(self, row: CaseRow) -> list[list[str]]:
        keys = self.ctx.keys
        out = []
        if row.id_number:
            out.append(keys.blinds(pii.ID_NUMBER, row.id_number))
        if row.phone:
            out.append(keys.blinds(pii.PHONE, row.phone))
        return out

    async def plan(self, chunk: Sequence[Cells]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for cells in chunk:
            row = case_row(cells, self.lookups)
            if row is None:
                verdicts.append(
                    Verdict(cells.line, "error", cells.errors, cells.shown, sheet=cells.sheet)
                )
            else:
                verdicts.append(
                    Verdict(cells.line, "create", [], cells.shown, row, sheet=cells.sheet)
                )
        good = [v for v in verdicts if v.row is not None]
        for v in good:
            v.fingerprint = self.fingerprint(v.row)  # type: ignore[arg-type]
        imported = set(
            await self.session.scalars(
                select(ImportRecord.fingerprint).where(
                    col(ImportRecord.fingerprint).in_([v.fingerprint for v in good])
                )
            )
        )
        known = await self._known([v.row for v in good if v.row is not None])
        for v in good:
            self._judge(v, imported, known)
        return verdicts

    def _judge(self, v: Verdict, imported: set[str], known: dict[bytes, list[Earlier]]) -> None:
        row = v.row
        if row is None:
            return
        v.reasons = list(row.warnings)
        if v.fingerprint in imported:
            v.verdict, v.row = "same", None
            v.reasons.insert(0, "此行已在之前的导入中导入")
            return
        mark = bytes.fromhex(v.fingerprint)[:16]
        if mark in self.seen:
            line, sheet = self.seen[mark]
            v.verdict, v.row = "same", None
            place = f"「{sheet}」" if sheet else ""
            v.reasons.insert(0, f"与本文件{place}第 {line} 行相同")
            return
        keys = self._keys(row)
        before = [e for k in keys for e in (self.earlier.get(k, []) + known.get(k, []))]
        twin = next(
            (
                e
                for e in before
                if e.registered_on == row.registered_on
                and e.category == row.category
                and _similar(e.summary[:SUMMARY_KEPT], row.summary[:SUMMARY_KEPT])
            ),
            None,
        )
        if twin is not None:
            v.verdict, v.row = "same", None
            v.reasons.insert(0, f"与已有的{twin.what}相同(同一信访人、同日、同类、事项相似)")
            return
        self.seen[mark] = (v.line, v.sheet)
        prior = [
            e
            for e in before
            if e.registered_on < row.registered_on
            and (e.category == row.category or e.unit_id == row.unit_id)
        ]
        prior.sort(key=lambda e: (e.registered_on, e.case_id or 0))
        self.remember(v)
        if prior and row.repeat is not False:
            v.verdict = "repeat"
            v.repeat_of, v.repeat_source = prior[-1].known_id, prior[-1].source
            v.reasons.insert(0, f"重复信访:同一信访人的在先{prior[-1].what}")
        elif prior:
            v.reasons.append(f"同一信访人有在先的{prior[-1].what},台账记为初信初访(按台账导入)")
        elif row.repeat:
            v.reasons.append("台账记为重复信访,系统中未找到在先事项(按台账记为重复)")

    def remember(self, v: Verdict) -> None:
        """A row planned to be created: later rows of the file may repeat it."""
        row = v.row
        if row is None:
            return
        # What later rows compare with: the summary's start is enough to tell a twin.
        summary = row.summary[:SUMMARY_KEPT]
        for key in self._keys(row):
            self.earlier[key].append(
                Earlier(
                    row.registered_on,
                    row.category,
                    row.unit_id,
                    summary,
                    line=v.line,
                    sheet=v.sheet,
                    source=v.made,
                )
            )


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR_SUMMARY


# ---------------------------------------------------------------- writing


def _steps(row: CaseRow, plan: Course) -> list[tuple[str, date, str]]:
    """The course as timeline events: kind, the day it happened, the stage it left."""
    steps = [("imported.registered", row.registered_on, "registered")]
    if row.rejected and row.accepted_on is not None:
        steps.append(("imported.rejected", row.accepted_on, "rejected"))
    elif row.accepted_on is not None:
        steps.append(("imported.accepted", row.accepted_on, "in_progress"))
    if row.replied_on is not None:
        steps.append(("imported.replied", row.replied_on, "replied"))
    if plan.stage == "closed" and plan.closed_on is not None:
        steps.append(("imported.closed", plan.closed_on, "closed"))
    return steps


def _case(
    row: CaseRow, plan: Course, v: Verdict, reference: str, seq: int, by: str
) -> PetitionCase:
    resolved = bool(row.resolved) and row.replied_on is not None
    return PetitionCase(
        reference=reference,
        ref_year=row.registered_on.year,
        ref_seq=seq,
        channel=row.channel,
        category_code=row.category,
        summary=row.summary,
        unit_id=row.unit_id,
        people_count=row.people_count,
        collective=row.people_count >= COLLECTIVE_FROM,
        received_on=row.received_on,
        registered_on=row.registered_on,
        stage=plan.stage,
        first_time=not row.repeat if row.repeat is not None else v.verdict != "repeat",
        repeat_of_id=v.repeat_of or (v.repeat_source.case_id if v.repeat_source else None),
        accepted_on=None if row.rejected else row.accepted_on,
        rejection_reason="台账记载:不予受理" if row.rejected else "",
        replied_on=row.replied_on,
        closed_on=plan.closed_on,
        resolution="resolved" if resolved else "unresolved",
        resolution_on=(plan.closed_on or row.replied_on) if resolved else None,
        resolution_method="台账导入" if resolved else "",
        satisfaction=row.satisfaction or "not_evaluated",
        evaluated_on=row.replied_on if row.satisfaction not in (None, "not_evaluated") else None,
        registered_by_name=by,
        version=len(_steps(row, plan)),
    )


async def write(
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    batch_id: int,
    verdicts: Sequence[Verdict],
    calendar: WorkCalendar,
) -> None:
    """Create the chunk's cases (the verdicts 新建 and 重复信访) in a few bulk statements."""
    todo = [(v, v.row) for v in verdicts if v.verdict in ("create", "repeat") and v.row]
    if not todo:
        return
    by = actor.name if actor is not None else "系统(台账导入)"
    per_year: dict[int, list[tuple[Verdict, CaseRow]]] = defaultdict(list)
    for v, row in todo:
        per_year[row.registered_on.year].append((v, row))
    prefix = ctx.settings.case_ref_prefix
    cases: list[tuple[Verdict, CaseRow, Course, PetitionCase]] = []
    for year, group in sorted(per_year.items()):
        last = await next_in_counter(session, CaseCounter, count=len(group), year=year)
        for seq, (v, row) in enumerate(group, start=last - len(group) + 1):
            plan = course(row, calendar)
            case = _case(row, plan, v, f"{prefix}〔{year}〕{seq:05d}", seq, by)
            cases.append((v, row, plan, case))
    session.add_all([c for *_, c in cases])
    await session.flush()
    for v, *_, case in cases:
        v.made.case_id = case.id
    people = []
    for v, row, _, case in cases:
        if case.repeat_of_id is None and v.repeat_source is not None:
            # Repeats an earlier row of the same chunk: its case has its id only now.
            case.repeat_of_id = v.repeat_source.case_id
        who = Identity(row.name, row.id_number, row.phone, row.address)
        people.append((new_petitioner(ctx.keys, case_id=case.id or 0, position=0, who=who), who))
    session.add_all([p for p, _ in people])
    await session.flush()
    for p, who in people:
        seal_petitioner(ctx.keys, p, who)
    await session.flush()
    tables = _records(batch_id, cases, by, now_of(session))

    async def rows() -> None:
        for model, values in tables.items():
            await session.execute(insert(model), values)
        # The clocks went in without the ORM: the cases' next deadline is set here.
        ids = [case.id for *_, case in cases if case.id is not None]
        await session.run_sync(refresh_next_office_due, ids)

    # The fingerprints are UNIQUE: an import of the same rows running at the same time makes
    # this one stop whole (nothing of it stays), never a second copy.
    if await flush_refused(session, then=rows) is not None:
        raise Conflict(TWIN)


def _records(
    batch_id: int, cases: list[tuple[Verdict, CaseRow, Course, PetitionCase]], by: str, now: Any
) -> dict[Any, list[dict[str, Any]]]:
    """The rows each case brings along, as plain values for one multi-row INSERT per table
    (no ORM objects: an import writes some ten of them per ledger row)."""
    out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for v, row, plan, case in cases:
        case_id = case.id or 0
        out[ImportRecord].append(
            {"batch_id": batch_id, "row_number": v.line, "fingerprint": v.fingerprint}
            | {"case_id": case_id, "session_id": None, "appointment_id": None}
        )
        out[CaseClock] += [_clock_row(case_id, c, now) for c in plan.clocks]
        for i, (kind, on, stage) in enumerate(_steps(row, plan)):
            note = f"由台账导入(导入批次 {batch_id},第 {v.line} 行)" if i == 0 else ""
            if i == 0 and row.note:
                note += f";台账备注:{row.note}"
            out[CaseEvent].append(
                {"case_id": case_id, "at": now, "effective_on": on, "actor_user_id": None}
                | {"actor_name": by, "kind": kind, "note": note[:2000], "before": None}
                | {"after": {"stage": stage, "reference": case.reference}}
            )
        if case.satisfaction != "not_evaluated" and case.evaluated_on is not None:
            out[CaseEvaluation].append(
                {"case_id": case_id, "round": 1, "source": "staff"}
                | {"satisfaction": case.satisfaction, "evaluated_on": case.evaluated_on}
                | {"comment": "台账导入(工作人员记录,非信访人本人评价)", "created_at": now}
            )
        if row.owner_id is not None:
            closed = case.stage == "closed"
            out[CaseOwnership].append(
                {"case_id": case_id, "leader_id": row.owner_id, "responsible_unit_id": row.unit_id}
                | {"plan": "", "target_date": None, "stability_contact": "", "reason": "台账导入"}
                | {"started_on": row.accepted_on or row.registered_on, "started_at": now}
                | {"ended_on": case.closed_on if closed else None}
                | {"ended_at": now if closed else None}
                | {"end_reason": "台账记载已办结" if closed else "", "assigned_by_user_id": None}
                | {"assigned_by_name": by}
            )
    return out


def _clock_row(case_id: int, c: ClockPlan, now: Any) -> dict[str, Any]:
    rule = CLOCK_RULES[c.kind]
    met = c.met_on is not None
    return {
        "case_id": case_id,
        "kind": c.kind,
        "round": 1,
        "started_on": c.started_on,
        "length": rule.length,
        "working_days": rule.working_days,
        "original_due": c.due,
        "current_due": c.due,
        "extended_days": 0,
        "paused_days": 0,
        "status": "met" if met else "running",
        "met_on": c.met_on,
        "on_time": (c.met_on <= c.due) if c.met_on is not None else None,
        "provisional": c.provisional,
        "created_at": now,
        "updated_at": now,
    }
