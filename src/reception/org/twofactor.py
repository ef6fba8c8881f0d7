"""The second factor (等保三级 §8.1.4.1): TOTP (RFC 6238, pyotp) after the password.

Required of the three administrators always, and of every role when RECEPTION_REQUIRE_2FA=1.
The secret is sealed with the data keys (SM4 under the SM suite); a code is good once (the
last time step used is kept); ten recovery codes are shown once at enrolment and kept as
argon2 hashes, each good once. Wrong codes count towards the same lock as wrong passwords. A
lost phone is reset by the security administrator, audited. Plain functions that flush, never
commit.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception import pii
from reception.audit import service as audit
from reception.auth import Principal
from reception.base import ADMINISTRATORS
from reception.config import Settings
from reception.context import Context
from reception.errors import Forbidden, InvalidInput, NotFound
from reception.org.models import User
from reception.org.signin import _hasher, end_sessions, lock_for
from reception.web.models import ConsoleSession

STEP = 30
ISSUER = "信访接待系统"
RECOVERY_COUNT = 10
# Recovery codes: 4 + 4 characters without look-alikes (28^8 ≈ 3.8·10^11 each).
RECOVERY_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY2346789"
WRONG = "动态口令不正确或已用过,请看手机上最新的6位数字再试"
# A secret as the enrolment page offers it (pyotp: base32, 32 characters).
BASE32 = re.compile(r"[A-Z2-7]{16,64}")


def required(role: str, settings: Settings) -> bool:
    return role in ADMINISTRATORS or settings.require_2fa


def new_secret() -> str:
    return pyotp.random_base32()


def enrol_mark(ctx: Context, user_id: int, secret: str) -> str:
    """Binds a secret offered at enrolment to the person (the form carries both)."""
    return ctx.keys.mac("totp-enrol", f"{user_id}:{secret}".encode()).hex()[:40]


def qr_data_uri(ctx: Context, secret: str, username: str) -> str:
    """The enrolment QR code, drawn here (segno) as an SVG data URI: nothing leaves the
    network."""
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=username, issuer_name=f"{ISSUER}·{ctx.settings.office_name}"
    )
    return str(segno.make(uri, error="m").svg_data_uri(scale=4, border=2))


def _step_of(secret: str, code: str, now: datetime, after: int) -> int | None:
    """The time step (now, or one either side for a clock a little off) whose code was typed,
    if it is later than the last one used."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    here = int(now.timestamp()) // STEP
    for step in (here - 1, here, here + 1):
        if step > after and hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def _recovery_codes() -> list[str]:
    def one() -> str:
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(8))
        return f"{raw[:4]}-{raw[4:]}"

    return [one() for _ in range(RECOVERY_COUNT)]


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.id is None:
        raise NotFound(f"没有用户 {user_id}")
    return user


async def _passed(session: AsyncSession, ctx: Context, principal: Principal) -> None:
    if principal.session_id is not None:
        await session.execute(
            update(ConsoleSession)
            .where(col(ConsoleSession.id) == principal.session_id)
            .values(second_factor_at=ctx.now())
        )


async def enrol(
    *,
    session: AsyncSession,
    ctx: Context,
    principal: Principal,
    secret: str,
    mark: str,
    code: str,
) -> list[str]:
    """Take the secret offered (checked against its mark) once the person's app shows its
    code; the session has then passed its second factor. The recovery codes, to show once."""
    user = await _user(session, principal.user_id)
    if user.totp_sealed:
        raise Forbidden("已启用动态口令;如手机丢失,请安全管理员重置")
    if not BASE32.fullmatch(secret) or not hmac.compare_digest(
        enrol_mark(ctx, principal.user_id, secret).encode(), mark.encode()
    ):
        raise InvalidInput("绑定信息已失效,请刷新页面重新扫码", field="code")
    step = _step_of(secret, code, ctx.now(), 0)
    if step is None:
        raise InvalidInput("动态口令不正确:请用手机验证器扫码后,输入它显示的6位数字", field="code")
    codes = _recovery_codes()
    hashes = await asyncio.to_thread(lambda: [_hasher.hash(c) for c in codes])
    pii.seal(ctx.keys, user, totp_sealed=secret)
    user.totp_last_step = step
    user.recovery_codes = hashes
    user.updated_at = ctx.now()
    await session.flush()
    await _passed(session, ctx, principal)
    await audit.record(
        session=session,
        actor=principal,
        action="auth.second_factor_enrolled",
        target_type="user",
        target_id=user.id,
    )
    return codes


async def verify(
    *, session: AsyncSession, ctx: Context, principal: Principal, code: str
) -> str | None:
    """A code from the app (or a recovery code) for this session: None when it passed, else
    what to tell the person. A wrong one counts towards the account's lock like a wrong
    password — recorded, so the caller commits rather than rolls back."""
    user = await _user(session, principal.user_id)
    now = ctx.now()
    if user.locked_until is not None and user.locked_until > now:
        raise Forbidden("连续输错次数过多,账号暂时锁定,请稍后再试")
    if not user.totp_sealed:
        raise Forbidden("尚未启用动态口令")
    (secret,) = pii.opened(ctx.keys, user, "totp_sealed")
    step = _step_of(secret, code, now, user.totp_last_step)
    used_recovery = False
    if step is None:
        used_recovery = await _use_recovery_code(user, code)
    if step is None and not used_recovery:
        user.failed_sign_ins += 1
        lock = lock_for(user.failed_sign_ins)
        user.locked_until = now + lock if lock else None
        await session.flush()
        await audit.record(
            session=session,
            actor=principal,
            action="auth.second_factor_failed",
            target_type="user",
            target_id=user.id,
            after={"failures": user.failed_sign_ins},
        )
        return WRONG
    if step is not None:
        user.totp_last_step = step
    user.failed_sign_ins = 0
    user.locked_until = None
    await session.flush()
    await _passed(session, ctx, principal)
    await audit.record(
        session=session,
        actor=principal,
        action="auth.recovery_code_used" if used_recovery else "auth.second_factor",
        target_type="console_session",
        target_id=principal.session_id,
        after={"recovery_codes_left": len(user.recovery_codes or [])} if used_recovery else None,
    )
    return None


async def _use_recovery_code(user: User, typed: str) -> bool:
    code = "".join(ch for ch in typed.upper() if ch.isalnum())
    if len(code) != 8:
        return False
    code = f"{code[:4]}-{code[4:]}"
    hashes = list(user.recovery_codes or [])

    def match() -> int | None:
        for i, encoded in enumerate(hashes):
            try:
                if _hasher.verify(encoded, code):
                    return i
            except Exception:
                continue
        return None

    found = await asyncio.to_thread(match)
    if found is None:
        return False
    user.recovery_codes = hashes[:found] + hashes[found + 1 :]
    return True


async def reset(*, session: AsyncSession, ctx: Context, actor: Principal, user_id: int) -> User:
    """A lost phone: the security administrator clears the person's second factor; their
    sessions end, and they enrol again at the next sign-in."""
    if actor.role != "secadmin":
        raise Forbidden("重置动态口令由安全管理员办理(三员分立)")
    user = await _user(session, user_id)
    had = bool(user.totp_sealed)
    user.totp_sealed = ""
    user.recovery_codes = None
    user.updated_at = ctx.now()
    await session.flush()
    await end_sessions(session=session, user_id=user_id, reason="second_factor_reset", at=ctx.now())
    await audit.record(
        session=session,
        actor=actor,
        action="auth.second_factor_reset",
        target_type="user",
        target_id=user_id,
        before={"enrolled": had},
        after={"enrolled": False},
    )
    return user
