"""An appointment's petitioner at rest: the ID number and phone sealed (reception.pii), with
their blind indexes (set where the booking is made, scheduling/booking.py)."""

from __future__ import annotations

from reception import pii
from reception.crypto import Keyring
from reception.petitioner import Identity
from reception.scheduling.models import Appointment


def _plain(who: Identity) -> dict[str, str]:
    return {"petitioner_id_number_sealed": who.id_number, "petitioner_phone_sealed": who.phone}


def seal_appointment(keys: Keyring, row: Appointment, who: Identity) -> None:
    """Seal a flushed row's petitioner (an imported field visit's)."""
    pii.seal(keys, row, **_plain(who))


def sealed_values(keys: Keyring, row_id: int, who: Identity) -> dict[str, str]:
    """The sealed columns of an appointment whose id is taken before its INSERT (a booking)."""
    return pii.sealed_values(keys, Appointment.__tablename__, row_id, **_plain(who))


def appointment(keys: Keyring, row: Appointment) -> Identity:
    id_number, phone = pii.opened(
        keys, row, "petitioner_id_number_sealed", "petitioner_phone_sealed"
    )
    return Identity(name=row.petitioner_name, id_number=id_number, phone=phone, address="")
