"""A case's petitioners at rest: their ID numbers, phones and addresses sealed (reception.pii),
the ID number and phone also as blind indexes for exact matching."""

from __future__ import annotations

from reception import pii
from reception.cases.models import CasePetitioner
from reception.crypto import Keyring
from reception.petitioner import Identity


def new_petitioner(keys: Keyring, *, case_id: int, position: int, who: Identity) -> CasePetitioner:
    """A row to insert (indexes set); seal it with `seal_petitioner` once it has its id."""
    return CasePetitioner(
        case_id=case_id,
        position=position,
        name=who.name,
        id_number_index=pii.blind_id_number(keys, who.id_number),
        phone_index=pii.blind_phone(keys, who.phone),
    )


def seal_petitioner(keys: Keyring, row: CasePetitioner, who: Identity) -> None:
    pii.seal(
        keys,
        row,
        id_number_sealed=who.id_number,
        phone_sealed=who.phone,
        address_sealed=who.address,
    )


def petitioner(keys: Keyring, row: CasePetitioner) -> Identity:
    id_number, phone, address = pii.opened(
        keys, row, "id_number_sealed", "phone_sealed", "address_sealed"
    )
    return Identity(name=row.name, id_number=id_number, phone=phone, address=address)
