"""The console's shell: who is signed in (a server-side session cookie), CSRF, and errors shown
as pages a person can read (never JSON or a stack trace)."""

from __future__ import annotations

import logging
from typing import Any, Protocol, cast
from urllib.parse import quote, urlencode

from litestar import Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception import messages
from reception.auth import duties
from reception.context import Context
from reception.db import SQLITE_WRITE
from reception.errors import DomainError, Malformed
from reception.web.render import FormErrors

log = logging.getLogger("reception.web")

# Paths that are not the console (their own auth, or none): no CSRF, JSON errors.
NOT_CONSOLE = ("/api/", "/feeds/", "/health", "/schema", "/static/", "/public/api/")
PUBLIC_PAGES = ("/login", "/static/")
# Pages a person whose password an admin set may still open before choosing their own.
BEFORE_NEW_PASSWORD = ("/password", "/logout", "/account/2fa")
# Pages a session may open before its second factor is passed (or enrolled).
BEFORE_SECOND_FACTOR = ("/account/2fa", "/logout")


# Where the request carries its session's flash to the page.
FLASH = "reception.flash"
# The console session's cookie (its value: 256 random bits; only a hash is stored).
COOKIE = "reception_session"


class Sessions(Protocol):
    """What the console's shell needs of sign-in (reception.org.signin, handed in by the app:
    the shell imports nothing of the org)."""

    async def resolve(self, *, session: AsyncSession, ctx: Context, token: str) -> Any: ...

    async def record_seen(self, *, session: AsyncSession, write: Any) -> None: ...


def is_console(path: str) -> bool:
    return not path.startswith(NOT_CONSOLE)


class SignInRequired(NotAuthorizedException):
    """No (live) console session: go to the sign-in page."""

    def __init__(self, ended: str = "") -> None:
        super().__init__("需要登录")
        self.ended = ended


class SecondFactorRequired(PermissionDeniedException):
    def __init__(self) -> None:
        super().__init__("请先完成动态口令验证")


class PasswordChangeRequired(PermissionDeniedException):
    def __init__(self) -> None:
        super().__init__("请先设置自己的密码")


class ConsoleAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, sessions: Sessions, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.sessions = sessions

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        signin = self.sessions
        token = connection.cookies.get(COOKIE, "")
        if not token:
            raise SignInRequired()
        maker: async_sessionmaker[AsyncSession] = connection.app.state.sessionmaker
        ctx: Context = connection.app.state.ctx
        async with maker() as session:
            resolved = await signin.resolve(session=session, ctx=ctx, token=token)
        if resolved.write is not None:
            # Its own short write transaction (on SQLite, BEGIN IMMEDIATE): a read never
            # upgrades to a write lock half-way.
            async with maker() as session:
                await session.connection(execution_options={SQLITE_WRITE: True})
                await signin.record_seen(session=session, write=resolved.write)
                await session.commit()
        principal = resolved.principal
        if principal is None:
            raise SignInRequired(resolved.ended)
        # What the page shows once (web.render.page reads it from here).
        cast("dict[str, Any]", connection.scope)[FLASH] = resolved.flash
        # The second factor first (who it is), then a password to choose (what they may do).
        if principal.second_factor and not connection.url.path.startswith(BEFORE_SECOND_FACTOR):
            raise SecondFactorRequired()
        if principal.must_change_password and not connection.url.path.startswith(
            BEFORE_NEW_PASSWORD
        ):
            raise PasswordChangeRequired()
        return AuthenticationResult(user=principal, auth=principal.session_id)


def csrf_config(ctx: Context) -> CSRFConfig:
    """Litestar's double-submit CSRF token on every console form (and htmx request). The secret
    is derived from the data keys, so every worker process agrees on it."""
    secret = ctx.keys.mac("console-csrf").hex()
    return CSRFConfig(
        secret=secret,
        cookie_name="reception_csrf",
        cookie_secure=ctx.settings.secure_cookies,
        cookie_samesite="lax",
        # The API authenticates with bearer tokens, never cookies: no CSRF there.
        exclude=[f"^{p}" for p in NOT_CONSOLE],
    )


# ---------------------------------------------------------------- headers on every page

