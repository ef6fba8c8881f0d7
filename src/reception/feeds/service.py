"""Feed tokens and feed bodies: plain functions, keyword-only, flush but never commit.

A feed body costs ~0.1 ms per event to build, so it is built once per change of its data and
kept in a per-process LRU keyed by a *version*: one aggregate query over the feed's scope
(counts, sums and latest change times of its sessions, their appointments, and the names it
shows) taken on every request. Any process sees a change made through any other at its next
poll, because the version comes from the database, never from process memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal, hash_token
from reception.config import Settings
from reception.errors import Forbidden, InvalidInput, NotFound
from reception.feeds import ics
from reception.feeds.models import FeedToken
from reception.feeds.schemas import FeedCreate
from reception.org.models import Leader, SecretaryLeader, Unit, User, Venue
from reception.org.service import leader_scope, subtree_unit_ids
from reception.scheduling.models import Appointment, ReceptionSession

FEED_TOKEN_PREFIX = "fd_"
# A cancelled session stays in feeds (STATUS:CANCELLED) until this many days after the local
# day it was cancelled on, so clients that saw it remove it.
CANCELLED_KEPT_DAYS = 30
# Above this many events the body is built on a worker thread, off the event loop.
BUILD_IN_THREAD_FROM = 200


def new_feed_token() -> str:
    return FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)


def feed_urls(public_url: str, token: str) -> tuple[str, str]:
    """The feed's URL and its webcal:// twin (which calendar apps open as a subscription)."""
    url = f"{public_url.rstrip('/')}/feeds/{token}.ics"
    _, _, rest = url.partition("://")
    return url, f"webcal://{rest}"


# ---------------------------------------------------------------- tokens


async def _check_may_create(
    session: AsyncSession, actor: Principal, data: FeedCreate
) -> tuple[str, int]:
    """Who may create which feed (README "Calendar feeds"): returns (target column, id)."""
    given = {"leader_id": data.leader_id, "unit_id": data.unit_id, "user_id": data.user_id}
    wanted = {"leader": "leader_id", "unit": "unit_id", "secretary": "user_id"}[data.scope]
    for name, value in given.items():
        if name != wanted and value is not None:
            raise InvalidInput(f"Scope '{data.scope}' takes {wanted}, not {name}", field=name)

    if data.scope == "leader":
        if data.leader_id is None:
            raise InvalidInput("Scope 'leader' needs leader_id", field="leader_id")
        # A leader the caller may not read does not exist for them.
        visible = await session.scalar(
            select(Leader.id).where(Leader.id == data.leader_id, leader_scope(actor))
        )
        if visible is None:
            raise InvalidInput(f"Leader {data.leader_id} does not exist", field="leader_id")
        if actor.role == "clerk":
            raise Forbidden("A clerk may create unit feeds only")
        return "leader_id", data.leader_id

    if data.scope == "unit":
        if data.unit_id is None:
            raise InvalidInput("Scope 'unit' needs unit_id", field="unit_id")
        unit = await session.get(Unit, data.unit_id)
        if unit is None:
            raise InvalidInput(f"Unit {data.unit_id} does not exist", field="unit_id")
        if actor.role in ("admin", "reviewer"):
            return "unit_id", data.unit_id
        if actor.role == "clerk" and actor.unit_path and unit.path.startswith(actor.unit_path):
            return "unit_id", data.unit_id
        raise Forbidden(f"Role '{actor.role}' may not create a feed of unit {data.unit_id}")

    user_id = data.user_id
    if user_id is None:
        if actor.role != "secretary":
            raise InvalidInput("Scope 'secretary' needs user_id", field="user_id")
        user_id = actor.user_id
    user = await session.get(User, user_id)
    if user is None or user.role != "secretary":
        raise InvalidInput(f"User {user_id} is not a secretary", field="user_id")
    if actor.role == "admin" or (actor.role == "secretary" and actor.user_id == user_id):
        return "secretary_user_id", user_id
    raise Forbidden("Only the secretary herself or an admin may create her feed")


