"""Writing and reading the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from reception.audit.models import AuditEvent
from reception.auth import Principal
from reception.db import paginate

CLI_ACTOR = "命令行"
# What the command line's writes are signed with while one command runs (the demo signs its
# made-up history as 演示数据, not as an operator at a terminal).
_cli_actor: ContextVar[str] = ContextVar("cli_actor", default=CLI_ACTOR)


@contextmanager
def signed_as(label: str) -> Iterator[None]:
    """Sign the command line's writes made inside the block with `label`."""
    token = _cli_actor.set(label)
    try:
        yield
    finally:
        _cli_actor.reset(token)


# Who hears of every audited write, in its transaction: (session, action, target type, target
# id, before, after). The audit trail knows no listener by name: notify's outbox subscribes
# itself at start-up (reception.notify.outbox.listen, called by the app and the command line).
Listener = Callable[
    [AsyncSession, str, str, Any, dict[str, Any] | None, dict[str, Any] | None], Awaitable[None]
]
_LISTENERS: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Hear of every audited write from now on (once, however often it is called)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def actor_name(actor: Principal | None) -> str:
    """The name kept on records and audit rows: the person, or the command line."""
    return actor.name if actor else _cli_actor.get()


BLIND_INDEXES = frozenset(
    {
        "id_number_index",
        "phone_index",
        "petitioner_id_number_index",
        "petitioner_phone_index",
        "query_code_index",
    }
)


def snapshot(obj: SQLModel | None, *, exclude: set[str] | None = None) -> dict[str, Any] | None:
    if obj is None:
        return None
    data = obj.model_dump(mode="json", exclude=exclude)
    # Sealed values and blind indexes (reception.pii) mean nothing to a reader of the trail
    # and would tie its rows to a person: never in a snapshot.
    return {k: v for k, v in data.items() if not (k.endswith("_sealed") or k in BLIND_INDEXES)}


async def changed(
    *,
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    target: SQLModel,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    exclude: set[str] | None = None,
    target_type: str | None = None,
) -> AuditEvent:
    """The end of every audited write: flush it, then record who did what to which row, with
    the row before (given) and after (its snapshot unless given)."""
    await session.flush()
    key = inspect(target).identity
    return await record(
        session=session,
        actor=actor,
        action=action,
        target_type=target_type or str(target.__tablename__),
        target_id=":".join(str(k) for k in key) if key else "",
        before=before,
        after=after if after is not None else snapshot(target, exclude=exclude),
    )


async def record(
    *,
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """`actor_label`: who acted when it is no user (the petitioner on their page)."""
    event = AuditEvent(
        actor_user_id=actor.user_id if actor else None,
        actor_name=actor_label or actor_name(actor),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
    )
    session.add(event)
    await session.flush()
    for listener in _LISTENERS:
        await listener(session, action, target_type, target_id, before, after)
    return event


async def list_events(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    target_type: str | None = None,
    target_id: str | None = None,
    actor_user_id: int | None = None,
    action: str | None = None,
) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    if actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == actor_user_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return await paginate(session, query, col(AuditEvent.id).desc(), limit=limit, offset=offset)
