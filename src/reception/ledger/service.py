"""The ledger's entries: who reads and who keeps them, 建账, the list, one entry's page, and its
moves (跟进, 调整责任人, 升级, 销账, 转为信访事项), each a history row and an audit entry.

Reading: a clerk the entries of his unit subtree — those it is responsible for now, and those
it found (a village keeps seeing what it handed up); a leader those he is 稳控 or 化解责任人 of;
reviewers and admins all. Keeping (moves): clerks whose subtree holds the entry's unit now, and
admins. Outside a caller's scope an entry is 404.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception import pii
from reception.audit import service as audit
from reception.auth import Principal
from reception.base import role_label
from reception.cases import registration
from reception.cases import schemas as case_schemas
from reception.cases.access import get_case, unit_in_scope
from reception.cases.models import CaseCategory, PetitionCase
from reception.context import Context
from reception.crypto import Keyring
from reception.db import get_in_scope, next_in_counter, now_of
from reception.errors import Broken, Conflict, Forbidden, InvalidInput
from reception.etags import etag, require_match
from reception.ledger import rules, schemas
from reception.ledger.models import (
    LedgerCheckIn,
    LedgerCounter,
    LedgerEntry,
    LedgerMove,
    LedgerParty,
)
from reception.org.access import READ_ALL, reach_clause, reaches, subtree_ids
from reception.org.models import Leader, Unit
from reception.petitioner import Identity, checked
from reception.privacy import mask_id_number, mask_name, mask_phone, shown_whole, shows_whole
from reception.workcal import service as workcal

WRITERS = ("admin", "clerk")
# The most rows one export holds (a city's open ledger is far below it).
EXPORT_MAX = 50_000


# ---------------------------------------------------------------- who


def entry_scope(principal: Principal | None) -> ColumnElement[bool]:
    """The entries a caller may read, as a WHERE clause over `ledger_entry`."""
    if principal is None or principal.role in READ_ALL:
        return true()
    if principal.role == "clerk":
        return or_(
            reach_clause(principal, col(LedgerEntry.unit_id)),
            reach_clause(principal, col(LedgerEntry.found_by_unit_id)),
        )
    if principal.role == "leader" and principal.leader_id:
        return or_(
            col(LedgerEntry.stability_leader_id) == principal.leader_id,
            col(LedgerEntry.resolution_leader_id) == principal.leader_id,
        )
    return false()


def keeps(principal: Principal | None, unit: Unit) -> bool:
    """Whether a caller keeps (moves on) an entry whose responsible unit is `unit`."""
    if principal is None:
        return True
    return principal.role in WRITERS and reaches(principal, unit.path)


def may_keep(principal: Principal | None, unit: Unit) -> None:
    if not keeps(principal, unit):
        who = role_label(principal.role) if principal else ""
        raise Forbidden(f"{who}不能修改这条台账:它由{unit.name}负责")


def entry_etag(entry: LedgerEntry) -> str:
    return etag("ledger", entry.id, f"v{entry.version}")


async def get_entry(
    *, session: AsyncSession, principal: Principal | None, entry_id: int, for_update: bool = False
) -> LedgerEntry:
    entry: LedgerEntry = await get_in_scope(
        session,
        LedgerEntry,
        entry_id,
        entry_scope(principal),
        missing=f"台账 {entry_id} 不存在",
        for_update=for_update,
    )
    return entry


async def table_unit(
    *, session: AsyncSession, principal: Principal | None, unit_id: int | None
) -> int | None:
    """The unit whose 排查情况表 a caller reads: a clerk his own unit or one under it (default:
    his own); others any (default: the district)."""
    if principal is None or principal.role != "clerk":
        return unit_id
    wanted = unit_id or principal.unit_id
    unit = await session.get(Unit, wanted) if wanted else None
    if unit is None or not reaches(principal, unit.path):
        raise InvalidInput(f"单位 {wanted} 不在您所在单位的范围内", field="unit_id")
    return unit.id


# ---------------------------------------------------------------- 建账


def risk_rules(ctx: Context) -> tuple[rules.RiskRule, ...]:
    return tuple(
        rules.RiskRule(risk, people, amount)
        for risk, (people, amount) in sorted(ctx.settings.ledger_risk.items())
    )


def _check_risk(ctx: Context, risk: str, people: int, amount: int) -> None:
    floor = rules.risk_floor(risk_rules(ctx), people, amount)
    if rules.risk_rank(risk) < rules.risk_rank(floor):
        rule = next(r for r in risk_rules(ctx) if r.risk == floor)
        raise InvalidInput(
            f"按规则({rule.describe()})风险等级至少为{rules.RISK_LABELS[floor]}", field="risk"
        )


async def _review_day(session: AsyncSession, ctx: Context, start: date, risk: str) -> date:
    days = ctx.settings.ledger_review_days.get(risk, 5)
    calendar = await workcal.calendar_around(session=session, start=start, end=start)
    return calendar.add_workdays(start, days).value


async def _domain(session: AsyncSession, code: str) -> CaseCategory:
    await registration.ensure_default_categories(session=session)
    category = await session.get(CaseCategory, code)
    if category is None or not category.active:
        names = "、".join(
            f"{c.code}({c.name})" for c in await session.scalars(select(CaseCategory))
        )
        raise InvalidInput(f"没有领域 {code};现有:{names}", field="domain")
    return category


async def _leader(session: AsyncSession, leader_id: int, field: str) -> Leader:
    leader = await session.get(Leader, leader_id)
    if leader is None or not leader.active:
        raise InvalidInput(f"领导 {leader_id} 不存在", field=field)
    return leader


def _parties(parties: Sequence[schemas.PartyIn], today: date) -> list[Identity]:
    return [
        checked(p.name, p.id_number, p.phone, field=f"parties[{i}].", today=today)
        for i, p in enumerate(parties)
    ]


def _facts(entry: LedgerEntry, names: Iterable[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(entry, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


FACTS = (
    "reference",
    "found_on",
    "found_by_unit_id",
    "how_found",
    "domain_code",
    "risk",
    "people_count",
    "amount_disputed",
    "unit_id",
    "stability_leader_id",
    "resolution_leader_id",
    "target_on",
    "review_on",
    "status",
)


async def _record(
    session: AsyncSession,
    actor: Principal | None,
    entry: LedgerEntry,
    kind: str,
    on: date,
    *,
    note: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    from_unit_id: int | None = None,
    to_unit_id: int | None = None,
) -> None:
    """The move's history row and its audit entry, in the change's transaction. The audit's
    facts carry the unit and the leader an event goes to (a 重大 entry's, an 有异动)."""
    if entry.id is None:
        raise Broken("expected: entry.id is not None")
    session.add(
        LedgerMove(
            entry_id=entry.id,
            kind=kind,
            on=on,
            note=note,
            before=before,
            after=after,
            from_unit_id=from_unit_id,
            to_unit_id=to_unit_id,
            actor_user_id=actor.user_id if actor else None,
            actor_name=audit.actor_name(actor),
        )
    )
    action = f"ledger.{kind}"
    if kind == "opened" and entry.risk == "major":
        action = "ledger.opened.major"
    await audit.changed(
        session=session,
        actor=actor,
        action=action,
        target=entry,
        before=before,
        after={
            **(after or {}),
            "reference": entry.reference,
            "risk": entry.risk,
            "unit_id": entry.unit_id,
            "leader_id": entry.resolution_leader_id,
        },
    )


async def create_entry(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: schemas.EntryCreate
) -> LedgerEntry:
    today = ctx.today()
    if actor is not None and actor.role not in WRITERS:
        raise Forbidden(f"{role_label(actor.role)}不能建账")
    if data.found_on > today:
        raise InvalidInput("发现日期晚于今天", field="found_on")
    if data.target_on < data.found_on:
        raise InvalidInput("化解期限早于发现日期", field="target_on")
    if data.review_on is not None and data.review_on < data.found_on:
        raise InvalidInput("复核日期早于发现日期", field="review_on")
    domain = await _domain(session, data.domain)
    await unit_in_scope(session, actor, data.found_by_unit_id, "found_by_unit_id")
    await unit_in_scope(session, actor, data.unit_id, "unit_id")
    await _leader(session, data.stability_leader_id, "stability_leader_id")
    await _leader(session, data.resolution_leader_id, "resolution_leader_id")
    _check_risk(ctx, data.risk, data.people_count, data.amount_disputed)
    people = _parties(data.parties, today)
    review_on = data.review_on or await _review_day(session, ctx, today, data.risk)
    year = data.found_on.year
    seq = await next_in_counter(session, LedgerCounter, year=year)
    entry = LedgerEntry(
        reference=f"{ctx.settings.ledger_ref_prefix}〔{year}〕{seq:05d}",
        ref_year=year,
        ref_seq=seq,
        found_on=data.found_on,
        found_by_unit_id=data.found_by_unit_id,
        how_found=data.how_found,
        domain_code=domain.code,
        summary=data.summary,
        people_count=max(data.people_count, len(people)),
        amount_disputed=data.amount_disputed,
        risk=data.risk,
        unit_id=data.unit_id,
        stability_leader_id=data.stability_leader_id,
        resolution_leader_id=data.resolution_leader_id,
        plan=data.plan,
        target_on=data.target_on,
        review_on=review_on,
        created_by_user_id=actor.user_id if actor else None,
        created_by_name=audit.actor_name(actor),
    )
    session.add(entry)
    await session.flush()
    if entry.id is None:
        raise Broken("expected: entry.id is not None")
    rows = [
        (
            LedgerParty(
                entry_id=entry.id,
                position=i,
                name=who.name,
                id_number_index=pii.blind_id_number(ctx.keys, who.id_number),
                phone_index=pii.blind_phone(ctx.keys, who.phone),
            ),
            who,
        )
        for i, who in enumerate(people)
    ]
    session.add_all([row for row, _ in rows])
    await session.flush()
    for row, who in rows:
        pii.seal(ctx.keys, row, id_number_sealed=who.id_number, phone_sealed=who.phone)
    await _record(session, actor, entry, "opened", data.found_on, after=_facts(entry, FACTS))
    return entry


# ---------------------------------------------------------------- the list


@dataclass(frozen=True)
class Filters:
    status: str | None = "open"
    domain: str | None = None
    risk: str | None = None
    unit_id: int | None = None
    overdue: bool | None = None
    leader_id: int | None = None
    found_from: date | None = None
    found_to: date | None = None
    q: str | None = None


async def _filtered(
    session: AsyncSession, principal: Principal | None, f: Filters, today: date
) -> Any:
    query = select(LedgerEntry).where(entry_scope(principal))
    if f.status:
        query = query.where(col(LedgerEntry.status) == f.status)
    if f.domain:
        query = query.where(col(LedgerEntry.domain_code) == f.domain)
    if f.risk:
        query = query.where(col(LedgerEntry.risk) == f.risk)
    if f.unit_id is not None:
        unit = await session.get(Unit, f.unit_id)
        if unit is None:
            raise InvalidInput(f"单位 {f.unit_id} 不存在", field="unit_id")
        query = query.where(col(LedgerEntry.unit_id).in_(subtree_ids(unit.path)))
    if f.overdue is not None:
        clause = rules.review_overdue(LedgerEntry, today)
        query = query.where(clause if f.overdue else ~clause)
    if f.leader_id is not None:
        query = query.where(
            or_(
                col(LedgerEntry.stability_leader_id) == f.leader_id,
                col(LedgerEntry.resolution_leader_id) == f.leader_id,
            )
        )
    if f.found_from is not None:
        query = query.where(col(LedgerEntry.found_on) >= f.found_from)
    if f.found_to is not None:
        query = query.where(col(LedgerEntry.found_on) <= f.found_to)
    if f.q:
        query = query.where(col(LedgerEntry.reference).contains(f.q.strip()))
    return query


async def list_entries(
    *,
    session: AsyncSession,
    principal: Principal | None,
    today: date,
    filters: Filters,
    limit: int,
    offset: int,
) -> tuple[list[LedgerEntry], int]:
    query = await _filtered(session, principal, filters, today)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(col(LedgerEntry.review_on), col(LedgerEntry.id)).limit(limit).offset(offset)
    )
    return list(rows.all()), total


