"""The order people read units in: the district, its offices (区住建委 …), the townships
(乡镇街), then villages; within a kind the office's own order (sort_order), then by pinyin.
One rule for SQL (`unit_order`) and for units already loaded (`in_unit_order`, `as_tree`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import case
from sqlmodel import col

from reception.org.models import Unit

# How people read a list of units: the district, its offices (区住建委 …), the townships
# (乡镇街), then villages; within a kind the office's own order, then by pinyin.
KIND_RANK = {"district": 0, "department": 1, "township": 2, "village": 3}


def pinyin_key(name: str) -> str:
    """A unit's name as toneless pinyin (区住建委 → "qu zhu jian wei"): the order people
    expect of Chinese names, the same on SQLite and PostgreSQL whatever their collation."""
    return " ".join(lazy_pinyin(name, style=Style.NORMAL, errors="default"))[:400]


def unit_order(unit: type[Unit] | Any = Unit) -> list[Any]:
    """ORDER BY terms for units (or an alias of the table) in the order people expect."""
    rank = case(KIND_RANK, value=col(unit.kind), else_=len(KIND_RANK))
    return [
        rank,
        col(unit.sort_order).is_(None),
        col(unit.sort_order),
        col(unit.sort_key),
        col(unit.id),
    ]


def in_unit_order(units: Sequence[Unit]) -> list[Unit]:
    """The same order for units already loaded."""
    return sorted(
        units,
        key=lambda u: (
            KIND_RANK.get(u.kind, len(KIND_RANK)),
            u.sort_order is None,
            u.sort_order or 0,
            u.sort_key,
            u.id or 0,
        ),
    )


def as_tree(units: Sequence[Unit]) -> list[tuple[Unit, int]]:
    """Units as an indented list: each under its parent (depth 0 for those whose parent is not
    among them), siblings in the order every list shows them."""
    ordered = in_unit_order(units)
    ids = {u.id for u in ordered}
    children: dict[int | None, list[Unit]] = {}
    for u in ordered:
        children.setdefault(u.parent_id if u.parent_id in ids else None, []).append(u)
    out: list[tuple[Unit, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for u in children.get(parent, []):
            out.append((u, depth))
            walk(u.id, depth + 1)

    walk(None, 0)
    return out
