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
    # An API token's scopes ("read", "write"); None for a console session.
    scopes: frozenset[str] | None = None
    # Whether the person has a second factor enrolled; and whether this console session still
    # owes it: "verify" (enrolled) or "enrol" (required, none yet).
    has_second_factor: bool = False
    second_factor: str = ""

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
    """A guard letting through only the given roles (the system administrator is let
    through the office's own routes too; never the security or audit administrator)."""
    return require_only(*roles, "admin")


def require_only(*roles: str) -> Guard:
    """A guard letting through exactly the given roles (三员分立: the administrators' duties)."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.role not in allowed:
            raise PermissionDeniedException(
                f"{role_label(principal.role)}无权进行此操作;可操作的角色:{'、'.join(role_label(r) for r in sorted(allowed))}"
            )

    return guard


# What the security and the audit administrator may reach at all (三员分立: each sees only
# its own pages — never a case, a booking, a calendar or a report). Everyone may reach
# their own account (/api/me, the console's password and second-factor pages, sign-out).
# A grid worker (网格员) likewise reaches his own matters only (网格员代办): no case, no list, no
# org chart — nothing of another village.
OWN_PATHS: dict[str, tuple[str, ...]] = {
    "secadmin": ("/api/users", "/api/tokens", "/admin/users", "/admin/security"),
    "auditor": ("/api/audit", "/admin/audit"),
    "grid": ("/api/proxy-filings", "/proxy"),
}
EVERYONE = ("/api/me", "/account", "/logout", "/password")


def duties(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The separation of duties, once for every signed-in route (API and console)."""
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal) or principal.role not in OWN_PATHS:
        return
    path = connection.scope["path"]
    if path != "/" and not path.startswith(OWN_PATHS[principal.role] + EVERYONE):
        why = "只能使用代办页面" if principal.role == "grid" else "只能使用自己的管理页面(三员分立)"
        raise PermissionDeniedException(f"{role_label(principal.role)}{why},无权进行此操作")
