"""Entity tags, one scheme for every resource: `"<kind>-<id>-<version parts>"` (or a digest).

A write that sends If-Match must have read the current version (412 otherwise); a read that
sends If-None-Match with the current tag gets 304 (feeds).
"""

from __future__ import annotations

import hashlib
from typing import Any

from reception.errors import PreconditionFailed


def etag(*parts: Any) -> str:
    """A strong tag made of the parts that change whenever the representation does."""
    return '"' + "-".join(str(p) for p in parts) + '"'


def digest_etag(key: Any) -> str:
    """A strong tag for a representation that depends on many values (a feed's version)."""
    return etag(hashlib.sha256(repr(key).encode()).hexdigest()[:32])


def require_match(current: str, if_match: str | None, what: str) -> None:
    """Optimistic concurrency: a write that sent If-Match must have read the current version."""
    if if_match is None:
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if "*" not in wanted and current not in wanted:
        raise PreconditionFailed(
            f"{what}在您读取之后已被他人修改,请刷新后核对再提交",
            current_etag=current,
        )


def none_match(if_none_match: str, current: str) -> bool:
    """If-None-Match matches (weak comparison, RFC 9110 §13.1.2: W/ prefixes are ignored)."""
    if if_none_match.strip() == "*":
        return True
    return current in {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
