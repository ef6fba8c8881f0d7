"""Bodies of the ledger API (矛盾纠纷排查台账)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from msgspec import Meta, Struct

from reception.base import Id, Strict
from reception.cases.schemas import RepeatCandidate
from reception.cases.workflow import Channel
from reception.ledger.rules import CheckState, HowFound, Move, ResolveMethod, Risk

Amount = Annotated[int, Meta(ge=0, le=10**12)]
Note = Annotated[str, Meta(max_length=2000)]


class PartyIn(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=50)]
    id_number: Annotated[str, Meta(max_length=18)] = ""
    phone: Annotated[str, Meta(max_length=20)] = ""


class EntryCreate(Strict):
    """建账: what was found, where, by whom, how risky, who keeps it stable and who resolves it."""

    found_on: date
    found_by_unit_id: Id
    how_found: HowFound
    domain: Annotated[str, Meta(min_length=1, max_length=30)]
    summary: Annotated[str, Meta(min_length=1, max_length=4000)]
    parties: Annotated[list[PartyIn], Meta(min_length=1, max_length=50)]
    unit_id: Id
    stability_leader_id: Id
    resolution_leader_id: Id
    target_on: date
    risk: Risk = "general"
    people_count: Annotated[int, Meta(ge=1, le=100_000)] = 1
    amount_disputed: Amount = 0
    plan: Annotated[str, Meta(max_length=4000)] = ""
    # Default: the risk level's review interval in working days from the day it is entered.
    review_on: date | None = None


class MoveIn(Strict):
    """A step on an open entry. follow_up: a note and the next review date (risk may change);
    correct: what was entered wrongly at 建账 (summary, domain, people, amount, plan, target
    date, risk — the risk rule checked on the result); reassign: new 稳控/化解责任人; escalate: to the responsible unit's parent, with the reason;
    resolve: 销账 with how and the amount recovered; convert: 转为信访事项 (the channel it came
    by; repeat_of confirms an earlier case it repeats)."""

    move: Move
    on: date | None = None
    note: Note = ""
    review_on: date | None = None
    risk: Risk | None = None
    stability_leader_id: Id | None = None
    resolution_leader_id: Id | None = None
    method: ResolveMethod | None = None
    amount_recovered: Amount | None = None
    channel: Channel | None = None
    repeat_of: Id | None = None
    summary: Annotated[str, Meta(min_length=1, max_length=4000)] | None = None
    domain: Annotated[str, Meta(min_length=1, max_length=30)] | None = None
    people_count: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    amount_disputed: Amount | None = None
    plan: Annotated[str, Meta(max_length=4000)] | None = None
    target_on: date | None = None


class CheckInIn(Strict):
    state: CheckState
    note: Annotated[str, Meta(max_length=500)] = ""


class PeriodIn(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    starts_on: date
    ends_on: date
    note: Annotated[str, Meta(max_length=500)] = ""


class PeriodOut(Struct):
    id: int
    name: str
    starts_on: date
    ends_on: date
    note: str
    created_by_name: str


class PartyOut(Struct):
    name: str
    id_number: str
    phone: str


class MoveOut(Struct):
    kind: str
    label: str
    on: date
    at: datetime
    actor_name: str
    note: str
    from_unit: str
    to_unit: str
    changes: dict[str, list[object]]


class CheckInOut(Struct):
    day: date
    state: str
    state_label: str
    note: str
    by_name: str
    at: datetime


class EntrySummary(Struct):
    id: int
    reference: str
    found_on: date
    found_by_unit: str
    how_found: str
    domain: str
    domain_name: str
    summary: str
    risk: str
    risk_label: str
    people_count: int
    amount_disputed: int
    amount_recovered: int
    unit_id: int
    unit_name: str
    stability_leader: str
    resolution_leader: str
    target_on: date
    review_on: date
    overdue: bool
    status: str
    status_label: str
    closed_on: date | None
    case_id: int | None
    parties: int


class EntryDetail(EntrySummary):
    plan: str = ""
    resolve_method: str = ""
    case_reference: str = ""
    parties_shown: list[PartyOut] = []
    masked: bool = True
    moves: list[MoveOut] = []
    check_ins: list[CheckInOut] = []
    allowed_moves: list[str] = []
    may_check_in: bool = False
    version: int = 1


class MoveResult(Struct):
    """An entry after a move; for 转为信访事项 also the case made of it and the earlier cases it
    may repeat (the clerk confirms one on the case, as at registration)."""

    entry: EntryDetail
    case_id: int | None = None
    case_reference: str = ""
    repeat_candidates: list[RepeatCandidate] = []


class DueCheckIn(Struct):
    """An entry its 稳控责任人 reports on today (the phone page)."""

    id: int
    reference: str
    domain_name: str
    risk_label: str
    summary: str
    unit_name: str
    checked_in: bool
    last_state: str
