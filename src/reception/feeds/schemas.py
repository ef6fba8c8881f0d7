"""Request and response bodies for feed tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from reception.base import Id, Strict

FeedScope = Literal["leader", "unit", "secretary"]


class FeedCreate(Strict):
    scope: FeedScope
    # scope "leader": the leader; scope "unit": the unit whose subtree's leaders are shown;
    # scope "secretary": the secretary (default: the caller, if she is one).
    leader_id: Id | None = None
    unit_id: Id | None = None
    user_id: Id | None = None
    name: Annotated[str, Meta(max_length=100)] = ""


class FeedRead(Struct):
    id: int
    scope: str
    leader_id: int | None
    unit_id: int | None
    user_id: int | None
    name: str
    prefix: str
    created_by_user_id: int | None
    created_by_name: str
    created_at: datetime
    revoked_at: datetime | None


class NewFeed(Struct):
    """Returned once, at creation: the URL holds the token, which is never shown again."""

    feed: FeedRead
    url: str
    webcal_url: str