async def create_feed(
    *, session: AsyncSession, actor: Principal, data: FeedCreate
) -> tuple[FeedToken, str]:
    """Create a feed token. The plain token is returned here once and never stored."""
    column, target = await _check_may_create(session, actor, data)
    token = new_feed_token()
    row = FeedToken(
        token_hash=hash_token(token),
        prefix=token[:10],
        scope=data.scope,
        name=data.name.strip(),
        created_by_user_id=actor.user_id,
        created_by_name=actor.name,
    )
    setattr(row, column, target)
    session.add(row)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="feed.create",
        target_type="feed_token",
        target_id=row.id,
        after=audit.snapshot(row, exclude={"token_hash"}),
    )
    return row, token


async def list_feeds(
    *, session: AsyncSession, actor: Principal, limit: int, offset: int
) -> tuple[list[FeedToken], int]:
    query = select(FeedToken)
    if not actor.is_admin:
        query = query.where(FeedToken.created_by_user_id == actor.user_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(col(FeedToken.id)).limit(limit).offset(offset))
    return list(rows.all()), total


async def revoke_feed(*, session: AsyncSession, actor: Principal, feed_id: int) -> FeedToken:
    row = await session.get(FeedToken, feed_id)
    if row is None or not (actor.is_admin or row.created_by_user_id == actor.user_id):
        raise NotFound(f"Feed {feed_id} does not exist")
    if row.revoked_at is None:
        before = audit.snapshot(row, exclude={"token_hash"})
        row.revoked_at = datetime.now(UTC)
        await session.flush()
        await audit.record(
            session=session,
            actor=actor,
            action="feed.revoke",
            target_type="feed_token",
            target_id=row.id,
            before=before,
            after=audit.snapshot(row, exclude={"token_hash"}),
        )
    return row


# ---------------------------------------------------------------- resolving a feed URL


@dataclass(frozen=True, slots=True)
class ResolvedFeed:
    token_id: int
    scope: str
    leader_id: int | None
    unit_path: str | None
    secretary_user_id: int | None
    calname: str
    created_at: datetime
    # The creator's rights, re-checked on every poll: a feed never shows more than its
    # creator may read now (e.g. a secretary unlinked from a leader).
    creator_user_id: int | None
    creator_role: str | None
    creator_leader_id: int | None
    creator_unit_path: str | None
    # Latest change to the people whose names or links shape the feed.
    people_updated_at: datetime | None


async def resolve_feed(*, session: AsyncSession, token: str) -> ResolvedFeed:
    """The live feed behind a URL token, or NotFound (unknown, revoked, creator deactivated)."""
    creator = aliased(User)
    secretary = aliased(User)
    creator_unit = aliased(Unit)
    scope_unit = aliased(Unit)
    row = (
        await session.execute(
            select(  # type: ignore[call-overload]
                FeedToken,
                creator.role,
                creator.leader_id,
                creator.updated_at,
                creator_unit.path,
                scope_unit.path,
                scope_unit.name,
                Leader.name,
                Leader.title,
                secretary.name,
                secretary.updated_at,
            )
            .outerjoin(creator, col(creator.id) == col(FeedToken.created_by_user_id))
            .outerjoin(creator_unit, col(creator_unit.id) == col(creator.unit_id))
            .outerjoin(scope_unit, col(scope_unit.id) == col(FeedToken.unit_id))
            .outerjoin(Leader, col(Leader.id) == col(FeedToken.leader_id))
            .outerjoin(secretary, col(secretary.id) == col(FeedToken.secretary_user_id))
            .where(
                FeedToken.token_hash == hash_token(token),
                col(FeedToken.revoked_at).is_(None),
                or_(col(FeedToken.created_by_user_id).is_(None), col(creator.active).is_(True)),
            )
        )
    ).first()
    if row is None:
        raise NotFound("No such feed")
    (
        feed,
        creator_role,
        creator_leader_id,
        creator_updated,
        creator_unit_path,
        unit_path,
        unit_name,
        leader_name,
        leader_title,
        secretary_name,
        secretary_updated,
    ) = row
    assert feed.id is not None
    if feed.name:
        calname = feed.name
    elif feed.scope == "leader":
        calname = f"{leader_title} {leader_name} 接访下访日程"
    elif feed.scope == "unit":
        calname = f"{unit_name} 领导接访下访日程"
    else:
        calname = f"{secretary_name} 所联系领导接访下访日程"
    people = [t for t in (creator_updated, secretary_updated) if t is not None]
    return ResolvedFeed(
        token_id=feed.id,
        scope=feed.scope,
        leader_id=feed.leader_id,
        unit_path=unit_path,
        secretary_user_id=feed.secretary_user_id,
        calname=calname,
        created_at=feed.created_at,
        creator_user_id=feed.created_by_user_id,
        creator_role=creator_role,
        creator_leader_id=creator_leader_id,
        creator_unit_path=creator_unit_path,
        people_updated_at=max(people) if people else None,
    )