@dataclass
class Names:
    units: dict[int, Unit]
    leaders: dict[int, Leader]
    domains: dict[str, str]
    parties: dict[int, int]


async def names_for(session: AsyncSession, entries: Sequence[LedgerEntry]) -> Names:
    """The units, leaders, domains and party counts a list of entries shows (4 statements)."""
    unit_ids = {e.unit_id for e in entries} | {e.found_by_unit_id for e in entries}
    leader_ids = {e.stability_leader_id for e in entries} | {
        e.resolution_leader_id for e in entries
    }
    ids = [e.id for e in entries]
    units = {
        u.id or 0: u for u in await session.scalars(select(Unit).where(col(Unit.id).in_(unit_ids)))
    }
    leaders = {
        x.id or 0: x
        for x in await session.scalars(select(Leader).where(col(Leader.id).in_(leader_ids)))
    }
    domains = {c.code: c.name for c in await session.scalars(select(CaseCategory))}
    parties = {
        entry_id: int(n)
        for entry_id, n in (
            await session.execute(
                select(LedgerParty.entry_id, func.count())
                .where(col(LedgerParty.entry_id).in_(ids))
                .group_by(col(LedgerParty.entry_id))
            )
        ).all()
    }
    return Names(units, leaders, domains, parties)


def summary_of(entry: LedgerEntry, names: Names, today: date) -> schemas.EntrySummary:
    if entry.id is None:
        raise Broken("expected: entry.id is not None")
    unit = names.units.get(entry.unit_id)
    found_by = names.units.get(entry.found_by_unit_id)
    stability = names.leaders.get(entry.stability_leader_id)
    resolution = names.leaders.get(entry.resolution_leader_id)
    return schemas.EntrySummary(
        id=entry.id,
        reference=entry.reference,
        found_on=entry.found_on,
        found_by_unit=found_by.name if found_by else "",
        how_found=entry.how_found,
        domain=entry.domain_code,
        domain_name=names.domains.get(entry.domain_code, entry.domain_code),
        summary=entry.summary,
        risk=entry.risk,
        risk_label=rules.RISK_LABELS[entry.risk],
        people_count=entry.people_count,
        amount_disputed=entry.amount_disputed,
        amount_recovered=entry.amount_recovered,
        unit_id=entry.unit_id,
        unit_name=unit.name if unit else "",
        stability_leader=stability.name if stability else "",
        resolution_leader=resolution.name if resolution else "",
        target_on=entry.target_on,
        review_on=entry.review_on,
        overdue=bool(rules.review_overdue(entry, today)),
        status=entry.status,
        status_label=rules.STATUS_LABELS[entry.status],
        closed_on=entry.closed_on,
        case_id=entry.case_id,
        parties=names.parties.get(entry.id, 0),
    )


