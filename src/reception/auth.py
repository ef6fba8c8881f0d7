"""Bearer tokens, the authenticated principal, and role guards."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from reception.base import role_label

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
