"""Domain errors and their translation to application/problem+json (RFC 9457), in one place."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    StatementError,
)

from reception import messages
from reception.crypto import Undecryptable

log = logging.getLogger("reception.errors")

PROBLEM_JSON = "application/problem+json"


class Broken(RuntimeError):
    """Something that must hold did not (a row without its id, a foreign key without its
    row): a defect in the code, never a client's doing. Raised where an `assert` would be
    stripped by `python -O`; answered as a 500 with the place in the log."""


class DomainError(Exception):
    """An error a client can act on. Subclasses fix the status, type and title."""

    status = 400
    slug = "bad-request"
    title = "请求有误"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "未找到"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "无权操作"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "与现有数据冲突"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "数据已被他人修改"


class InvalidInput(DomainError):
    """422 with per-field detail: `errors=[{"field": ..., "message": ...}]`."""

    status, slug, title = 422, "invalid-input", "输入不符合要求"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        if field is not None:
            extra.setdefault("errors", [{"field": field, "message": detail}])
        super().__init__(detail, **extra)


class Malformed(InvalidInput):
    """400: a value that is not what its type says (a date that does not exist), found after
    the framework's own parsing; the same shape as every other validation error."""

    status, slug, title = 400, "validation-error", "请求格式有误"
    # Set when the value was in the request's address (its query): what was wrong with it.
    address: str | None = None


def problem(
    status: int, slug: str, title: str, detail: str, /, **extra: Any
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    # Extra members never replace the four RFC 9457 ones.
    body.update({k: v for k, v in extra.items() if k not in body})
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def _domain_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra)


_NAMED = re.compile(r"field `([^`]+)`")
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")


def _field_of(item: dict[str, Any]) -> str:
    """The field a validation message is about, as the request sent it: for a body, Litestar
    gives the path of the struct (`petitioners[0]`) and msgspec may name the field inside it in
    the message ("missing required field `name`")."""
    message = str(item.get("message", ""))
    key = str(item.get("key") or "")
    named = _NAMED.search(message)
    if item.get("source") == "body" or key == "data":
        path = "" if key == "data" else key
        name = named.group(1) if named else ""
        return ".".join(p for p in (path, name) if p) or "body"
    return key or str(item.get("source") or "body")


def _validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    handler = request.scope.get("route_handler")
    params = handler.parsed_fn_signature.parameters if handler is not None else {}
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        field = _field_of(item)
        key = item.get("key")
        allowed: list[str] = []
        if key in params and key != "data":
            definition = params[key]
            # The name the request used (a query alias such as `from`), not the Python one.
            field = getattr(definition.kwarg_definition, "name", None) or field
            allowed = messages.parameter_allowed(definition.annotation)
        elif "data" in params:
            allowed = messages.body_allowed(params["data"].annotation, field)
        text = messages.translate(str(item.get("message", "")), allowed)
        errors.append({"field": field, "message": text})
    missing = _MISSING_PARAMETER.search(str(exc.detail or ""))
    if not errors and missing:
        errors.append({"field": missing.group(1), "message": "必须填写"})
    if errors:
        detail = ";".join(f"{e['field']}:{e['message']}" for e in errors)
    else:
        detail = messages.translate(str(exc.detail or "")) or "请求不符合格式"
    return problem(400, "validation-error", "请求格式有误", detail, errors=errors)


_HTTP_SLUGS = {
    400: ("bad-request", "请求有误", "请求有误"),
    401: ("unauthorized", "需要登录", "需要登录"),
    403: ("forbidden", "无权操作", "您无权进行此操作"),
    404: ("not-found", "未找到", "没有这个地址或资源"),
    405: ("method-not-allowed", "不支持的请求方法", "该地址不支持这种请求方法"),
    409: ("conflict", "与现有数据冲突", "与现有数据冲突"),
    413: ("payload-too-large", "请求过大", "请求正文过大"),
    415: ("unsupported-media-type", "不支持的正文类型", "不支持的正文类型"),
    429: ("too-many-requests", "请求过于频繁", "请求过于频繁,请稍后再试"),
}
# Litestar's own English details, for the statuses whose detail is not ours.
_GENERIC_DETAILS = {"Not Found", "Method Not Allowed", "Bad Request", "Forbidden", "Unauthorized"}


