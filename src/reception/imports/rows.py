"""One ledger row read as a case: each mapped cell through its reader, the dates checked
against each other, and the case's historic course (stage, dates, clocks) worked out from
them the way the office's rules count it. A problem with a cell is an error naming the row,
the column and the reason; a doubtful value a warning. Pure: no database, no web."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reception.cases import workflow
from reception.imports import values
from reception.imports.mapping import FIELDS
from reception.imports.reading import Formula
from reception.petitioner import id_number_problem, normal_id_number, normal_phone
from reception.workdays import WorkCalendar

# The working-day calendar starts here (reception.workcal): older ledgers are not counted.
EARLIEST_YEAR = 2000


def column_letter(index: int) -> str:
    """A column as Excel names it: 0 → A, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


@dataclass
class Cells:
    """A row's cells by field, with what went wrong while reading them."""

    line: int
    raw: list[Any]
    columns: dict[str, int]
    kind: str
    # The sheet, when a workbook's sheets are taken together ("" for one sheet).
    sheet: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The row's cells under the header names of every sheet taken (the report's columns).
    shown: list[Any] = field(default_factory=list)

    def where(self, name: str) -> str:
        label = FIELDS[self.kind][name].label.split("(")[0]
        place = f"「{self.sheet}」" if self.sheet else ""
        return f"{label}({place}{column_letter(self.columns[name])}{self.line})"

    def cell(self, name: str) -> Any:
        index = self.columns.get(name)
        if index is None or index >= len(self.raw):
            return None
        return self.raw[index]

    def read(self, name: str, reader: Callable[[Any], Any]) -> Any:
        value = self.cell(name)
        if isinstance(value, Formula):
            self.errors.append(f"{self.where(name)}:是公式({value.text[:40]}),请先粘贴为数值")
            return None
        try:
            return reader(value)
        except values.Unreadable as exc:
            self.errors.append(f"{self.where(name)}:{exc}")
            return None

    def blank(self) -> bool:
        return all(
            self.raw[i] is None or str(self.raw[i]).strip() == ""
            for i in self.columns.values()
            if i < len(self.raw)
        )


@dataclass
class CaseRow:
    """A ledger row as a case's facts (None where the ledger says nothing)."""

    line: int
    received_on: date
    registered_on: date
    name: str
    id_number: str
    phone: str
    address: str
    channel: str
    summary: str
    category: str
    unit_id: int
    repeat: bool | None
    people_count: int
    accepted_on: date | None
    replied_on: date | None
    closed_on: date | None
    rejected: bool
    # 办理中 / 已办结 as the ledger says (None: it does not say).
    outcome: str | None
    resolved: bool | None
    satisfaction: str | None
    owner_id: int | None
    note: str
    warnings: list[str]


@dataclass(frozen=True)
class Lookups:
    """What a row's names are read against: the units in the importer's reach, the active
    leaders by name, the categories, the unit rows naming none go to, and today."""

    units: values.UnitNames
    leaders: dict[str, list[int]]
    categories: dict[str, str]
    default_unit_id: int | None
    today: date


def _category(cells: Cells, lookups: Lookups) -> str:
    typed = cells.read("category", values.text)
    if not typed:
        return "other"
    by_name = {name: code for code, name in lookups.categories.items()}
    if typed in by_name or typed in lookups.categories:
        return by_name.get(typed, typed)
    try:
        return values.coded("category", typed) or "other"
    except values.Unreadable:
        cells.warnings.append(f"{cells.where('category')}:「{typed}」不是已有类别,按「其他」导入")
        return "other"


def _unit(cells: Cells, lookups: Lookups) -> int | None:
    found = cells.read("unit", lookups.units.find) if "unit" in cells.columns else None
    if found is None and not any(e.startswith("责任单位") for e in cells.errors):
        if lookups.default_unit_id is None:
            cells.errors.append("责任单位为空,且没有指定默认责任单位")
        return lookups.default_unit_id
    return found


def _owner(cells: Cells, lookups: Lookups) -> int | None:
    typed = cells.read("owner", values.text)
    if not typed:
        return None
    ids = lookups.leaders.get(typed, [])
    if len(ids) != 1:
        reason = "不在系统的领导名单中,请先添加" if not ids else "有同名的几位领导,请逐件指定"
        cells.errors.append(f"{cells.where('owner')}:「{typed}」{reason}")
        return None
    return ids[0]


def _identity(cells: Cells, today: date) -> tuple[str, str]:
    id_number = normal_id_number(cells.read("id_number", values.text) or "")
    if id_number:
        problem = id_number_problem(id_number, today)
        if problem:
            cells.warnings.append(f"{cells.where('id_number')}:{problem}(按原样导入)")
    phone = normal_phone(cells.read("phone", values.text) or "")
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 20):
        cells.warnings.append(f"{cells.where('phone')}:「{phone}」不像电话号码(按原样导入)")
    return id_number[:40], phone[:30]