async def summaries(
    session: AsyncSession, entries: Sequence[LedgerEntry], today: date
) -> list[schemas.EntrySummary]:
    names = await names_for(session, entries)
    return [summary_of(e, names, today) for e in entries]


# ---------------------------------------------------------------- one entry


def _party_out(keys: Keyring, row: LedgerParty, whole: bool) -> schemas.PartyOut:
    id_number, phone = pii.opened(keys, row, "id_number_sealed", "phone_sealed")
    if whole:
        return schemas.PartyOut(row.name, id_number, phone)
    return schemas.PartyOut(mask_name(row.name), mask_id_number(id_number), mask_phone(phone))


async def parties_of(keys: Keyring, session: AsyncSession, entry_id: int) -> list[Identity]:
    rows = await session.scalars(
        select(LedgerParty)
        .where(LedgerParty.entry_id == entry_id)
        .order_by(col(LedgerParty.position))
    )
    out = []
    for row in rows:
        id_number, phone = pii.opened(keys, row, "id_number_sealed", "phone_sealed")
        out.append(Identity(name=row.name, id_number=id_number, phone=phone))
    return out


def may_check_in(principal: Principal | None, entry: LedgerEntry, unit: Unit) -> bool:
    """The 稳控责任人 himself, or whoever keeps the entry (for him)."""
    mine = (
        principal is not None
        and principal.role == "leader"
        and principal.leader_id == entry.stability_leader_id
    )
    return bool(rules.needs_check_in(entry)) and (mine or keeps(principal, unit))