def _feed_leaders(feed: ResolvedFeed) -> ColumnElement[bool]:
    """The leaders a feed shows: its scope, within its creator's current read rights."""
    if feed.scope == "leader":
        in_scope: ColumnElement[bool] = col(Leader.id) == (feed.leader_id or 0)
    elif feed.scope == "unit" and feed.unit_path:
        in_scope = col(Leader.unit_id).in_(subtree_unit_ids(feed.unit_path))
    elif feed.scope == "secretary":
        in_scope = col(Leader.id).in_(
            select(SecretaryLeader.leader_id).where(
                SecretaryLeader.user_id == feed.secretary_user_id
            )
        )
    else:
        in_scope = false()
    role = feed.creator_role
    if feed.creator_user_id is None or role in ("admin", "reviewer"):
        allowed: ColumnElement[bool] = true()
    elif role == "secretary":
        allowed = col(Leader.id).in_(
            select(SecretaryLeader.leader_id).where(SecretaryLeader.user_id == feed.creator_user_id)
        )
    elif role == "leader":
        allowed = col(Leader.id) == (feed.creator_leader_id or 0)
    elif role == "clerk" and feed.creator_unit_path:
        allowed = col(Leader.unit_id).in_(subtree_unit_ids(feed.creator_unit_path))
    else:
        allowed = false()
    return and_(in_scope, allowed)


# ---------------------------------------------------------------- the window and the version


@dataclass(frozen=True, slots=True)
class Window:
    """Which sessions a feed shows, fixed per local day so the feed only changes with data
    or at local midnight."""

    today: date
    start: datetime  # sessions ending after this instant ...
    end: datetime  # ... and starting before this one
    cancelled_cutoff: datetime  # cancelled sessions: only those cancelled at or after this
    tz: ZoneInfo
    past_days: int
    future_days: int

    @classmethod
    def for_day(cls, today: date, settings: Settings) -> Window:
        tz = settings.tz

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tz).astimezone(UTC)

        return cls(
            today=today,
            start=midnight(today - timedelta(days=settings.feed_past_days)),
            end=midnight(today + timedelta(days=settings.feed_future_days + 1)),
            cancelled_cutoff=midnight(today - timedelta(days=CANCELLED_KEPT_DAYS)),
            tz=tz,
            past_days=settings.feed_past_days,
            future_days=settings.feed_future_days,
        )

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.tz).astimezone(UTC)


def _in_window(window: Window, leaders: ColumnElement[bool]) -> ColumnElement[bool]:
    S = ReceptionSession
    return and_(
        col(S.leader_id).in_(select(Leader.id).where(leaders)),
        col(S.starts_at) < window.end,
        col(S.ends_at) > window.start,
        or_(col(S.status) != "cancelled", col(S.cancelled_at) >= window.cancelled_cutoff),
    )


@dataclass(frozen=True, slots=True)
class FeedVersion:
    key: tuple[Any, ...]
    etag: str
    last_modified: datetime
    events: int