def _dates(cells: Cells, today: date) -> dict[str, date | None]:
    found = {n: cells.read(n, values.day) for n in FIELDS["cases"] if n.endswith("_on")}
    order = ["received_on", "registered_on", "accepted_on", "replied_on", "closed_on"]
    for name in order:
        on = found[name]
        if on is not None and on > today:
            cells.errors.append(f"{cells.where(name)}:{on} 晚于今天")
        elif on is not None and on.year < EARLIEST_YEAR:
            cells.errors.append(f"{cells.where(name)}:{on} 早于 {EARLIEST_YEAR} 年,请核对")
    for later, earlier in [
        ("registered_on", "received_on"),
        ("accepted_on", "received_on"),
        ("accepted_on", "registered_on"),
        ("replied_on", "accepted_on"),
        ("closed_on", "replied_on"),
        ("closed_on", "accepted_on"),
    ]:
        a, b = found[later], found[earlier]
        if a is not None and b is not None and a < b:
            label = FIELDS["cases"][earlier].label.split("(")[0]
            cells.errors.append(f"{cells.where(later)}:早于 {label} {b.isoformat()}")
    return found


def case_row(cells: Cells, lookups: Lookups) -> CaseRow | None:
    """The row as a case, or None with `cells.errors` saying why not."""
    dates = _dates(cells, lookups.today)
    registered = dates["registered_on"] or dates["received_on"]
    if registered is None and not cells.errors:
        cells.errors.append("没有登记日期")
    name = cells.read("name", values.text)
    if name == "" and "name" in cells.columns:
        cells.errors.append(f"{cells.where('name')}:信访人为空")
    summary = cells.read("summary", values.text)
    if summary == "" and "summary" in cells.columns:
        cells.errors.append(f"{cells.where('summary')}:反映问题为空")
    channel = cells.read("channel", lambda v: values.coded("channel", v))
    if channel is None and not cells.errors:
        cells.errors.append(f"{cells.where('channel')}:信访形式为空")
    outcome = cells.read("outcome", lambda v: values.coded("outcome", v))
    satisfaction = cells.read("satisfaction", lambda v: values.coded("satisfaction", v))
    people = cells.read("people_count", values.count) or 1
    repeat = cells.read("repeat", values.yes_no)
    resolved = cells.read("resolved", values.yes_no)
    id_number, phone = _identity(cells, lookups.today)
    category, unit_id = _category(cells, lookups), _unit(cells, lookups)
    owner_id = _owner(cells, lookups)
    if len(name or "") > 50:
        cells.errors.append(f"{cells.where('name')}:超过 50 字")
    if cells.errors or registered is None or unit_id is None:
        return None
    row = CaseRow(
        line=cells.line,
        received_on=dates["received_on"] or registered,
        registered_on=registered,
        name=name,
        id_number=id_number,
        phone=phone,
        address=(cells.read("address", values.text) or "")[:500],
        channel=channel,
        summary=summary,
        category=category,
        unit_id=unit_id,
        repeat=repeat,
        people_count=people,
        accepted_on=dates["accepted_on"],
        replied_on=dates["replied_on"],
        closed_on=dates["closed_on"],
        rejected=outcome == "rejected",
        outcome=outcome,
        resolved=resolved,
        satisfaction=satisfaction,
        owner_id=owner_id,
        note=(cells.read("note", values.text) or "")[:500],
        warnings=cells.warnings,
    )
    return _course_checked(row, outcome, cells)


def _course_checked(row: CaseRow, outcome: str | None, cells: Cells) -> CaseRow | None:
    """The dates a course needs: an answered matter was accepted; a closed one answered."""
    if row.rejected and row.accepted_on is None:
        cells.errors.append("不予受理的事项须有受理日期(作出不予受理决定的日期)")
    if row.replied_on is not None and row.accepted_on is None and not row.rejected:
        cells.errors.append("有答复日期,但没有受理日期")
    if outcome == "closed" and not row.rejected and row.replied_on is None:
        if row.closed_on is None or row.accepted_on is None:
            cells.errors.append("办理结果为已办结,但没有答复日期")
        else:
            row.replied_on = row.closed_on
    if row.satisfaction and row.satisfaction != "not_evaluated" and row.replied_on is None:
        row.warnings.append("尚未答复,满意度未导入")
        row.satisfaction = None
    if row.resolved and row.replied_on is None and not row.rejected:
        row.warnings.append("尚未答复,是否化解未导入")
        row.resolved = None
    return None if cells.errors else row


# ---------------------------------------------------------------- the historic course


@dataclass(frozen=True)
class ClockPlan:
    kind: str
    started_on: date
    due: date
    provisional: bool
    met_on: date | None


@dataclass(frozen=True)
class Course:
    stage: str
    closed_on: date | None
    clocks: list[ClockPlan]


def _clock(calendar: WorkCalendar, kind: str, started_on: date, met_on: date | None) -> ClockPlan:
    due = workflow.due_date(calendar, kind, started_on)
    return ClockPlan(kind, started_on, due.value, due.provisional, met_on)


def course(row: CaseRow, calendar: WorkCalendar) -> Course:
    """Where the matter stands by the ledger, and its clocks as the rules count them: the 15
    days to accept from receiving it, met on the decision; the 60 days to handle from
    acceptance, met on the reply (late ones stay late, open ones run on and may be overdue)."""
    clocks = [_clock(calendar, "accept", row.received_on, row.accepted_on)]
    if row.rejected:
        return Course("closed", row.closed_on or row.accepted_on, clocks)
    if row.accepted_on is None:
        return Course("registered", None, clocks)
    clocks.append(_clock(calendar, "handle", row.accepted_on, row.replied_on))
    if row.replied_on is None:
        return Course("in_progress", None, clocks)
    if row.outcome == "open":
        return Course("replied", None, clocks)
    if row.outcome == "closed" or row.closed_on is not None or row.resolved is not None:
        return Course("closed", row.closed_on or row.replied_on, clocks)
    return Course("replied", None, clocks)
