"""Delivering the outbox: at least once, in order per endpoint and subject, with backoff.

A worker claims a batch of due deliveries with a lease (PostgreSQL: FOR UPDATE SKIP LOCKED;
SQLite: one writer at a time), so two workers never send one delivery at the same time; a
worker killed mid-delivery leaves a lease that runs out, and the next worker sends it again
with the same webhook-id. A delivery waits while an earlier one of the same subject to the same
endpoint is still pending (a session's events arrive in order). Failures back off
exponentially with jitter (1 min … 24 h); after MAX_ATTEMPTS a delivery is dead; an endpoint
answering 410, or failing for a day, is disabled and the admin told (audit log).

Group robots (DingTalk, WeCom) take at most 20 messages a minute: the worker sends what is due
as one merged message rather than many, and never drops one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import random
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col
from standardwebhooks.webhooks import Webhook

from reception.audit import service as audit
from reception.context import Context
from reception.db import SQLITE_WRITE
from reception.errors import Broken
from reception.notify import messages, outbox
from reception.notify.models import Delivery, Endpoint, OutboxEvent

log = logging.getLogger("reception.notify")

LEASE = timedelta(minutes=2)
TIMEOUT = 20.0
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=1)
ROBOT_PER_MINUTE = 20
TABLE = "notify_endpoint"


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """1 min, 2, 4 … at most 24 h, each ±20% so retries from many events spread out."""
    base = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LAST_RETRY)
    return base * (rng or random).uniform(0.8, 1.2)


# ---------------------------------------------------------------- signing


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed robot URL: timestamp and sign = urlencode(base64(HMAC-SHA256(secret,
    "timestamp\\nsecret")))."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"


def webhook_headers(
    secrets_: list[str], msg_id: str, body: str, timestamp: datetime
) -> dict[str, str]:
    """Standard Webhooks headers; during a rotation both secrets sign (space-separated)."""
    signatures = [
        Webhook(s).sign(msg_id=msg_id, timestamp=timestamp, data=body) for s in secrets_ if s
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }


# ---------------------------------------------------------------- claiming


@dataclass
class Claimed:
    delivery: Delivery
    event: OutboxEvent
    endpoint: Endpoint


async def claim(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta = LEASE
) -> list[int]:
    """Take up to `limit` due deliveries under a lease (in the caller's transaction)."""
    earlier = aliased(Delivery)
    earlier_event = aliased(OutboxEvent)
    due = (
        select(col(Delivery.id))
        .join(OutboxEvent, col(OutboxEvent.id) == col(Delivery.event_id))
        .join(Endpoint, col(Endpoint.id) == col(Delivery.endpoint_id))
        .where(
            col(Delivery.status) == "pending",
            (col(Delivery.next_attempt_at).is_(None)) | (col(Delivery.next_attempt_at) <= now),
            (col(Delivery.claimed_until).is_(None)) | (col(Delivery.claimed_until) < now),
            col(Endpoint.active).is_(True),
            ~exists().where(
                col(earlier.endpoint_id) == col(Delivery.endpoint_id),
                col(earlier.status) == "pending",
                col(earlier.id) < col(Delivery.id),
                col(earlier_event.id) == col(earlier.event_id),
                col(earlier_event.aggregate) == col(OutboxEvent.aggregate),
            ),
        )
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=Delivery, skip_locked=True)
    ids = [i for i in (await session.scalars(due)).all() if i is not None]
    if ids:
        await session.execute(
            update(Delivery).where(col(Delivery.id).in_(ids)).values(claimed_until=now + lease)
        )
    return ids


async def _load(session: AsyncSession, ids: list[int]) -> list[Claimed]:
    rows = await session.execute(
        select(Delivery, OutboxEvent, Endpoint)
        .join(OutboxEvent, col(OutboxEvent.id) == col(Delivery.event_id))
        .join(Endpoint, col(Endpoint.id) == col(Delivery.endpoint_id))
        .where(col(Delivery.id).in_(ids))
        .order_by(col(Delivery.id))
    )
    return [Claimed(d, e, p) for d, e, p in rows.all()]


# ---------------------------------------------------------------- sending


@dataclass
class Outcome:
    status: int | None
    error: str = ""
    # The answer's body (a robot says in it whether it took the message).
    answer: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def webhook_body(event: OutboxEvent) -> str:
    return json.dumps(
        {
            "id": event.uid,
            "type": event.type,
            "timestamp": event.created_at.isoformat(),
            "data": event.payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


async def _send_webhook(
    client: httpx.AsyncClient, ctx: Context, endpoint: Endpoint, event: OutboxEvent
) -> Outcome:
    if endpoint.id is None:
        raise Broken("expected: endpoint.id is not None")
    url = ctx.keys.open(endpoint.url_sealed, table=TABLE, column="url", row_id=endpoint.id)
    keys = [
        ctx.keys.open(v, table=TABLE, column=c, row_id=endpoint.id)
        for v, c in (
            (endpoint.secret_sealed, "secret"),
            (endpoint.previous_secret_sealed, "previous_secret"),
        )
        if v
    ]
    body = webhook_body(event)
    # The transport's own timestamp is the real time (receivers check it against theirs).
    headers = webhook_headers(keys, event.uid, body, datetime.now().astimezone())
    return await _post(client, url, body.encode(), headers)


async def _send_robot(
    client: httpx.AsyncClient, ctx: Context, endpoint: Endpoint, text_: str
) -> Outcome:
    if endpoint.id is None:
        raise Broken("expected: endpoint.id is not None")
    url = ctx.keys.open(endpoint.url_sealed, table=TABLE, column="url", row_id=endpoint.id)
    if endpoint.kind == "dingtalk":
        secret = (
            ctx.keys.open(endpoint.secret_sealed, table=TABLE, column="secret", row_id=endpoint.id)
            if endpoint.secret_sealed
            else ""
        )
        if secret:
            url = dingtalk_url(url, secret, int(time.time() * 1000))
        body = {"msgtype": "markdown", "markdown": {"title": "信访提醒", "text": text_}}
    else:
        body = {"msgtype": "markdown", "markdown": {"content": text_}}
    outcome = await _post(
        client,
        url,
        json.dumps(body, ensure_ascii=False).encode(),
        {"content-type": "application/json"},
    )
    if outcome.ok:
        # Both robots answer 200 with their own error code for a refused message.
        outcome = _robot_answer(outcome)
    return outcome


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> Outcome:
    try:
        r = await client.post(url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(r.status_code, "" if r.is_success else r.text[:300], r.text[:300])


def _robot_answer(outcome: Outcome) -> Outcome:
    try:
        code = json.loads(outcome.answer).get("errcode", 0) if outcome.answer else 0
    except (ValueError, AttributeError):
        code = 0
    if code:
        return Outcome(outcome.status, f"robot errcode {code}: {outcome.answer}"[:500])
    return outcome


# ---------------------------------------------------------------- one round


async def _robot_budget(session: AsyncSession, endpoint_id: int, now: datetime) -> int:
    """Messages this robot may still take this minute (a merged message: one delivered_at)."""
    sent = await session.scalar(
        select(func.count(func.distinct(Delivery.delivered_at))).where(
            col(Delivery.endpoint_id) == endpoint_id,
            col(Delivery.status) == "delivered",
            col(Delivery.delivered_at) > now - timedelta(minutes=1),
        )
    )
    return max(ROBOT_PER_MINUTE - int(sent or 0), 0)


async def run_once(
    maker: async_sessionmaker[AsyncSession],
    ctx: Context,
    client: httpx.AsyncClient,
    *,
    batch: int = 50,
) -> int:
    """Claim what is due, send it, record the outcome. Returns how many were sent (ok)."""
    now = ctx.now()
    async with maker() as s:
        # A read first: an idle loop does not take SQLite's write lock every round.
        pending = await s.scalar(
            select(col(Delivery.id)).where(col(Delivery.status) == "pending").limit(1)
        )
        waiting = await s.scalar(
            select(col(OutboxEvent.id)).where(col(OutboxEvent.fanned_out).is_(False)).limit(1)
        )
    if pending is None and waiting is None:
        return 0
    async with maker() as s:
        await s.connection(execution_options={SQLITE_WRITE: True})
        await outbox.fan_out(s)
        ids = await claim(s, now, batch, timedelta(seconds=ctx.settings.outbox_lease_seconds))
        await s.commit()
    if not ids:
        return 0
    async with maker() as s:
        claimed = await _load(s, ids)
    sent = 0
    robots: dict[int, list[Claimed]] = {}
    results: list[tuple[Claimed, Outcome]] = []
    for c in claimed:
        if c.endpoint.kind == "webhook":
            results.append((c, await _send_webhook(client, ctx, c.endpoint, c.event)))
        else:
            robots.setdefault(c.endpoint.id or 0, []).append(c)
    for endpoint_id, items in robots.items():
        async with maker() as s:
            budget = await _robot_budget(s, endpoint_id, now)
        if budget <= 0:
            results += [(c, Outcome(None, "rate:20/min")) for c in items]
            continue
        async with maker() as s:
            text_ = await messages.merged(s, ctx, [c.event for c in items])
        outcome = await _send_robot(client, ctx, items[0].endpoint, text_)
        results += [(c, outcome) for c in items]
    async with maker() as s:
        await s.connection(execution_options={SQLITE_WRITE: True})
        for c, outcome in results:
            sent += await _record(s, ctx, c, outcome, now)
        await s.commit()
    return sent


async def _record(
    session: AsyncSession, ctx: Context, c: Claimed, outcome: Outcome, now: datetime
) -> int:
    d = await session.get(Delivery, c.delivery.id)
    endpoint = await session.get(Endpoint, c.endpoint.id)
    if d is None or endpoint is None:
        raise Broken("expected: d is not None and endpoint is not None")
    d.claimed_until = None
    d.last_status = outcome.status
    if outcome.ok:
        d.status, d.delivered_at, d.last_error = "delivered", now, ""
        d.attempts += 1
        endpoint.failing_since = None
        return 1
    if outcome.error == "rate:20/min":
        # Not an attempt: the robot's minute is full; try again when it has room.
        d.next_attempt_at = now + timedelta(seconds=15)
        return 0
    d.attempts += 1
    d.last_error = outcome.error or f"HTTP {outcome.status}"
    if d.attempts >= MAX_ATTEMPTS:
        d.status = "dead"
    else:
        d.next_attempt_at = now + backoff(d.attempts)
    endpoint.failing_since = endpoint.failing_since or now
    gone = outcome.status == 410
    if endpoint.active and (gone or now - endpoint.failing_since >= DISABLE_AFTER):
        endpoint.active = False
        endpoint.disabled_reason = "对方答复 410(地址已不存在)" if gone else "连续一天发送失败"
        await audit.record(
            session=session,
            actor=None,
            action="notify.endpoint_disabled",
            target_type="notify_endpoint",
            target_id=endpoint.id,
            after={"reason": endpoint.disabled_reason, "last_error": d.last_error[:200]},
            actor_label="推送服务",
        )
    return 0


async def run_forever(
    maker: async_sessionmaker[AsyncSession], ctx: Context, *, every: float = 2.0
) -> None:
    """The delivery loop (`reception worker`, and inside `reception serve`)."""
    async with httpx.AsyncClient(follow_redirects=False) as client:
        while True:
            try:
                while await run_once(maker, ctx, client):
                    pass
            except Exception:
                log.exception("outbox delivery round failed")
            await asyncio.sleep(every)
