"""The monthly review's leaders' figures: reception days and field visits by leader (sessions,
not distinct days), and 包案 — cases owned, resolved and overdue as of the day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.cases import workflow
from reception.cases.models import CaseClock, CaseOwnership, PetitionCase
from reception.expr import where
from reception.org.models import Leader
from reception.reports.figures import Scope, flag, ratio, subtree
from reception.scheduling import rules
from reception.scheduling.models import Appointment, ReceptionSession


async def _owned(
    session: AsyncSession, ids: list[int | None], as_of: date
) -> dict[int, tuple[int, int, int]]:
    """包案 as of the as-of day (assignments running then): per leader, owned, resolved and
    overdue cases."""
    owning = and_(
        col(CaseOwnership.started_on) <= as_of,
        or_(col(CaseOwnership.ended_on).is_(None), col(CaseOwnership.ended_on) > as_of),
    )
    resolved = where(workflow.resolved_as_of, PetitionCase, as_of)
    late_case = col(PetitionCase.id).in_(
        select(CaseClock.case_id).where(where(workflow.overdue, CaseClock, as_of))
    )
    known = where(workflow.known_by, PetitionCase, as_of)
    return {
        leader_id: (int(n), int(n_resolved), int(n_late))
        for leader_id, n, n_resolved, n_late in await session.execute(
            select(CaseOwnership.leader_id, func.count(), flag(resolved), flag(late_case))
            .join(PetitionCase, col(PetitionCase.id) == col(CaseOwnership.case_id))
            .where(col(CaseOwnership.leader_id).in_(ids), owning, known)
            .group_by(col(CaseOwnership.leader_id))
        )
    }


async def leader_figures(
    session: AsyncSession, scope: Scope, first: date, last: date, as_of: date, tz: tzinfo
) -> list[dict[str, Any]]:
    """Per leader of the subtree, as the month stood on `as_of`: sessions dated in the month
    (each session counts, not distinct days; cancelled ones included), of which held by then
    and cancelled by then; the live appointments of the sessions dated by then; and 包案."""
    # The end of the as-of day, as an instant: cancellations are instants.
    day_end = datetime.combine(as_of + timedelta(days=1), time(0), tz).astimezone(UTC)
    leaders = list(
        await session.scalars(
            select(Leader)
            .where(col(Leader.unit_id).in_(subtree(scope)), Leader.active == True)  # noqa: E712
            .order_by(col(Leader.id))
        )
    )
    ids = [leader.id for leader in leaders]
    sessions = {
        (leader_id, kind): (int(n), int(held), int(cancelled))
        for leader_id, kind, n, held, cancelled in await session.execute(
            sa_select(
                col(ReceptionSession.leader_id),
                col(ReceptionSession.kind),
                func.count(),
                flag(
                    and_(
                        col(ReceptionSession.status) == "held",
                        col(ReceptionSession.local_date) <= as_of,
                    )
                ),
                flag(
                    and_(
                        col(ReceptionSession.status) == "cancelled",
                        col(ReceptionSession.cancelled_at) < day_end,
                    )
                ),
            )
            .where(
                col(ReceptionSession.leader_id).in_(ids),
                col(ReceptionSession.local_date).between(first, last),
            )
            .group_by(col(ReceptionSession.leader_id), col(ReceptionSession.kind))
        )
    }
    appointments = {
        leader_id: int(n)
        for leader_id, n in await session.execute(
            select(ReceptionSession.leader_id, func.count())
            .join(Appointment, col(Appointment.session_id) == col(ReceptionSession.id))
            .where(
                col(ReceptionSession.leader_id).in_(ids),
                col(ReceptionSession.local_date).between(first, min(last, as_of)),
                rules.kept_as_of(col(Appointment.status), col(Appointment.cancelled_at), day_end),
            )
            .group_by(col(ReceptionSession.leader_id))
        )
    }
    owned = await _owned(session, ids, as_of)
    out = []
    for leader in leaders:
        receptions = sessions.get((leader.id, "reception"), (0, 0, 0))
        visits = sessions.get((leader.id, "field_visit"), (0, 0, 0))
        n_owned, n_resolved, n_late = owned.get(leader.id or 0, (0, 0, 0))
        out.append(
            {
                "leader_id": leader.id,
                "leader": leader.name,
                "title": leader.title,
                "reception_days": receptions[0],
                "reception_held": receptions[1],
                "reception_cancelled": receptions[2],
                "appointments": appointments.get(leader.id or 0, 0),
                "field_visits": visits[0],
                "field_visits_held": visits[1],
                "owned_cases": n_owned,
                "owned_resolved": n_resolved,
                "owned_overdue": n_late,
                "owned_resolved_share": ratio(n_resolved, n_owned),
            }
        )
    return out
