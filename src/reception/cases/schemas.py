"""Bodies of the cases API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from reception.base import Id, Strict
from reception.cases.delivery import Outcome
from reception.cases.workflow import (
    Channel,
    Procedure,
    Resolution,
    Satisfaction,
    Source,
)

Text = Annotated[str, Meta(max_length=4000)]
ShortText = Annotated[str, Meta(max_length=200)]


class PetitionerIn(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=50)]
    id_number: Annotated[str, Meta(max_length=18)] = ""
    phone: Annotated[str, Meta(max_length=20)] = ""
    address: ShortText = ""


class CaseCreate(Strict):
    petitioners: Annotated[list[PetitionerIn], Meta(min_length=1, max_length=50)]
    channel: Channel
    category: Annotated[str, Meta(min_length=1, max_length=30)]
    summary: Annotated[str, Meta(min_length=1, max_length=4000)]
    unit_id: Id
    received_on: date
    people_count: Annotated[int, Meta(ge=1, le=100_000)] = 1
    source: Source = "own"
    source_batch: Annotated[str, Meta(max_length=100)] = ""
    # The clerk confirms a repeat (重复信访) of an earlier case.
    repeat_of: Id | None = None
    # Effective date (补录: entered later); default today, never in the future.
    on: date | None = None


class RepeatCheck(Struct):
    """Accepts the registration body as it is: fields other than these are ignored."""

    petitioners: Annotated[list[PetitionerIn], Meta(min_length=1, max_length=50)]
    category: str = ""
    unit_id: Id | None = None
    summary: str = ""


class CaseUpdate(Strict):
    summary: Annotated[str, Meta(min_length=1, max_length=4000)] | UnsetType = UNSET
    category: Annotated[str, Meta(min_length=1, max_length=30)] | UnsetType = UNSET
    channel: Channel | UnsetType = UNSET
    unit_id: Id | UnsetType = UNSET
    people_count: Annotated[int, Meta(ge=1, le=100_000)] | UnsetType = UNSET
    repeat_of: Id | UnsetType | None = UNSET
    source_batch: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET


Action = Literal[
    "accept",
    "reject",
    "divert",
    "simple_procedure",
    "start",
    "extend",
    "reply",
    "deliver",
    "request_review",
    "decide_review",
    "request_re_review",
    "hearing",
    "decide_re_review",
    "close",
]


class DeliveryIn(Strict):
    """送达: the method (a code or its Chinese name), the day, where and who signed for it (or
    why nobody did), and what the method needs: witnesses for 留置送达, whom it was entrusted
    to for 委托送达, the mail number for 邮寄送达, the petitioner's written consent for 电子送达,
    the carrier and date of the notice for 公告送达 (after an attempt that failed). An attempt
    that failed is recorded too (`outcome`: failed, with the reason)."""

    method: Annotated[str, Meta(min_length=1, max_length=30)]
    on: date | None = None
    outcome: Outcome = "delivered"
    place: ShortText = ""
    recipient: Annotated[str, Meta(max_length=100)] = ""
    no_recipient_reason: ShortText = ""
    witnesses: ShortText = ""
    entrusted_to: ShortText = ""
    mail_number: Annotated[str, Meta(max_length=60)] = ""
    consent: ShortText = ""
    carrier: ShortText = ""
    posted_on: date | None = None
    failure_reason: ShortText = ""
    note: Annotated[str, Meta(max_length=500)] = ""


class DeliveryOut(Struct):
    id: int
    case_id: int
    doc_number: str
    method: str
    method_label: str
    outcome: str
    delivered_on: date
    place: str
    recipient: str
    no_recipient_reason: str
    witnesses: str
    entrusted_to: str
    mail_number: str
    consent: str
    carrier: str
    posted_on: date | None
    failure_reason: str
    note: str
    staff_name: str
    has_evidence: bool


class Transition(Strict):
    action: Action
    on: date | None = None
    note: Annotated[str, Meta(max_length=2000)] = ""
    # reject; extend; hearing
    reason: Annotated[str, Meta(max_length=1000)] = ""
    # divert
    procedure: Procedure | None = None
    # extend
    days: Annotated[int, Meta(ge=1, le=30)] | None = None
    approver: Annotated[str, Meta(max_length=50)] = ""
    petitioner_told_on: date | None = None
    # hearing (听证, during 复核): its first and last day, not counted in the 30 days
    hearing_from: date | None = None
    hearing_to: date | None = None
    # reply / deliver
    doc_number: Annotated[str, Meta(max_length=60)] = ""
    # 送达 (deliver, or with a reply): the record …
    delivery: DeliveryIn | None = None
    # … or, as older clients send it, its method and day alone (checked the same way: a 422
    # says what else a proper 送达 needs).
    delivery_method: Annotated[str, Meta(max_length=30)] = ""
    delivered_on: date | None = None

    def delivery_record(self) -> DeliveryIn | None:
        """The delivery this step carries, whichever way the client wrote it."""
        if self.delivery is not None:
            return self.delivery
        if not self.delivery_method and self.delivered_on is None:
            return None
        return DeliveryIn(method=self.delivery_method or " ", on=self.delivered_on or self.on)


class OwnershipAssign(Strict):
    leader_id: Id
    responsible_unit_id: Id | None = None
    plan: Text = ""
    target_date: date | None = None
    stability_contact: Annotated[str, Meta(max_length=100)] = ""
    reason: Annotated[str, Meta(max_length=500)] = ""
    on: date | None = None


class ResolutionPut(Strict):
    resolution: Resolution
    on: date | None = None
    method: Annotated[str, Meta(max_length=500)] = ""
    evidence: ShortText = ""


class EvaluationPut(Strict):
    satisfaction: Satisfaction
    on: date | None = None


class PetitionerOut(Struct):
    name: str
    id_number: str
    phone: str
    address: str


class OwnerOut(Struct):
    id: int
    leader_id: int
    leader_name: str
    responsible_unit_id: int
    plan: str
    target_date: date | None
    stability_contact: str
    reason: str
    started_on: date
    ended_on: date | None
    end_reason: str
    assigned_by_name: str
    current: bool


class ClockOut(Struct):
    id: int
    kind: str
    label: str
    round: int
    started_on: date
    length: int
    working_days: bool
    original_due: date
    current_due: date
    extended_days: int
    paused_days: int
    status: str
    met_on: date | None
    on_time: bool | None
    overdue: bool
    provisional: bool
    extensions: list[dict[str, Any]]
    pauses: list[dict[str, Any]] = msgspec.field(default_factory=list)


class CaseSummary(Struct):
    id: int
    reference: str
    channel: str
    category: str
    summary: str
    unit_id: int
    unit_name: str
    petitioner_names: list[str]
    people_count: int
    collective: bool
    first_time: bool
    repeat_of: int | None
    stage: str
    stage_label: str
    resolution: str
    satisfaction: str
    received_on: date
    registered_on: date
    owner_leader_id: int | None
    owner_leader_name: str | None
    next_due: date | None
    next_due_kind: str | None
    overdue: bool
    provisional: bool
    # The next deadline as its clock counts it: days (working or calendar) left, negative
    # when overdue, and the same in words (剩 3 天 / 今日到期 / 超期 2 个工作日).
    days_left: int | None = None
    time_left: str | None = None
    # Its 流调 (督查督办): "open" while the cause investigation runs, "signed", or "" for none.
    inquiry: str = ""


class RepeatCandidate(Struct):
    case_id: int
    reference: str
    registered_on: date
    category: str
    unit_id: int
    summary: str
    stage: str
    reasons: list[str]
    score: float


class EvaluationOut(Struct):
    # petitioner (on their page) or staff (recorded by a clerk)
    source: str
    # The reply rated: 1 处理意见, 2 复查意见, 3 复核意见 (staff records carry 0: not tied).
    round: int
    satisfaction: str
    comment: str
    evaluated_on: date


class CaseDetail(Struct):
    id: int
    reference: str
    version: int
    channel: str
    category: str
    summary: str
    unit_id: int
    unit_name: str
    petitioners: list[PetitionerOut]
    people_count: int
    collective: bool
    source: str
    source_batch: str
    received_on: date
    registered_on: date
    first_time: bool
    repeat_of: int | None
    stage: str
    stage_label: str
    simple_procedure: bool
    accepted_on: date | None
    rejection_reason: str
    diverted_to: str
    reply_doc_number: str
    replied_on: date | None
    delivery_method: str
    delivered_on: date | None
    review_requested_on: date | None
    review_decided_on: date | None
    re_review_requested_on: date | None
    re_review_decided_on: date | None
    closed_on: date | None
    resolution: str
    resolution_on: date | None
    resolution_method: str
    resolution_evidence: str
    satisfaction: str
    evaluated_on: date | None
    registered_by_name: str
    owner: OwnerOut | None
    clocks: list[ClockOut]
    allowed_actions: list[str]
    masked: bool
    created_at: datetime
    updated_at: datetime
    repeat_candidates: list[RepeatCandidate] = msgspec.field(default_factory=list)
    # Every rating of the case's replies, by source; the review counts the petitioner's own
    # where there is one.
    evaluations: list[EvaluationOut] = msgspec.field(default_factory=list)
    # Only in the answer to the registration (the receipt): the 查询码, shown once.
    query_code: str | None = None


class EventOut(Struct):
    id: int
    at: datetime
    effective_on: date
    actor_name: str
    kind: str
    note: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class LeaderCase(Struct):
    case_id: int
    reference: str
    summary: str
    stage: str
    stage_label: str
    resolution: str
    current_owner: bool
    owned_since: date
    target_date: date | None
    next_due: date | None
    next_due_kind: str | None
    overdue: bool
    # From today to the next due date, as its clock counts: "剩 12 天", "超期 3 个工作日".
    days_left: int | None = None
    time_left: str | None = None


class CategoryIn(Strict):
    code: Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,29}$")]
    name: Annotated[str, Meta(min_length=1, max_length=30)]


class CategoryOut(Struct):
    code: str
    name: str
    active: bool
