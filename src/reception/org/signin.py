"""Signing people in to the console: argon2id passwords, lockout with backoff, server-side
sessions with an idle timeout. Plain functions that flush, never commit; every sign-in, failure,
lock and sign-out is an audit row.

API tokens stay for programs (reception.auth); a person has one login, and both ways of
calling load the same Principal, so every permission rule is the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select as core_select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.base import ADMINISTRATORS
from reception.context import Context
from reception.errors import InvalidInput, NotFound
from reception.org.models import User
from reception.org.principals import principal_with
from reception.web.models import ConsoleSession

# Failures before the first lock; each further failure doubles it, up to an hour.
LOCK_AFTER = 5
LOCK_MAX = timedelta(hours=1)
# A session's last_seen moves at most this often (a write per request would be wasteful).
TOUCH_EVERY = timedelta(minutes=1)
MIN_LENGTH = 8
# The one answer to a refused sign-in, whatever the reason (unknown name, wrong password,
# locked account): it must not tell which names exist.
REFUSED = (
    f"用户名或密码不正确。连续输错{LOCK_AFTER}次后账号会暂时锁定,"
    "锁定期间请稍后再试,或请管理员重置密码"
)

# argon2id at OWASP's first recommendation (m = 46 MiB, t = 1, p = 1): a verify costs ~70 ms
# on one core of this kind of machine, within the 250 ms a sign-in may spend on it (the
# library's default, m = 64 MiB, t = 3, p = 4, took 200–320 ms on one busy core; measured by
# bench/signin.py). A hash made with other parameters is renewed at the next good sign-in.
_hasher = PasswordHasher(time_cost=1, memory_cost=47_104, parallelism=1)
# Verified when the username is unknown, so a wrong name costs the same time as a wrong
# password and the answer does not tell which names exist.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,50}$")


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(encoded: str, password: str) -> bool:
    try:
        return _hasher.verify(encoded or _DUMMY, password) and bool(encoded)
    except (VerificationError, InvalidHashError):
        return False


# The four kinds of character a password mixes; it must hold at least three (等保三级).
CLASSES = (
    ("小写字母", re.compile(r"[a-z]")),
    ("大写字母", re.compile(r"[A-Z]")),
    ("数字", re.compile(r"\d")),
    ("符号", re.compile(r"[^A-Za-z0-9]")),
)
MIN_CLASSES = 3
RULE = f"至少{MIN_LENGTH}位,含大写字母、小写字母、数字、符号中的至少{MIN_CLASSES}种"


def password_problem(password: str, username: str | None) -> str | None:
    """Why a new password is refused (None: acceptable)."""
    if len(password) < MIN_LENGTH:
        return f"密码至少{MIN_LENGTH}位"
    if len(password) > 128:
        return "密码最多128位"
    kinds = [name for name, pattern in CLASSES if pattern.search(password)]
    if len(kinds) < MIN_CLASSES:
        have = "、".join(kinds) or "无"
        return f"密码须含大写字母、小写字母、数字、符号中的至少{MIN_CLASSES}种(现有:{have})"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名"
    return None


def _reused(user: User, password: str, keep: int) -> bool:
    """Whether `password` is the current one or one of the last `keep` before it."""
    earlier = [user.password_hash, *(user.password_history or [])[:keep]]
    return any(_verify(encoded, password) for encoded in earlier if encoded)


def _remember(user: User, keep: int) -> None:
    """The current hash goes into the history (newest first, `keep` kept)."""
    if user.password_hash:
        user.password_history = [user.password_hash, *(user.password_history or [])][:keep]


def password_expired(user: User, settings: Any, now: datetime) -> bool:
    """The person's own password is older than the policy allows (0 days: never)."""
    days = settings.password_max_age_days
    changed = user.password_changed_at
    return bool(days) and changed is not None and now - changed >= timedelta(days=days)


def username_problem(username: str) -> str | None:
    if not USERNAME.fullmatch(username):
        return "用户名为2至50位字母、数字、下划线、点或连字符"
    return None


def lock_for(failures: int) -> timedelta | None:
    """How long `failures` consecutive failures lock the account (None: not locked)."""
    if failures < LOCK_AFTER:
        return None
    return min(timedelta(minutes=2 ** (failures - LOCK_AFTER)), LOCK_MAX)


def _as_actor(user: User) -> Principal:
    return Principal(user_id=user.id or 0, name=user.name, role=user.role)


# ---------------------------------------------------------------- passwords set by an admin


