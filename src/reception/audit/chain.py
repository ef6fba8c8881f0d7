"""An audit trail that shows tampering (等保三级 §8.1.4.3): a hash chain, daily signed
checkpoints, verification, and retention.

Each row's `chain` is H(previous row's chain ‖ the row's content) — SM3 under the SM cipher
suite, SHA-256 under AES, the algorithm named in the value ("sm3:<hex>"). The rows of a
transaction are written at its commit, after taking the one chain head row (`audit_head`,
locked FOR UPDATE on PostgreSQL; SQLite has one writer), so ids follow the chain and the
lock is the last one a transaction takes (no deadlock). When the first row of a new day
(Asia/Shanghai) is chained, the day before is closed by a checkpoint: its last row and chain,
HMAC'd under the audit key (apart from the data keys). An administrator with database access
can change a row — the database's triggers refuse UPDATE, and DELETE before the retention —
but not recompute the checkpoints' MACs without the audit key: `verify` finds the first
broken link.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, column, event, insert, select, table, text, update
from sqlalchemy.orm import Session, SessionTransaction

from reception import crypto
from reception.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from reception.db import AUDIT_SEAL, now_of

PENDING = "audit_pending"
TZ = ZoneInfo("Asia/Shanghai")
# The floor of RECEPTION_AUDIT_RETENTION_DAYS (网络安全法 art. 21: six months), and what the
# database's triggers enforce whatever the setting says.
RETENTION_FLOOR = 180


def canonical(row: AuditEvent | dict[str, Any]) -> bytes:
    """The row's content as hashed: its fields in a fixed JSON form (the instant in UTC)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    at = get("at")
    if isinstance(at, datetime):
        at = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = {
        "at": at,
        "actor_user_id": get("actor_user_id"),
        "actor_name": get("actor_name"),
        "action": get("action"),
        "target_type": get("target_type"),
        "target_id": get("target_id"),
        "before": get("before"),
        "after": get("after"),
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def link(previous: str, content: bytes, suite: str) -> str:
    """The chain value of a row after `previous`: "sm3:<hex>" or "sha256:<hex>"."""
    return crypto.checksum(suite, previous.encode() + b"\n" + content)


def relink(previous: str, content: bytes, stored: str) -> str:
    """The chain value recomputed with the algorithm the stored value names."""
    suite = "sm" if stored.startswith("sm3:") else "aes"
    return link(previous, content, suite)


def checkpoint_mac(key: bytes, day: date, last_id: int, chain: str) -> str:
    algorithm = "sm" if chain.startswith("sm3:") else "aes"
    mac = crypto.mac(algorithm, key, f"{day.isoformat()}|{last_id}|{chain}".encode())
    return mac.hex()


def local_day(at: datetime) -> date:
    return at.astimezone(TZ).date()


# ---------------------------------------------------------------- writing, at commit


_COLUMNS = (
    "at",
    "actor_user_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "chain",
)


def pend(session: Session, event_row: AuditEvent) -> None:
    """Keep a row to be chained and written when the transaction commits."""
    session.info.setdefault(PENDING, []).append(event_row)


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending: list[AuditEvent] = session.info.pop(PENDING, None) or []
    if not pending:
        return
    # What this session chains with (the data keys' suite and audit key); a session made
    # without keys (a test's own) chains with SHA-256 and closes no day.
    suite, key = session.info.get(AUDIT_SEAL) or ("aes", None)
    # Everything else the transaction writes goes first: the chain head is the last lock it
    # takes (a flush after it could wait on another transaction waiting for the head).
    session.flush()
    connection = session.connection()
    now = now_of(session)
    head = _lock_head(connection)
    previous, last_id, day = head["chain"], head["last_id"], head["day"]
    values = []
    for row in pending:
        row.at = row.at or now
        previous = link(previous, canonical(row), suite)
        row.chain = previous
        values.append(row)
    first_day = local_day(values[0].at)
    if day is not None and last_id and first_day > day and key is not None:
        _close_day(connection, key, day, last_id, head["chain"], now)
    # One multi-row INSERT (Core: the rows are plain values, no unit of work), ids back in order.
    events = AuditEvent.__table__  # type: ignore[attr-defined]
    ids = connection.execute(
        insert(events).returning(events.c.id, sort_by_parameter_order=True),
        [{name: getattr(row, name) for name in _COLUMNS} for row in values],
    ).scalars()
    for row, row_id in zip(values, ids, strict=True):
        row.id = row_id
    connection.execute(
        update(table("audit_head", column("id"), column("chain"), column("last_id"), column("day")))
        .where(column("id") == 1)
        .values(chain=previous, last_id=values[-1].id, day=local_day(values[-1].at))
    )


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(PENDING, None)


def _lock_head(connection: Connection) -> dict[str, Any]:
    """The chain head, locked for this transaction: FOR UPDATE on PostgreSQL; on SQLite a
    write to it first (SQLite's one write lock is then this transaction's)."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("UPDATE audit_head SET last_id = last_id WHERE id = 1"))
        query = select(AuditHead).where(AuditHead.id == 1)  # type: ignore[arg-type]
    else:
        query = select(AuditHead).where(AuditHead.id == 1).with_for_update()  # type: ignore[arg-type]
    row = connection.execute(query).mappings().one()
    day = row["day"]
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return {"chain": row["chain"], "last_id": row["last_id"], "day": day}


def _close_day(
    connection: Connection, key: bytes, day: date, last_id: int, chain: str, now: datetime
) -> None:
    connection.execute(
        insert(AuditCheckpoint).values(
            day=day,
            last_id=last_id,
            chain=chain,
            mac=checkpoint_mac(key, day, last_id, chain),
            created_at=now,
        )
    )


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Broken:
    """The first broken link: which row (or checkpoint), and why, in Chinese."""

    row_id: int | None
    at: datetime | None
    reason: str


@dataclass(frozen=True)
class Verdict:
    checked: int
    unchained: int
    checkpoints: int
    first_broken: Broken | None

    @property
    def intact(self) -> bool:
        return self.first_broken is None

    def summary(self) -> str:
        if self.first_broken is None:
            older = f";升级前的 {self.unchained} 条记录未入链" if self.unchained else ""
            return (
                f"审计记录完整:已核验 {self.checked} 条记录、{self.checkpoints} 个每日签名检查点,"
                f"未发现篡改{older}。"
            )
        b = self.first_broken
        where = f"第 {b.row_id} 号记录" if b.row_id is not None else "链头"
        when = f"({b.at.astimezone(TZ):%Y年%m月%d日 %H:%M})" if b.at else ""
        return f"审计记录被改动:{where}{when}{b.reason}。此后的记录无法再证明未被改动。"


BATCH = 5000


def verify(connection: Connection, key: bytes | None, *, since: date | None = None) -> Verdict:
    """Walk the chain (from the checkpoint before `since`, else from its start) and the
    signed checkpoints; the first broken link, if any."""
    checkpoints = {
        r.last_id: r
        for r in connection.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.day))  # type: ignore[arg-type]
    }
    for cp in checkpoints.values():
        if key is not None and not hmac.compare_digest(
            checkpoint_mac(key, cp.day, cp.last_id, cp.chain), cp.mac
        ):
            return Verdict(
                0, 0, len(checkpoints), Broken(cp.last_id, None, f"的 {cp.day} 检查点签名不符")
            )
    head = connection.execute(select(AuditHead).where(AuditHead.id == 1)).mappings().one()  # type: ignore[arg-type]
    previous, start = head["archived_chain"], 0
    if since is not None:
        before = [cp for cp in checkpoints.values() if cp.day < since]
        if before:
            previous, start = before[-1].chain, before[-1].last_id
    unchained = connection.scalar(
        select(text("count(*)")).select_from(AuditEvent).where(text("chain = ''"))
    )
    checked, last_id, last_chain = 0, start, previous
    for row in _rows(connection, start):
        expected = relink(previous, canonical(row), row["chain"])
        if not hmac.compare_digest(expected, row["chain"]):
            reason = "的内容或前一条记录与哈希链不符(被修改、删除或插入)"
            return Verdict(
                checked, unchained or 0, len(checkpoints), Broken(row["id"], row["at"], reason)
            )
        mark = checkpoints.get(row["id"])
        if mark is not None and mark.chain != row["chain"]:
            reason = f"与 {mark.day} 的签名检查点不符"
            return Verdict(
                checked, unchained or 0, len(checkpoints), Broken(row["id"], row["at"], reason)
            )
        previous = row["chain"]
        last_id, last_chain = row["id"], row["chain"]
        checked += 1
    missing = [cp for cp in checkpoints.values() if cp.last_id > start and cp.last_id > last_id]
    if missing or (head["last_id"] and (head["last_id"] != last_id or head["chain"] != last_chain)):
        reason = f"之后的记录缺失(链头指向第 {head['last_id']} 号记录)"
        return Verdict(
            checked, unchained or 0, len(checkpoints), Broken(last_id or None, None, reason)
        )
    return Verdict(checked, unchained or 0, len(checkpoints), None)


def _rows(connection: Connection, after_id: int) -> Iterator[dict[str, Any]]:
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    last = after_id
    while True:
        rows = (
            connection.execute(
                select(t).where(t.c.id > last, t.c.chain != "").order_by(t.c.id).limit(BATCH)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last = rows[-1]["id"]


# ---------------------------------------------------------------- archiving


def archivable_before(now: datetime, retention_days: int, before: date | None) -> datetime:
    """Rows older than this instant may be archived: the retention (never under 180 days)
    counted back from now, or an earlier day asked for."""
    limit = now - timedelta(days=max(retention_days, RETENTION_FLOOR))
    if before is not None:
        asked = datetime.combine(before, datetime.min.time(), TZ).astimezone(UTC)
        limit = min(limit, asked)
    return limit
