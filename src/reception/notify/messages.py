"""The Chinese a group chat reads: counts, dates, leaders and venues — never a petitioner's
name or phone (SPEC §3.8)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reception.context import Context
from reception.notify.models import OutboxEvent
from reception.org.models import Leader, Unit, Venue
from reception.scheduling.models import ReceptionSession

KIND = {"reception": "接访日", "field_visit": "下访"}
TITLES = {
    "session.created": "新安排",
    "session.moved": "时间调整",
    "session.cancelled": "已取消",
    "session.held": "已举行",
}


async def _session_line(session: AsyncSession, ctx: Context, event: OutboxEvent) -> str:
    sid = event.payload.get("id")
    subject = await session.get(ReceptionSession, sid) if sid else None
    if subject is None:
        return f"场次 {sid}:{TITLES.get(event.type, event.type)}"
    leader = await session.get(Leader, subject.leader_id)
    venue = await session.get(Venue, subject.venue_id) if subject.venue_id else None
    start = ctx.local(subject.starts_at)
    where = venue.name if venue else (subject.address or "")
    who = f"{leader.name}({leader.title})" if leader else ""
    line = (
        f"**{KIND.get(subject.kind, '场次')}{TITLES.get(event.type, '')}**:{who} "
        f"{start.year}年{start.month}月{start.day}日 {start:%H:%M}–"
        f"{ctx.local(subject.ends_at):%H:%M} {where}"
    )
    if event.type == "session.cancelled":
        line += ",已预约的信访人将由秘书电话告知"
    return line


LEDGER = {
    "ledger.major_opened": "重大矛盾纠纷建账",
    "ledger.unrest": "稳控有异动",
    "ledger.escalated": "矛盾纠纷台账升级",
    "ledger.converted": "矛盾纠纷台账转为信访事项",
}


async def _ledger_line(session: AsyncSession, event: OutboxEvent) -> str:
    facts: dict[str, Any] = event.payload.get("changes") or {}
    unit = (
        await session.get(Unit, facts["unit_id"]) if isinstance(facts.get("unit_id"), int) else None
    )
    line = f"**{LEDGER.get(event.type, event.type)}**:{facts.get('reference', '')}"
    if event.type == "ledger.escalated":
        return line + (f",现由{unit.name}负责" if unit else "")
    line += f",责任单位 {unit.name}" if unit else ""
    if event.type == "ledger.unrest":
        line += ",请立即核实稳控情况"
    return line


def _supervision_line(event: OutboxEvent) -> str:
    facts: dict[str, Any] = event.payload.get("changes") or {}
    if event.type == "supervision.finding":
        deadline = str(facts.get("deadline", ""))
        when = f"{int(deadline[5:7])}月{int(deadline[8:10])}日" if len(deadline) == 10 else ""
        return (
            f"**抽查发现问题**:{facts.get('month', '')} 基础业务抽查,{facts.get('case_reference', '')}"
            f"「{facts.get('item', '')}」不合格,请于 {when} 前整改并在系统中反馈"
        )
    if event.type in ("supervision.decision", "supervision.pressed"):
        deadline = str(facts.get("deadline", ""))
        when = f"{int(deadline[5:7])}月{int(deadline[8:10])}日" if len(deadline) == 10 else ""
        if event.type == "supervision.pressed":
            return f"**联席会议催办**:{facts.get('number', '')} 办结时限 {when},请抓紧办理并报告办理情况"
        return (
            f"**联席会议督办**:{facts.get('number', '')} {facts.get('matter', '')},"
            f"请于 {when} 前办结并报告办理情况"
        )
    if event.type == "supervision.inquiry_signed":
        return f"**流调结论已签批**:信访事项 {facts.get('case_reference', '')}"
    return f"{event.type}({event.aggregate})"


async def line_of(session: AsyncSession, ctx: Context, event: OutboxEvent) -> str:
    text: Any = event.payload.get("text")
    if isinstance(text, str) and text:
        return text
    if event.type.startswith("session."):
        return await _session_line(session, ctx, event)
    if event.type.startswith("ledger."):
        return await _ledger_line(session, event)
    if event.type.startswith("supervision."):
        return _supervision_line(event)
    if event.type == "proxy.filed":
        facts: dict[str, Any] = event.payload.get("changes") or {}
        return f"**网格员代办**:{facts.get('reference', '')} 已提交,请乡镇信访办及时登记"
    return f"{event.type}({event.aggregate})"


async def merged(session: AsyncSession, ctx: Context, events: list[OutboxEvent]) -> str:
    """One message for what is due at once (a robot takes 20 a minute: merge, never drop)."""
    lines = [await line_of(session, ctx, e) for e in events]
    if len(lines) == 1:
        return lines[0]
    return f"**信访工作提醒({len(lines)} 条)**\n\n" + "\n\n".join(f"- {x}" for x in lines)
