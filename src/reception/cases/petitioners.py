"""A case's petitioners at rest: their ID numbers, phones and addresses sealed (reception.pii),
the ID number and phone also as blind indexes for exact matching."""

from __future__ import annotations

from reception import pii
from reception.cases.models import CasePetitioner
from reception.crypto import Keyring
from reception.petitioner import Identity


def new_petitioner(
    keys: Keyring, *, case_id: int, position: int, who: Identity, row_id: int | None = None
) -> CasePetitioner:
    """A row to insert (indexes set). With its id taken before (`row_id`: db.next_ids) it is
    sealed here, for its one INSERT; else seal it with `seal_petitioner` once it has its id."""
    row = CasePetitioner(
        id=row_id,
        case_id=case_id,
        position=position,
        name=who.name,
        id_number_index=pii.blind_id_number(keys, who.id_number),
        phone_index=pii.blind_phone(keys, who.phone),
    )
    if row_id is not None:
        seal_petitioner(keys, row, who)
    return row


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
