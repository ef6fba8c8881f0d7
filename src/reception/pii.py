"""Petitioners' identity data at rest: which columns are sealed, their blind indexes, and the
one way in and out.

ID numbers, phones and addresses are sealed with the data keys (`reception.crypto`: SM4-GCM or
AES-256-GCM per the cipher suite, table/column/row id as associated data, the algorithm and key id
in the value). ID numbers and phones also get a blind index — HMAC-SM3 or HMAC-SHA256 of the
normalised value under the separate index key — so
search, the repeat check and the once-per-session rule match exactly without decrypting a
table. Names stay plain: see README "Encryption at rest".

The row id is part of the associated data, so a new row is inserted with its indexes (the
unique indexes judge it there) and sealed right after its INSERT, in the same transaction —
or, where the id is taken before the INSERT (a booking: `sealed_values`), sealed in it.
Each domain seals and opens its own rows (cases/petitioners.py, scheduling/sealed.py) through
`seal` / `opened`, which refuse any column not listed in SEALED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reception.crypto import Keyring
from reception.errors import Broken

ID_NUMBER, PHONE, QUERY_CODE = "id_number", "phone", "query_code"


@dataclass(frozen=True)
class SealedColumn:
    """A sealed column: its table and column, what it holds (text, or a file), and the blind
    index kept beside it (its column and kind), recomputed when the cipher suite changes."""

    table: str
    column: str
    binary: bool = False
    index: tuple[str, str] | None = None


# Every sealed column there is (key rotation and the start-up key check walk them).
SEALED: tuple[SealedColumn, ...] = (
    SealedColumn("case_petitioner", "id_number_sealed", index=("id_number_index", ID_NUMBER)),
    SealedColumn("case_petitioner", "phone_sealed", index=("phone_index", PHONE)),
    SealedColumn("case_petitioner", "address_sealed"),
    SealedColumn(
        "appointment",
        "petitioner_id_number_sealed",
        index=("petitioner_id_number_index", ID_NUMBER),
    ),
    SealedColumn("appointment", "petitioner_phone_sealed", index=("petitioner_phone_index", PHONE)),
    SealedColumn("case_document", "content", binary=True),
    SealedColumn("case_delivery", "evidence", binary=True),
    SealedColumn("document_pdf", "content", binary=True),
    SealedColumn("petition_case", "query_code_sealed", index=("query_code_index", QUERY_CODE)),
    SealedColumn("notify_endpoint", "url_sealed"),
    SealedColumn("notify_endpoint", "secret_sealed"),
    SealedColumn("notify_endpoint", "previous_secret_sealed"),
    SealedColumn("app_user", "totp_sealed"),
    SealedColumn("import_batch", "file_sealed", binary=True),
    SealedColumn("ledger_party", "id_number_sealed", index=("id_number_index", ID_NUMBER)),
    SealedColumn("ledger_party", "phone_sealed", index=("phone_index", PHONE)),
    SealedColumn("proxy_filing", "id_number_sealed", index=("id_number_index", ID_NUMBER)),
    SealedColumn("proxy_filing", "phone_sealed", index=("phone_index", PHONE)),
    SealedColumn("proxy_filing", "address_sealed"),
)

_SEALED_NAMES = frozenset((c.table, c.column) for c in SEALED)

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


def matches(column: Any, keys: Keyring, kind: str, value: str) -> Any:
    """SQL: the blind index column holds the value's index — under this suite, or (while the
    database moves between suites) under the other one, so no row is missed half-way."""
    digests = keys.blinds(kind, value)
    return column == digests[0] if len(digests) == 1 else column.in_(digests)


# ---------------------------------------------------------------- sealing a row


def _sealed(table: str, column: str) -> None:
    if (table, column) not in _SEALED_NAMES:
        raise Broken(f"expected: {table}.{column} listed in pii.SEALED")


def seal(keys: Keyring, row: Any, **values: str) -> None:
    """Seal plain values into a flushed row's sealed columns (`column=plain`): the row's
    table, the column and its id are the associated data, so the row must have its id."""
    table, row_id = row.__tablename__, row.id
    if row_id is None:
        raise Broken("expected: flush the row first: its id is in the associated data")
    for column, value in sealed_values(keys, table, row_id, **values).items():
        setattr(row, column, value)


def sealed_values(keys: Keyring, table: str, row_id: int, **values: str) -> dict[str, str]:
    """The sealed columns of a row whose id is known before its INSERT (`column=plain`), to
    be written in that INSERT."""
    out = {}
    for column, plain in values.items():
        _sealed(table, column)
        out[column] = keys.seal(plain, table=table, column=column, row_id=row_id)
    return out


def opened(keys: Keyring, row: Any, *columns: str) -> list[str]:
    """The plain values of a row's sealed columns, in the order asked."""
    table, row_id = row.__tablename__, row.id
    if row_id is None:
        raise Broken("expected: a row read from the database (with its id)")
    out = []
    for column in columns:
        _sealed(table, column)
        out.append(keys.open(getattr(row, column), table=table, column=column, row_id=row_id))
    return out
