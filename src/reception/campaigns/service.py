"""积案化解专项: a set of cases with dated targets (32% → 80% → 100%), and its progress as of a
day: resolved ÷ total, with "resolved" the cases domain's own rule."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date

from sqlalchemy import case as sql_case
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.campaigns import schemas
from reception.campaigns.models import Campaign, CampaignCase, CampaignTarget
from reception.cases.access import case_scope
from reception.cases.models import PetitionCase
from reception.cases.workflow import resolved_as_of
from reception.errors import Broken, InvalidInput, NotFound
from reception.expr import where


async def create_campaign(
    *, session: AsyncSession, actor: Principal | None, data: schemas.CampaignCreate
) -> Campaign:
    dues = [t.due_on for t in data.targets]
    if len(set(dues)) != len(dues):
        raise InvalidInput("两个目标不能在同一天", field="targets")
    ordered = sorted(data.targets, key=lambda t: t.due_on)
    if any(a.percent > b.percent for a, b in itertools.pairwise(ordered)):
        raise InvalidInput("后一个目标不能低于前一个目标", field="targets")
    campaign = Campaign(name=data.name, description=data.description)
    session.add(campaign)
    await session.flush()
    if campaign.id is None:
        raise Broken("expected: campaign.id is not None")
    for t in ordered:
        session.add(CampaignTarget(campaign_id=campaign.id, due_on=t.due_on, percent=t.percent))
    await session.flush()
    if data.case_ids:
        await add_campaign_cases(
            session=session, actor=actor, campaign_id=campaign.id, case_ids=data.case_ids
        )
    await audit.changed(
        session=session,
        actor=actor,
        action="campaign.create",
        target=campaign,
        after={
            "name": data.name,
            "targets": [[t.due_on.isoformat(), t.percent] for t in ordered],
            "case_ids": sorted(set(data.case_ids)),
        },
    )
    return campaign


async def add_campaign_cases(
    *, session: AsyncSession, actor: Principal | None, campaign_id: int, case_ids: Sequence[int]
) -> None:
    if await session.get(Campaign, campaign_id) is None:
        raise NotFound(f"专项 {campaign_id} 不存在")
    wanted = sorted(set(case_ids))
    query = select(PetitionCase.id).where(col(PetitionCase.id).in_(wanted))
    if actor is not None:
        query = query.where(case_scope(actor))
    found = set((await session.scalars(query)).all())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(f"这些信访事项不存在:{'、'.join(map(str, missing))}", field="case_ids")
    present = set(
        (
            await session.scalars(
                select(CampaignCase.case_id).where(CampaignCase.campaign_id == campaign_id)
            )
        ).all()
    )
    for case_id in wanted:
        if case_id not in present:
            session.add(CampaignCase(campaign_id=campaign_id, case_id=case_id))
    await session.flush()


async def campaign_progress(
    *, session: AsyncSession, campaign_id: int, as_of: date
) -> schemas.CampaignProgress:
    """Resolved ÷ total as of a date, against the target in force (the latest one due)."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"专项 {campaign_id} 不存在")
    resolved_by = where(resolved_as_of, PetitionCase, as_of)
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(sql_case((resolved_by, 1), else_=0)), 0),
            )
            .select_from(CampaignCase)
            .join(PetitionCase, col(PetitionCase.id) == col(CampaignCase.case_id))
            .where(CampaignCase.campaign_id == campaign_id)
        )
    ).one()
    total, resolved = int(row[0]), int(row[1])
    targets = [
        schemas.TargetOut(t.due_on, t.percent)
        for t in await session.scalars(
            select(CampaignTarget)
            .where(CampaignTarget.campaign_id == campaign_id)
            .order_by(col(CampaignTarget.due_on))
        )
    ]
    in_force = [t for t in targets if t.due_on <= as_of]
    upcoming = [t for t in targets if t.due_on > as_of]
    target = in_force[-1] if in_force else None
    share = resolved / total if total else None
    on_track = None if target is None or share is None else share * 100 >= target.percent
    if share is None:
        status = "no cases"
    elif target is None:
        status = "no target due yet"
    else:
        status = "on track" if on_track else "behind"
    if campaign.id is None:
        raise Broken("expected: campaign.id is not None")
    return schemas.CampaignProgress(
        id=campaign.id,
        name=campaign.name,
        description=campaign.description,
        as_of=as_of,
        total=total,
        resolved=resolved,
        share=round(share, 4) if share is not None else None,
        target_in_force=target,
        next_target=upcoming[0] if upcoming else None,
        on_track=on_track,
        status=status,
        targets=targets,
    )


async def all_progress(*, session: AsyncSession, as_of: date) -> list[schemas.CampaignProgress]:
    campaigns = await session.scalars(select(Campaign).order_by(col(Campaign.id)))
    return [
        await campaign_progress(session=session, campaign_id=c.id or 0, as_of=as_of)
        for c in campaigns
    ]