async def set_password(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    user_id: int,
    username: str | None,
    password: str,
) -> User:
    """An admin sets (or resets) a person's login: the username if given, a first password the
    person must change at the next sign-in; any open sessions of theirs end."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在")
    name = (username or user.username or "").strip()
    problem = username_problem(name)
    if problem:
        raise InvalidInput(problem, field="username")
    taken = await session.scalar(select(User.id).where(User.username == name, User.id != user_id))
    if taken is not None:
        raise InvalidInput(f"用户名 {name} 已被使用", field="username")
    problem = password_problem(password, name)
    if problem:
        raise InvalidInput(problem, field="password")
    user.username = name
    _remember(user, ctx.settings.password_history)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.must_change_password = True
    user.failed_sign_ins = 0
    user.locked_until = None
    await session.flush()
    await end_sessions(session=session, user_id=user_id, reason="password_reset", at=ctx.now())
    await audit.record(
        session=session,
        actor=actor,
        action="user.password_set",
        target_type="user",
        target_id=user_id,
        after={"username": name, "must_change_password": True},
    )
    return user


async def change_password(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal,
    current: str,
    new: str,
    repeat: str,
) -> None:
    """The person's own new password (after checking the current one); their other sessions
    end, this one stays."""
    user = await session.get(User, actor.user_id)
    if user is None:
        raise NotFound("该账号不存在")
    if not await asyncio.to_thread(_verify, user.password_hash, current):
        raise InvalidInput("当前密码不正确", field="current")
    if new != repeat:
        raise InvalidInput("两次输入的新密码不一致", field="repeat")
    problem = password_problem(new, user.username)
    if problem:
        raise InvalidInput(problem, field="new")
    keep = ctx.settings.password_history
    if await asyncio.to_thread(_reused, user, new, keep):
        raise InvalidInput(f"新密码不能与当前密码或最近{keep}次用过的密码相同", field="new")
    _remember(user, keep)
    user.password_hash = await asyncio.to_thread(hash_password, new)
    user.password_changed_at = ctx.now()
    user.must_change_password = False
    await session.flush()
    await end_sessions(
        session=session,
        user_id=user.id or 0,
        reason="password_changed",
        at=ctx.now(),
        keep=actor.session_id,
    )
    await audit.record(
        session=session,
        actor=actor,
        action="auth.password_changed",
        target_type="user",
        target_id=actor.user_id,
    )


# ---------------------------------------------------------------- signing in and out


@dataclass(frozen=True)
class SignedIn:
    token: str
    user: User


@dataclass(frozen=True)
class Refused:
    message: str


async def sign_in(
    *,
    session: AsyncSession,
    ctx: Context,
    username: str,
    password: str,
    user_agent: str = "",
) -> SignedIn | Refused:
    """Check a username and password. Wrong ones count towards a lock that doubles with each
    further failure. An unknown name, a wrong password and a locked account get the same
    answer after the same work (a password is verified in every case), so the answer does
    not tell which names exist; the audit log says which it was."""
    now = ctx.now()
    name = username.strip()
    user = (
        await session.scalar(select(User).where(User.username == name).with_for_update())
        if name
        else None
    )
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    good = await asyncio.to_thread(_verify, user.password_hash if user else "", password)
    if user is None or locked or not good:
        if user is not None and not locked:
            user.failed_sign_ins += 1
            lock = lock_for(user.failed_sign_ins)
            user.locked_until = now + lock if lock else None
            await session.flush()
        await audit.record(
            session=session,
            actor=_as_actor(user) if user else None,
            action="auth.sign_in_locked" if locked else "auth.sign_in_failed",
            target_type="user" if user else "username",
            target_id=user.id if user else name[:50],
            after={"failures": user.failed_sign_ins} if user else None,
        )
        return Refused(REFUSED)
    if not user.active:
        # Only someone who knows the password learns that the account was switched off.
        await audit.record(
            session=session,
            actor=_as_actor(user),
            action="auth.sign_in_inactive",
            target_type="user",
            target_id=user.id,
        )
        return Refused("该账号已停用,请联系管理员")
    user.failed_sign_ins = 0
    user.locked_until = None
    if password_expired(user, ctx.settings, now):
        # Signed in, then sent to choose a new one before anything else (web.console).
        user.must_change_password = True
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        user_id=user.id or 0,
        token_hash=hash_secret(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=ctx.settings.console_session_hours),
        user_agent=user_agent[:200],
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session=session,
        actor=_as_actor(user),
        action="auth.sign_in",
        target_type="console_session",
        target_id=row.id,
    )
    return SignedIn(token, user)


async def sign_out(*, session: AsyncSession, ctx: Context, principal: Principal) -> None:
    if principal.session_id is None:
        return
    await session.execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.id) == principal.session_id)
        .values(ended_at=ctx.now(), end_reason="signed_out")
    )
    await audit.record(
        session=session,
        actor=principal,
        action="auth.sign_out",
        target_type="console_session",
        target_id=principal.session_id,
    )


async def end_sessions(
    *, session: AsyncSession, user_id: int, reason: str, at: datetime, keep: int | None = None
) -> None:
    """End a person's open sessions (deactivated, password reset or changed)."""
    query = update(ConsoleSession).where(
        col(ConsoleSession.user_id) == user_id, col(ConsoleSession.ended_at).is_(None)
    )
    if keep is not None:
        query = query.where(col(ConsoleSession.id) != keep)
    await session.execute(query.values(ended_at=at, end_reason=reason))