async def detail_of(
    *, session: AsyncSession, ctx: Context, principal: Principal | None, entry: LedgerEntry
) -> schemas.EntryDetail:
    if entry.id is None:
        raise Broken("expected: entry.id is not None")
    today = ctx.today()
    moves = list(
        await session.scalars(
            select(LedgerMove)
            .where(LedgerMove.entry_id == entry.id)
            .order_by(col(LedgerMove.on), col(LedgerMove.id))
        )
    )
    names = await names_for(session, [entry])
    extra_units = {m.from_unit_id for m in moves} | {m.to_unit_id for m in moves}
    extra_units -= set(names.units) | {None}
    for u in await session.scalars(select(Unit).where(col(Unit.id).in_(extra_units))):
        names.units[u.id or 0] = u
    unit = names.units[entry.unit_id]
    whole = shows_whole(principal, unit_path=unit.path)
    party_rows = list(
        await session.scalars(
            select(LedgerParty)
            .where(LedgerParty.entry_id == entry.id)
            .order_by(col(LedgerParty.position))
        )
    )
    if whole and party_rows:
        shown_whole("ledger_entry", entry.id, ("name", "id_number", "phone"))
    check_ins = await session.scalars(
        select(LedgerCheckIn)
        .where(LedgerCheckIn.entry_id == entry.id)
        .order_by(col(LedgerCheckIn.day).desc(), col(LedgerCheckIn.id).desc())
        .limit(60)
    )
    case_reference = ""
    if entry.case_id is not None:
        case_reference = (
            await session.scalar(
                select(PetitionCase.reference).where(PetitionCase.id == entry.case_id)
            )
            or ""
        )
    base = summary_of(entry, names, today)

    def unit_name(unit_id: int | None) -> str:
        return names.units[unit_id].name if unit_id in names.units else ""

    return schemas.EntryDetail(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        plan=entry.plan,
        resolve_method=entry.resolve_method,
        case_reference=case_reference,
        parties_shown=[_party_out(ctx.keys, p, whole) for p in party_rows],
        masked=not whole,
        moves=[
            schemas.MoveOut(
                kind=m.kind,
                label=rules.MOVE_LABELS[m.kind],
                on=m.on,
                at=m.at.astimezone(ctx.tz),
                actor_name=m.actor_name,
                note=m.note,
                from_unit=unit_name(m.from_unit_id),
                to_unit=unit_name(m.to_unit_id),
                changes={
                    k: [(m.before or {}).get(k), v]
                    for k, v in (m.after or {}).items()
                    if m.before is not None and (m.before or {}).get(k) != v
                },
            )
            for m in moves
        ],
        check_ins=[
            schemas.CheckInOut(
                day=c.day,
                state=c.state,
                state_label=rules.CHECK_STATE_LABELS[c.state],
                note=c.note,
                by_name=c.by_name,
                at=c.at.astimezone(ctx.tz),
            )
            for c in check_ins
        ],
        allowed_moves=rules.allowed_moves(entry.status) if keeps(principal, unit) else [],
        may_check_in=may_check_in(principal, entry, unit),
        version=entry.version,
    )


