"""Who sees which part of the org chart: the unit-subtree scope and the leader scope, once.

Both are written with `reception.expr`, so the same function answers for a loaded row in
Python, becomes a WHERE clause for a caller, and (the feeds) a clause over a stored viewer's
columns, evaluated per feed in SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select, true
from sqlmodel import col

from reception.auth import Principal
from reception.expr import all_of, any_of, member, starts_with, where
from reception.org.models import Leader, Unit

# Roles that read the whole org chart (and everything else).
READ_ALL = ("admin", "reviewer")


def in_subtree(path: Any, root_path: Any) -> Any:
    """A unit (by its materialised path "/1/7/42/") is the root or below it."""
    return starts_with(path, root_path)


def ancestor_ids(path: str) -> list[int]:
    """The ids on a unit's materialised path, the root first and the unit itself last
    ("/1/7/42/" → [1, 7, 42])."""
    return [int(x) for x in path.strip("/").split("/")]


def subtree_ids(root_path: str) -> Select[Any]:
    """SELECT of the ids of a unit and every unit below it, given the unit's path."""
    return select(col(Unit.id)).where(in_subtree(col(Unit.path), root_path))


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as plain values (a caller) or SQL columns (a feed's stored creator)."""

    role: Any
    leader_id: Any
    unit_path: Any
    # leader id → whether this viewer is a secretary linked to that leader.
    linked: Callable[[Any], Any]

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        return cls(
            role=principal.role,
            leader_id=principal.leader_id,
            unit_path=principal.unit_path,
            linked=lambda leader_id: member(leader_id, principal.leader_ids),
        )


def reads_calendar_of(viewer: Viewer, leader_id: Any, leader_unit_path: Any) -> Any:
    """Whose reception days and field visits a viewer reads (sessions, their day sheets,
    rules, feeds), SPEC §1: admins and reviewers every leader's; a secretary her linked
    leaders'; a leader his own; a clerk those of the leaders of his unit subtree."""
    return any_of(
        member(viewer.role, READ_ALL),
        lambda: all_of(viewer.role == "secretary", lambda: viewer.linked(leader_id)),
        lambda: all_of(viewer.role == "leader", lambda: leader_id == viewer.leader_id),
        lambda: all_of(
            viewer.role == "clerk", lambda: in_subtree(leader_unit_path, viewer.unit_path)
        ),
    )


def sees_leader(viewer: Viewer, leader_id: Any, leader_unit_path: Any) -> Any:
    """Which leaders a viewer knows of and may name (the org chart: GET /api/leaders, the
    包案 owner a clerk gives a case to): those whose calendar he reads, and for a clerk also
    the leaders of the units above his own — a township's hard case is usually owned by a
    district leader. Another township's leaders stay out of sight."""
    return any_of(
        lambda: reads_calendar_of(viewer, leader_id, leader_unit_path),
        lambda: all_of(
            viewer.role == "clerk", lambda: in_subtree(viewer.unit_path, leader_unit_path)
        ),
    )


def _leader_unit_path() -> Any:
    return select(col(Unit.path)).where(col(Unit.id) == col(Leader.unit_id)).scalar_subquery()


def leader_scope(principal: Principal) -> ColumnElement[bool]:
    """The leaders a caller knows of and may name, as a WHERE clause over `leader`."""
    clause: ColumnElement[bool] = where(
        sees_leader, Viewer.of(principal), col(Leader.id), _leader_unit_path()
    )
    return clause


def calendar_scope(principal: Principal) -> ColumnElement[bool]:
    """The leaders whose sessions a caller reads, as a WHERE clause over `leader`."""
    clause: ColumnElement[bool] = where(
        reads_calendar_of, Viewer.of(principal), col(Leader.id), _leader_unit_path()
    )
    return clause


def visible_leader_ids(principal: Principal) -> Select[Any]:
    """The leaders whose reception days and field visits the caller reads."""
    return select(col(Leader.id)).where(calendar_scope(principal))


def reaches(principal: Principal | None, unit_path: str) -> bool:
    """Whether a caller works on a unit's records: a clerk within his unit subtree; other roles
    (and the command line) are not limited by unit."""
    if principal is None or principal.role != "clerk":
        return True
    return bool(in_subtree(unit_path, principal.unit_path))


def unit_in_reach(principal: Principal | None, unit: Unit) -> bool:
    return reaches(principal, unit.path)


def reach_clause(principal: Principal | None, unit_id: Any) -> ColumnElement[bool]:
    """`reaches` as a WHERE clause over a column holding a unit id."""
    if principal is None or principal.role != "clerk":
        return true()
    clause: ColumnElement[bool] = unit_id.in_(subtree_ids(principal.unit_path or ""))
    return clause
