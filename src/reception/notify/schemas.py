"""Bodies of the notification admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from reception.base import Id, Strict


class EndpointIn(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=60)]
    kind: Literal["webhook", "dingtalk", "wecom"]
    # A webhook's URL, or the robot's (WeCom: …/webhook/send?key=…; DingTalk:
    # …/robot/send?access_token=…).
    url: Annotated[str, Meta(min_length=8, max_length=500)]
    # A DingTalk robot's signing secret (SEC…); webhooks get a new whsec_ secret instead.
    secret: Annotated[str, Meta(max_length=200)] = ""
    # Event types or prefixes ("case.", "session.cancelled"); empty: all.
    events: Annotated[list[Annotated[str, Meta(max_length=60)]], Meta(max_length=50)] = []
    scope: Literal["all", "unit", "leader", "supervisor"] = "all"
    unit_id: Id | None = None
    leader_id: Id | None = None


class EndpointOut(Struct):
    id: int
    name: str
    kind: str
    host: str
    events: list[str]
    scope: str
    unit_id: int | None
    leader_id: int | None
    active: bool
    disabled_reason: str
    rotating: bool
    # Shown once: on creation and rotation of a webhook.
    secret: str | None = None


class DeliveryOut(Struct):
    id: int
    event_uid: str
    type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
