"""The once-per-session rule (SPEC: a petitioner is booked into a session once, unless the
secretary says the second booking is another matter): the check before a booking or a move,
and the unique indexes' refusal of a concurrent twin, both answered as the same 409 naming the
booking that holds the place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.crypto import Keyring
from reception.db import flush_refused, upsert_insert
from reception.errors import Broken, Conflict
from reception.scheduling import rules
from reception.scheduling.models import Appointment

# The blind indexes the unique indexes and the check compare.
INDEXES = ("petitioner_id_number_index", "petitioner_phone_index")


async def first_booking(
    session: AsyncSession,
    session_id: int,
    id_index: str | list[str],
    name: str,
    phone_index: str | list[str],
    exclude_id: int | None = None,
) -> Row[int | None, str] | None:
    """The petitioner's live booking in the session already, its id and name (ID number, or
    name + phone: by their blind indexes, as the unique indexes judge them; a list holds the
    index under each cipher suite while a database moves between them)."""
    ids = [v for v in ([id_index] if isinstance(id_index, str) else id_index) if v]
    phones = [v for v in ([phone_index] if isinstance(phone_index, str) else phone_index) if v]
    same: list[ColumnElement[bool]] = []
    if ids:
        same.append(col(Appointment.petitioner_id_number_index).in_(ids))
    if phones:
        same.append(
            and_(
                col(Appointment.petitioner_name) == name,
                col(Appointment.petitioner_phone_index).in_(phones),
            )
        )
    if not same:
        return None
    query = select(col(Appointment.id), col(Appointment.petitioner_name)).where(
        Appointment.session_id == session_id,
        rules.holds_place(col(Appointment.status)),
        col(Appointment.duplicate_allowed).is_(False),
        or_(*same),
    )
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    return (await session.execute(query.order_by(col(Appointment.id)).limit(1))).first()


def second_booking(first: Row[int | None, str]) -> Conflict:
    return Conflict(
        f"{first.petitioner_name}已预约本场次:同一信访人在一个场次只预约一次;"
        "如确为另一事项,请勾选“确为另一事项,仍然预约”后再约",
        first_appointment_id=first.id,
    )


def indexes_of(
    keys: Keyring, id_number: str, name: str, phone: str
) -> tuple[list[str], str, list[str]]:
    """What the once-per-session check compares: the blind indexes under either suite."""
    return keys.blinds(pii.ID_NUMBER, id_number), name, keys.blinds(pii.PHONE, phone)


async def refuse_second_booking(
    session: AsyncSession,
    session_id: int,
    id_index: str | list[str],
    name: str,
    phone_index: str | list[str],
) -> None:
    first = await first_booking(session, session_id, id_index, name, phone_index)
    if first is not None:
        raise second_booking(first)


async def flush_once_per_petitioner(session: AsyncSession, appointment: Appointment) -> None:
    """Flush a new or moved appointment; a concurrent twin refused by the unique indexes
    becomes the same 409 as the check before it (naming the booking that won)."""
    exc = await flush_refused(session)
    if exc is not None:
        if "uq_appointment_live" not in str(exc.orig) and "appointment.session_id" not in str(
            exc.orig
        ):
            raise exc
        keys = ("id", "session_id", "petitioner_name", *INDEXES)
        raise await twin_won(session, {k: getattr(appointment, k) for k in keys}) or exc


async def twin_won(session: AsyncSession, values: dict[str, Any]) -> Conflict | None:
    """The 409 naming the concurrent twin whose booking the unique indexes kept (read in a
    session of its own: the twin committed after this transaction began)."""
    async with AsyncSession(session.bind) as probe:
        first = await first_booking(
            probe,
            values["session_id"],
            values["petitioner_id_number_index"],
            values["petitioner_name"],
            values["petitioner_phone_index"],
            exclude_id=values.get("id"),
        )
    return None if first is None else second_booking(first)


async def insert_once_per_petitioner(session: AsyncSession, values: dict[str, Any]) -> None:
    """The new appointment in one INSERT, its sealed values in it. A concurrent twin's booking
    that the unique indexes keep makes it insert nothing (ON CONFLICT DO NOTHING, so no
    savepoint): the same 409 as the check before it, and the request rolls back."""
    table = Appointment.__table__  # type: ignore[attr-defined]
    done = await session.execute(
        upsert_insert(session, table).values(**values).on_conflict_do_nothing()
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise await twin_won(session, values) or Broken("expected: the twin's booking")
