"""Bodies of the 督查督办 API: the checklist, spot checks and their findings, 流调."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

from reception.base import MONTH_PATTERN, Id, Strict
from reception.supervision.rules import Cause
from reception.supervision.rules import DecisionStep as DecisionStepKind

Month = Annotated[str, Meta(pattern=MONTH_PATTERN)]
Note = Annotated[str, Meta(max_length=500)]


# ---------------------------------------------------------------- the checklist


class ItemIn(Strict):
    label: Annotated[str, Meta(min_length=1, max_length=50)]
    hint: Annotated[str, Meta(max_length=200)] = ""
    position: Annotated[int, Meta(ge=0, le=1000)] = 0


class ItemPatch(Strict):
    label: Annotated[str, Meta(min_length=1, max_length=50)] | UnsetType = UNSET
    hint: Annotated[str, Meta(max_length=200)] | UnsetType = UNSET
    position: Annotated[int, Meta(ge=0, le=1000)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class ItemOut(Struct):
    id: int
    code: str
    label: str
    hint: str
    position: int
    active: bool


# ---------------------------------------------------------------- spot checks


class DrawIn(Strict):
    """Draw a month's samples: for the units named, or every base unit (townships and
    departments) not yet checked that month."""

    month: Month
    unit_ids: Annotated[list[Id], Meta(max_length=500)] | None = None


class SampleOut(Struct):
    id: int
    position: int
    case_id: int
    case_reference: str
    case_unit: str
    registered_on: date
    stage_label: str
    checked_on: date | None
    checker_name: str
    failed: int


class CheckOut(Struct):
    id: int
    month: str
    unit_id: int
    unit_name: str
    seed: str
    size: int
    population_size: int
    drawn_on: date
    drawn_by_name: str
    samples: list[SampleOut]
    findings: int
    open_findings: int


class DrawOut(Struct):
    month: str
    checks: list[CheckOut]


class Redraw(Struct):
    """The draw done again from the stored seed and population: the same cases, or not; and
    how the month's cases have changed since (补录 after the draw does not change a sample)."""

    check_id: int
    seed: str
    stored: list[int]
    redrawn: list[int]
    same: bool
    population_size: int
    registered_since: list[int]


class MarkIn(Strict):
    item_id: Id
    passed: bool
    # What is wrong (required when the line fails: it becomes the finding).
    note: Note = ""


class MarksIn(Strict):
    """The checklist for one sampled case: every active line, once."""

    marks: Annotated[list[MarkIn], Meta(min_length=1, max_length=50)]
    on: date | None = None


class MarkOut(Struct):
    item_id: int
    label: str
    passed: bool
    note: str


class FindingOut(Struct):
    id: int
    spot_check_id: int
    month: str
    case_id: int
    case_reference: str
    unit_id: int
    unit_name: str
    item_id: int
    item_label: str
    problem: str
    found_on: date
    deadline: date
    status: str
    status_label: str
    overdue: bool
    answer: str
    answered_on: date | None
    answered_by_name: str
    closed_on: date | None
    returned: int
    return_note: str
    returned_on: date | None


class SampleDetail(Struct):
    id: int
    spot_check_id: int
    month: str
    unit_name: str
    case_id: int
    case_reference: str
    case_unit: str
    registered_on: date
    stage_label: str
    checked_on: date | None
    checker_name: str
    marks: list[MarkOut]
    findings: list[FindingOut]


class AnswerIn(Strict):
    """A unit's 整改情况: what it did about the finding — dated the day it is entered (the
    unit answering for itself does not choose the day its lateness is judged by; only an
    administrator entering an old record dates it, `on`)."""

    answer: Annotated[str, Meta(min_length=1, max_length=2000)]
    on: date | None = None


class ReturnIn(Strict):
    note: Annotated[str, Meta(min_length=1, max_length=500)]
    on: date | None = None


class CloseIn(Strict):
    on: date | None = None


# ---------------------------------------------------------------- 流调


class Responsibility(Strict):
    """问题责任: a unit (by id) and/or a person or post, and what they failed to do."""

    failing: Annotated[str, Meta(min_length=1, max_length=500)]
    unit_id: Id | None = None
    who: Annotated[str, Meta(max_length=100)] = ""


