"""Response shaping shared by every domain: the list envelope and row-to-body copying."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

import msgspec
from litestar.params import QueryParameter

T = TypeVar("T")

MAX_LIMIT = 500

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, description="Rows to skip")]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


S = TypeVar("S", bound=msgspec.Struct)


def read_as(cls: type[S], obj: Any, tz: tzinfo, **extra: Any) -> S:
    """Copy a table row into a response Struct, showing instants in local time (`tz`)."""
    values: dict[str, Any] = {}
    for name in cls.__struct_fields__:
        if name in extra:
            values[name] = extra[name]
            continue
        value = getattr(obj, name)
        if isinstance(value, datetime):
            value = value.astimezone(tz)
        values[name] = value
    return cls(**values)


def attachment(name: str, fallback: str) -> str:
    """Content-Disposition for a download: the Chinese file name for browsers (RFC 6266
    filename*), a plain one for the rest."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
