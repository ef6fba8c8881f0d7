"""Bearer tokens, the authenticated principal, and role guards."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from reception.base import role_label
from reception.errors import Broken
from reception.org.models import ApiToken, SecretaryLeader, Unit, User

TOKEN_PREFIX = "rcp_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough (no need for a slow KDF).
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: what guards and services need, loaded once per request, from an API
    token (programs) or a console session (people); the same rules apply to both."""

    user_id: int
    name: str
    role: str
    token_id: int | None = None
    unit_id: int | None = None
    unit_path: str | None = None
    leader_id: int | None = None
    leader_ids: frozenset[int] = field(default_factory=frozenset)
    # The console session (signed in with a password) the request came with.
    session_id: int | None = None
    must_change_password: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_act_for_leader(self, leader_id: int) -> bool:
        if self.role == "admin":
            return True
        if self.role == "secretary":
            return leader_id in self.leader_ids
        return False


async def principal_of(
    session: AsyncSession, credential: Any, *where: ColumnElement[bool]
) -> Principal | None:
    """The live principal behind one credential row (an API token or a console session),
    in one query; None: unknown, revoked, ended or inactive.

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
    user_id, name, role, unit_id, leader_id, credential_id, unit_path, _, must_change = rows[0]
    if user_id is None or credential_id is None:  # primary keys
        raise Broken("expected: user_id is not None and credential_id is not None")
    by_token = credential is ApiToken
    return Principal(
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
    )


async def load_principal(session: AsyncSession, token: str) -> Principal | None:
    """The principal behind an API token."""
    return await principal_of(
        session,
        ApiToken,
        col(ApiToken.token_hash) == hash_token(token),
        col(ApiToken.revoked_at).is_(None),
    )


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
        maker: async_sessionmaker[AsyncSession] = connection.app.state.sessionmaker
        async with maker() as session:
            principal = await load_principal(session, token.strip())
        if principal is None:
            raise NotAuthorizedException(
                "令牌无效或已被吊销",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return AuthenticationResult(user=principal, auth=principal.token_id)


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def require(*roles: str) -> Guard:
    """A guard letting through only the given roles (admin is always let through)."""
    allowed = frozenset(roles) | {"admin"}

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.role not in allowed:
            raise PermissionDeniedException(
                f"{role_label(principal.role)}无权进行此操作;可操作的角色:{'、'.join(role_label(r) for r in sorted(allowed))}"
            )

    return guard
