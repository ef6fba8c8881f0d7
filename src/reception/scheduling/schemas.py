"""Bodies of the reception-days API: rules, sessions, slots, appointments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from reception.base import AwareDatetime, HolidayPolicy, Id, Strict
from reception.scheduling.rules import StatusChange

Reason = Annotated[str, Meta(min_length=1, max_length=500)]
# Local wall-clock time, "09:00" or "09:00:00" (Asia/Shanghai).
LocalTime = Annotated[
    str,
    Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", examples=["09:00"]),
]


class RuleCreate(Strict):
    leader_id: Id
    venue_id: Id
    start_time: LocalTime
    end_time: LocalTime
    valid_from: date
    day_of_month: Annotated[int, Meta(ge=1, le=31)] = 20
    slot_minutes: Annotated[int, Meta(ge=5, le=480)] = 30
    people_per_slot: Annotated[int, Meta(ge=1, le=100)] = 3
    holiday_policy: HolidayPolicy = "next_workday"
    valid_to: date | None = None


class RuleUpdate(Strict):
    venue_id: Id | UnsetType = UNSET
    start_time: LocalTime | UnsetType = UNSET
    end_time: LocalTime | UnsetType = UNSET
    day_of_month: Annotated[int, Meta(ge=1, le=31)] | UnsetType = UNSET
    slot_minutes: Annotated[int, Meta(ge=5, le=480)] | UnsetType = UNSET
    people_per_slot: Annotated[int, Meta(ge=1, le=100)] | UnsetType = UNSET
    holiday_policy: HolidayPolicy | UnsetType = UNSET
    valid_from: date | UnsetType = UNSET
    valid_to: date | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class RuleRead(Struct):
    id: int
    leader_id: int
    venue_id: int
    day_of_month: int
    # Local wall-clock times as sent: "09:00:00".
    start_time: LocalTime
    end_time: LocalTime
    slot_minutes: int
    people_per_slot: int
    holiday_policy: str
    valid_from: date
    valid_to: date | None
    active: bool
    created_at: datetime
    updated_at: datetime


class GenerateRequest(Strict):
    until: date


class SessionCreate(Strict):
    leader_id: Id
    kind: Literal["reception", "field_visit"]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    venue_id: Id | None = None
    slot_minutes: Annotated[int, Meta(ge=5, le=480)] = 30
    people_per_slot: Annotated[int, Meta(ge=1, le=100)] = 3
    unit_id: Id | None = None
    address: Annotated[str, Meta(max_length=200)] = ""
    purpose: Annotated[str, Meta(max_length=500)] = ""


class SessionMove(Strict):
    """Move or re-place a session: its identity (UID) stays, its SEQUENCE goes up."""

    starts_at: AwareDatetime | UnsetType = UNSET
    ends_at: AwareDatetime | UnsetType = UNSET
    venue_id: Id | UnsetType = UNSET
    unit_id: Id | UnsetType | None = UNSET
    address: Annotated[str, Meta(max_length=200)] | UnsetType = UNSET
    purpose: Annotated[str, Meta(max_length=500)] | UnsetType = UNSET
    # Move it to a non-working day or into the past although petitioners are booked (audited).
    force: bool = False


class CancelRequest(Strict):
    reason: Reason


class HoldRequest(Strict):
    outcome: Annotated[str, Meta(max_length=2000)] = ""


class SessionRead(Struct):
    id: int
    uid: str
    kind: str
    leader_id: int
    leader_name: str
    leader_title: str
    date: date
    starts_at: datetime
    ends_at: datetime
    status: str
    sequence: int
    provisional: bool
    edited: bool
    rule_id: int | None
    venue_id: int | None
    venue_name: str | None
    unit_id: int | None
    address: str
    purpose: str
    slot_minutes: int | None
    people_per_slot: int | None
    places: int
    booked: int
    outcome: str
    cancelled_at: datetime | None
    cancelled_by_name: str | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime


class GenerateSkip(Struct):
    rule_date: date
    reason: str
    session_id: int | None = None


class GenerateResult(Struct):
    created: list[SessionRead]
    updated: list[SessionRead]
    skipped: list[GenerateSkip]


class SlotRead(Struct):
    index: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    free: int


PetitionerName = Annotated[str, Meta(min_length=1, max_length=50)]
SlotIndex = Annotated[int, Meta(ge=0, le=1000)]


class AppointmentCreate(Strict):
    petitioner_name: PetitionerName
    matter_summary: Annotated[str, Meta(min_length=1, max_length=2000)]
    petitioner_phone: Annotated[str, Meta(max_length=20)] = ""
    petitioner_id_number: Annotated[str, Meta(max_length=18)] = ""
    # Which slot: its 0-based index, or its local start time; neither → first slot with room.
    slot_index: SlotIndex | None = None
    slot_starts_at: AwareDatetime | None = None
    party_size: Annotated[int, Meta(ge=1, le=10_000)] = 1
    representatives: Annotated[list[PetitionerName], Meta(max_length=5)] = msgspec.field(
        default_factory=list
    )
    case_id: Id | None = None
    # The same petitioner is booked into a session once; true books a second matter anyway.
    allow_duplicate: bool = False


class PetitionerCheck(Strict):
    """Who is about to be booked (POST …/appointments/check): the warnings come back."""

    petitioner_name: Annotated[str, Meta(max_length=50)] = ""
    petitioner_phone: Annotated[str, Meta(max_length=20)] = ""
    petitioner_id_number: Annotated[str, Meta(max_length=18)] = ""


class BookingWarning(Struct):
    # double_booking (already in this session) | repeat_visit | repeat_petition
    kind: str
    message: str
    appointment_id: int | None = None
    case_id: int | None = None


class AppointmentMove(Strict):
    """改约: to another slot of the same session, or to another session of the same leader."""

    session_id: Id | None = None
    slot_index: SlotIndex | None = None
    slot_starts_at: AwareDatetime | None = None
    reason: Annotated[str, Meta(max_length=500)] = ""


class AppointmentStatusChange(Strict):
    status: StatusChange
    reason: Annotated[str, Meta(max_length=500)] = ""


class AppointmentRead(Struct):
    id: int
    session_id: int
    slot_index: int
    slot_starts_at: datetime
    petitioner_name: str
    petitioner_phone: str
    petitioner_id_number: str
    matter_summary: str
    party_size: int
    collective: bool
    representatives: list[str]
    places: int
    case_id: int | None
    status: str
    booked_by_name: str
    cancelled_at: datetime | None
    cancelled_by_name: str | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
    masked: bool
    # A cancelled appointment's telephone call: when, by whom, what came of it.
    notified_at: datetime | None = None
    notified_by_name: str = ""
    notified_note: str = ""


class CancelResult(Struct):
    session: SessionRead
    cancelled_appointments: list[AppointmentRead]


class DaySheet(Struct):
    """GET /api/sessions/{id}: the session, its slots and appointments in slot order."""

    session: SessionRead
    slots: list[SlotRead]
    appointments: list[AppointmentRead]


class AppointmentCaseLink(Strict):
    case_id: Id | None


class SessionCaseLink(Strict):
    case_id: Id


class SessionCaseOutcome(Strict):
    outcome: Annotated[str, Meta(min_length=1, max_length=2000)]
    on: date | None = None


class SessionCaseOut(Struct):
    session_id: int
    case_id: int
    reference: str
    outcome: str
    outcome_on: date | None
