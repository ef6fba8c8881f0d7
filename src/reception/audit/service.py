"""Writing and reading the audit log."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, inspect, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from reception.audit import chain
from reception.audit.models import AuditEvent, AuditHead
from reception.auth import Principal
from reception.crypto import checksum
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
    # Written, chained, at the commit (reception.audit.chain): the chain follows commit order.
    chain.pend(session.sync_session, event)
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


# ---------------------------------------------------------------- the trail as evidence


async def verify_trail(
    *, session: AsyncSession, audit_key: bytes | None, since: date | None = None
) -> chain.Verdict:
    """The chain and the signed checkpoints walked (from the checkpoint before `since`)."""
    connection = await session.connection()
    return await connection.run_sync(lambda c: chain.verify(c, audit_key, since=since))


def as_record(row: AuditEvent | dict[str, Any]) -> dict[str, Any]:
    """A row as archived and exported: every field, the instant in UTC ISO 8601."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    at = get("at")
    return {
        "id": get("id"),
        "at": at.astimezone(UTC).isoformat() if isinstance(at, datetime) else at,
        "actor_user_id": get("actor_user_id"),
        "actor_name": get("actor_name"),
        "action": get("action"),
        "target_type": get("target_type"),
        "target_id": get("target_id"),
        "before": get("before"),
        "after": get("after"),
        "chain": get("chain"),
    }


async def events_between(
    *, session: AsyncSession, start: datetime, end: datetime, limit: int = 100_000
) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(col(AuditEvent.at) >= start, col(AuditEvent.at) < end)
        .order_by(col(AuditEvent.id))
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def archive(
    *,
    session: AsyncSession,
    now: datetime,
    retention_days: int,
    before: date | None,
    suite: str,
    out: Path,
) -> tuple[int, Path | None]:
    """Export the oldest rows past the retention (JSONL, and a checksum file beside it), then
    remove them — the chain's start moves on to the first row kept (its predecessor's chain is
    kept in the head). Only a prefix of the chain is archived; nothing younger than the
    retention (never under 180 days), which the database refuses anyway."""
    limit = chain.archivable_before(now, retention_days, before)
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    first_young = await session.scalar(select(func.min(t.c.id)).where(t.c.at >= limit))
    query = select(t).order_by(t.c.id)
    if first_young is not None:
        query = query.where(t.c.id < first_young)
    rows = [dict(r) for r in (await session.execute(query)).mappings().all()]
    if not rows:
        return 0, None
    lines = [json.dumps(as_record(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows]
    body = "".join(lines).encode()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    digest = checksum(suite, body)
    algorithm, _, hexdigest = digest.partition(":")
    sums = out.with_name(out.name + "." + algorithm)
    sums.write_text(f"{hexdigest}  {out.name}\n")
    chained = [r for r in rows if r["chain"]]
    await session.execute(delete(t).where(t.c.id <= rows[-1]["id"]))
    if chained:
        await session.execute(
            update(AuditHead)
            .where(col(AuditHead.id) == 1)
            .values(archived_chain=chained[-1]["chain"])
        )
    return len(rows), sums


def json_text(value: dict[str, Any] | None) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
