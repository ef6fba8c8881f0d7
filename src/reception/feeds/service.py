"""Feed tokens and feed bodies: plain functions, keyword-only, flush but never commit.

Every poll of a feed URL is one statement: the token lookup and the feed's *version* — its
leaders, each one's version (`FeedLeaderVersion`, bumped by the database's triggers on every
write to the leader's sessions and their appointments), the counts and latest change times of
the tables whose names it shows, and the window's day. It reads a row per leader, never the
sessions themselves. A 304 needs nothing more. Bodies are kept in a per-process
LRU keyed by that version, and each event's serialization in a per-process cache keyed by its
data, so a change re-renders only the events it touched. Any process sees a change made
through any other at its next poll, because the version comes from the database, never from
process memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel

from reception.auth import Principal, hash_token
from reception.config import Settings
from reception.db import UTCDateTime
from reception.errors import NotFound
from reception.etags import digest_etag
from reception.feeds import ics
from reception.feeds.cache import FeedCache
from reception.feeds.models import FeedLeaderVersion, FeedToken
from reception.org.access import Viewer, calendar_scope, in_subtree, reads_calendar_of
from reception.org.models import Leader, SecretaryLeader, Unit, User, Venue
from reception.scheduling import rules
from reception.scheduling.models import Appointment, ReceptionSession

# A cancelled session stays in feeds (STATUS:CANCELLED) until this many days after the local
# day it was cancelled on, so clients that saw it remove it.
CANCELLED_KEPT_DAYS = 30
# Above this many events the body is built on a worker thread, off the event loop.
BUILD_IN_THREAD_FROM = 200

# ---------------------------------------------------------------- the feed's queries
#
# Built once per process with bound parameters (the token's hash and the window), so a poll
# costs SQLAlchemy no statement building and the database one plan. The token row, the
# leaders it shows and its sessions are CTEs, written once and shared by the version query
# and the load query: both see the same feed by construction.


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, sa.inspect(model).local_table)


_FEED, _USER, _UNIT, _LEADER = _table(FeedToken), _table(User), _table(Unit), _table(Leader)
_LINK, _VENUE = _table(SecretaryLeader), _table(Venue)
_SESSION, _APPT = _table(ReceptionSession), _table(Appointment)
_VERSION = _table(FeedLeaderVersion)


def _feed_ctes() -> tuple[CTE, CTE]:
    """(the live token row, the ids of the leaders it shows)."""
    creator, secretary = _USER.alias("creator"), _USER.alias("secretary")
    creator_unit, scope_unit = _UNIT.alias("creator_unit"), _UNIT.alias("scope_unit")
    named_leader = _LEADER.alias("named_leader")
    ft = _FEED
    feed = (
        sa.select(
            ft.c.id,
            ft.c.scope,
            ft.c.name,
            ft.c.leader_id,
            ft.c.unit_id,
            ft.c.secretary_user_id,
            ft.c.created_by_user_id,
            ft.c.created_at,
            creator.c.role.label("creator_role"),
            creator.c.leader_id.label("creator_leader_id"),
            creator_unit.c.path.label("creator_unit_path"),
            scope_unit.c.path.label("unit_path"),
            scope_unit.c.name.label("unit_name"),
            named_leader.c.name.label("leader_name"),
            named_leader.c.title.label("leader_title"),
            secretary.c.name.label("secretary_name"),
        )
        .select_from(
            ft.outerjoin(creator, creator.c.id == ft.c.created_by_user_id)
            .outerjoin(creator_unit, creator_unit.c.id == creator.c.unit_id)
            .outerjoin(scope_unit, scope_unit.c.id == ft.c.unit_id)
            .outerjoin(named_leader, named_leader.c.id == ft.c.leader_id)
            .outerjoin(secretary, secretary.c.id == ft.c.secretary_user_id)
        )
        .where(
            ft.c.token_hash == bindparam("token_hash"),
            ft.c.revoked_at.is_(None),
            # A deactivated creator's feeds answer 404.
            or_(ft.c.created_by_user_id.is_(None), creator.c.active.is_(True)),
        )
        .cte("feed")
    )
    f, ld, unit = feed.c, _LEADER, _UNIT.alias("leader_unit")

    def linked(user_id: ColumnElement[Any]) -> ColumnElement[bool]:
        return exists().where(_LINK.c.user_id == user_id, _LINK.c.leader_id == ld.c.id)

    # What the feed's scope names (README "Calendar feeds") ...
    in_scope = or_(
        and_(f.scope == "leader", ld.c.id == f.leader_id),
        and_(f.scope == "unit", in_subtree(unit.c.path, f.unit_path)),
        and_(f.scope == "secretary", linked(f.secretary_user_id)),
    )
    # ... within what its creator may read now: the org's one leader scope, applied to the
    # creator's stored role, leader and unit as of this poll (a command-line feed has none).
    viewer = Viewer(
        role=f.creator_role,
        leader_id=f.creator_leader_id,
        unit_path=f.creator_unit_path,
        linked=lambda leader_id: exists().where(
            _LINK.c.user_id == f.created_by_user_id, _LINK.c.leader_id == leader_id
        ),
    )
    allowed = or_(f.created_by_user_id.is_(None), reads_calendar_of(viewer, ld.c.id, unit.c.path))
    leaders = (
        sa.select(ld.c.id)
        .select_from(feed.join(ld, true()).join(unit, unit.c.id == ld.c.unit_id))
        .where(in_scope, allowed)
        .cte("feed_leader")
    )
    return feed, leaders


def _window_filter() -> ColumnElement[bool]:
    S = _SESSION.c
    return and_(
        S.starts_at < bindparam("window_end", type_=UTCDateTime()),
        S.ends_at > bindparam("window_start", type_=UTCDateTime()),
        or_(
            S.status != "cancelled",
            S.cancelled_at >= bindparam("cancelled_cutoff", type_=UTCDateTime()),
        ),
    )


@lru_cache(maxsize=1)
def _version_statement() -> Select[Any]:
    """Token lookup and the feed's version in one statement: no row means no live feed. The
    version is its leaders (which, and each one's version: `FeedLeaderVersion`, kept by the
    database's triggers) and the names its events show; the window's day is in the key."""
    feed, leaders = _feed_ctes()
    V = _VERSION
    versions = (
        sa.select(
            func.count().label("n_leaders"),
            func.coalesce(func.sum(leaders.c.id), 0).label("leader_ids"),
            func.coalesce(func.sum(V.c.version), 0).label("versions"),
            func.max(V.c.changed_at).label("leaders_changed"),
        )
        .select_from(leaders.outerjoin(V, V.c.leader_id == leaders.c.id))
        .subquery("versions")
    )

    # Names shown in events (leaders, venues, visited units): small tables, any change counts.
    def names(table: Table) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        return (
            sa.select(func.count()).select_from(table).scalar_subquery().label(f"n_{table.name}"),
            sa.select(func.max(table.c.updated_at))
            .scalar_subquery()
            .label(f"{table.name}_updated"),
        )

    return sa.select(
        feed,
        versions,
        *names(_LEADER),
        *names(_VENUE),
        *names(_UNIT),
    ).select_from(feed.join(versions, true()))


def _entries_statement(where: ColumnElement[bool], leaders: CTE | None = None) -> Select[Any]:
    """Sessions with what their events show, appointment counts by a plain join and GROUP
    BY: one query, no per-row subquery."""
    S, A, L, V = _SESSION, _APPT, _LEADER, _VENUE
    visited = _UNIT.alias("visited")
    live = rules.kept(A.c.status)
    joined = S.join(L, L.c.id == S.c.leader_id)
    if leaders is not None:
        joined = joined.join(leaders, leaders.c.id == S.c.leader_id)
    joined = (
        joined.outerjoin(V, V.c.id == S.c.venue_id)
        .outerjoin(visited, visited.c.id == S.c.unit_id)
        .outerjoin(A, A.c.session_id == S.c.id)
    )
    return (
        sa.select(
            S.c.id,
            S.c.uid,
            S.c.kind,
            S.c.status,
            S.c.sequence,
            S.c.provisional,
            S.c.starts_at,
            S.c.ends_at,
            S.c.created_at,
            S.c.updated_at,
            L.c.name,
            L.c.title,
            V.c.name,
            V.c.address,
            visited.c.name,
            S.c.address,
            func.coalesce(func.sum(case((live, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(live, A.c.collective), 1), else_=0)), 0),
            func.max(A.c.updated_at),
        )
        .select_from(joined)
        .where(where)
        .group_by(S.c.id, L.c.id, V.c.id, visited.c.id)
        .order_by(S.c.starts_at, S.c.id)
    )


@lru_cache(maxsize=1)
def _feed_entries_statement() -> Select[Any]:
    _, leaders = _feed_ctes()
    return _entries_statement(_window_filter(), leaders)


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

    def params(self, token: str) -> dict[str, Any]:
        return {
            "token_hash": hash_token(token),
            "window_start": self.start,
            "window_end": self.end,
            "cancelled_cutoff": self.cancelled_cutoff,
        }


# An open connection or session: the feed route runs on a bare connection (no ORM session),
# the session .ics on the request's session.
Executor = AsyncConnection | AsyncSession


@dataclass(frozen=True, slots=True)
class FeedVersion:
    key: tuple[Any, ...]
    etag: str
    last_modified: datetime
    calname: str


def _calname(row: Any) -> str:
    if row.name:
        return str(row.name)
    if row.scope == "leader":
        return f"{row.leader_title} {row.leader_name} 接访下访日程"
    if row.scope == "unit":
        return f"{row.unit_name} 领导接访下访日程"
    return f"{row.secretary_name} 所联系领导接访下访日程"


async def feed_version(
    *, conn: Executor, token: str, window: Window, settings: Settings, now: datetime
) -> FeedVersion:
    """The live feed behind a URL token and what its body depends on, in one query cheap
    enough for every poll; NotFound if the token is unknown, revoked or its creator
    deactivated. Any process sees a change made through any other at its next poll: the
    version comes from the database, never from process memory."""
    row = (await conn.execute(_version_statement(), window.params(token))).first()
    if row is None:
        raise NotFound("没有这个订阅")
    calname = _calname(row)
    # The window moves at local midnight (the key holds the day), so the representation may
    # change then without any data change: Last-Modified is never earlier than that.
    changed = [
        window.midnight(window.today),
        row.created_at,
        row.leaders_changed,
        row.leader_updated,
        row.venue_updated,
        row.unit_updated,
    ]
    last_modified = min(max(_aware(t) for t in changed if t is not None), now)
    key = (
        ics.FORMAT_VERSION,
        calname,
        settings.timezone,
        settings.feed_ttl_minutes,
        window.today.isoformat(),
        window.past_days,
        window.future_days,
        *(_plain(v) for v in row),
    )
    return FeedVersion(
        key=key,
        etag=digest_etag(key),
        last_modified=last_modified,
        calname=calname,
    )


def _aware(value: datetime) -> datetime:
    # Aggregates over UTC columns may come back naive from SQLite.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC).isoformat()
    if value is None or isinstance(value, str | bool):
        return value
    return int(value)


# ---------------------------------------------------------------- events


def _entry(r: Any) -> ics.SessionEntry:
    updated = _aware(r[9]) if r[18] is None else max(_aware(r[9]), _aware(r[18]))
    return ics.SessionEntry(
        id=r[0],
        uid=r[1],
        kind=r[2],
        status=r[3],
        sequence=r[4],
        provisional=bool(r[5]),
        starts_at=_aware(r[6]),
        ends_at=_aware(r[7]),
        created_at=_aware(r[8]),
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


async def feed_entries(*, conn: Executor, token: str, window: Window) -> list[ics.SessionEntry]:
    rows = await conn.execute(_feed_entries_statement(), window.params(token))
    return [_entry(r) for r in rows]


async def session_ics(
    *, session: AsyncSession, principal: Principal, session_id: int, settings: Settings
) -> bytes:
    """One session as a calendar to forward, if the caller may read its leader."""
    S = _SESSION.c
    readable = S.leader_id.in_(sa.select(_LEADER.c.id).where(calendar_scope(principal)))
    rows = await session.execute(_entries_statement(and_(S.id == session_id, readable)))
    entries = [_entry(r) for r in rows]
    if not entries:
        raise NotFound(f"场次 {session_id} 不存在")
    return ics.render(entries, tzid=settings.timezone)


async def feed_body(
    *,
    conn: Executor,
    token: str,
    window: Window,
    version: FeedVersion,
    settings: Settings,
    cache: FeedCache,
) -> bytes:
    """The body for `version`, read in the same snapshot as the version was."""

    async def build() -> bytes:
        entries = await feed_entries(conn=conn, token=token, window=window)

        def render() -> bytes:
            return ics.render(
                entries,
                tzid=settings.timezone,
                name=version.calname,
                ttl_minutes=settings.feed_ttl_minutes,
                cache=cache.events,
            )

        # Only events not already cached cost real time: render them off the event loop
        # when there are many.
        if len(entries) - _cached(cache.events, entries, settings.timezone) >= (
            BUILD_IN_THREAD_FROM
        ):
            return await asyncio.to_thread(render)
        return render()

    return await cache.get_or_build(version.key, build)


def _cached(events: ics.EventCache, entries: list[ics.SessionEntry], tzid: str) -> int:
    return sum(1 for entry in entries if events.has(entry, tzid))
