"""The request boundary: what every request must be before any handler sees it.

Checked once, here, for every route:
- no NUL character in the path, the query string or a JSON/form body (PostgreSQL refuses NUL
  in text; SQLite would store it) → 400;
- a JSON body at most `MAX_JSON_DEPTH` deep (a deeper one would exhaust the decoder's
  recursion) and at most `MAX_BODY_BYTES` long → 400 / 413;
- a body sent to a handler that takes JSON is declared as JSON → 415 otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from reception.errors import PROBLEM_JSON

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_JSON_DEPTH = 32

# A JSON \u0000 escape that is not itself escaped (an odd number of backslashes before "u").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


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


def boundary_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if _has_nul(raw_path) or _has_nul(scope.get("query_string", b"")):
            await _refuse(send, 400, "nul-character", "请求有误", "请求中含有空字符(NUL),已拒绝")
            return
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
        elif content_type.startswith("application/x-www-form-urlencoded") and _has_nul(body):
            await _refuse(send, 400, "nul-character", "请求有误", "请求中含有空字符(NUL),已拒绝")
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return middleware


__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "boundary_middleware", "json_too_deep"]
