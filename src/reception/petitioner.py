"""A petitioner's identity fields, checked and normalised in one place (cases and bookings)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reception.errors import InvalidInput

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
# After normalising: digits, with an optional leading + (a landline may carry its area code).
_PHONE_PATTERN = re.compile(r"^\+?\d{7,19}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


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
    """As stored and matched: 138 1234-5678 → 13812345678 (spaces, dashes, brackets dropped)."""
    return _PHONE_SEPARATORS.sub("", phone)


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
    if phone and not _PHONE_PATTERN.match(normal_phone(phone)):
        raise InvalidInput("不是有效的电话号码", field=f"{field}phone")
    if id_number and not valid_id_number(id_number):
        raise InvalidInput(
            "不是有效的18位居民身份证号码(校验码不符)",
            field=f"{field}id_number",
        )
    return normalised(name, id_number, phone)
