"""网格员代办: filing (the grid worker, for a petitioner of his village, with consent), the
township's registration (through the cases' own registration: the repeat check, the clocks
from the day the worker received it) or return, what the worker sees of his matter's progress,
and the rating slip. Every step audited; a new filing tells the township's group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, true
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from reception import pii
from reception.audit import service as audit
from reception.audit.service import actor_name
from reception.auth import Principal
from reception.cases import access as case_access
from reception.cases import query_code, registration, workflow
from reception.cases import schemas as case_schemas
from reception.cases.models import CaseCategory, CaseClock, PetitionCase
from reception.cases.timeline import effective_date
from reception.context import Context
from reception.db import get_in_scope, next_in_counter, now_of
from reception.errors import Broken, Conflict, Forbidden, InvalidInput
from reception.etags import etag, require_match
from reception.org.access import READ_ALL, ancestor_ids, reach_clause, subtree_ids
from reception.org.models import Unit
from reception.petitioner import checked
from reception.privacy import mask_name, shown_whole, shows_whole
from reception.proxy import rules, schemas
from reception.proxy.models import ProxyCounter, ProxyFiling

SEALED_FIELDS = ("id_number_sealed", "phone_sealed", "address_sealed")
# A grid worker files what he received within this many days (the clocks start that day).
RECEIVED_WITHIN_DAYS = 30


def filing_scope(principal: Principal | None) -> ColumnElement[bool]:
    """The filings a caller reads: a grid worker his own only; a clerk those of the villages
    in his subtree; reviewers and admins all."""
    if principal is None or principal.role in READ_ALL:
        return true()
    if principal.role == "grid":
        return col(ProxyFiling.worker_user_id) == principal.user_id
    if principal.role == "clerk":
        return reach_clause(principal, col(ProxyFiling.village_id))
    return false()


def filing_etag(f: ProxyFiling) -> str:
    return etag("proxy", f.id, f"v{f.version}")


async def _village(session: AsyncSession, actor: Principal | None) -> Unit:
    if actor is None or actor.role != "grid" or actor.unit_id is None:
        raise Forbidden("代办登记由网格员本人填写")
    village = await session.get(Unit, actor.unit_id)
    if village is None or village.kind != "village":
        raise Broken("expected: a grid worker bound to a village")
    return village


async def file(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, data: schemas.FilingIn
) -> ProxyFiling:
    """代办登记: the petitioner's matter, their identity (sealed) and how they consented."""
    village = await _village(session, actor)
    today = ctx.today()
    received_on = effective_date(ctx, data.received_on, field="received_on")
    if received_on < today - timedelta(days=RECEIVED_WITHIN_DAYS):
        # The clocks run from this day: an old matter is the township's to enter (补录), with
        # the dates it can vouch for.
        raise InvalidInput(
            f"收到日期早于{RECEIVED_WITHIN_DAYS}天前:请交乡镇(街道)信访办补录", field="received_on"
        )
    consented_on = effective_date(ctx, data.consented_on or received_on, field="consented_on")
    if consented_on < received_on:
        raise InvalidInput("同意代办的日期不能早于收到日期", field="consented_on")
    who = checked(data.name, data.id_number, data.phone, today=today)
    if not (who.id_number or who.phone):
        raise InvalidInput(
            "请至少填写身份证号或联系电话,乡镇登记时要核对是否重复信访", field="phone"
        )
    await registration.ensure_default_categories(session=session)
    category = await session.get(CaseCategory, data.category)
    if category is None or not category.active:
        raise InvalidInput(f"没有类别 {data.category}", field="category")
    seq = await next_in_counter(session, ProxyCounter, year=received_on.year)
    filing = ProxyFiling(
        reference=f"{ctx.settings.case_ref_prefix}代〔{received_on.year}〕{seq:05d}",
        ref_year=received_on.year,
        ref_seq=seq,
        village_id=village.id or 0,
        worker_user_id=actor.user_id if actor else None,
        worker_name=actor_name(actor),
        received_on=received_on,
        name=who.name,
        id_number_index=pii.blind_id_number(ctx.keys, who.id_number),
        phone_index=pii.blind_phone(ctx.keys, who.phone),
        people_count=data.people_count,
        category_code=category.code,
        summary=data.summary.strip(),
        consent=data.consent,
        consented_on=consented_on,
        consent_note=data.consent_note.strip(),
    )
    session.add(filing)
    await session.flush()
    pii.seal(
        ctx.keys, filing,
        id_number_sealed=who.id_number, phone_sealed=who.phone, address_sealed=data.address.strip(),
    )  # fmt: skip
    await audit.record(
        session=session, actor=actor, action="proxy.filed", target_type="proxy_filing",
        target_id=filing.id,
        # The township's group is told (its unit), never who the petitioner is.
        after={"reference": filing.reference, "village_id": village.id,
               "unit_id": village.parent_id, "received_on": received_on.isoformat()},
    )  # fmt: skip
    return filing


