"""Idempotency-Key for POSTs that create: a retry with the same key returns the first result.

The key row is inserted in the same transaction as what it creates, under a unique
(user, key) constraint, so two concurrent requests with one key cannot both create.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, select

from reception.db import flush_refused, stamped
from reception.errors import InvalidInput

MAX_KEY_LENGTH = 100


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    key: str = Field(max_length=MAX_KEY_LENGTH)
    # Which operation and payload the key was first used for: reuse with another is refused.
    scope: str = Field(max_length=100)
    request_hash: str = Field(max_length=64)
    resource_type: str = Field(default="", max_length=40)
    resource_id: int | None = Field(default=None)
    created_at: datetime = stamped()


def fingerprint(payload: Any) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


async def claim(
    *, session: AsyncSession, user_id: int, key: str | None, scope: str, payload: Any
) -> tuple[IdempotencyKey | None, int | None]:
    """Claim `key` for this request.

    Returns (row, None) when the caller should go on and create (then call `complete`), or
    (None, resource_id) when the key was already used for this same request.
    """
    if key is None:
        return None, None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"Idempotency-Key 须为1至{MAX_KEY_LENGTH}个字符", field="Idempotency-Key"
        )
    request_hash = fingerprint(payload)
    row = IdempotencyKey(user_id=user_id, key=key, scope=scope, request_hash=request_hash)
    # On PostgreSQL a concurrent twin makes this wait for the other transaction, then fail on
    # the unique constraint, and we can still read its result.
    if await flush_refused(session, row) is None:
        return row, None
    existing = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if existing is None or existing.resource_id is None:
        raise InvalidInput("该 Idempotency-Key 正被一个尚未完成的请求使用")
    if existing.scope != scope or existing.request_hash != request_hash:
        raise InvalidInput("该 Idempotency-Key 已用于另一个不同的请求", field="Idempotency-Key")
    return None, existing.resource_id


async def complete(
    *, session: AsyncSession, row: IdempotencyKey | None, resource_type: str, resource_id: int
) -> None:
    if row is None:
        return
    row.resource_type = resource_type
    row.resource_id = resource_id
    await session.flush()