class InquiryIn(Strict):
    """Open a 流调 (the case must be a repeat or escalated matter); the leader signs it."""

    leader_id: Id
    causes: Annotated[list[Cause], Meta(max_length=9)] = []
    cause_note: Annotated[str, Meta(max_length=2000)] = ""
    responsibilities: Annotated[list[Responsibility], Meta(max_length=20)] = []
    conclusion: Annotated[str, Meta(max_length=4000)] = ""
    on: date | None = None


class InquiryPatch(Strict):
    leader_id: Id | UnsetType = UNSET
    causes: Annotated[list[Cause], Meta(max_length=9)] | UnsetType = UNSET
    cause_note: Annotated[str, Meta(max_length=2000)] | UnsetType = UNSET
    responsibilities: Annotated[list[Responsibility], Meta(max_length=20)] | UnsetType = UNSET
    conclusion: Annotated[str, Meta(max_length=4000)] | UnsetType = UNSET


class SignIn(Strict):
    on: date | None = None


class ProcessStep(Struct):
    """One step of 办理过程: a row of the case's timeline, as the case page shows it."""

    event_id: int
    on: date
    at: datetime
    kind: str
    label: str
    actor_name: str
    note: str


class ResponsibilityOut(Struct):
    unit_id: int | None
    unit_name: str
    who: str
    failing: str


class InquiryOut(Struct):
    id: int
    case_id: int
    case_reference: str
    case_unit: str
    why_eligible: str
    opened_on: date
    opened_by_name: str
    leader_id: int
    leader_name: str
    causes: list[str]
    cause_labels: list[str]
    cause_note: str
    responsibilities: list[ResponsibilityOut]
    conclusion: str
    status: str
    status_label: str
    signed_on: date | None
    signed_by_name: str
    process: list[ProcessStep]
    may_edit: bool
    may_sign: bool


class InquirySummary(Struct):
    id: int
    case_id: int
    case_reference: str
    case_unit: str
    opened_on: date
    leader_name: str
    status: str
    status_label: str
    signed_on: date | None


# ---------------------------------------------------------------- 联席会议


class MatterIn(Strict):
    """A matter the conference takes up: a petition case or a ledger entry."""

    case_id: Id | None = None
    ledger_entry_id: Id | None = None


class ConferenceIn(Strict):
    held_on: date
    title: Annotated[str, Meta(min_length=1, max_length=100)]
    convener_leader_id: Id
    unit_ids: Annotated[list[Id], Meta(max_length=200)] = []
    notes: Annotated[str, Meta(max_length=4000)] = ""
    matters: Annotated[list[MatterIn], Meta(min_length=1, max_length=100)] = []


class MatterOut(Struct):
    id: int
    case_id: int | None
    ledger_entry_id: int | None
    reference: str
    kind: str


class DecisionIn(Strict):
    """议定事项: on one of the conference's matters, the owner unit, the deadline, what counts
    as done."""

    matter_id: Id
    owner_unit_id: Id
    content: Annotated[str, Meta(min_length=1, max_length=2000)]
    done_criteria: Annotated[str, Meta(min_length=1, max_length=1000)]
    deadline: date


class DecisionStepIn(Strict):
    """report (the owner unit), press (催办) or close (the secretary)."""

    kind: DecisionStepKind
    note: Annotated[str, Meta(max_length=2000)] = ""
    on: date | None = None


class DecisionStepOut(Struct):
    kind: str
    label: str
    on: date
    note: str
    actor_name: str


class DecisionOut(Struct):
    id: int
    number: str
    conference_id: int
    conference: str
    held_on: date
    matter: str
    case_id: int | None
    ledger_entry_id: int | None
    owner_unit_id: int
    owner_unit: str
    content: str
    done_criteria: str
    deadline: date
    status: str
    status_label: str
    stalled: bool
    pressed: int
    closed_on: date | None
    steps: list[DecisionStepOut]


class ConferenceOut(Struct):
    id: int
    held_on: date
    title: str
    convener: str
    units: list[str]
    notes: str
    secretary_name: str
    matters: list[MatterOut]
    decisions: list[DecisionOut]
