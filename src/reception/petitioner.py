"""A petitioner's identity fields, checked and normalised in one place (cases and bookings)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from reception.errors import InvalidInput

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
# After normalising: digits, with an optional leading + (a landline may carry its area code).
_PHONE_PATTERN = re.compile(r"^\+?[0-9]{7,19}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def id_check_digit(first_17: str) -> str:
    """The check character of a resident ID number from its first 17 digits (GB 11643)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first_17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_problem(id_number: str, today: date | None = None) -> str | None:
    """What is wrong with an 18-character resident ID number (GB 11643-1999), if anything:
    its length and digits, its birth date (characters 7–14), its check digit."""
    value = normal_id_number(id_number)
    if len(value) != 18:
        return f"居民身份证号码为18位,这里是{len(value)}位"
    if not _ID_PATTERN.match(value):
        return "居民身份证号码前17位为数字,最后一位为数字或X"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return f"居民身份证号码中的出生日期 {value[6:14]} 不存在"
    if not date(1900, 1, 1) <= born <= (today or date(2100, 12, 31)):
        return f"居民身份证号码中的出生日期 {value[6:14]} 不在合理范围内"
    if id_check_digit(value[:17]) != value[17]:
        return "居民身份证号码校验码不符,请核对"
    return None


def _half_width(text: str) -> str:
    # An IME in full-width mode types １３８ and Ｘ: the same digits as 138 and X.
    return unicodedata.normalize("NFKC", text)


def normal_id_number(id_number: str) -> str:
    """As stored and matched: upper-case X, spaces dropped (110105 19491231 002x), full-width
    digits as ASCII ones."""
    return re.sub(r"\s", "", _half_width(id_number)).upper()


def normal_phone(phone: str) -> str:
    """As stored and matched: 138 1234-5678 → 13812345678 (spaces, dashes, brackets dropped);
    +86 138… and 0086 138… → 138… (the same mobile, as it is stored when typed at home)."""
    digits = _PHONE_SEPARATORS.sub("", _half_width(phone))
    for country in ("+86", "0086"):
        if digits.startswith(country) and len(digits) - len(country) == 11:
            return digits[len(country) :]
    return digits


@dataclass(frozen=True)
class Identity:
    name: str
    id_number: str
    phone: str
    address: str = ""


def normalised(name: str, id_number: str, phone: str) -> Identity:
    """The identity as it is stored and matched (no checks: a search or a repeat check may be
    given half-typed values)."""
    return Identity(name.strip(), normal_id_number(id_number), normal_phone(phone))


def checked(
    name: str, id_number: str, phone: str, *, field: str = "", today: date | None = None
) -> Identity:
    """The identity as it is stored, or InvalidInput naming the field (`field` prefixes it,
    e.g. "petitioners[0]." or "petitioner_")."""
    if phone and not _PHONE_PATTERN.match(normal_phone(phone)):
        raise InvalidInput("不是有效的电话号码", field=f"{field}phone")
    problem = id_number_problem(id_number, today) if id_number.strip() else None
    if problem:
        raise InvalidInput(problem, field=f"{field}id_number")
    return normalised(name, id_number, phone)
