"""A ledger's cells read as values: dates in the forms offices type, 是/否, channels,
categories, outcomes and satisfaction by their names and synonyms, units by name, alias or
abbreviation. Each reader answers a value or raises `Unreadable` with the reason in Chinese.
Pure: no database, no web."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from reception.imports.mapping import synonyms

# Excel's day 0 (its 1900 leap-year bug folded in) and the serials a ledger's dates can be.
EXCEL_EPOCH = date(1899, 12, 30)
SERIALS = range(20000, 80000)
# What a cell may hold at most (the longest field, a summary, takes 4,000 characters).
CELL_LIMIT = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE_FORMS = (
    re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


class Unreadable(ValueError):
    """A cell that cannot be taken as its field's value (the message says why, in Chinese)."""


def text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0 (a phone typed as a number), dates as
    ISO; control characters refused (NUL and the like never reach the database)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    out = value.isoformat() if isinstance(value, date) else str(value)
    if _CONTROL.search(out):
        raise Unreadable("含有不可见的控制字符")
    if len(out) > CELL_LIMIT:
        raise Unreadable(f"超过 {CELL_LIMIT} 字({len(out)} 字)")
    return out.strip()


def day(value: Any) -> date | None:
    """A date as offices type it: a date cell, an Excel serial (43895), 2020.3.5, 2020/3/5,
    2020-03-05, 2020年3月5日, 20200305. Empty: None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value in SERIALS or (isinstance(value, float) and int(value) in SERIALS):
            return EXCEL_EPOCH + timedelta(days=int(value))
        value = str(int(value))
    typed = text(value).replace(" ", "")
    if not typed:
        return None
    for form in _DATE_FORMS:
        found = form.match(typed)
        if found:
            try:
                return date(*(int(g) for g in found.groups()))
            except ValueError:
                raise Unreadable(f"「{typed}」不是存在的日期") from None
    raise Unreadable(f"「{typed}」不是日期(可写 2020-03-05、2020.3.5、2020年3月5日 或 20200305)")


def _key(typed: str) -> str:
    return re.sub(r"\s", "", typed).lower()


def coded(table: str, value: Any) -> str | None:
    """A code of one of the synonym tables (channel, category, outcome, satisfaction,
    session_kind) for a cell; None for an empty cell."""
    typed = _key(text(value))
    if not typed:
        return None
    for code, words in synonyms()["values"][table].items():
        if typed == _key(code) or typed in (_key(w) for w in words):
            return str(code)
    raise Unreadable(f"「{text(value)}」无法识别")


def yes_no(value: Any) -> bool | None:
    typed = _key(text(value))
    if not typed:
        return None
    if typed in (_key(w) for w in synonyms()["values"]["yes"]):
        return True
    if typed in (_key(w) for w in synonyms()["values"]["no"]):
        return False
    raise Unreadable(f"「{text(value)}」应为 是 或 否")


def count(value: Any) -> int | None:
    typed = text(value)
    if not typed:
        return None
    digits = typed.removesuffix("人")
    if not digits.isdigit() or not 1 <= int(digits) <= 100000:
        raise Unreadable(f"「{typed}」不是人数")
    return int(digits)


# ---------------------------------------------------------------- units


def _bare(name: str) -> str:
    out = re.sub(r"\s", "", name)
    for prefix in synonyms()["unit_prefixes"]:
        if out.startswith(prefix) and len(out) > len(prefix):
            return out[len(prefix) :]
    return out


def _in_order(short: str, long: str) -> bool:
    """Every character of `short` appears in `long`, in order (住建委 in 住房和城乡建设委员会)."""
    rest = iter(long)
    return len(short) >= 2 and all(ch in rest for ch in short)


@dataclass(frozen=True)
class UnitNames:
    """The units a ledger's rows may name, by id: matched by name (a village also as 乡镇 +
    村名), alias or abbreviation. `parents` names each unit's parent (to tell two villages of
    one name apart); `villages` are the ids of villages (never matched by abbreviation: their
    short names are everybody's); `label` is what a row names (单位, 乡镇(街道))."""

    names: dict[int, str]
    parents: dict[int, str] = field(default_factory=dict)
    villages: frozenset[int] = frozenset()
    label: str = "本单位范围内的单位"

    def _alias_group(self, bare: str) -> set[str]:
        for group in synonyms()["unit_aliases"]:
            if bare in group:
                return {str(g) for g in group}
        return {bare}

    def _full(self, i: int) -> str:
        parent = self.parents.get(i, "")
        return f"{parent}{self.names[i]}" if i in self.villages and parent else self.names[i]

    def find(self, value: Any) -> int | None:
        typed = re.sub(r"\s", "", text(value))
        if not typed:
            return None
        exact = [i for i, n in self.names.items() if n == typed]
        # A township and a village of the same name: the township (the higher level).
        higher = [i for i in exact if i not in self.villages]
        if len(exact) == 1 or len(higher) == 1:
            return (higher or exact)[0]
        if len(exact) > 1:
            both = "、".join(sorted({self._full(i) for i in exact})[:5])
            raise Unreadable(f"「{typed}」有同名的几个单位({both}),请写成「乡镇名+村名」")
        placed = [i for i in self.villages if self._full(i) == typed]
        if len(placed) == 1:
            return placed[0]
        words = self._alias_group(_bare(typed))
        same = [i for i, n in self.names.items() if _bare(n) in words and i not in self.villages]
        if len(same) == 1:
            return same[0]
        short = [
            i
            for i, n in self.names.items()
            if i not in self.villages
            and any(_in_order(w, _bare(n)) or _in_order(_bare(n), w) for w in words)
        ]
        if len(short) == 1:
            return short[0]
        if len(same) > 1 or len(short) > 1:
            both = "、".join(sorted({self._full(i) for i in set(same) | set(short)})[:5])
            raise Unreadable(f"「{typed}」可能是 {both},请写全称")
        raise Unreadable(f"「{typed}」不是{self.label}")