async def feed_version(
    *, session: AsyncSession, feed: ResolvedFeed, window: Window, settings: Settings
) -> FeedVersion:
    """One aggregate query: what the body depends on, cheap enough to run on every poll."""
    S, A = ReceptionSession, Appointment
    leaders = _feed_leaders(feed)
    in_window = _in_window(window, leaders)
    of_scope = col(S.leader_id).in_(select(Leader.id).where(leaders))
    sessions = (
        select(  # type: ignore[call-overload]
            func.count().label("n"),
            func.max(S.updated_at).label("updated"),
            func.coalesce(func.sum(S.sequence), 0).label("seq"),
            func.coalesce(func.sum(S.id), 0).label("ids"),
            func.max(S.starts_at).label("last_start"),
        )
        .where(in_window)
        .subquery()
    )
    # Changes that move a session out of the window leave no trace in it: take the latest
    # change to any session of the scope, and the latest ones that time pushed out.
    history = (
        select(
            func.max(S.updated_at).label("updated"),
            func.max(case((col(S.ends_at) <= window.start, S.ends_at))).label("aged_out"),
            func.max(
                case(
                    (
                        and_(
                            col(S.status) == "cancelled",
                            col(S.cancelled_at) < window.cancelled_cutoff,
                        ),
                        S.cancelled_at,
                    )
                )
            ).label("cancel_expired"),
        )
        .where(of_scope)
        .subquery()
    )
    appointments = (
        select(
            func.count().label("n"),
            func.max(A.updated_at).label("updated"),
            func.coalesce(func.sum(A.id), 0).label("ids"),
        )
        .where(col(A.session_id).in_(select(S.id).where(in_window)))
        .subquery()
    )
    scope_leaders = (
        select(
            func.count().label("n"),
            func.coalesce(func.sum(Leader.id), 0).label("ids"),
        )
        .where(leaders)
        .subquery()
    )
    # Names shown in events (leaders, venues, units): small tables, any change counts.
    names = select(
        select(func.max(Leader.updated_at)).scalar_subquery().label("leaders"),
        select(func.max(Venue.updated_at)).scalar_subquery().label("venues"),
        select(func.max(Unit.updated_at)).scalar_subquery().label("units"),
    ).subquery()
    row = (
        await session.execute(
            select(sessions, history, appointments, scope_leaders, names).select_from(  # type: ignore[call-overload]
                sessions.join(history, literal(True))
                .join(appointments, literal(True))
                .join(scope_leaders, literal(True))
                .join(names, literal(True))
            )
        )
    ).one()
    values = tuple(row)
    (
        n_sessions,
        sessions_updated,
        _seq,
        _ids,
        last_start,
        history_updated,
        aged_out,
        cancel_expired,
        _n_appts,
        appts_updated,
        _appt_ids,
        _n_leaders,
        _leader_ids,
        leaders_updated,
        venues_updated,
        units_updated,
    ) = values
    changed = [
        feed.created_at,
        feed.people_updated_at,
        sessions_updated,
        history_updated,
        appts_updated,
        leaders_updated,
        venues_updated,
        units_updated,
    ]
    tz = window.tz
    if aged_out is not None:  # left the window at the local midnight after it ended + past days
        end_local = _aware(aged_out).astimezone(tz)
        day = end_local.date() + timedelta(days=0 if end_local.time() == time(0) else 1)
        changed.append(window.midnight(day + timedelta(days=window.past_days)))
    if cancel_expired is not None:
        day = _aware(cancel_expired).astimezone(tz).date()
        changed.append(window.midnight(day + timedelta(days=CANCELLED_KEPT_DAYS + 1)))
    if last_start is not None:  # entered the window's far end
        day = _aware(last_start).astimezone(tz).date()
        changed.append(window.midnight(day - timedelta(days=window.future_days)))
    now = datetime.now(UTC)
    last_modified = min(max(_aware(t) for t in changed if t is not None), now)
    key = (
        ics.FORMAT_VERSION,
        feed.token_id,
        feed.calname,
        settings.timezone,
        settings.feed_ttl_minutes,
        window.today.isoformat(),
        window.past_days,
        window.future_days,
        *(_plain(v) for v in values),
        _plain(feed.people_updated_at),
    )
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
    return FeedVersion(
        key=key, etag=f'"{digest}"', last_modified=last_modified, events=int(n_sessions)
    )


def _aware(value: datetime) -> datetime:
    # Aggregates over UTC columns come back naive from SQLite.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC).isoformat()
    if value is None or isinstance(value, str | bool):
        return value
    return int(value)


# ---------------------------------------------------------------- events


