"""HTTP endpoints for calendar feeds. Thin: parse, call, shape.

- `/api/feeds`: create, list and revoke feed tokens (bearer auth);
- `/api/sessions/{session_id}/event.ics`: one session to forward (bearer auth). A path
  parameter cannot carry a suffix in Litestar, and a `{ref:str}` beside the scheduling
  controller's `{session_id:int}` would silently replace it in the routing trie, so the
  event hangs under the session as a fixed child segment;
- `/feeds/{token}.ics`: the subscription itself; the secret in the URL is the only access
  rule. The token is never logged (access logs are off; errors do not echo it).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from litestar import Controller, Request, Response, get, post, route
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncEngine

from reception.auth import Principal
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import NotFound
from reception.etags import none_match
from reception.feeds import schemas, service, tokens
from reception.feeds.cache import FeedCache
from reception.feeds.models import FeedToken
from reception.responses import Limit, Offset, Page, read_as

AnyRequest = Request[Principal, Any, Any]
# Litestar appends "; charset=utf-8" to text/* media types itself.
CALENDAR = "text/calendar"
# The URL is a secret: no shared cache may keep it; clients revalidate with the validators.
CACHE_CONTROL = "private, no-cache"


def _read(row: FeedToken, tz: tzinfo) -> schemas.FeedRead:
    return read_as(schemas.FeedRead, row, tz, user_id=row.secretary_user_id)


class FeedController(Controller):
    path = "/feeds"
    tags = ["feeds"]

    @post("/")
    async def create_feed(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.FeedCreate]
    ) -> schemas.NewFeed:
        row, token = await tokens.create_feed(session=db, actor=request.user, data=data)
        url, webcal = tokens.feed_urls(ctx.settings.public_url, token)
        return schemas.NewFeed(feed=_read(row, ctx.tz), url=url, webcal_url=webcal)

    @get("/")
    async def list_feeds(
        self, db: DB, ctx: Ctx, request: AnyRequest, limit: Limit = 100, offset: Offset = 0
    ) -> Page[schemas.FeedRead]:
        rows, total = await tokens.list_feeds(
            session=db, actor=request.user, limit=limit, offset=offset
        )
        return Page([_read(r, ctx.tz) for r in rows], total, limit, offset)

    @post("/{feed_id:int}/revoke", status_code=200)
    async def revoke_feed(
        self, db: DB, ctx: Ctx, request: AnyRequest, feed_id: FromPath[int]
    ) -> schemas.FeedRead:
        row = await tokens.revoke_feed(session=db, actor=request.user, feed_id=feed_id)
        return _read(row, ctx.tz)


class SessionIcsController(Controller):
    path = "/sessions"
    tags = ["feeds"]

    @get("/{session_id:int}/event.ics", media_type=CALENDAR)
    async def session_event(
        self, db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]
    ) -> Response[bytes]:
        body = await service.session_ics(
            session=db, principal=request.user, session_id=session_id, settings=ctx.settings
        )
        return Response(
            body,
            media_type=CALENDAR,
            headers={
                "Content-Disposition": f'attachment; filename="session-{session_id}.ics"',
                "Cache-Control": "private, no-store",
            },
        )


def _http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def _feed_cache(state: State) -> FeedCache:
    cache: FeedCache | None = state.get("feed_cache")
    if cache is None:
        cache = FeedCache()
        state["feed_cache"] = cache
    return cache


@route(
    "/feeds/{filename:str}",
    http_method=["GET", "HEAD"],
    media_type=CALENDAR,
    tags=["feeds"],
    summary="Calendar feed (secret URL, RFC 5545)",
)
async def feed_ics(request: Request[Any, Any, Any], filename: FromPath[str]) -> Response[bytes]:
    """A poll is one statement (token lookup and version together) on a bare connection; a
    304 or a cached body needs nothing more. Only a new version reads the events, in one
    snapshot with a fresh version, so a body always matches its ETag."""
    token = filename.removesuffix(".ics")
    if token == filename or not token.startswith(tokens.FEED_TOKEN_PREFIX):
        raise NotFound("没有这个订阅")
    state = request.app.state
    ctx: Context = state.ctx
    settings = ctx.settings
    # A poll reads the replica when there is one (reception.reads.feed_engine): a calendar
    # app's view may lag the primary by the replica's delay, never more.
    engine: AsyncEngine = state.feed_engine
    postgres = engine.dialect.name == "postgresql"
    window = service.Window.for_day(ctx.today(), settings)
    cache = _feed_cache(state)
    async with engine.connect() as conn:
        if postgres:
            # One statement is its own snapshot: no BEGIN/COMMIT round trips.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        version = await service.feed_version(
            conn=conn, token=token, window=window, settings=settings, now=ctx.now()
        )
        if _fresh(request, version):
            return Response(b"", status_code=304, headers=_validators(version), media_type=CALENDAR)
        body = cache.get(version.key)
    if body is None:
        async with engine.connect() as conn:
            if postgres:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            # The data may have moved on since: take the version again in the snapshot the
            # events are read in (SQLite's read transaction is a snapshot already).
            version = await service.feed_version(
                conn=conn, token=token, window=window, settings=settings, now=ctx.now()
            )
            body = await service.feed_body(
                conn=conn,
                token=token,
                window=window,
                version=version,
                settings=settings,
                cache=cache,
            )
    return Response(body, media_type=CALENDAR, headers=_validators(version))


def _validators(version: service.FeedVersion) -> dict[str, str]:
    return {
        "ETag": version.etag,
        "Last-Modified": _http_date(version.last_modified),
        "Cache-Control": CACHE_CONTROL,
    }


def _fresh(request: Request[Any, Any, Any], version: service.FeedVersion) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:  # wins over If-Modified-Since (RFC 9110 §13.2.2)
        return none_match(if_none_match, version.etag)
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is not None:
        return _not_modified_since(if_modified_since, version.last_modified)
    return False
