"""Reception rules, sessions (reception days and field visits), slots and appointments.

Invariants the database itself enforces (see the migration):
- a leader's live sessions never overlap: PostgreSQL exclusion constraint over
  (leader_id, tstzrange(starts_at, ends_at)) where status <> 'cancelled'; SQLite triggers
  refusing the same insert/update (writes there run under BEGIN IMMEDIATE);
- a slot never holds more than its capacity: CHECK (booked <= capacity), and bookings
  increment `booked` with one conditional UPDATE;
- a rule generates at most one session per nominal date: UNIQUE (rule_id, rule_date).
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from reception.base import HOLIDAY_POLICIES, sql_in
from reception.db import UTCDateTime, stamped
from reception.scheduling.rules import APPOINTMENT_STATUSES, LIVE_APPOINTMENTS

SESSION_KINDS = ("reception", "field_visit")
# Appointments that hold a place, and may not be a petitioner's second booking in a session.
LIVE_UNIQUE = f"{sql_in('status', LIVE_APPOINTMENTS)} AND NOT duplicate_allowed"
SESSION_STATUSES = ("scheduled", "held", "cancelled")


class ReceptionRule(SQLModel, table=True):
    """接访日制度: "leader L receives on day 20 of every month, 09:00–12:00, at venue V"."""

    __tablename__ = "reception_rule"
    __table_args__ = (
        CheckConstraint("day_of_month BETWEEN 1 AND 31", name="day_of_month"),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        CheckConstraint("slot_minutes > 0", name="slot_minutes_positive"),
        CheckConstraint("people_per_slot > 0", name="people_per_slot_positive"),
        CheckConstraint(sql_in("holiday_policy", HOLIDAY_POLICIES), name="holiday_policy"),
    )

    id: int | None = Field(default=None, primary_key=True)
    leader_id: int = Field(foreign_key="leader.id", index=True)
    venue_id: int = Field(foreign_key="venue.id")
    day_of_month: int = Field(default=20)
    start_time: time
    end_time: time
    slot_minutes: int = Field(default=30)
    people_per_slot: int = Field(default=3)
    holiday_policy: str = Field(default="next_workday", max_length=20)
    valid_from: date
    valid_to: date | None = Field(default=None)
    active: bool = Field(default=True)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class ReceptionSession(SQLModel, table=True):
    """One block of a leader's time: a reception day at a venue (接访) or a field visit (下访)."""

    __tablename__ = "reception_session"
    __table_args__ = (
        CheckConstraint(sql_in("kind", SESSION_KINDS), name="kind"),
        CheckConstraint(sql_in("status", SESSION_STATUSES), name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        CheckConstraint("sequence >= 0", name="sequence_non_negative"),
        UniqueConstraint("rule_id", "rule_date"),
        UniqueConstraint("uid"),
        Index("ix_reception_session_leader_id_starts_at", "leader_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Stable iCalendar UID: survives moves and cancellation.
    uid: str = Field(max_length=80)
    leader_id: int = Field(foreign_key="leader.id")
    kind: str = Field(max_length=20)
    rule_id: int | None = Field(default=None, foreign_key="reception_rule.id", index=True)
    # The rule's nominal date (e.g. the 20th) this session was generated for.
    rule_date: date | None = Field(default=None)
    venue_id: int | None = Field(default=None, foreign_key="venue.id", index=True)
    # Field visits: the township/village visited, the address and the purpose.
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    address: str = Field(default="", max_length=200)
    purpose: str = Field(default="", max_length=500)
    local_date: date = Field(index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    slot_minutes: int | None = Field(default=None)
    people_per_slot: int | None = Field(default=None)
    status: str = Field(default="scheduled", max_length=20, index=True)
    # iCalendar SEQUENCE: only ever goes up (moves, cancellation).
    sequence: int = Field(default=0)
    # The date came from a calendar year without official data.
    provisional: bool = Field(default=False)
    # Changed by a person since generation: regeneration leaves it alone.
    edited: bool = Field(default=False)
    outcome: str = Field(default="", max_length=2000)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    cancelled_by_name: str | None = Field(default=None, max_length=50)
    cancel_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class SessionSlot(SQLModel, table=True):
    """A slot of a reception session; `booked` places never exceed `capacity` (CHECK)."""

    __tablename__ = "session_slot"
    __table_args__ = (
        UniqueConstraint("session_id", "slot_index"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="reception_session.id", index=True)
    slot_index: int
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    capacity: int
    booked: int = Field(default=0)


class Appointment(SQLModel, table=True):
    """预约: a petitioner (or a group) booked into a slot. Personal data is shown whole only as
    `reception.privacy.shows_whole` allows, and never reaches feeds or logs."""

    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint(sql_in("status", APPOINTMENT_STATUSES), name="status"),
        CheckConstraint("party_size >= 1", name="party_size_positive"),
        CheckConstraint("places >= 1", name="places_positive"),
        # The same petitioner is booked into a session once (unless the secretary says the
        # second booking is another matter): by ID number, or by name and phone.
        Index(
            "uq_appointment_live_id_number",
            "session_id",
            "petitioner_id_number_index",
            unique=True,
            postgresql_where=text(LIVE_UNIQUE + " AND petitioner_id_number_index <> ''"),
            sqlite_where=text(LIVE_UNIQUE + " AND petitioner_id_number_index <> ''"),
        ),
        Index(
            "uq_appointment_live_name_phone",
            "session_id",
            "petitioner_name",
            "petitioner_phone_index",
            unique=True,
            postgresql_where=text(LIVE_UNIQUE + " AND petitioner_phone_index <> ''"),
            sqlite_where=text(LIVE_UNIQUE + " AND petitioner_phone_index <> ''"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="reception_session.id", index=True)
    slot_id: int = Field(foreign_key="session_slot.id", index=True)
    petitioner_name: str = Field(max_length=50)
    # Sealed (AES-GCM, this row's id in the associated data) with keyed-hash blind indexes
    # for the once-per-session rule: read and write them only through `reception.pii`.
    petitioner_phone_sealed: str = Field(default="", max_length=120)
    petitioner_phone_index: str = Field(default="", max_length=64)
    petitioner_id_number_sealed: str = Field(default="", max_length=120)
    petitioner_id_number_index: str = Field(default="", max_length=64)
    matter_summary: str = Field(max_length=2000)
    party_size: int = Field(default=1)
    # 集体访: five people or more.
    collective: bool = Field(default=False)
    representatives: list[str] = Field(default_factory=list, sa_type=JSON)
    # Places taken in the slot: the people received (a collective visit sends its
    # representatives, at most five).
    places: int = Field(default=1)
    # The case this visit is about, once registered (应登不登 when a held visit has none).
    case_id: int | None = Field(default=None, foreign_key="petition_case.id", index=True)
    # The secretary booked the same petitioner twice on purpose (a second matter).
    duplicate_allowed: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    status: str = Field(default="booked", max_length=20)
    booked_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    booked_by_name: str = Field(max_length=50)
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    cancelled_by_name: str | None = Field(default=None, max_length=50)
    cancel_reason: str | None = Field(default=None, max_length=500)
    # After a cancellation the secretary rings the petitioner: when, who, and what came of it
    # (已告知 / 未接通 / 已改约至 …). Empty: not rung yet.
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    notified_by_name: str = Field(
        default="", max_length=50, sa_column_kwargs={"server_default": text("''")}
    )
    notified_note: str = Field(
        default="", max_length=200, sa_column_kwargs={"server_default": text("''")}
    )
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class SessionCase(SQLModel, table=True):
    """A case a session (usually a field visit, 带案下访) is about, and its outcome there."""

    __tablename__ = "session_case"

    session_id: int = Field(foreign_key="reception_session.id", primary_key=True)
    case_id: int = Field(foreign_key="petition_case.id", primary_key=True, index=True)
    outcome: str = Field(default="", max_length=2000)
    outcome_on: date | None = Field(default=None)
    created_at: datetime = stamped()
