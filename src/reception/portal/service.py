"""The petitioner's own page (信访工作条例 arts. 18, 21): look a matter up with the 查询码 from
the 受理告知书 and something only they know (the last 4 characters of the ID number or phone
given at registration), follow its progress, and rate each reply.

Facing the internet, it gives nothing away: a wrong code and a wrong second factor get the same
answer after the same work (the code is looked up by its keyed hash, the factor compared in
constant time against a decoy when there is no case); failures are counted per client address
and per code — both as keyed hashes — in the database, so the limits hold across worker
processes: from the 5th failure each try waits a growing delay, from the 20th the key is
locked for an hour; a day without failures forgets them. Every lookup and failure is audited without the code.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception import pii
from reception.audit import service as audit
from reception.base import ID_MAX
from reception.cases import deliveries, query_code, workflow
from reception.cases.clocks import clocks_of, due_from
from reception.cases.models import CaseEvaluation, CasePetitioner, PetitionCase
from reception.cases.petitioners import petitioner
from reception.cases.timeline import record_event
from reception.context import Context
from reception.db import upsert_insert
from reception.documents.kinds import KINDS
from reception.documents.models import CaseDocument
from reception.errors import Broken, Conflict, DomainError, InvalidInput
from reception.org.models import Unit
from reception.petitioner import Identity
from reception.portal import schemas
from reception.portal.models import PortalThrottle

SLOW_AFTER = 5
LOCK_AFTER = 20
LOCK_FOR = timedelta(hours=1)
# Failures older than this are forgotten (a petitioner who mistyped last week starts afresh);
# longer than the longest delay, so waiting out the delays never wipes the count.
FORGET_AFTER = timedelta(hours=24)
TICKET_MINUTES = 30
# Who the records name for what happens on this page (no user behind it).
VISITOR = "信访人(查询页)"
WRONG = "查询码或验证信息不正确,请核对受理告知书上的查询码,以及登记时留的身份证号或手机号的后4位"


class Throttled(DomainError):
    status, slug, title = 429, "too-many-lookups", "查询过于频繁"


class WrongLookup(DomainError):
    status, slug, title = 400, "lookup-failed", "无法查询"


def delay_after(failures: int) -> timedelta:
    """How long a key waits before its next try: nothing before the 5th failure, then 30 s,
    doubling, at most the lock's hour."""
    if failures < SLOW_AFTER:
        return timedelta(0)
    return min(timedelta(seconds=30 * 2 ** (failures - SLOW_AFTER)), LOCK_FOR)


def keys_of(ctx: Context, client: str, code: str) -> tuple[str, str]:
    return (
        "client:" + ctx.keys.blind("portal-client", client)[:40],
        "code:" + ctx.keys.blind("portal-code", code or "-")[:40],
    )


async def _refuse_if_throttled(session: AsyncSession, now: datetime, keys: tuple[str, str]) -> None:
    rows = await session.scalars(select(PortalThrottle).where(col(PortalThrottle.key).in_(keys)))
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            raise Throttled("查询失败次数过多,已暂停查询一小时;如有疑问请致电信访办")
        if row.failures < SLOW_AFTER or now - row.last_failure_at > FORGET_AFTER:
            continue
        wait = row.last_failure_at + delay_after(row.failures) - now
        if wait > timedelta(0):
            seconds = int(wait.total_seconds()) + 1
            raise Throttled(f"查询失败次数较多,请 {seconds} 秒后再试", retry_after=seconds)


async def _count_failure(session: AsyncSession, now: datetime, key: str) -> None:
    """One more failure for a key: an atomic upsert, so two processes never lose a count."""
    table = PortalThrottle.__table__  # type: ignore[attr-defined]
    stale = table.c.last_failure_at < now - FORGET_AFTER
    failures = sql_case((stale, 1), else_=table.c.failures + 1)
    statement = (
        upsert_insert(session, table)
        .values(key=key, failures=1, last_failure_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": failures,
                "last_failure_at": now,
                "locked_until": sql_case(
                    (failures >= LOCK_AFTER, now + LOCK_FOR), else_=table.c.locked_until
                ),
            },
        )
    )
    await session.execute(statement)


def _last4(value: str) -> str:
    cleaned = "".join(ch for ch in value.upper() if ch.isalnum())
    return cleaned[-4:] if len(cleaned) >= 4 else ""


def _factor_matches(typed: str, petitioners: list[Identity]) -> bool:
    """Constant-time against every candidate (a decoy when there is no case), no early exit."""
    wanted = _last4(typed).encode() or b"\x00"
    found = False
    candidates = [_last4(v) for p in petitioners for v in (p.id_number, p.phone)] or ["\x01" * 4]
    for candidate in candidates:
        found |= hmac.compare_digest(wanted, (candidate or "\x01" * 4).encode())
    return found


