"""The second factor in the console: enrol (scan a QR code drawn here, type the code, keep the
recovery codes shown once), verify at each sign-in, and the security administrator's reset."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from sqlmodel import col, select

from reception import crypto
from reception.auth import Principal, require_only
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.org import signin, twofactor
from reception.org.models import User
from reception.web.render import HOME, FormErrors, page, read_form, refused, see_other

AnyRequest = Request[Principal, Any, Any]


async def _page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    secret: str | None = None,
) -> Template:
    user = await db.get(User, request.user.user_id)
    enrolled = user is not None and bool(user.totp_sealed)
    if enrolled:
        return page(
            request,
            "web/2fa_verify.html",
            status=status,
            title="动态口令验证",
            errors=errors or {},
            owed=request.user.second_factor,
        )
    # A form sent back keeps its secret (the phone may have scanned it) unless it is no secret.
    if not secret or not twofactor.BASE32.fullmatch(secret):
        secret = twofactor.new_secret()
    username = (user.username if user else None) or request.user.name
    return page(
        request,
        "web/2fa_setup.html",
        status=status,
        title="启用动态口令",
        errors=errors or {},
        secret=secret,
        grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        mark=twofactor.enrol_mark(ctx, request.user.user_id, secret),
        qr=twofactor.qr_data_uri(ctx, secret, username),
        required=twofactor.required(request.user.role, ctx.settings),
    )


@get("/account/2fa")
async def second_factor(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    return await _page(request, db, ctx)


@post("/account/2fa/enrol", status_code=200)
async def enrol(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    form = await read_form(request)
    secret = str(form.get("secret") or "")[:64]
    try:
        codes = await twofactor.enrol(
            session=db,
            ctx=ctx,
            principal=request.user,
            secret=secret,
            mark=str(form.get("mark") or "")[:80],
            code=str(form.get("code") or "")[:20],
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _page(
            request, db, ctx, status=problem.status, errors=problem.fields, secret=secret or None
        )
    # Shown here once: they are kept only as hashes.
    return page(
        request,
        "web/2fa_codes.html",
        title="恢复码",
        codes=codes,
        home=HOME.get(request.user.role, "/"),
    )


@post("/account/2fa/verify", status_code=200)
async def verify(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    form = await read_form(request)
    try:
        wrong = await twofactor.verify(
            session=db, ctx=ctx, principal=request.user, code=str(form.get("code") or "")[:20]
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _page(request, db, ctx, status=problem.status, errors=problem.fields)
    if wrong is not None:
        # Kept (not rolled back): the failure counts towards the lock, and is audited.
        return await _page(request, db, ctx, status=400, errors={"code": wrong})
    target = "/password" if request.user.must_change_password else HOME.get(request.user.role, "/")
    return await see_other(request, db, target, notice="动态口令验证通过")


@post("/admin/users/{user_id:int}/2fa/reset", guards=[require_only("secadmin")], status_code=200)
async def reset(db: DB, ctx: Ctx, request: AnyRequest, user_id: FromPath[int]) -> Response[Any]:
    user = await twofactor.reset(session=db, ctx=ctx, actor=request.user, user_id=user_id)
    return await see_other(
        request,
        db,
        f"/admin/users/{user_id}",
        notice=f"已重置 {user.name} 的动态口令:其登录已失效,下次登录时重新绑定手机",
    )


@get("/admin/security", guards=[require_only("secadmin")])
async def security(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    """The security administrator's overview: the policies in force (from the settings), the
    cipher suite and keys in use (ids and algorithms, never a key), and who still lacks the
    second factor the policy asks of them."""
    users = (await db.scalars(select(User).where(col(User.active).is_(True)))).all()
    missing = [u for u in users if twofactor.required(u.role, ctx.settings) and not u.totp_sealed]
    keys = ctx.keys
    return page(
        request,
        "web/security.html",
        title="安全设置",
        settings=ctx.settings,
        suite=crypto.ALGORITHM[keys.suite],
        index=crypto.INDEX_ALGORITHM[keys.suite],
        checksum=crypto.CHECKSUM_ALGORITHM[keys.suite],
        key_ids=[(k, crypto.ALGORITHM[crypto.suite_of(v)]) for k, v in sorted(keys.data.items())],
        active=keys.active,
        wrapped=keys.kek is not None,
        missing=missing,
        rule=signin.RULE,
        lock_after=signin.LOCK_AFTER,
    )


PAGES = [second_factor, enrol, verify, reset, security]