# ---------------------------------------------------------------- moves


@dataclass(frozen=True)
class Moved:
    entry: LedgerEntry
    case: PetitionCase | None = None
    candidates: list[case_schemas.RepeatCandidate] | None = None


async def _last_step(session: AsyncSession, entry: LedgerEntry) -> date:
    last = await session.scalar(
        select(func.max(LedgerMove.on)).where(LedgerMove.entry_id == entry.id)
    )
    return max(last or entry.found_on, entry.found_on)


async def move(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    entry_id: int,
    data: schemas.MoveIn,
    if_match: str | None = None,
) -> Moved:
    entry = await get_entry(session=session, principal=actor, entry_id=entry_id, for_update=True)
    unit = await session.get(Unit, entry.unit_id)
    if unit is None:
        raise Broken("expected: the entry's unit exists")
    may_keep(actor, unit)
    require_match(entry_etag(entry), if_match, f"台账{entry.reference}")
    status = rules.next_move(entry.status, data.move)
    if status is None:
        raise Conflict(
            f"台账{entry.reference}{rules.STATUS_LABELS[entry.status]},不能再{rules.MOVE_LABELS[data.move]}"
        )
    today = ctx.today()
    on = data.on or today
    if on > today:
        raise InvalidInput(f"{on.isoformat()} 晚于今天", field="on")
    last = await _last_step(session, entry)
    if on < last:
        raise InvalidInput(f"{on.isoformat()} 早于上一步({last.isoformat()})", field="on")
    names = [
        "risk",
        "review_on",
        "unit_id",
        "stability_leader_id",
        "resolution_leader_id",
        "status",
        "closed_on",
        "resolve_method",
        "amount_recovered",
        "case_id",
    ]
    before = _facts(entry, names)
    from_unit = to_unit = None
    case: PetitionCase | None = None
    candidates: list[case_schemas.RepeatCandidate] | None = None
    needs_note = {"follow_up": "跟进情况", "escalate": "升级原因"}
    if data.move in needs_note and not data.note.strip():
        raise InvalidInput(f"请填写{needs_note[data.move]}", field="note")
    if data.move == "follow_up":
        if data.risk is not None:
            _check_risk(ctx, data.risk, entry.people_count, entry.amount_disputed)
            entry.risk = data.risk
        review_on = data.review_on or await _review_day(session, ctx, on, entry.risk)
        if review_on < on:
            raise InvalidInput("下次复核日期早于本次跟进", field="review_on")
        entry.review_on = review_on
    elif data.move == "reassign":
        if data.stability_leader_id is None and data.resolution_leader_id is None:
            raise InvalidInput("请选择新的稳控责任人或化解责任人", field="stability_leader_id")
        if data.stability_leader_id is not None:
            await _leader(session, data.stability_leader_id, "stability_leader_id")
            entry.stability_leader_id = data.stability_leader_id
        if data.resolution_leader_id is not None:
            await _leader(session, data.resolution_leader_id, "resolution_leader_id")
            entry.resolution_leader_id = data.resolution_leader_id
    elif data.move == "escalate":
        if unit.parent_id is None:
            raise InvalidInput(f"{unit.name}已是最高一级,无法再升级", field="move")
        parent = await session.get(Unit, unit.parent_id)
        if parent is None:
            raise Broken("expected: the parent unit exists")
        from_unit, to_unit = unit.id, parent.id
        entry.unit_id = parent.id or 0
        entry.review_on = await _review_day(session, ctx, on, entry.risk)
        if data.stability_leader_id is not None:
            await _leader(session, data.stability_leader_id, "stability_leader_id")
            entry.stability_leader_id = data.stability_leader_id
        if data.resolution_leader_id is not None:
            await _leader(session, data.resolution_leader_id, "resolution_leader_id")
            entry.resolution_leader_id = data.resolution_leader_id
    elif data.move == "resolve":
        if data.method is None:
            raise InvalidInput(
                "请选择化解方式(调解协议、司法确认、行政处理、诉讼引导…)", field="method"
            )
        entry.resolve_method = data.method
        entry.amount_recovered = data.amount_recovered or 0
        entry.status, entry.closed_on = status, on
    elif data.move == "convert":
        parties = await parties_of(ctx.keys, session, entry.id or 0)
        done = await registration.register(
            session=session,
            ctx=ctx,
            actor=actor,
            data=case_schemas.CaseCreate(
                petitioners=[
                    case_schemas.PetitionerIn(name=p.name, id_number=p.id_number, phone=p.phone)
                    for p in parties
                ],
                channel=data.channel or "visit",
                category=entry.domain_code,
                summary=entry.summary,
                unit_id=entry.unit_id,
                received_on=on,
                people_count=entry.people_count,
                repeat_of=data.repeat_of,
                on=on,
            ),
        )
        case, candidates = done.case, done.candidates
        entry.case_id = case.id
        entry.status, entry.closed_on = status, on
    entry.version += 1
    entry.updated_at = now_of(session)
    after = _facts(entry, names)
    await _record(
        session,
        actor,
        entry,
        data.move,
        on,
        note=data.note.strip(),
        before={k: v for k, v in before.items() if after.get(k) != v},
        after={k: v for k, v in after.items() if before.get(k) != v},
        from_unit_id=from_unit,
        to_unit_id=to_unit,
    )
    return Moved(entry, case, candidates)


async def entry_of_case(
    *, session: AsyncSession, principal: Principal | None, case_id: int
) -> LedgerEntry | None:
    """The ledger entry a petition case came from (the case page's 台账 section): the entry the
    caller may read, if any (the case itself is 404 outside the caller's scope)."""
    await get_case(session=session, case_id=case_id, principal=principal)
    entry: LedgerEntry | None = await session.scalar(
        select(LedgerEntry).where(LedgerEntry.case_id == case_id, entry_scope(principal))
    )
    return entry