async def lookup(
    *, session: AsyncSession, ctx: Context, code: str, factor: str, client: str
) -> PetitionCase:
    """The case of a code and a second factor, or the one answer for every failure."""
    now = ctx.now()
    typed = query_code.normal(code)[:40]
    keys = keys_of(ctx, client, typed)
    await _refuse_if_throttled(session, now, keys)
    index = col(PetitionCase.query_code_index)
    case = await session.scalar(
        select(PetitionCase).where(
            pii.matches(index, ctx.keys, pii.QUERY_CODE, typed) if typed else index == "-"
        )
    )
    petitioners = (
        [
            petitioner(ctx.keys, p)
            for p in await session.scalars(
                select(CasePetitioner).where(col(CasePetitioner.case_id) == case.id)
            )
        ]
        if case is not None
        else []
    )
    good = _factor_matches(factor, petitioners) and case is not None
    if not good or case is None:
        for key in keys:
            await _count_failure(session, now, key)
        await audit.record(
            session=session,
            actor=None,
            action="portal.lookup_failed",
            actor_label=VISITOR,
            target_type="portal",
            target_id="-",
            after={"client": keys[0]},
        )
        raise WrongLookup(WRONG)
    await audit.record(
        session=session,
        actor=None,
        action="portal.lookup",
        actor_label=VISITOR,
        target_type="case",
        target_id=case.id,
    )
    return case


# ---------------------------------------------------------------- the ticket


def _ticket_mac(ctx: Context, body: str) -> bytes:
    """HMAC-SM3 or HMAC-SHA256 (per the cipher suite) under the portal's ticket key."""
    return ctx.keys.mac("portal-ticket", body.encode())


def ticket_for(ctx: Context, case_id: int) -> str:
    """What the page carries after a good lookup (to rate, to download): the case and an
    expiry, MAC'd; valid for half an hour."""
    expires = int((ctx.now() + timedelta(minutes=TICKET_MINUTES)).timestamp())
    body = f"{case_id}.{expires}"
    mac = _ticket_mac(ctx, body)
    return f"{body}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


