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

log = logging.getLogger("reception.errors")

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """An error a client can act on. Subclasses fix the status, type and title."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Forbidden"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class InvalidInput(DomainError):
    """422 with per-field detail: `errors=[{"field": ..., "message": ...}]`."""

    status, slug, title = 422, "invalid-input", "Invalid input"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        if field is not None:
            extra.setdefault("errors", [{"field": field, "message": detail}])
        super().__init__(detail, **extra)


def problem(
    status: int, slug: str, title: str, detail: str, **extra: Any
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def _domain_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra)


_FIELD_IN_MESSAGE = re.compile(r"at `\$\.([^`]+)`|field `([^`]+)`")


def _field_of(item: dict[str, Any]) -> str:
    """The field a validation message is about; msgspec names it inside the message."""
    key = item.get("key")
    if key and key != "data":
        return str(key)
    match = _FIELD_IN_MESSAGE.search(str(item.get("message", "")))
    if match:
        return match.group(1) or match.group(2)
    return str(key or item.get("source") or "body")


def _validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = [
        {"field": _field_of(item), "message": item.get("message", "")}
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    detail = exc.detail or "Validation failed"
    return problem(400, "validation-error", "Validation failed", detail, errors=errors)


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def _http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("server error on %s %s: %s", request.method, request.url.path, exc.detail)
        return problem(exc.status_code, "server-error", "Server error", "Internal error")
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "Request refused"))
    response = problem(exc.status_code, slug, title, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _integrity_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # The database refused the write: a unique, exclusion, check or foreign-key constraint.
    # The statement's parameters are not logged (they may hold petitioners' data).
    reason = str(exc.orig).splitlines()[0] if exc.orig else "constraint violated"
    log.info("integrity refusal on %s %s: %s", request.method, request.url.path, reason)
    return problem(409, "conflict", "Conflict", "The change conflicts with existing data")


def _unavailable_handler(
    request: Request[Any, Any, Any], exc: OperationalError | InterfaceError | InternalError
) -> Response[Any]:
    # The database is down, locked past its timeout or the connection dropped (asyncpg reports
    # a connection killed mid-statement as an InternalError): say so, and let the client retry.
    # (Other database errors are bugs, answered as 500 below.)
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig))
    return problem(503, "database-unavailable", "Database unavailable", "Try again shortly")


def _out_of_range(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A number too large for the database (e.g. an id of 2**63 in a URL): the request is
    # wrong, not the server. The value itself is not echoed or logged.
    return problem(
        400, "out-of-range", "Value out of range", "A number in the request is out of range"
    )


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


def _unhandled(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "server-error", "Server error", "Internal error")


exception_handlers: Any = {
    DomainError: _domain_handler,
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
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PreconditionFailed",
    "exception_handlers",
    "problem",
]
