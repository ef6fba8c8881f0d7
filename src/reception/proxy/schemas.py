"""Bodies of the 网格员代办 API."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from msgspec import Meta, Struct

from reception.base import Id, Strict
from reception.cases.schemas import RepeatCandidate
from reception.proxy.rules import Consent


class FilingIn(Strict):
    """代办登记: the petitioner (name; ID number and/or phone for the repeat check), the matter,
    and how they agreed to the grid worker filing it."""

    name: Annotated[str, Meta(min_length=1, max_length=50)]
    category: Annotated[str, Meta(min_length=1, max_length=30)]
    summary: Annotated[str, Meta(min_length=1, max_length=4000)]
    consent: Consent
    id_number: Annotated[str, Meta(max_length=18)] = ""
    phone: Annotated[str, Meta(max_length=20)] = ""
    address: Annotated[str, Meta(max_length=200)] = ""
    people_count: Annotated[int, Meta(ge=1, le=100_000)] = 1
    # The day the worker received it (the clocks run from it): default today.
    received_on: date | None = None
    consented_on: date | None = None
    consent_note: Annotated[str, Meta(max_length=500)] = ""


class RegisterIn(Strict):
    """The township registers it: its responsible unit (default: the village's township) and,
    if the repeat check found it, the earlier case it repeats."""

    unit_id: Id | None = None
    repeat_of: Id | None = None
    on: date | None = None


class ReturnIn(Strict):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    on: date | None = None


class Progress(Struct):
    case_id: int
    reference: str
    stage: str
    stage_label: str
    registered_on: date
    accepted_on: date | None
    replied_on: date | None
    delivered_on: date | None
    closed_on: date | None
    rated: bool
    rating_label: str
    may_rate: bool


class FilingOut(Struct):
    id: int
    reference: str
    village: str
    worker_name: str
    received_on: date
    name: str
    id_number: str
    phone: str
    address: str
    masked: bool
    people_count: int
    category: str
    summary: str
    consent: str
    consent_label: str
    consented_on: date
    consent_note: str
    status: str
    status_label: str
    handled_on: date | None
    return_reason: str
    progress: Progress | None


class Registered(Struct):
    filing: FilingOut
    case_id: int
    case_reference: str
    repeat_candidates: list[RepeatCandidate]


class Slip(Struct):
    """评价提醒单: where and with what the petitioner rates the reply."""

    reference: str
    public_url: str
    query_code: str
    replied_on: date | None
    rated: bool
