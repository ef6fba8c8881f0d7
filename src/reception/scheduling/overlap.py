"""A leader is never in two places at once: the message side of the database's guard.

The guard itself is the database's (PostgreSQL: an exclusion constraint over the leader and
tstzrange(starts_at, ends_at) of live sessions; SQLite: triggers, under BEGIN IMMEDIATE — see
the migration). Here a clash is found first to name the other session in a 409, and a clash
the database refused (a concurrent writer won) becomes the same 409.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.context import Context
from reception.db import flush_refused
from reception.errors import Conflict
from reception.scheduling.models import ReceptionSession
from reception.wording import chinese_date

# The name of the database's no-overlap guard (exclusion constraint / SQLite trigger message).
OVERLAP_GUARD = "no_overlap"


async def find_clash(
    *,
    session: AsyncSession,
    leader_id: int,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
) -> ReceptionSession | None:
    query = select(ReceptionSession).where(
        ReceptionSession.leader_id == leader_id,
        ReceptionSession.status != "cancelled",
        col(ReceptionSession.starts_at) < ends_at,
        col(ReceptionSession.ends_at) > starts_at,
    )
    if exclude_id is not None:
        query = query.where(ReceptionSession.id != exclude_id)
    return await session.scalar(query.order_by(col(ReceptionSession.starts_at)).limit(1))


def clash_text(other: ReceptionSession | None, tz: tzinfo) -> str:
    if other is None:
        return "与该领导的另一场次时间重叠"
    local = other.starts_at.astimezone(tz)
    kind = "接访" if other.kind == "reception" else "下访"
    return (
        f"与该领导的另一场次({kind},{chinese_date(local)} {local:%H:%M}–"
        f"{other.ends_at.astimezone(tz):%H:%M})时间重叠:领导不能同时在两处"
    )


async def named_clash(
    session: AsyncSession, ctx: Context, subject: ReceptionSession, exc: IntegrityError
) -> Conflict | None:
    """The 409 for an IntegrityError raised by the overlap guard (None: another constraint).

    This transaction is spent, so the other session is named from a fresh one (it has
    committed: the constraint waited for it)."""
    if OVERLAP_GUARD not in str(exc.orig):
        return None
    async with AsyncSession(session.bind) as probe:
        other = await find_clash(
            session=probe,
            leader_id=subject.leader_id,
            starts_at=subject.starts_at,
            ends_at=subject.ends_at,
            exclude_id=subject.id,
        )
    return Conflict(clash_text(other, ctx.tz), other_session_id=other.id if other else None)


async def guarded_flush(session: AsyncSession, ctx: Context, subject: ReceptionSession) -> None:
    """Flush a new or moved session; an overlap refused by the database becomes a 409."""
    if subject.status != "cancelled":
        other = await find_clash(
            session=session,
            leader_id=subject.leader_id,
            starts_at=subject.starts_at,
            ends_at=subject.ends_at,
            exclude_id=subject.id,
        )
        if other is not None:
            raise Conflict(clash_text(other, ctx.tz), other_session_id=other.id)
    refused = await flush_refused(session)
    if refused is not None:
        conflict = await named_clash(session, ctx, subject, refused)
        if conflict is None:
            raise refused
        raise conflict from refused
