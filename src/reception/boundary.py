"""The request boundary: what every request must be before any handler sees it.

Checked once, here, for every route (the JSON API, the console, the petitioner's page):
- no NUL or other control character (tab and line breaks excepted) in the path, the query
  string or a JSON body (PostgreSQL refuses NUL in text; SQLite would store it) → 400 naming
  the field; a form's fields are checked where the page reads them (`web.forms`), so the
  message stands beside the field;
- an id in the path beyond what its column holds is a 404 before any query (PostgreSQL would
  refuse to bind it, SQLite would find nothing): the same answer on both databases;
- a number in the query within ±`ID_MAX`, a date in the query within 2000–2100 → 400; a
  blank one (a form's "not chosen") is as if it were absent;
- a JSON body at most `MAX_JSON_DEPTH` deep (a deeper one would exhaust the decoder's
  recursion) and at most `MAX_BODY_BYTES` long → 400 / 413;
- a body sent to a handler that takes JSON is declared as JSON → 415 otherwise.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Receive, Scope, Send

from reception.base import ID_MAX, MAX_DAY, MIN_DAY
from reception.errors import PROBLEM_JSON, Malformed

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_JSON_DEPTH = 32

# A JSON \u0000 escape that is not itself escaped (an odd number of backslashes before "u").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


# C0 controls and DEL, but for tab, line feed and carriage return (a textarea's lines).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "含有不可见的控制字符(如 NUL),请删除后重新输入"


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def control_path(value: Any, path: str = "") -> str | None:
    """Where in a decoded JSON value a string (or a key) holds a control character."""
    if isinstance(value, str):
        return path or "body" if has_control(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if has_control(str(key)):
                return here
            found = control_path(item, here)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = control_path(item, f"{path}[{i}]")
            if found:
                return found
    return None


def _refused_field(field: str, message: str, *, in_query: bool = False) -> Malformed:
    error = {"field": field, "message": message}
    refused = Malformed(f"{field}:{message}", errors=[error])
    if in_query:
        # The console tells a person the page's address was wrong, not a parameter's name.
        refused.address = message
    return refused


@cache
def _typed_query(handler: Any) -> dict[str, str]:
    """The handler's query parameters that are numbers or dates, by the name the URL uses."""
    out: dict[str, str] = {}
    for name, definition in handler.parsed_fn_signature.parameters.items():
        kwarg = definition.kwarg_definition
        if getattr(kwarg, "header", None) or getattr(kwarg, "cookie", None):
            continue
        types = [t.annotation for t in definition.inner_types] or [definition.annotation]
        if not definition.is_optional:
            types = [definition.annotation]
        query = getattr(kwarg, "query", None) or getattr(kwarg, "name", None) or name
        if bool in types:
            continue
        if int in types:
            out[query] = "int"
        elif date in types:
            out[query] = "date"
    return out


def _check_query(scope: Scope) -> None:
    raw = scope.get("query_string", b"")
    if not raw:
        return
    pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    for key, value in pairs:
        if has_control(key) or has_control(value):
            raise _refused_field(
                key if not has_control(key) else "query", CONTROL_MESSAGE, in_query=True
            )
    handler = scope.get("route_handler")
    typed = _typed_query(handler) if handler is not None else {}
    blank = [key for key, value in pairs if key in typed and not value.strip()]
    if blank:
        # A form's "not chosen" (单位 = 全区 sends `unit_id=`): the parameter is absent.
        pairs = [(k, v) for k, v in pairs if not (k in typed and not v.strip())]
        scope["query_string"] = urlencode(pairs).encode()
    for key, value in pairs:
        kind = typed.get(key)
        if kind == "int" and value.strip():
            digits = value.strip().lstrip("+-")
            if not (digits.isascii() and digits.isdigit()):
                raise _refused_field(key, "须为整数(阿拉伯数字)", in_query=True)
            if int(digits) > ID_MAX:
                raise _refused_field(key, "数值超出范围", in_query=True)
        elif kind == "date" and value.strip():
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
                raise _refused_field(
                    key, "须为 YYYY-MM-DD 格式的日期(如 2026-12-01)", in_query=True
                )
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                raise _refused_field(key, f"日期 {value.strip()} 不存在", in_query=True) from None
            if not MIN_DAY <= day <= MAX_DAY:
                raise _refused_field(
                    key, f"日期须在 {MIN_DAY.year} 年至 {MAX_DAY.year} 年之间", in_query=True
                )


def _check_path(scope: Scope) -> None:
    if has_control(scope["path"]):
        raise Malformed(f"请求地址{CONTROL_MESSAGE}")
    for value in (scope.get("path_params") or {}).values():
        # An id no row can have: not found, on both databases, before any query.
        if isinstance(value, int) and not -ID_MAX <= value <= ID_MAX:
            raise NotFoundException()


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    depth = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub(b'""', body)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _takes_json(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    if handler is None:
        return False
    data = handler.parsed_fn_signature.parameters.get("data")
    return data is not None


async def _refuse(send: Send, status: int, slug: str, title: str, detail: str) -> None:
    import msgspec

    body = msgspec.json.encode(
        {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    )
    start: Any = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await send(start)
    end: Any = {"type": "http.response.body", "body": body}
    await send(end)


def _check_json(body: bytes) -> None:
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return  # not JSON at all: the handler says so, in its own words
    where = control_path(decoded)
    if where:
        raise _refused_field(where, CONTROL_MESSAGE)


def boundary_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if _has_nul(raw_path) or _has_nul(scope.get("query_string", b"")):
            await _refuse(send, 400, "nul-character", "请求有误", "请求中含有空字符(NUL),已拒绝")
            return
        _check_path(scope)
        _check_query(scope)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "")
        declared = (
            int(headers["content-length"]) if headers.get("content-length", "").isdigit() else 0
        )
        if declared > MAX_BODY_BYTES:
            await _refuse(send, 413, "payload-too-large", "请求过大", "请求正文过大")
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _refuse(send, 413, "payload-too-large", "请求过大", "请求正文过大")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.strip() and _takes_json(scope) and not _is_json(content_type):
            await _refuse(
                send,
                415,
                "unsupported-media-type",
                "不支持的正文类型",
                "请求正文须为 JSON(Content-Type: application/json)",
            )
            return
        if _is_json(content_type):
            if b"\x00" in body or _JSON_NUL.search(body):
                await _refuse(
                    send, 400, "nul-character", "请求有误", "请求中含有空字符(NUL),已拒绝"
                )
                return
            if json_too_deep(body):
                await _refuse(
                    send,
                    400,
                    "json-too-deep",
                    "请求有误",
                    f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层,已拒绝",
                )
                return
            _check_json(body)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return middleware


__all__ = [
    "CONTROL_MESSAGE",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "boundary_middleware",
    "has_control",
    "json_too_deep",
]
