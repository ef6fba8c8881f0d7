"""One demo case walked through the stages its age allows, as the 2020 office did."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reception.cases import schemas as cs
from reception.cases import service
from reception.context import Context
from reception.documents import schemas as ds
from reception.documents import service as documents

# The 2020 report's office: replies late for 1.3%, nine petitioners in ten rate the reply,
# 92.49% satisfied or basically satisfied.
LATE_REPLY_SHARE = 0.013
SATISFACTION_WEIGHTS: list[tuple[str, float]] = [
    ("satisfied", 71),
    ("basically_satisfied", 22),
    ("dissatisfied", 7),
]
PARTICIPATION = 0.9


def _pick_weighted(rng: random.Random, shares: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in shares], weights=[w for _, w in shares])[0]


@dataclass
class _Walk:
    """One case walked through its stages by the demo's office (the command line acts)."""

    rng: random.Random
    session: AsyncSession
    ctx: Context
    case_id: int

    async def act(self, action: str, on: date, **extra: Any) -> bool:
        if on > self.ctx.today():
            return False
        await service.transition(
            session=self.session,
            ctx=self.ctx,
            actor=None,
            case_id=self.case_id,
            data=cs.Transition(action=action, on=on, **extra),  # type: ignore[arg-type]
        )
        return True

    async def notice(self, kind: str, on: date, **extra: Any) -> None:
        await documents.issue(
            session=self.session,
            ctx=self.ctx,
            actor=None,
            case_id=self.case_id,
            data=ds.DocumentIssue(kind=kind, on=on, **extra),  # type: ignore[arg-type]
        )

    def delivery(self, plan: str, replied: date) -> cs.DeliveryIn | None:
        """How the reply reached the petitioner (none, late on purpose, or within 3 days):
        handed over at the office, or mailed by registered post, or sent to the account the
        petitioner consented to (网上信访)."""
        if plan == "none":
            return None
        method = "mail" if plan == "late" else self.rng.choice(["direct", "mail", "electronic"])
        on = replied + (
            timedelta(days=21) if plan == "late" else timedelta(days=self.rng.randint(0, 3))
        )
        return cs.DeliveryIn(
            method=method,
            on=min(on, self.ctx.today()),
            place="区信访局接待大厅" if method == "direct" else "",
            recipient="信访人本人" if method != "mail" else "信访人本人(邮件签收)",
            mail_number=f"1190{self.case_id:09d}" if method == "mail" else "",
            consent="网上信访平台注册时签署电子送达同意书" if method == "electronic" else "",
        )

    async def reply(
        self, replied: date, delivered: cs.DeliveryIn | None, notices: tuple[str, str, str] | None
    ) -> bool:
        """The 处理意见书 (issued as a document in the last months, with its 送达), or a
        reply recorded by its number."""
        if notices and replied <= self.ctx.today():
            facts, basis, decision = notices
            await self.notice(
                "reply_opinion",
                replied,
                facts=facts,
                basis=basis,
                decision=decision,
                delivery=delivered,
            )
            return True
        number = f"蓟信复〔{replied.year}〕{self.case_id:04d}号"
        return await self.act("reply", replied, doc_number=number, delivery=delivered)

    async def evaluate(self, delivered: date) -> None:
        """参评 after the written reply reached the petitioner (nine in ten)."""
        evaluate_on = delivered + timedelta(days=self.rng.randint(1, 10))
        if evaluate_on <= self.ctx.today() and self.rng.random() < PARTICIPATION:
            satisfaction = _pick_weighted(self.rng, SATISFACTION_WEIGHTS)
            await service.set_evaluation(
                session=self.session,
                ctx=self.ctx,
                actor=None,
                case_id=self.case_id,
                data=cs.EvaluationPut(satisfaction=satisfaction, on=evaluate_on),  # type: ignore[arg-type]
            )

    async def resolve(self, replied: date) -> None:
        resolve_on = replied + timedelta(days=self.rng.randint(0, 20))
        if resolve_on <= self.ctx.today() and self.rng.random() < 0.85:
            await service.set_resolution(
                session=self.session,
                ctx=self.ctx,
                actor=None,
                case_id=self.case_id,
                data=cs.ResolutionPut(
                    resolution="resolved" if self.rng.random() < 0.8 else "ceased",
                    on=resolve_on,
                    method=self.rng.choice(
                        ["调解达成协议", "依法依规解决诉求", "帮扶救助", "政策解释息诉"]
                    ),
                    evidence=f"化解协议 {self.case_id:05d}",
                ),
            )


async def advance_case(
    rng: random.Random,
    session: AsyncSession,
    ctx: Context,
    case_id: int,
    registered: date,
    delivery: str = "normal",
    notices: tuple[str, str, str] | None = None,
) -> None:
    """Walk a case through the stages its age allows, as the 2020 office did: accepted within
    a week, replied within the 60 days (1.5% late), delivered within three days, evaluated
    after delivery by nine petitioners in ten, mostly resolved, closed."""
    walk = _Walk(rng, session, ctx, case_id)
    accepted = registered + timedelta(days=rng.randint(1, 7))
    if not await walk.act("accept", accepted):
        return
    if notices:
        await walk.notice("accept_notice", accepted)
    if rng.random() < 0.004:
        return  # still being handled past its 60 days: overdue (超期办理)
    late = rng.random() < LATE_REPLY_SHARE
    replied = accepted + timedelta(days=rng.randint(63, 75) if late else rng.randint(15, 55))
    if delivery == "late":
        # Delivered three weeks after a reply made near the end of the 60 days.
        replied = accepted + timedelta(days=55)
    served = walk.delivery(delivery, replied)
    if not await walk.reply(replied, served, notices):
        return
    delivered = served.on if served else None
    if delivered is not None:
        await walk.evaluate(delivered)
    await walk.resolve(replied)
    if delivered is not None:
        await walk.act("close", max(replied + timedelta(days=rng.randint(35, 45)), delivered))
