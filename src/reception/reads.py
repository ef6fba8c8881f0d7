"""The read replica: which reads may go to it, and reading one's own writes.

`RECEPTION_READ_DATABASE_URL` names a PostgreSQL streaming replica of the primary. The handlers
that only report — the review and its trend, the exports — take `reads: Reads`: a session whose
plain SELECTs go to the replica and whose writes (an export's audit row, a calendar year put in)
go to the primary; once it has written, it reads the primary too. The calendar feeds poll the
replica through their own pool (`feed_engine`). Everything that decides a write takes `db` and
never leaves the primary: a booking's capacity, an owner's check, the petitioner page's
throttle (its lookup and view are one transaction there).

A replica lags. A browser (or an API client that keeps cookies) that has just written must not
read the world from before its write: a request that wrote answers with a cookie holding the
primary's WAL position after its commit, and a later report from the same client goes to the
replica only once the replica has replayed that far (one statement, the first of its replica
transaction), else to the primary. A client without the cookie — a calendar app, another
secretary — reads the replica as it is.

Without a replica (and always on SQLite) `reads` is the ordinary request session."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import Select, TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from reception.config import Settings
from reception.db import committed, create_engine, create_sessionmaker

logger = logging.getLogger(__name__)

# The per-request reporting session, as handlers declare it.
Reads = NamedDependency[AsyncSession]

WAL_COOKIE = "reception_wal"
# Where the request's own commit left the primary's WAL (set by the session's provider,
# turned into the cookie on the way out).
WAL_STATE = "reception.wal"
# A pg_lsn as PostgreSQL prints it: anything else in the cookie is ignored.
_LSN = re.compile(r"[0-9A-F]{1,8}/[0-9A-F]{1,8}")

_REPLICA = "reception.replica"
_WROTE = "reception.wrote"


class RoutingSession(Session):
    """Plain SELECTs to the replica until the session writes; the rest to the primary."""

    def get_bind(self, mapper: Any = None, *, clause: Any = None, **kw: Any) -> Any:
        replica = self.info.get(_REPLICA)
        if replica is None or self.info.get(_WROTE):
            return super().get_bind(mapper, clause=clause, **kw)
        if self._flushing or not _plain_read(clause):
            if clause is not None or self._flushing:
                self.info[_WROTE] = True
            return super().get_bind(mapper, clause=clause, **kw)
        return replica


def _plain_read(clause: Any) -> bool:
    if isinstance(clause, Select):
        return clause._for_update_arg is None
    if isinstance(clause, TextClause):
        return clause.text.lstrip()[:6].upper() == "SELECT"
    return False


class Replica:
    """The replica's engine and its sessions (reads there, writes on the primary)."""

    def __init__(self, settings: Settings, primary: AsyncEngine, clock: Any, keys: Any) -> None:
        self.engine = create_engine(replace(settings, database_url=settings.read_database_url))
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(
            primary, clock, keys
        )
        self.sessionmaker.configure(
            sync_session_class=RoutingSession,
            info={**self.sessionmaker.kw["info"], _REPLICA: self.engine.sync_engine},
        )

    async def dispose(self) -> None:
        await self.engine.dispose()


def replica_for(settings: Settings, primary: AsyncEngine, clock: Any, keys: Any) -> Replica | None:
    if not settings.read_database_url or settings.is_sqlite:
        return None
    return Replica(settings, primary, clock, keys)


async def _caught_up(session: AsyncSession, position: str) -> bool:
    """Has the replica this session reads replayed the primary's WAL up to `position` (a
    well-formed one: the cookie is matched whole before)?"""
    done = await session.scalar(
        text("SELECT pg_last_wal_replay_lsn() >= CAST(CAST(:lsn AS text) AS pg_lsn)"),
        {"lsn": position},
    )
    return bool(done)


def pools_for(settings: Settings, primary: AsyncEngine, clock: Any, keys: Any) -> dict[str, Any]:
    """The app state's pools beside the primary's: the replica (or None), the feeds'."""
    return {
        "replica": replica_for(settings, primary, clock, keys),
        "feed_engine": feed_engine(settings, primary),
    }


async def dispose_pools(primary: AsyncEngine, pools: dict[str, Any]) -> None:
    """Close the primary's pool and what `pools_for` opened."""
    await primary.dispose()
    if pools["replica"] is not None:
        await pools["replica"].dispose()
    if pools["feed_engine"] is not primary:
        await pools["feed_engine"].dispose()


def feed_engine(settings: Settings, primary: AsyncEngine) -> AsyncEngine:
    """What the calendar feeds poll: the replica when there is one, with PostgreSQL's cached
    plans (its poll is one statement, the same for every feed, and cheaper to run than to
    plan again each time), as many connections as the primary's; on SQLite the primary engine."""
    if settings.is_sqlite:
        return primary
    url = settings.read_database_url or settings.database_url
    return create_engine(replace(settings, database_url=url), custom_plans=False)


async def primary_position(engine: AsyncEngine) -> str:
    """The primary's WAL position now: after a commit, a position that includes it."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        return str(await conn.scalar(text("SELECT pg_current_wal_lsn()::text")))


async def remember_write(request: Request[Any, Any, Any]) -> None:
    """After a writing request's commit: where the primary is, for the client's next report."""
    state = request.app.state
    if state.get("replica") is None:
        return
    try:
        position = await primary_position(state.engine)
    except (DBAPIError, OSError, TimeoutError):
        # The write is committed: its answer stands. Only the next report may read the
        # replica before it has the write.
        logger.warning("the primary's WAL position could not be read after a write")
        return
    request.scope.setdefault("state", {})[WAL_STATE] = position


async def provide_reads(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """The reporting session: on the replica unless the client's own last write is not there
    yet (then on the primary, like `db`). One transaction, committed before the response."""
    state = request.app.state
    replica: Replica | None = state.get("replica")
    maker = state.sessionmaker
    position = ""
    if replica is not None:
        position = request.cookies.get(WAL_COOKIE, "")
        maker = replica.sessionmaker
    async with maker() as session:
        if (
            replica is not None
            and _LSN.fullmatch(position)
            and not await _caught_up(session, position)
        ):
            # Behind the client's own last write: this request reads the primary. Asked in
            # the session's own replica transaction, so that behind a pooler over several
            # replicas the answer is about the replica the reads then go to.
            session.sync_session.info[_WROTE] = True
        async with committed(session):
            yield session


def wal_cookie_middleware(app: ASGIApp) -> ASGIApp:
    """Hands the client the WAL position its write left (session cookie, HttpOnly)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["app"].state.get("replica") is None:
            await app(scope, receive, send)
            return
        scope.setdefault("state", {})

        async def send_with_position(message: Message) -> None:
            position = scope["state"].get(WAL_STATE)
            if message["type"] == "http.response.start" and position:
                settings: Settings = scope["app"].state.settings
                cookie = f"{WAL_COOKIE}={position}; Path=/; HttpOnly; SameSite=Lax"
                if settings.secure_cookies:
                    cookie += "; Secure"
                headers = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_position)

    return middleware
