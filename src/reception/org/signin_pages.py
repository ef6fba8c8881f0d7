"""Signing in to the console (reception.org.signin behind them): sign in, sign out, change password, and the home page (each role
starts where its work is)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from reception.auth import Principal
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.org import signin
from reception.org.models import User
from reception.web.console import COOKIE
from reception.web.render import HOME, FormErrors, page, read_form, refused, see_other

AnyRequest = Request[Principal, Any, Any]


def _safe_next(target: str) -> str:
    # Only a path on this site: never an open redirect to another host.
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target:
        return target
    return ""


def _session_cookie(request: AnyRequest, value: str, *, clear: bool = False) -> Cookie:
    settings = request.app.state.settings
    return Cookie(
        key=COOKIE,
        value=value,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        max_age=0 if clear else None,
    )


@get("/login", opt={"exclude_from_auth": True}, name="login")
async def login_form(
    request: AnyRequest,
    next_: Annotated[str, QueryParameter(name="next", max_length=500)] = "",
    ended: Annotated[str, QueryParameter(max_length=20)] = "",
) -> Template:
    return page(
        request, "web/login.html", title="登录", next=_safe_next(next_), ended=ended, values={}
    )


@post("/login", opt={"exclude_from_auth": True}, status_code=200)
async def login(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    try:
        form = await read_form(request)
    except FormErrors as exc:
        return page(
            request,
            "web/login.html",
            status=exc.status,
            title="登录",
            next="",
            ended="",
            values={},
            errors=exc.fields,
        )
    username = str(form.get("username") or "")[:50]
    outcome = await signin.sign_in(
        session=db,
        ctx=ctx,
        username=username,
        password=str(form.get("password") or "")[:200],
        user_agent=request.headers.get("user-agent", ""),
    )
    if isinstance(outcome, signin.Refused):
        return page(
            request,
            "web/login.html",
            status=400,
            title="登录",
            next=_safe_next(str(form.get("next") or "")),
            ended="",
            values={"username": username},
            errors={"": outcome.message},
        )
    user = outcome.user
    target = (
        "/password"
        if user.must_change_password
        else _safe_next(str(form.get("next") or "")) or HOME.get(user.role, "/")
    )
    response = Redirect(target, status_code=303)
    response.cookies.append(_session_cookie(request, outcome.token))
    return response


@post("/logout", status_code=200)
async def logout(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    await signin.sign_out(session=db, ctx=ctx, principal=request.user)
    response = Redirect("/login", status_code=303)
    response.cookies.append(_session_cookie(request, "", clear=True))
    return response


async def _password_page(
    db: DB, ctx: Context, request: AnyRequest, *, status: int = 200, errors: Any = None
) -> Template:
    user = await db.get(User, request.user.user_id)
    expired = user is not None and signin.password_expired(user, ctx.settings, ctx.now())
    return page(
        request,
        "web/password.html",
        status=status,
        title="修改密码",
        errors=errors or {},
        expired=expired,
        max_age=ctx.settings.password_max_age_days,
        rule=signin.RULE,
        history=ctx.settings.password_history,
    )


@get("/password")
async def password_form(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    return await _password_page(db, ctx, request)


@post("/password", status_code=200)
async def change_password(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    form = await read_form(request)
    try:
        await signin.change_password(
            session=db,
            ctx=ctx,
            actor=request.user,
            current=str(form.get("current") or ""),
            new=str(form.get("new") or ""),
            repeat=str(form.get("repeat") or ""),
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _password_page(db, ctx, request, status=400, errors=problem.fields)
    return await see_other(request, db, HOME.get(request.user.role, "/"), notice="密码已修改")


@get("/")
async def home(request: AnyRequest) -> Redirect:
    return Redirect(HOME.get(request.user.role, "/password"), status_code=303)


PUBLIC_PAGES = [login_form, login]
PAGES = [logout, password_form, change_password, home]