async def _entries(session: AsyncSession, where: ColumnElement[bool]) -> list[ics.SessionEntry]:
    S, A = ReceptionSession, Appointment
    live = col(A.status) != "cancelled"
    appts = (
        select(
            A.session_id,
            func.sum(case((live, 1), else_=0)).label("n"),
            func.sum(case((and_(live, col(A.collective)), 1), else_=0)).label("collective"),
            func.max(A.updated_at).label("updated"),
        )
        .where(col(A.session_id).in_(select(S.id).where(where)))
        .group_by(col(A.session_id))
        .subquery()
    )
    visited = aliased(Unit)
    rows = await session.execute(
        select(  # type: ignore[call-overload]
            S.id,
            S.uid,
            S.kind,
            S.status,
            S.sequence,
            S.provisional,
            S.starts_at,
            S.ends_at,
            S.created_at,
            S.updated_at,
            Leader.name,
            Leader.title,
            Venue.name,
            Venue.address,
            visited.name,
            S.address,
            appts.c.n,
            appts.c.collective,
            appts.c.updated,
        )
        .join(Leader, col(Leader.id) == col(S.leader_id))
        .outerjoin(Venue, col(Venue.id) == col(S.venue_id))
        .outerjoin(visited, col(visited.id) == col(S.unit_id))
        .outerjoin(appts, appts.c.session_id == col(S.id))
        .where(where)
        .order_by(col(S.starts_at), col(S.id))
    )
    entries = []
    for r in rows:
        updated = r[9] if r[18] is None else max(r[9], _aware(r[18]))
        entries.append(
            ics.SessionEntry(
                id=r[0],
                uid=r[1],
                kind=r[2],
                status=r[3],
                sequence=r[4],
                provisional=bool(r[5]),
                starts_at=r[6],
                ends_at=r[7],
                created_at=r[8],
                modified_at=updated,
                leader_name=r[10],
                leader_title=r[11],
                venue_name=r[12],
                venue_address=r[13],
                unit_name=r[14],
                address=r[15],
                appointments=int(r[16] or 0),
                collective=int(r[17] or 0),
            )
        )
    return entries


async def feed_entries(
    *, session: AsyncSession, feed: ResolvedFeed, window: Window
) -> list[ics.SessionEntry]:
    return await _entries(session, _in_window(window, _feed_leaders(feed)))


async def session_ics(
    *, session: AsyncSession, principal: Principal, session_id: int, settings: Settings
) -> bytes:
    """One session as a calendar to forward, if the caller may read its leader."""
    S = ReceptionSession
    readable = col(S.leader_id).in_(select(Leader.id).where(leader_scope(principal)))
    entries = await _entries(session, and_(col(S.id) == session_id, readable))
    if not entries:
        raise NotFound(f"Session {session_id} does not exist")
    return ics.render(entries, tzid=settings.timezone)


# ---------------------------------------------------------------- the per-process body cache


class FeedCache:
    """LRU of built bodies keyed by feed version, bounded in bytes; concurrent misses for
    one version in one process build once."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0
        self._building: dict[tuple[Any, ...], asyncio.Future[bytes]] = {}

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        old = self._bodies.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._bodies[key] = body
        self._size += len(body)
        while self._size > self.max_bytes:
            _, dropped = self._bodies.popitem(last=False)
            self._size -= len(dropped)

    async def get_or_build(
        self, key: tuple[Any, ...], build: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        body = self.get(key)
        if body is not None:
            return body
        pending = self._building.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            body = await build()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiting requests get it, none is left unobserved
            raise
        finally:
            self._building.pop(key, None)
        future.set_result(body)
        self.put(key, body)
        return body

    def __len__(self) -> int:
        return len(self._bodies)


async def feed_body(
    *,
    session: AsyncSession,
    feed: ResolvedFeed,
    window: Window,
    version: FeedVersion,
    settings: Settings,
    cache: FeedCache,
) -> bytes:
    async def build() -> bytes:
        entries = await feed_entries(session=session, feed=feed, window=window)

        def render() -> bytes:
            return ics.render(
                entries,
                tzid=settings.timezone,
                name=feed.calname,
                ttl_minutes=settings.feed_ttl_minutes,
            )

        if len(entries) >= BUILD_IN_THREAD_FROM:
            return await asyncio.to_thread(render)
        return render()

    return await cache.get_or_build(version.key, build)
