"""The data keys against the data: the start-up check, and online key rotation.

Start-up: every sealed column's oldest and newest values must open with the keys given, and
no value may name a key the keyring lacks — otherwise the service refuses to start with a
message naming RECEPTION_DATA_KEYS (never garbage, never a 500 on the first request).

Rotation (`reception keys rotate`): after a new key was added and made active (and every
server restarted with it), re-seal every value still under an older key, in short batches —
each its own transaction, each row written only if it still holds the value read (a
concurrent change wins) — so the service keeps serving, and a run stopped half-way simply
resumes where values remain under the old key. Moving to another cipher suite (`--to-suite
sm`) is the same walk: a value's blind index is recomputed from its opened value with the
new suite's keyed hash in the same UPDATE (lookups match either suite's index meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, column, func, not_, or_, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.crypto import ENV, KeyError_, Keyring, Undecryptable
from reception.db import SQLITE_WRITE
from reception.pii import SEALED, SealedColumn, aad_column

BATCH = 500


async def check(session: AsyncSession, keys: Keyring) -> None:
    """Refuse keys that do not open the data (KeyError_ naming RECEPTION_DATA_KEYS)."""
    for c in SEALED:
        t = table(c.table, column("id"), column(c.column))
        value = t.c[c.column]
        if not c.binary:
            known = [value.like(keys.prefix(k) + "%") for k in keys.data]
            stranger = await session.scalar(
                select(t.c.id).where(value != "", not_(or_(*known))).limit(1)
            )
            if stranger is not None:
                raise KeyError_(
                    f"{c.table}.{c.column} 第 {stranger} 行用的密钥不在 {ENV}(或 keys.json)中:"
                    f"缺少一把旧密钥,请把它加回密钥文档 / a value is sealed under a key missing "
                    f"from {ENV}"
                )
        for pick in (func.min(t.c.id), func.max(t.c.id)):
            empty = b"" if c.binary else ""
            row_id = await session.scalar(select(pick).where(value != empty))
            if row_id is None:
                continue
            token = await session.scalar(select(value).where(t.c.id == row_id))
            try:
                _open(keys, c, token, row_id)
            except Undecryptable as exc:
                raise KeyError_(
                    f"{ENV}(或 keys.json)中的密钥打不开数据库中的数据({c.table}.{c.column} 第 "
                    f"{row_id} 行):密钥不对,请使用加密这些数据时的密钥 / the data keys in {ENV} "
                    "do not open the data in this database (wrong key)"
                ) from exc


def _open(keys: Keyring, c: SealedColumn, token: Any, row_id: int) -> Any:
    aad = aad_column(c.table, c.column)
    if c.binary:
        return keys.open_bytes(bytes(token), table=c.table, column=aad, row_id=row_id)
    return keys.open(str(token), table=c.table, column=aad, row_id=row_id)


def _seal(keys: Keyring, c: SealedColumn, plain: Any, row_id: int) -> Any:
    aad = aad_column(c.table, c.column)
    if c.binary:
        return keys.seal_bytes(plain, table=c.table, column=aad, row_id=row_id)
    return keys.seal(str(plain), table=c.table, column=aad, row_id=row_id)


def _under_old_key(keys: Keyring, c: SealedColumn, token: Any) -> bool:
    if c.binary:
        return bool(token) and not bytes(token).startswith(keys.prefix().encode())
    return bool(token) and not str(token).startswith(keys.prefix())


def _resealed(keys: Keyring, c: SealedColumn, row_id: int, token: Any) -> dict[str, Any]:
    plain = _open(keys, c, token, row_id)
    params = {"b_id": row_id, "b_old": token, "b_new": _seal(keys, c, plain, row_id)}
    if c.index:
        params["b_index"] = keys.blind(c.index[1], plain)
    return params


@dataclass
class Progress:
    column: str
    done: int
    total: int


def _not_active(keys: Keyring, c: SealedColumn, value: Any) -> Any:
    """SQL: a value sealed under another key than the active one (a file by its first bytes,
    without reading it)."""
    prefix = keys.prefix()
    if c.binary:
        return and_(value != b"", func.substr(value, 1, len(prefix)) != prefix.encode())
    return and_(value != "", ~value.like(prefix + "%"))


async def _remaining(session: AsyncSession, keys: Keyring, c: SealedColumn) -> int:
    t = table(c.table, column("id"), column(c.column))
    query = select(func.count()).select_from(t).where(_not_active(keys, c, t.c[c.column]))
    return await session.scalar(query) or 0


async def rotate(
    sessionmaker: async_sessionmaker[AsyncSession],
    keys: Keyring,
    *,
    batch: int = BATCH,
    report: Callable[[Progress], None] = lambda _: None,
) -> dict[str, int]:
    """Re-seal every value not under the active key; returns how many per column."""
    done: dict[str, int] = {}
    for c in SEALED:
        name = f"{c.table}.{c.column}"
        async with sessionmaker() as session:
            total = await _remaining(session, keys, c)
        done[name] = 0
        report(Progress(name, 0, total))
        index: list[Any] = [column(c.index[0])] if c.index else []
        t = table(c.table, column("id"), column(c.column), *index)
        value = t.c[c.column]
        changes: dict[str, Any] = {c.column: bindparam("b_new")}
        if c.index:
            changes[c.index[0]] = bindparam("b_index")
        statement = (
            update(t)
            .where(t.c.id == bindparam("b_id"), value == bindparam("b_old"))
            .values(changes)
        )
        last = 0
        while True:
            async with sessionmaker() as session:
                await session.connection(execution_options={SQLITE_WRITE: True})
                query = (
                    select(t.c.id, value)
                    .where(t.c.id > last, _not_active(keys, c, value))
                    .order_by(t.c.id)
                    .limit(batch)
                )
                rows = (await session.execute(query)).all()
                if not rows:
                    break
                last = rows[-1][0]
                params = [
                    _resealed(keys, c, row_id, token)
                    for row_id, token in rows
                    if _under_old_key(keys, c, token)
                ]
                if params:
                    await session.execute(statement, params)
                    # A row changed meanwhile kept its new value (sealed by a server under the
                    # active key): it is not counted, and needs nothing more.
                await session.commit()
            done[name] += len(params)
            report(Progress(name, done[name], total))
    return done
