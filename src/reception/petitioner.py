"""A petitioner's identity fields, checked and normalised in one place (cases and bookings)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reception.errors import InvalidInput

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
_PHONE_PATTERN = re.compile(r"^\+?[\d-]{7,20}$")


def id_check_digit(first_17: str) -> str:
    """The check character of a resident ID number from its first 17 digits (GB 11643)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first_17, _ID_WEIGHTS, strict=True)) % 11]


def valid_id_number(id_number: str) -> bool:
    """Format and check digit of an 18-character resident ID number (GB 11643-1999)."""
    value = id_number.strip().upper()
    if not _ID_PATTERN.match(value):
        return False
    return id_check_digit(value[:17]) == value[17]


def normal_id_number(id_number: str) -> str:
    return id_number.strip().upper()


def normal_phone(phone: str) -> str:
    return phone.strip()


@dataclass(frozen=True)
class Identity:
    name: str
    id_number: str
    phone: str


def normalised(name: str, id_number: str, phone: str) -> Identity:
    """The identity as it is stored and matched (no checks: a search or a repeat check may be
    given half-typed values)."""
    return Identity(name.strip(), normal_id_number(id_number), normal_phone(phone))


def checked(name: str, id_number: str, phone: str, *, field: str = "") -> Identity:
    """The identity as it is stored, or InvalidInput naming the field (`field` prefixes it,
    e.g. "petitioners[0]." or "petitioner_")."""
    if phone and not _PHONE_PATTERN.match(phone.strip()):
        raise InvalidInput("Not a phone number", field=f"{field}phone")
    if id_number and not valid_id_number(id_number):
        raise InvalidInput(
            "Not a valid 18-character resident ID number (check digit)",
            field=f"{field}id_number",
        )
    return normalised(name, id_number, phone)
