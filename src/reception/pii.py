"""Petitioners' identity data at rest: which columns are sealed, their blind indexes, and the
one way in and out.

ID numbers, phones and addresses are sealed with the data keys (`reception.crypto`: AES-GCM,
table/column/row id as associated data, the key id in the value). ID numbers and phones also
get a blind index — HMAC-SHA256 of the normalised value under the separate index key — so
search, the repeat check and the once-per-session rule match exactly without decrypting a
table. Names stay plain: see README "Encryption at rest".

The row id is part of the associated data, so a new row is inserted with its indexes (the
unique indexes judge it there) and sealed right after its INSERT, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from reception.cases.models import CasePetitioner
from reception.crypto import Keyring
from reception.errors import Broken
from reception.petitioner import Identity
from reception.scheduling.models import Appointment

ID_NUMBER, PHONE = "id_number", "phone"


@dataclass(frozen=True)
class SealedColumn:
    """A sealed column: its table and column, and what it holds (text, or a file)."""

    table: str
    column: str
    binary: bool = False


# Every sealed column there is (key rotation and the start-up key check walk them).
SEALED: tuple[SealedColumn, ...] = (
    SealedColumn("case_petitioner", "id_number_sealed"),
    SealedColumn("case_petitioner", "phone_sealed"),
    SealedColumn("case_petitioner", "address_sealed"),
    SealedColumn("appointment", "petitioner_id_number_sealed"),
    SealedColumn("appointment", "petitioner_phone_sealed"),
    SealedColumn("case_document", "content", binary=True),
    SealedColumn("petition_case", "query_code_sealed"),
    SealedColumn("notify_endpoint", "url_sealed"),
    SealedColumn("notify_endpoint", "secret_sealed"),
    SealedColumn("notify_endpoint", "previous_secret_sealed"),
)

# Columns sealed before #17 name their associated data without the "_sealed" suffix.
AAD_COLUMN = {
    ("petition_case", "query_code_sealed"): "query_code",
    ("notify_endpoint", "url_sealed"): "url",
    ("notify_endpoint", "secret_sealed"): "secret",
    ("notify_endpoint", "previous_secret_sealed"): "previous_secret",
}


def aad_column(table: str, column: str) -> str:
    return AAD_COLUMN.get((table, column), column)


def blind_id_number(keys: Keyring, id_number: str) -> str:
    return keys.blind(ID_NUMBER, id_number)


def blind_phone(keys: Keyring, phone: str) -> str:
    return keys.blind(PHONE, phone)


# ---------------------------------------------------------------- case petitioners


def new_petitioner(keys: Keyring, *, case_id: int, position: int, who: Identity) -> CasePetitioner:
    """A row to insert (indexes set); seal it with `seal_petitioner` once it has its id."""
    return CasePetitioner(
        case_id=case_id,
        position=position,
        name=who.name,
        id_number_index=blind_id_number(keys, who.id_number),
        phone_index=blind_phone(keys, who.phone),
    )


def seal_petitioner(keys: Keyring, row: CasePetitioner, who: Identity) -> None:
    if row.id is None:
        raise Broken("expected: flush the row first: its id is in the associated data")
    t = "case_petitioner"
    row.id_number_sealed = keys.seal(
        who.id_number, table=t, column="id_number_sealed", row_id=row.id
    )
    row.phone_sealed = keys.seal(who.phone, table=t, column="phone_sealed", row_id=row.id)
    row.address_sealed = keys.seal(who.address, table=t, column="address_sealed", row_id=row.id)


def petitioner(keys: Keyring, row: CasePetitioner) -> Identity:
    if row.id is None:
        raise Broken("expected: row.id is not None")
    t = "case_petitioner"
    return Identity(
        name=row.name,
        id_number=keys.open(
            row.id_number_sealed, table=t, column="id_number_sealed", row_id=row.id
        ),
        phone=keys.open(row.phone_sealed, table=t, column="phone_sealed", row_id=row.id),
        address=keys.open(row.address_sealed, table=t, column="address_sealed", row_id=row.id),
    )


# ---------------------------------------------------------------- appointments


def seal_appointment(keys: Keyring, row: Appointment, who: Identity) -> None:
    if row.id is None:
        raise Broken("expected: flush the row first: its id is in the associated data")
    t = "appointment"
    row.petitioner_id_number_sealed = keys.seal(
        who.id_number, table=t, column="petitioner_id_number_sealed", row_id=row.id
    )
    row.petitioner_phone_sealed = keys.seal(
        who.phone, table=t, column="petitioner_phone_sealed", row_id=row.id
    )


def appointment(keys: Keyring, row: Appointment) -> Identity:
    if row.id is None:
        raise Broken("expected: row.id is not None")
    t = "appointment"
    return Identity(
        address="",
        name=row.petitioner_name,
        id_number=keys.open(
            row.petitioner_id_number_sealed,
            table=t,
            column="petitioner_id_number_sealed",
            row_id=row.id,
        ),
        phone=keys.open(
            row.petitioner_phone_sealed, table=t, column="petitioner_phone_sealed", row_id=row.id
        ),
    )
