"""Shared base types: what every domain's bodies and tables are built from.

The lowest module of the package after `errors`: it imports nothing of the domains, so any of
them may import it without pulling in another domain.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import UNSET, Meta, Struct

from reception.errors import InvalidInput

# Ids are PostgreSQL INTEGER columns: anything beyond is refused here, not by the database.
Id = Annotated[int, Meta(ge=1, le=2**31 - 1)]  # ID_MAX
AwareDatetime = Annotated[datetime, Meta(tz=True)]

# 三员分立 (等保三级 §8.1.4.2, §8.1.5): `admin` is the 系统管理员 (org chart, users' units and
# links, calendar, rules, notices' templates, endpoints); `secadmin` the 安全管理员 (accounts and
# roles, passwords, lockouts, second factors, tokens); `auditor` the 审计管理员 (reads, exports
# and verifies the audit trail, changes nothing). A user has one role, so nobody holds two.
# 网格员 (`grid`): files matters for the petitioners of his village (网格员代办), sees only those.
Role = Literal["admin", "secretary", "clerk", "leader", "reviewer", "secadmin", "auditor", "grid"]
ROLES: tuple[str, ...] = get_args(Role)
ADMINISTRATORS: tuple[str, ...] = ("admin", "secadmin", "auditor")
ROLE_LABELS = {
    "admin": "系统管理员",
    "secretary": "秘书",
    "clerk": "信访干部",
    "leader": "领导",
    "reviewer": "督查",
    "secadmin": "安全管理员",
    "auditor": "审计管理员",
    "grid": "网格员",
}
UnitKind = Literal["district", "township", "village", "department"]
UNIT_KINDS: tuple[str, ...] = get_args(UnitKind)
UNIT_KIND_LABELS = {
    "district": "区",
    "township": "乡镇(街道)",
    "village": "村(社区)",
    "department": "职能部门",
}
# What a reception day does when its date is not a working day (遇节假日顺延 by default).
HolidayPolicy = Literal["next_workday", "previous_workday", "keep"]
HOLIDAY_POLICIES: tuple[str, ...] = get_args(HolidayPolicy)
# 集体访: a visit or a case of this many people or more is a collective one.
COLLECTIVE_FROM = 5


# Every date a request may carry lies within the working-day calendar's range.
MIN_DAY, MAX_DAY = date(2000, 1, 1), date(2100, 12, 31)
# A month as people pick it (2026-11): ASCII digits (Python's \d also takes ２０２６), a year
# within the range above.
MONTH_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"


def month_bounds(month: str) -> tuple[date, date]:
    """A month (2026-11) as its first and last day."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError as exc:
        raise InvalidInput("month 须为 YYYY-MM 格式", field="month") from exc
    return first, date(year, mon, calendar.monthrange(year, mon)[1])


def shift_month(month: str, months: int) -> str:
    """The month `months` before (negative) or after a month, as YYYY-MM."""
    first, _ = month_bounds(month)
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# The largest id a column holds (PostgreSQL INTEGER).
ID_MAX = 2**31 - 1


def form_id(value: object) -> int | None:
    """An id named in a form field (digits, 1 to ID_MAX), else None: a larger number names no
    row and must not reach the database (SQLite cannot even bind it)."""
    text = str(value or "")
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= ID_MAX:
        return None
    return int(text)


class BodyRule(ValueError):
    """A request body breaks a rule every body keeps (the message names the field)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{message} (field `{field}`)")


def _check_value(name: str, value: Any) -> None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date) and not MIN_DAY <= value <= MAX_DAY:
        raise BodyRule(f"日期须在 {MIN_DAY.year} 年至 {MAX_DAY.year} 年之间", name)
    if isinstance(value, list):
        for item in value:
            _check_value(name, item)


@cache
def _required_texts(cls: type) -> frozenset[str]:
    """The fields of a body that must hold some text (declared with min_length >= 1)."""
    names = set()
    for f in msgspec.inspect.type_info(cls).fields:  # type: ignore[attr-defined]
        info = f.type
        while isinstance(info, msgspec.inspect.UnionType):
            info = next(
                (t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)), info
            )
            if isinstance(info, msgspec.inspect.UnionType):
                break
        if isinstance(info, msgspec.inspect.StrType) and (info.min_length or 0) >= 1:
            names.add(f.name)
    return frozenset(names)


class Strict(Struct, forbid_unknown_fields=True):
    """Request bodies: unknown fields are refused, not ignored; and the rules every body keeps,
    checked once here: dates within the calendar's range (2000–2100), and a text that must be
    given is not blank (spaces only)."""

    def __post_init__(self) -> None:
        required = _required_texts(type(self))
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if name in required and isinstance(value, str) and not value.strip():
                raise BodyRule("不能只有空格", name)
            _check_value(name, value)

    def changes(self) -> dict[str, Any]:
        """The fields a PATCH body actually sets (those not left UNSET)."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


def sql_in(column: str, values: tuple[str, ...]) -> str:
    """The text of a CHECK constraint allowing only `values` in `column`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)
