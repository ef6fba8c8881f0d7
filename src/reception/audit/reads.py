"""Reads of petitioners' whole values, audited (等保三级: who opened which record's ID number,
phone or address). The views note what they showed whole (reception.privacy.shown_whole);
once the request is answered, this writes one audit row per record in a short write
transaction of its own — a read never turns into a write half-way (SQLite's lock), and the
values themselves are never in the row, only which fields."""

from __future__ import annotations

import logging
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from reception import privacy
from reception.audit import service
from reception.auth import Principal
from reception.db import SQLITE_WRITE

log = logging.getLogger("reception.audit")


def audit_whole_reads(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        shown: list[privacy.WholeRead] = []
        token = privacy.gather(shown)
        try:
            await app(scope, receive, send)
        finally:
            privacy.stop_gathering(token)
        principal = scope.get("user")
        if shown and isinstance(principal, Principal):
            await _record(scope["app"], principal, shown)

    return middleware


async def _record(app: Any, principal: Principal, shown: list[privacy.WholeRead]) -> None:
    try:
        async with app.state.sessionmaker() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            for target_type, target_id, fields in dict.fromkeys(shown):
                await service.record(
                    session=session,
                    actor=principal,
                    action="pii.read",
                    target_type=target_type,
                    target_id=target_id,
                    after={"fields": list(fields)},
                )
            await session.commit()
    except Exception:
        log.exception("could not audit a read of whole values")
