"""Who is calling, loaded from the org chart: the principal behind an API token (programs) or a
console session (people), and the middleware that authenticates API requests. The Principal
itself and the role guards are `reception.auth` (which imports nothing of the org)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import ColumnElement, and_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from reception.auth import Principal, hash_token
from reception.errors import Broken
from reception.org.models import ApiToken, SecretaryLeader, Unit, User

# What the lookups run on: a request's session, or (an API token's lookup on PostgreSQL) a
# connection in autocommit, which skips the BEGIN and ROLLBACK round trips of a transaction.
Reader = AsyncSession | AsyncConnection


async def principal_of(
    session: Reader, credential: Any, *where: ColumnElement[bool]
) -> Principal | None:
    found = await principal_with(session, credential, (), *where)
    return found[0] if found else None


async def principal_with(
    session: Reader, credential: Any, extra: tuple[Any, ...], *where: ColumnElement[bool]
) -> tuple[Principal, tuple[Any, ...]] | None:
    """The live principal behind one credential row (an API token or a console session),
    in one query; None: unknown, revoked, ended or inactive. `extra`: columns of the credential
    row to read in the same query (a console session's expiry), returned beside it.

    One row per leader a secretary is linked to (outer join; other roles get one row), with
    the user's unit path joined in. Nothing is cached: a revoked token or a deactivated user
    is refused from the very next request, in every process.
    """
    rows = (
        await session.execute(
            select(
                col(User.id),
                col(User.name),
                col(User.role),
                col(User.unit_id),
                col(User.leader_id),
                credential.id,
                col(Unit.path),
                col(SecretaryLeader.leader_id),
                col(User.must_change_password),
                col(ApiToken.scopes) if credential is ApiToken else literal(None),
                col(User.totp_sealed) != "",
                *extra,
            )
            .select_from(credential)
            .join(User, col(User.id) == credential.user_id)
            .outerjoin(Unit, col(Unit.id) == col(User.unit_id))
            .outerjoin(
                SecretaryLeader,
                and_(
                    col(SecretaryLeader.user_id) == col(User.id),
                    col(User.role) == "secretary",
                ),
            )
            .where(*where, col(User.active).is_(True))
        )
    ).all()
    if not rows:
        return None
    (user_id, name, role, unit_id, leader_id, credential_id, unit_path) = rows[0][:7]
    must_change, scopes, enrolled = rows[0][8:11]
    if user_id is None or credential_id is None:  # primary keys
        raise Broken("expected: user_id is not None and credential_id is not None")
    by_token = credential is ApiToken
    principal = Principal(
        user_id=user_id,
        name=name,
        role=role,
        token_id=credential_id if by_token else None,
        session_id=None if by_token else credential_id,
        unit_id=unit_id,
        unit_path=unit_path,
        leader_id=leader_id,
        leader_ids=frozenset(row[7] for row in rows if row[7] is not None),
        must_change_password=bool(must_change) and not by_token,
        scopes=frozenset(scopes) if by_token and scopes is not None else None,
        has_second_factor=bool(enrolled),
    )
    return principal, tuple(rows[0][11:])


async def load_principal(
    session: Reader, token: str, now: datetime | None = None
) -> Principal | None:
    """The principal behind an API token (not revoked, and not expired at `now`)."""
    live: list[ColumnElement[bool]] = [col(ApiToken.revoked_at).is_(None)]
    if now is not None:
        live.append(or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now))
    return await principal_of(
        session, ApiToken, col(ApiToken.token_hash) == hash_token(token), *live
    )


READING = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(
                "需要登录:请求头须带 Authorization: Bearer <令牌>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        state = connection.app.state
        now = state.ctx.now()
        engine: AsyncEngine = state.engine
        if engine.dialect.name == "postgresql":
            async with engine.connect() as lookup:
                await lookup.execution_options(isolation_level="AUTOCOMMIT")
                principal = await load_principal(lookup, token.strip(), now)
        else:  # SQLite: its connections BEGIN themselves (reception.db)
            maker: async_sessionmaker[AsyncSession] = state.sessionmaker
            async with maker() as session:
                principal = await load_principal(session, token.strip(), now)
        if principal is None:
            raise NotAuthorizedException(
                "令牌无效、已过期或已被吊销",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        scopes = principal.scopes
        if (
            scopes is not None
            and "write" not in scopes
            and connection.scope.get("method", "GET") not in READING
        ):
            raise PermissionDeniedException("这个令牌只能读取(scope: read),不能修改数据")
        return AuthenticationResult(user=principal, auth=principal.token_id)
