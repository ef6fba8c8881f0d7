"""HTTP endpoints for units, leaders, venues, users and tokens. Thin: parse, call, shape."""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from reception.auth import Principal, require, require_only
from reception.base import Role, UnitKind
from reception.context import Ctx
from reception.db import DB
from reception.errors import Broken
from reception.org import schemas, service, signin
from reception.responses import Limit, Offset, Page, read_as

AnyRequest = Request[Principal, Any, Any]
admin_only = [require("admin")]
SECURITY = [require_only("secadmin")]


class UnitController(Controller):
    path = "/units"
    tags = ["org"]

    @get("/")
    async def list_units(
        self,
        db: DB,
        ctx: Ctx,
        limit: Limit = 100,
        offset: Offset = 0,
        kind: FromQuery[UnitKind | None] = None,
        parent_id: FromQuery[int | None] = None,
        under: Annotated[int | None, QueryParameter(description="Only this unit's subtree")] = None,
        active: FromQuery[bool | None] = None,
    ) -> Page[schemas.UnitRead]:
        rows, total = await service.list_units(
            session=db,
            limit=limit,
            offset=offset,
            kind=kind,
            parent_id=parent_id,
            under=under,
            active=active,
        )
        return Page([read_as(schemas.UnitRead, r, ctx.tz) for r in rows], total, limit, offset)

    @get("/{unit_id:int}")
    async def get_unit(self, db: DB, ctx: Ctx, unit_id: FromPath[int]) -> schemas.UnitRead:
        return read_as(
            schemas.UnitRead, await service.get_unit(session=db, unit_id=unit_id), ctx.tz
        )

    @post("/", guards=admin_only)
    async def create_unit(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.UnitCreate]
    ) -> schemas.UnitRead:
        unit = await service.create_unit(session=db, actor=request.user, data=data)
        return read_as(schemas.UnitRead, unit, ctx.tz)

    @patch("/{unit_id:int}", guards=admin_only)
    async def update_unit(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        unit_id: FromPath[int],
        data: JSONBody[schemas.UnitUpdate],
    ) -> schemas.UnitRead:
        unit = await service.update_unit(session=db, actor=request.user, unit_id=unit_id, data=data)
        return read_as(schemas.UnitRead, unit, ctx.tz)


class LeaderController(Controller):
    path = "/leaders"
    tags = ["org"]

    @get("/")
    async def list_leaders(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        unit_id: Annotated[int | None, QueryParameter(description="This unit and below")] = None,
        active: FromQuery[bool | None] = None,
    ) -> Page[schemas.LeaderRead]:
        rows, total = await service.list_leaders(
            session=db,
            principal=request.user,
            limit=limit,
            offset=offset,
            unit_id=unit_id,
            active=active,
        )
        return Page([read_as(schemas.LeaderRead, r, ctx.tz) for r in rows], total, limit, offset)

    @get("/{leader_id:int}")
    async def get_leader(
        self, db: DB, ctx: Ctx, request: AnyRequest, leader_id: FromPath[int]
    ) -> schemas.LeaderRead:
        leader = await service.get_leader(session=db, leader_id=leader_id, principal=request.user)
        return read_as(schemas.LeaderRead, leader, ctx.tz)

    @post("/", guards=admin_only)
    async def create_leader(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.LeaderCreate]
    ) -> schemas.LeaderRead:
        leader = await service.create_leader(session=db, actor=request.user, data=data)
        return read_as(schemas.LeaderRead, leader, ctx.tz)

    @patch("/{leader_id:int}", guards=admin_only)
    async def update_leader(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        leader_id: FromPath[int],
        data: JSONBody[schemas.LeaderUpdate],
    ) -> schemas.LeaderRead:
        leader = await service.update_leader(
            session=db, actor=request.user, leader_id=leader_id, data=data
        )
        return read_as(schemas.LeaderRead, leader, ctx.tz)


class VenueController(Controller):
    path = "/venues"
    tags = ["org"]

    @get("/")
    async def list_venues(
        self,
        db: DB,
        ctx: Ctx,
        limit: Limit = 100,
        offset: Offset = 0,
        unit_id: Annotated[int | None, QueryParameter(description="This unit and below")] = None,
        active: FromQuery[bool | None] = None,
    ) -> Page[schemas.VenueRead]:
        rows, total = await service.list_venues(
            session=db, limit=limit, offset=offset, unit_id=unit_id, active=active
        )
        return Page([read_as(schemas.VenueRead, r, ctx.tz) for r in rows], total, limit, offset)

    @get("/{venue_id:int}")
    async def get_venue(self, db: DB, ctx: Ctx, venue_id: FromPath[int]) -> schemas.VenueRead:
        return read_as(
            schemas.VenueRead,
            await service.get_venue(session=db, venue_id=venue_id),
            ctx.tz,
        )

    @post("/", guards=admin_only)
    async def create_venue(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.VenueCreate]
    ) -> schemas.VenueRead:
        venue = await service.create_venue(session=db, actor=request.user, data=data)
        return read_as(schemas.VenueRead, venue, ctx.tz)

    @patch("/{venue_id:int}", guards=admin_only)
    async def update_venue(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        venue_id: FromPath[int],
        data: JSONBody[schemas.VenueUpdate],
    ) -> schemas.VenueRead:
        venue = await service.update_venue(
            session=db, actor=request.user, venue_id=venue_id, data=data
        )
        return read_as(schemas.VenueRead, venue, ctx.tz)