# The console's pages run only this service's own scripts and styles: no inline script, no
# inline style, no eval, nothing from another host, and no framing (clickjacking). A script
# that a person managed to put into a page would not run.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
CONSOLE_HEADERS = (
    (b"content-security-policy", CONSOLE_CSP.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def security_headers(app: ASGIApp) -> ASGIApp:
    """Every response says what it is (nosniff); every console page — errors and refusals
    included, which no route hook sees — carries the CSP and its companions, unless the route
    set a stricter one of its own (the petitioner's page)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        console = is_console(scope["path"]) and not scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff")]
                if console:
                    extra += CONSOLE_HEADERS
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


# ---------------------------------------------------------------- errors as pages

_HTTP_MESSAGES = {
    400: "请求有误",
    401: "需要登录",
    403: "您无权进行此操作",
    404: "没有这个页面,或您无权查看",
    405: "该页面不支持这种操作",
    413: "提交的内容过大",
    415: "不支持的提交方式",
    429: "操作过于频繁,请稍后再试",
}
CSRF_MESSAGE = "页面已过期或来源不明,为安全起见未予处理:请刷新页面后重新提交"


def _wants_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _to(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    if _wants_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


def error_page(
    request: Request[Any, Any, Any], status: int, message: str, title: str = ""
) -> Response[Any]:
    from reception.web.render import page

    response = page(
        request,
        "web/error.html",
        status=status,
        title=title or _HTTP_MESSAGES.get(status, "出错了"),
        message=message,
        status_code=status,
    )
    # An error can be raised before the route's own middleware had its turn: the page still
    # goes out under the console's CSP.
    response.headers.update({k.decode(): v.decode() for k, v in CONSOLE_HEADERS})
    response.headers["X-Content-Type-Options"] = "nosniff"
    if _wants_htmx(request):
        # htmx swaps an error into the page's message area, not over the whole page.
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _sign_in_required(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    params = {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
    if exc.ended:
        params["ended"] = exc.ended
    return _to(request, f"/login?{urlencode(params, quote_via=quote)}")


def _second_factor_required(
    request: Request[Any, Any, Any], exc: SecondFactorRequired
) -> Response[Any]:
    return _to(request, "/account/2fa")


def _password_required(
    request: Request[Any, Any, Any], exc: PasswordChangeRequired
) -> Response[Any]:
    return _to(request, "/password")


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, Malformed) and exc.address is not None:
        return error_page(request, exc.status, _wrong_address(exc.address))
    return error_page(request, exc.status, exc.detail, exc.title)


def _form(request: Request[Any, Any, Any], exc: FormErrors) -> Response[Any]:
    # A form refused before its page could show it again (e.g. a control character).
    message = exc.general or next(iter(exc.fields.values()), "提交的内容有误")
    return error_page(request, exc.status, f"提交的内容未予处理:{message}")


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = str(exc.detail or "")
    if status >= 500:
        # The framework's own failure (a dependency, a misconfigured route): a defect.
        log.error("console page failed: %s %s: %s", request.method, request.url.path, detail)
    if isinstance(exc, PermissionDeniedException) and "CSRF" in detail:
        return error_page(request, 403, CSRF_MESSAGE, "无法提交")
    if isinstance(exc, ValidationException):
        return error_page(request, 400, _invalid_address(exc))
    if isinstance(exc, NotFoundException) or status == 404:
        return error_page(request, 404, _HTTP_MESSAGES[404])
    # Our own messages are Chinese already; Litestar's generic ones are replaced.
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in detail)
    return error_page(request, status, detail if chinese else _HTTP_MESSAGES.get(status, "出错了"))


def _invalid_address(exc: ValidationException) -> str:
    """A page's address (its query) that its handler refused, in words for a person: what was
    wrong, never the parameter's code name or the framework's English."""
    reasons = [
        messages.translate(str(item.get("message", "")))
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    chinese = [r for r in reasons if any("\u4e00" <= ch <= "\u9fff" for ch in r)]
    return _wrong_address(";".join(dict.fromkeys(chinese)))


def _wrong_address(why: str) -> str:
    because = f"({why})" if why else ""
    return f"页面地址中的参数有误{because},未能打开。请从页面上的链接或表单重新进入。"


def _crash(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("console page failed: %s %s", request.method, request.url.path)
    return error_page(request, 500, "系统出错,操作未完成。请稍后重试;若仍不行,请联系管理员。")


CONSOLE_HANDLERS: dict[Any, Any] = {
    SignInRequired: _sign_in_required,
    SecondFactorRequired: _second_factor_required,
    PasswordChangeRequired: _password_required,
    DomainError: _domain,
    FormErrors: _form,
    HTTPException: _http,
    Exception: _crash,
}


def html_errors(api_handlers: dict[Any, Any]) -> dict[Any, Any]:
    """The app-level handlers: problem+json for the API, pages for a person's browser (a
    wrong console address, a refused CSRF token)."""

    def console_handler(exc: Exception) -> Any:
        for kind in type(exc).__mro__:
            if kind in CONSOLE_HANDLERS:
                return CONSOLE_HANDLERS[kind]
        return _crash

    def choose(fallback: Any) -> Any:
        def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
            if is_console(request.url.path):
                return console_handler(exc)(request, exc)
            return fallback(request, exc)

        return handler

    # Every kind the API answers as problem+json (ValidationException too, which is more
    # specific than the console's HTTPException) is answered as a page on a console path.
    return {kind: choose(fallback) for kind, fallback in api_handlers.items()}


def console_router(handlers: list[Any], public: list[Any], sessions: Sessions) -> list[Router]:
    """The signed-in pages (the session middleware in front, resolving cookies through
    `sessions`) and the public ones (sign-in)."""
    return [
        Router(
            path="/",
            route_handlers=handlers,
            middleware=[
                DefineMiddleware(ConsoleAuthMiddleware, sessions=sessions, exclude_http_methods=[])
            ],
            guards=[duties],
            exception_handlers=CONSOLE_HANDLERS,
            include_in_schema=False,
        ),
        Router(
            path="/",
            route_handlers=public,
            exception_handlers=CONSOLE_HANDLERS,
            include_in_schema=False,
        ),
    ]


__all__ = ["Template", "console_router", "csrf_config", "error_page", "html_errors"]