@dataclass(frozen=True)
class Seen:
    """What a request tells about its session: still in use at `at` (touched, or its flash
    shown), or ended (`ended`)."""

    session_id: int
    at: datetime
    ended: str = ""
    touch: bool = True
    # The flash shown by this request (cleared unless a newer one was written meanwhile).
    shown: str = ""


@dataclass(frozen=True)
class Resolved:
    principal: Principal | None
    # Why there is none: "" (no such session), "idle" or "expired".
    ended: str = ""
    # What to write about the session afterwards (None: nothing).
    write: Seen | None = None
    # The message the page shows once (the flash).
    flash: str = ""


# What resolving a console cookie reads of its session row.
_SESSION_COLUMNS = (
    col(ConsoleSession.id),
    col(ConsoleSession.expires_at),
    col(ConsoleSession.last_seen_at),
    col(ConsoleSession.second_factor_at),
    col(ConsoleSession.flash),
)


class _SessionRow(NamedTuple):
    id: int
    expires_at: datetime
    last_seen_at: datetime
    second_factor_at: datetime | None
    flash: str


async def resolve(*, session: AsyncSession, ctx: Context, token: str) -> Resolved:
    """The principal of a console cookie (reads only). A session idle longer than the timeout
    or past its end is over; a live one is marked seen at most once a minute."""
    live = (
        col(ConsoleSession.token_hash) == hash_secret(token),
        col(ConsoleSession.ended_at).is_(None),
    )
    # The common case in one statement: the session and its live user together. Without a
    # row (unknown, ended, or the user deactivated), the session alone says which.
    found = await principal_with(session, ConsoleSession, _SESSION_COLUMNS, *live)
    principal, row = found if found else (None, None)
    if row is None:
        row = (await session.execute(core_select(*_SESSION_COLUMNS).where(*live))).first()
    if row is None:
        return Resolved(None)
    row = _SessionRow(*row)
    now = ctx.now()
    idle = timedelta(minutes=ctx.settings.console_idle_minutes)
    reason = "expired" if now >= row.expires_at else "idle" if now - row.last_seen_at > idle else ""
    if reason:
        return Resolved(None, reason, Seen(row.id, now, reason))
    if principal is not None and row.second_factor_at is None:
        must = principal.role in ADMINISTRATORS or ctx.settings.require_2fa
        if principal.has_second_factor or must:
            owed = "verify" if principal.has_second_factor else "enrol"
            principal = dataclasses.replace(principal, second_factor=owed)
    touch = principal is not None and now - row.last_seen_at >= TOUCH_EVERY
    flash = row.flash if principal is not None else ""
    write = Seen(row.id, now, touch=touch, shown=flash) if touch or flash else None
    return Resolved(principal, "", write, flash)


async def record_seen(*, session: AsyncSession, write: Seen) -> None:
    where = [col(ConsoleSession.id) == write.session_id, col(ConsoleSession.ended_at).is_(None)]
    if write.ended:
        values: dict[str, object] = {"ended_at": write.at, "end_reason": write.ended}
    else:
        values = {"last_seen_at": write.at} if write.touch else {}
        if write.shown:
            await session.execute(
                update(ConsoleSession)
                .where(*where, col(ConsoleSession.flash) == write.shown)
                .values(flash="")
            )
    if values:
        await session.execute(update(ConsoleSession).where(*where).values(**values))