# case id . expiry (seconds) . the MAC in unpadded URL-safe base64: nothing else is a ticket.
TICKET = re.compile(r"([0-9]{1,10})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


def case_of_ticket(ctx: Context, ticket: str) -> int:
    """The case a ticket was made for. Its form is checked first (ASCII, the three parts),
    then its MAC compared as bytes in constant time, then its expiry."""
    parts = TICKET.fullmatch(ticket) if ticket.isascii() else None
    valid = False
    if parts is not None:
        case_id, expires, mac = parts.groups()
        good = base64.urlsafe_b64encode(_ticket_mac(ctx, f"{case_id}.{expires}")).rstrip(b"=")
        valid = hmac.compare_digest(good, mac.encode()) and int(expires) >= ctx.now().timestamp()
    if parts is None or not valid or int(parts.group(1)) > ID_MAX:
        raise WrongLookup("查询已过期,请重新输入查询码查询")
    return int(parts.group(1))


# ---------------------------------------------------------------- what the petitioner sees


STAGE_WORDS = {
    "registered": "已登记,待受理",
    "accepted": "已受理,办理中",
    "in_progress": "办理中",
    "rejected": "不予受理",
    "diverted": "已告知通过法定途径解决",
    "replied": "已答复",
    "review": "复查中",
    "re_review": "复核中",
    "closed": "已办结",
}


def reply_round(case: PetitionCase) -> int:
    """Which reply the petitioner holds: 1 the 处理意见, 2 the 复查意见, 3 the 复核意见."""
    if case.re_review_decided_on:
        return 3
    if case.review_decided_on:
        return 2
    return 1 if case.replied_on else 0


@dataclass(frozen=True)
class Window:
    round: int
    opens: date | None
    closes: date | None


async def evaluation_window(session: AsyncSession, ctx: Context, case: PetitionCase) -> Window:
    """When the petitioner may rate the reply they hold: once it is delivered, until their
    own request window (复查 / 复核) ends — or for RECEPTION_EVALUATION_DAYS days."""
    if case.id is None:
        raise Broken("expected: case.id is not None")
    round_ = reply_round(case)
    decided = {1: case.replied_on, 2: case.review_decided_on, 3: case.re_review_decided_on}.get(
        round_
    )
    delivered = case.delivered_on if case.delivered_on and decided else None
    if delivered is None or (decided and delivered < decided):
        return Window(round_, None, None)
    if ctx.settings.evaluation_days:
        return Window(round_, delivered, delivered + timedelta(days=ctx.settings.evaluation_days))
    clocks = (await clocks_of(session=session, case_ids=[case.id]))[case.id]
    windows = [c for c, _ in clocks if c.kind == "review_request"]
    if windows:
        closes = max(windows, key=lambda c: c.round).current_due
    else:
        # A delivery recorded without its window (older records): the window's own rule.
        closes = await due_from(session, "review_request", delivered)
    return Window(round_, delivered, closes)


async def public_view(
    *, session: AsyncSession, ctx: Context, case: PetitionCase, ticket: str
) -> schemas.PublicCase:
    """What a petitioner may read about their own matter: no staff names beyond the unit, no
    other petitioner, no internal note, nothing about the owning leader."""
    if case.id is None:
        raise Broken("expected: case.id is not None")
    unit = await session.get(Unit, case.unit_id)
    clocks = (await clocks_of(session=session, case_ids=[case.id]))[case.id]
    handle = [c for c, _ in clocks if c.kind in ("handle", "simple")]
    reply_due = max(handle, key=lambda c: c.round).current_due if handle else None
    windows = [c for c, _ in clocks if c.kind == "review_request"]
    request_until = max(windows, key=lambda c: c.round).current_due if windows else None
    docs = (
        await session.scalars(
            select(CaseDocument)
            .where(col(CaseDocument.case_id) == case.id)
            .order_by(col(CaseDocument.issued_on), col(CaseDocument.id))
        )
    ).all()
    served = await deliveries.served(session, case.id)
    superseded = {d.supersedes_id for d in docs if d.supersedes_id}
    notices = [
        schemas.PublicNotice(
            id=d.id or 0,
            title=d.title,
            number=d.number,
            issued_on=d.issued_on,
            delivered_on=served[d.number].delivered_on if d.number in served else None,
        )
        for d in docs
        if d.id not in superseded and d.kind in KINDS
    ]
    window = await evaluation_window(session, ctx, case)
    given = await session.scalar(
        select(CaseEvaluation).where(
            col(CaseEvaluation.case_id) == case.id,
            col(CaseEvaluation.round) == window.round,
            col(CaseEvaluation.source) == "petitioner",
        )
    )
    today = ctx.today()
    open_now = (
        given is None
        and window.opens is not None
        and window.closes is not None
        and window.opens <= today <= window.closes
    )
    return schemas.PublicCase(
        reference=case.reference,
        stage=case.stage,
        stage_words=STAGE_WORDS.get(case.stage, workflow.STAGE_LABELS[case.stage]),
        unit_name=unit.name if unit else "",
        received_on=case.received_on,
        accepted_on=case.accepted_on,
        reply_due=reply_due if case.accepted_on else None,
        replied_on=case.replied_on,
        delivered_on=case.delivered_on,
        request_review_until=request_until,
        notices=notices,
        evaluation=schemas.PublicEvaluation(
            round=window.round,
            may_rate=open_now,
            rate_until=window.closes,
            given=given.satisfaction if given else None,
            given_on=given.evaluated_on if given else None,
        ),
        ticket=ticket,
    )


async def rate(
    *,
    session: AsyncSession,
    ctx: Context,
    case_id: int,
    satisfaction: str,
    comment: str,
) -> CaseEvaluation:
    """The petitioner rates the reply they hold: once per reply, within its window."""
    case = await session.get(PetitionCase, case_id, with_for_update=True)
    if case is None or case.id is None:
        raise WrongLookup("查询已过期,请重新输入查询码查询")
    window = await evaluation_window(session, ctx, case)
    today = ctx.today()
    if window.opens is None or window.closes is None:
        raise Conflict("答复送达后才能评价")
    if not window.opens <= today <= window.closes:
        raise Conflict(f"评价期已于 {window.closes:%Y年%m月%d日} 结束")
    if satisfaction not in ("satisfied", "basically_satisfied", "dissatisfied"):
        raise InvalidInput("请选择满意、基本满意或不满意", field="satisfaction")
    existing = await session.scalar(
        select(CaseEvaluation).where(
            col(CaseEvaluation.case_id) == case.id,
            col(CaseEvaluation.round) == window.round,
            col(CaseEvaluation.source) == "petitioner",
        )
    )
    if existing is not None:
        raise Conflict("这次答复您已评价过,评价提交后不能修改")
    row = CaseEvaluation(
        case_id=case.id,
        round=window.round,
        source="petitioner",
        satisfaction=satisfaction,
        comment=comment.strip()[:500],
        evaluated_on=today,
    )
    session.add(row)
    before = {
        "petitioner_satisfaction": case.petitioner_satisfaction,
        "petitioner_evaluated_on": case.petitioner_evaluated_on,
    }
    case.petitioner_satisfaction = satisfaction
    case.petitioner_evaluated_on = today
    # The UNIQUE (case, round, source) decides a race between two tabs: one wins.
    await session.flush()
    await record_event(
        session=session,
        case=case,
        actor=None,
        kind="evaluation.petitioner",
        actor_label=VISITOR,
        on=today,
        note=f"信访人评价:{workflow.SATISFACTION_LABELS[satisfaction]}",
        before=before,
        after={"petitioner_satisfaction": satisfaction, "round": window.round},
    )
    return row


def client_address(scope: Any, headers: Any, trusted_proxies: int) -> str:
    """The client's address: the connection's, or behind N trusted proxies the N-th from the
    right of X-Forwarded-For."""
    own = (scope.get("client") or ("-", 0))[0]
    if trusted_proxies <= 0:
        return str(own)
    hops = [h.strip() for h in str(headers.get("x-forwarded-for", "")).split(",") if h.strip()]
    return hops[-trusted_proxies] if len(hops) >= trusted_proxies else str(own)
