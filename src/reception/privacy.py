"""Masking of petitioners' personal data (names, phones, ID numbers) for lists and exports."""

from __future__ import annotations

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
_PHONE_PATTERN = re.compile(r"^\+?[\d-]{7,20}$")


def mask_name(name: str) -> str:
    """张小明 → 张*明; 张明 → 张*; a single character stays as it is."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if len(digits) >= 11 else 0
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]


def mask_id_number(id_number: str) -> str:
    """120225199001011234 → 1202************34 (region kept, birth date hidden)."""
    value = id_number.strip()
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def id_check_digit(first_17: str) -> str:
    """The check character of a resident ID number from its first 17 digits (GB 11643)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first_17, _ID_WEIGHTS, strict=True)) % 11]


def valid_id_number(id_number: str) -> bool:
    """Format and check digit of an 18-character resident ID number (GB 11643-1999)."""
    value = id_number.strip().upper()
    if not _ID_PATTERN.match(value):
        return False
    return id_check_digit(value[:17]) == value[17]


def valid_phone(phone: str) -> bool:
    return bool(_PHONE_PATTERN.match(phone.strip()))
