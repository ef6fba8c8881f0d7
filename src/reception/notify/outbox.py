"""Writing events: in the caller's transaction, so a rolled-back change emits nothing and no
change is committed without its event. The change's transaction writes the event row only;
the worker then gives it one delivery per endpoint that wants it (`fan_out`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.db import now_of
from reception.errors import Broken
from reception.notify.models import Delivery, Endpoint, OutboxEvent

# Audit actions that are events for the outside, and the event type each becomes.
EVENT_OF_ACTION = {
    "session.create": "session.created",
    "session.move": "session.moved",
    "session.move.forced": "session.moved",
    "session.realign": "session.moved",
    "session.cancel": "session.cancelled",
    "session.hold": "session.held",
    "appointment.create": "appointment.booked",
    "appointment.move": "appointment.moved",
    "appointment.cancelled": "appointment.cancelled",
    "appointment.checked_in": "appointment.checked_in",
    "appointment.no_show": "appointment.no_show",
    "appointment.completed": "appointment.completed",
    "case.registered": "case.registered",
    "case.ownership.assigned": "case.owner_assigned",
    "case.ownership.reassigned": "case.owner_changed",
    "case.resolution": "case.resolution",
    "case.evaluation": "case.evaluation",
    "case.evaluation.petitioner": "case.evaluation",
    # 矛盾纠纷排查台账: a new 重大 entry, and a 稳控 check-in that reports 有异动.
    "ledger.opened.major": "ledger.major_opened",
    "ledger.check_in.unrest": "ledger.unrest",
    "ledger.escalate": "ledger.escalated",
    "ledger.convert": "ledger.converted",
    # 督查督办: a spot check's finding (to the unit's group), a 流调 signed.
    "spot_check.finding": "supervision.finding",
    "case.inquiry.signed": "supervision.inquiry_signed",
    # 联席会议: a decision for a unit (its 督办单), and the secretary's 催办.
    "conference.decision": "supervision.decision",
    "decision.press": "supervision.pressed",
    # 网格员代办: a matter filed by a grid worker, for the township to register.
    "proxy.filed": "proxy.filed",
}
# Never in an event: a petitioner's identity, or what they said.
PRIVATE_KEYS = frozenset(
    {
        "petitioner_name",
        "petitioner_phone",
        "petitioner_id_number",
        "representatives",
        "matter_summary",
        "name",
        "phone",
        "id_number",
        "address",
        "summary",
        "note",
        "cancel_reason",
    }
)


def event_type(action: str) -> str | None:
    if action in EVENT_OF_ACTION:
        return EVENT_OF_ACTION[action]
    if action.startswith("case.transition."):
        return "case.transition"
    return None


def public_facts(facts: dict[str, Any] | None) -> dict[str, Any]:
    if not facts:
        return {}
    return {k: v for k, v in facts.items() if k not in PRIVATE_KEYS}


@dataclass(frozen=True)
class Route:
    """What fan-out needs of an endpoint."""

    id: int
    events: tuple[str, ...]
    scope: str
    unit_id: int | None
    leader_id: int | None
    # Events up to this id were written before the endpoint existed.
    after_event_id: int = 0


def wants(endpoint: Endpoint | Route, event: OutboxEvent) -> bool:
    if (event.id or 0) <= endpoint.after_event_id:
        return False
    if endpoint.events and not any(
        event.type == e or (e.endswith(".") and event.type.startswith(e)) for e in endpoint.events
    ):
        return False
    if endpoint.scope == "unit":
        return event.unit_id is not None and event.unit_id == endpoint.unit_id
    if endpoint.scope == "leader":
        return event.leader_id is not None and event.leader_id == endpoint.leader_id
    if endpoint.scope == "supervisor":
        return event.type.startswith(("reminder.overdue", "digest."))
    return True


async def emit(
    session: AsyncSession,
    *,
    type: str,
    aggregate: str,
    payload: dict[str, Any],
    now: datetime,
    unit_id: int | None = None,
    leader_id: int | None = None,
) -> None:
    # One Core INSERT in the change's transaction: no ORM object, no unit-of-work flush.
    await session.execute(
        insert(OutboxEvent.__table__).values(  # type: ignore[attr-defined]
            uid=f"evt_{secrets.token_hex(12)}",
            type=type,
            aggregate=aggregate[:60],
            payload=payload,
            unit_id=unit_id,
            leader_id=leader_id,
            fanned_out=False,
            created_at=now,
        )
    )


async def fan_out(session: AsyncSession, limit: int = 500) -> int:
    """Give waiting events their deliveries, oldest first (in the caller's transaction)."""
    waiting = (
        select(OutboxEvent)
        .where(col(OutboxEvent.fanned_out).is_(False))
        .order_by(col(OutboxEvent.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True)
    events = list((await session.scalars(waiting)).all())
    if not events:
        return 0
    targets = [
        Route(e.id or 0, tuple(e.events), e.scope, e.unit_id, e.leader_id, e.after_event_id)
        for e in await session.scalars(select(Endpoint).where(col(Endpoint.active).is_(True)))
    ]
    for event in events:
        if event.id is None:
            raise Broken("expected: event.id is not None")
        for route in targets:
            if wants(route, event):
                session.add(Delivery(event_id=event.id, endpoint_id=route.id))
        event.fanned_out = True
    await session.flush()
    return len(events)


async def from_audit(
    session: AsyncSession,
    action: str,
    target_type: str,
    target_id: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """An audited write the outside cares about (sessions, appointments, cases) becomes an
    event, in the same transaction (the audit trail calls this: `listen`)."""
    kind = event_type(action)
    if kind is None:
        return
    facts = after or before or {}
    session_id = facts.get("session_id") if target_type == "appointment" else None
    aggregate = f"session:{session_id}" if session_id else f"{target_type}:{target_id}"
    await emit(
        session,
        type=kind,
        aggregate=aggregate,
        payload={
            "object": target_type,
            "id": int(target_id) if str(target_id).isdigit() else target_id,
            "action": action,
            "changes": public_facts(after),
        },
        now=now_of(session),
        unit_id=facts.get("unit_id") if isinstance(facts.get("unit_id"), int) else None,
        leader_id=facts.get("leader_id") if isinstance(facts.get("leader_id"), int) else None,
    )


def listen() -> None:
    """Subscribe the outbox to the audit trail (the app and the command line, at start-up)."""
    audit.subscribe(from_audit)