async def get_filing(
    *, session: AsyncSession, principal: Principal | None, filing_id: int, for_update: bool = False
) -> ProxyFiling:
    filing: ProxyFiling = await get_in_scope(
        session, ProxyFiling, filing_id, filing_scope(principal),
        missing=f"代办事项 {filing_id} 不存在", for_update=for_update,
    )  # fmt: skip
    return filing


async def list_filings(
    *,
    session: AsyncSession,
    principal: Principal | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ProxyFiling], int]:
    query = select(ProxyFiling).where(filing_scope(principal))
    if status:
        query = query.where(ProxyFiling.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(col(ProxyFiling.received_on).desc(), col(ProxyFiling.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), total


async def sees_whole(
    session: AsyncSession, principal: Principal | None, filing: ProxyFiling
) -> bool:
    """The petitioner's data whole (the one visibility policy, `privacy.shows_whole`): while the
    filing waits for the township (or came back), the grid worker who filed it and the clerks
    whose subtree holds the village; once registered, whoever sees the case whole — its
    current unit's clerks — and no longer the grid worker (he follows the progress, and his
    slip needs no identity)."""
    if filing.status == "registered" and filing.case_id is not None:
        case = await session.get(PetitionCase, filing.case_id)
        unit = await session.get(Unit, case.unit_id) if case else None
        return unit is not None and shows_whole(principal, unit_path=unit.path)
    if principal is not None and principal.role == "grid":
        return filing.worker_user_id == principal.user_id
    village = await session.get(Unit, filing.village_id)
    return village is not None and shows_whole(principal, unit_path=village.path)


def _may_handle(principal: Principal | None, village: Unit) -> None:
    if not case_access.handles(principal, village):
        raise Forbidden("代办事项由村所在乡镇(街道)的信访干部登记")


@dataclass(frozen=True)
class Handled:
    filing: ProxyFiling
    case: PetitionCase | None = None
    candidates: list[case_schemas.RepeatCandidate] | None = None


async def _for_change(
    session: AsyncSession, actor: Principal | None, filing_id: int, if_match: str | None
) -> tuple[ProxyFiling, Unit]:
    filing = await get_filing(
        session=session, principal=actor, filing_id=filing_id, for_update=True
    )
    require_match(filing_etag(filing), if_match, f"代办事项{filing.reference}")
    village = await session.get(Unit, filing.village_id)
    if village is None:
        raise Broken("expected: the filing's village")
    _may_handle(actor, village)
    if filing.status != "filed":
        raise Conflict(f"{filing.reference} {rules.STATUS_LABELS[filing.status]}")
    return filing, village


async def register(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    filing_id: int,
    data: schemas.RegisterIn,
    if_match: str | None = None,
) -> Handled:
    """The township registers the filing as a petition (channel 网格员代办): the repeat check
    is run, its clocks start from the day the grid worker received it."""
    filing, village = await _for_change(session, actor, filing_id, if_match)
    id_number, phone, address = pii.opened(ctx.keys, filing, *SEALED_FIELDS)
    done = await registration.register(
        session=session,
        ctx=ctx,
        actor=actor,
        data=case_schemas.CaseCreate(
            petitioners=[
                case_schemas.PetitionerIn(
                    name=filing.name, id_number=id_number, phone=phone, address=address
                )
            ],
            channel="grid_proxy",
            category=filing.category_code,
            summary=filing.summary,
            unit_id=data.unit_id or village.parent_id or village.id or 0,
            received_on=filing.received_on,
            people_count=filing.people_count,
            repeat_of=data.repeat_of,
            on=data.on,
        ),
    )
    filing.status, filing.case_id = "registered", done.case.id
    await _done(session, actor, filing, "proxy.registered", done.case.registered_on)
    return Handled(filing, done.case, done.candidates)


async def send_back(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    filing_id: int,
    data: schemas.ReturnIn,
    if_match: str | None = None,
) -> Handled:
    """Not a petition matter (a dispute for the village's mediators, a request for a service):
    back to the grid worker with the reason."""
    filing, _ = await _for_change(session, actor, filing_id, if_match)
    filing.status, filing.return_reason = "returned", data.reason.strip()
    await _done(session, actor, filing, "proxy.returned", effective_date(ctx, data.on))
    return Handled(filing)


async def _done(
    session: AsyncSession, actor: Principal | None, filing: ProxyFiling, action: str, on: date
) -> None:
    filing.handled_on, filing.handled_by_name = on, actor_name(actor)
    filing.version += 1
    filing.updated_at = now_of(session)
    await session.flush()
    await audit.record(
        session=session, actor=actor, action=action, target_type="proxy_filing",
        target_id=filing.id,
        after={"reference": filing.reference, "status": filing.status,
               "case_id": filing.case_id, "on": on.isoformat()},
    )  # fmt: skip


# ---------------------------------------------------------------- reading


async def filings_out(
    session: AsyncSession, ctx: Context, principal: Principal | None, rows: list[ProxyFiling],
    *, whole: bool = False,
) -> list[schemas.FilingOut]:  # fmt: skip
    """Filings as the caller may read them: the petitioner whole only on one filing's own page
    for those handling it (`whole`), masked in lists; the case's progress in outline."""
    if not rows:
        return []
    villages = {
        u.id: u
        for u in await session.scalars(
            select(Unit).where(col(Unit.id).in_({f.village_id for f in rows}))
        )
    }
    cases = {
        c.id: c
        for c in await session.scalars(
            select(PetitionCase).where(
                col(PetitionCase.id).in_({f.case_id for f in rows if f.case_id})
            )
        )
    }
    out = []
    for f in rows:
        village = villages[f.village_id]
        shown = whole and await sees_whole(session, principal, f)
        id_number, phone, address = (
            pii.opened(ctx.keys, f, *SEALED_FIELDS) if shown else ("", "", "")
        )
        if shown:
            shown_whole("proxy_filing", f.id, ("name", "id_number", "phone", "address"))
        case = cases.get(f.case_id) if f.case_id else None
        out.append(
            schemas.FilingOut(
                id=f.id or 0,
                reference=f.reference,
                village=village.name,
                worker_name=f.worker_name,
                received_on=f.received_on,
                name=f.name if shown else mask_name(f.name),
                id_number=id_number,
                phone=phone,
                address=address,
                masked=not shown,
                people_count=f.people_count,
                category=f.category_code,
                summary=f.summary,
                consent=f.consent,
                consent_label=rules.CONSENT_LABELS[f.consent],
                consented_on=f.consented_on,
                consent_note=f.consent_note,
                status=f.status,
                status_label=rules.STATUS_LABELS[f.status],
                handled_on=f.handled_on,
                return_reason=f.return_reason,
                progress=_progress(case) if case else None,
            )
        )
    return out


def _progress(case: PetitionCase) -> schemas.Progress:
    """What a grid worker follows of his matter: the case's reference, its stage and the dates
    of its steps — not the handling's words, not anything of other matters."""
    return schemas.Progress(
        case_id=case.id or 0,
        reference=case.reference,
        stage=case.stage,
        stage_label=workflow.STAGE_LABELS[case.stage],
        registered_on=case.registered_on,
        accepted_on=case.accepted_on,
        replied_on=case.replied_on,
        delivered_on=case.delivered_on,
        closed_on=case.closed_on,
        rated=case.petitioner_satisfaction != "not_evaluated",
        rating_label=workflow.SATISFACTION_LABELS.get(case.petitioner_satisfaction, ""),
        may_rate=case.stage in rules.REPLIED_STAGES,
    )


async def slip(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, filing: ProxyFiling
) -> schemas.Slip:
    """The rating slip (评价提醒单): the public page and the query code for the petitioner, once
    the reply is out; printed by the grid worker who filed it (or the township's clerk)."""
    own = actor is not None and actor.role == "grid" and filing.worker_user_id == actor.user_id
    if not (own or await sees_whole(session, actor, filing)):
        raise Forbidden("评价提醒单由代办的网格员或承办单位的信访干部打印")
    case = await session.get(PetitionCase, filing.case_id) if filing.case_id else None
    if case is None or case.stage not in rules.REPLIED_STAGES:
        raise Conflict("答复出具后才能请信访人评价")
    code = query_code.read(ctx, case)
    if code is None:
        raise Conflict("这件信访事项没有查询码")
    await audit.record(
        session=session, actor=actor, action="proxy.slip", target_type="proxy_filing",
        target_id=filing.id, after={"reference": filing.reference, "case_id": case.id},
    )  # fmt: skip
    return schemas.Slip(
        reference=case.reference,
        public_url=f"{ctx.settings.public_url.rstrip('/')}/public",
        query_code=query_code.shown(code),
        replied_on=case.replied_on,
        rated=case.petitioner_satisfaction != "not_evaluated",
    )


async def review_rows(
    session: AsyncSession, *, root: Unit, first: date, last: date, as_of: date
) -> list[dict[str, Any]]:
    """The review's 网格员代办 per township under `root`: the month's matters registered by the
    as-of day that came by a grid worker, the days from the worker's receipt
    to registration, accepted on time, replied, and rated by the petitioner (by that day).
    Plain columns, each case counted once under its township."""
    accept = aliased(CaseClock)
    found = (
        await session.execute(
            core_select(
                col(Unit.path),
                col(PetitionCase.registered_on),
                col(PetitionCase.received_on),
                col(PetitionCase.replied_on),
                col(PetitionCase.petitioner_evaluated_on),
                col(PetitionCase.petitioner_satisfaction),
                col(accept.on_time),
                col(accept.met_on),
            )
            .join(Unit, col(Unit.id) == col(PetitionCase.unit_id))
            .outerjoin(
                accept,
                and_(col(accept.case_id) == col(PetitionCase.id), col(accept.kind) == "accept"),
            )
            .where(
                col(PetitionCase.channel) == "grid_proxy",
                col(PetitionCase.unit_id).in_(subtree_ids(root.path)),
                col(PetitionCase.registered_on) >= first,
                col(PetitionCase.registered_on) <= min(last, as_of),
            )
        )
    ).all()
    if not found:
        return []
    townships = list(
        await session.scalars(
            select(Unit).where(
                col(Unit.kind) == "township", col(Unit.id).in_(subtree_ids(root.path))
            )
        )
    )
    township_ids = {t.id for t in townships}
    counts: dict[int, dict[str, int]] = {}
    for path, registered, received, replied, evaluated, satisfaction, on_time, met in found:
        township = next((a for a in ancestor_ids(path) if a in township_ids), None)
        if township is None:
            continue
        c = counts.setdefault(township, dict.fromkeys(_PROXY_COUNTS, 0))
        c["matters"] += 1
        c["wait_days"] += (registered - received).days
        c["accepted_on_time"] += on_time is True and met is not None and met <= as_of
        if replied is not None and replied <= as_of:
            c["replied"] += 1
            if evaluated is not None and evaluated <= as_of:
                c["rated"] += 1
                c["satisfied"] += satisfaction in ("satisfied", "basically_satisfied")
    rows = [
        {
            "unit_id": t.id,
            "unit_name": t.name,
            "matters": n["matters"],
            "days_to_register": round(n["wait_days"] / n["matters"], 1),
            "accepted_on_time": n["accepted_on_time"],
            "replied": n["replied"],
            "rated": n["rated"],
            "satisfied": n["satisfied"],
        }
        for t in townships
        if (n := counts.get(t.id or 0)) is not None
    ]
    return sorted(rows, key=lambda r: -int(r["matters"]))


_PROXY_COUNTS = ("matters", "wait_days", "accepted_on_time", "replied", "rated", "satisfied")