async def _user_reads(db: DB, users: list[Any], tz: tzinfo) -> list[schemas.UserRead]:
    links = await service.linked_leader_ids(session=db, user_ids=[u.id for u in users])
    return [read_as(schemas.UserRead, u, tz, leader_ids=links[u.id]) for u in users]


class UserController(Controller):
    """Accounts: the security administrator grants roles, sets passwords and issues tokens;
    the system administrator sees them and keeps their units and links (三员分立)."""

    path = "/users"
    tags = ["users"]
    guards = [require_only("admin", "secadmin")]

    @get("/")
    async def list_users(
        self,
        db: DB,
        ctx: Ctx,
        limit: Limit = 100,
        offset: Offset = 0,
        role: FromQuery[Role | None] = None,
        active: FromQuery[bool | None] = None,
        unit_id: FromQuery[int | None] = None,
    ) -> Page[schemas.UserRead]:
        rows, total = await service.list_users(
            session=db, limit=limit, offset=offset, role=role, active=active, unit_id=unit_id
        )
        return Page(await _user_reads(db, rows, ctx.tz), total, limit, offset)

    @get("/{user_id:int}")
    async def get_user(self, db: DB, ctx: Ctx, user_id: FromPath[int]) -> schemas.UserRead:
        return (
            await _user_reads(db, [await service.get_user(session=db, user_id=user_id)], ctx.tz)
        )[0]

    @post("/", guards=SECURITY)
    async def create_user(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.UserCreate]
    ) -> schemas.UserRead:
        user = await service.create_user(session=db, actor=request.user, data=data)
        return (await _user_reads(db, [user], ctx.tz))[0]

    @patch("/{user_id:int}")
    async def update_user(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        user_id: FromPath[int],
        data: JSONBody[schemas.UserUpdate],
    ) -> schemas.UserRead:
        user = await service.update_user(session=db, actor=request.user, user_id=user_id, data=data)
        return (await _user_reads(db, [user], ctx.tz))[0]

    @put("/{user_id:int}/password", guards=SECURITY, status_code=200)
    async def set_password(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        user_id: FromPath[int],
        data: JSONBody[schemas.PasswordSet],
    ) -> schemas.UserRead:
        """Set (or reset) the console login: the person must choose their own password at
        the next sign-in, and any open sessions of theirs end."""
        user = await signin.set_password(
            session=db,
            ctx=ctx,
            actor=request.user,
            user_id=user_id,
            username=data.username,
            password=data.password,
        )
        return (await _user_reads(db, [user], ctx.tz))[0]

    @get("/{user_id:int}/tokens", guards=SECURITY)
    async def list_tokens(
        self, db: DB, ctx: Ctx, user_id: FromPath[int]
    ) -> list[schemas.TokenRead]:
        rows = await service.list_tokens(session=db, user_id=user_id)
        return [read_as(schemas.TokenRead, r, ctx.tz) for r in rows]

    @post("/{user_id:int}/tokens", guards=SECURITY)
    async def create_token(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        user_id: FromPath[int],
        data: JSONBody[schemas.TokenCreate | None] = None,
    ) -> schemas.NewToken:
        data = data or schemas.TokenCreate()
        row, token = await service.issue_token(
            session=db,
            actor=request.user,
            user_id=user_id,
            label=data.label,
            expires_in_days=data.expires_in_days,
            scopes=data.scopes,
        )
        if row.id is None:
            raise Broken("expected: row.id is not None")
        return schemas.NewToken(
            id=row.id,
            user_id=user_id,
            token=token,
            label=row.label,
            expires_at=ctx.local(row.expires_at) if row.expires_at else None,
            scopes=list(row.scopes or []),
        )


class TokenController(Controller):
    path = "/tokens"
    tags = ["users"]

    @post("/{token_id:int}/revoke", guards=SECURITY, status_code=200)
    async def revoke_token(
        self, db: DB, ctx: Ctx, request: AnyRequest, token_id: FromPath[int]
    ) -> schemas.TokenRead:
        row = await service.revoke_token(session=db, actor=request.user, token_id=token_id)
        return read_as(schemas.TokenRead, row, ctx.tz)


class MeController(Controller):
    path = "/me"
    tags = ["users"]

    @get("/")
    async def me(self, request: AnyRequest) -> schemas.Me:
        p = request.user
        return schemas.Me(
            user_id=p.user_id,
            name=p.name,
            role=p.role,
            unit_id=p.unit_id,
            leader_id=p.leader_id,
            leader_ids=sorted(p.leader_ids),
        )