def _http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("server error on %s %s: %s", request.method, request.url.path, exc.detail)
        return problem(
            exc.status_code, "server-error", "服务器内部错误", "服务器内部错误,请稍后再试"
        )
    slug, title, generic = _HTTP_SLUGS.get(
        exc.status_code, ("http-error", "请求被拒绝", "请求被拒绝")
    )
    detail = str(exc.detail)
    sent_json = "json" in request.headers.get("content-type", "").lower()
    if exc.status_code == 400 and ("json" in detail.lower() or (sent_json and detail.isascii())):
        detail = "请求正文不是有效的 JSON(UTF-8 编码,括号和引号成对)"
    elif not detail or detail in _GENERIC_DETAILS or detail.isascii():
        detail = generic
    response = problem(exc.status_code, slug, title, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _integrity_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # The database refused the write: a unique, exclusion, check or foreign-key constraint.
    # The statement's parameters are not logged (they may hold petitioners' data).
    reason = str(exc.orig).splitlines()[0] if exc.orig else "constraint violated"
    log.info("integrity refusal on %s %s: %s", request.method, request.url.path, reason)
    return problem(409, "conflict", "与现有数据冲突", "这项修改与现有数据冲突,请刷新后重试")


def _unavailable_handler(
    request: Request[Any, Any, Any], exc: OperationalError | InterfaceError | InternalError
) -> Response[Any]:
    # The database is down, locked past its timeout or the connection dropped (asyncpg reports
    # a connection killed mid-statement as an InternalError): say so, and let the client retry.
    # (Other database errors are bugs, answered as 500 below.)
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig))
    return problem(503, "database-unavailable", "数据库暂不可用", "数据库暂时无法访问,请稍后再试")


def _out_of_range(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A number too large for the database (e.g. an id of 2**63 in a URL): the request is
    # wrong, not the server. The value itself is not echoed or logged.
    return problem(400, "out-of-range", "数值超出范围", "请求中的数值超出范围")


def _is_out_of_range(exc: BaseException) -> bool:
    """A value the driver could not fit in its column type (SQLite: OverflowError; asyncpg:
    a DataError, wrapped by SQLAlchemy as a generic DBAPIError)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, OverflowError | DataError) or type(seen).__name__ == "DataError":
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return False


def _statement_error(request: Request[Any, Any, Any], exc: StatementError) -> Response[Any]:
    if _is_out_of_range(exc):
        return _out_of_range(request, exc)
    return _unhandled(request, exc)


def _undecryptable(request: Request[Any, Any, Any], exc: Undecryptable) -> Response[Any]:
    # A sealed value that does not open with these keys at its place: copied from another
    # row, tampered with, or sealed under a key this server was not given. Never garbage:
    # name the place (no value) for the administrator, and say what it means.
    log.error("undecryptable on %s %s: %s", request.method, request.url.path, exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "data-undecryptable",
        "数据无法解密",
        "这条记录中的加密信息无法用本服务的密钥解开(可能被移动、篡改,或密钥不符);"
        "请联系管理员核对 RECEPTION_DATA_KEYS",
    )


def _unhandled(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "server-error",
        "服务器内部错误",
        "服务器内部错误,请稍后再试",
    )


exception_handlers: Any = {
    DomainError: _domain_handler,
    Undecryptable: _undecryptable,
    ValidationException: _validation_handler,
    HTTPException: _http_handler,
    IntegrityError: _integrity_handler,
    DataError: _out_of_range,
    OverflowError: _out_of_range,
    StatementError: _statement_error,
    OperationalError: _unavailable_handler,
    InterfaceError: _unavailable_handler,
    InternalError: _unavailable_handler,
    Exception: _unhandled,
}

__all__ = [
    "PROBLEM_JSON",
    "Broken",
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "Malformed",
    "NotFound",
    "PreconditionFailed",
    "exception_handlers",
    "problem",
]
