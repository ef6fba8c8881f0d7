"""Bodies of the campaigns API."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from reception.base import Id, Strict


class TargetIn(Strict):
    due_on: date
    percent: Annotated[int, Meta(ge=1, le=100)]


class CampaignCreate(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    targets: Annotated[list[TargetIn], Meta(min_length=1, max_length=20)]
    case_ids: list[Id] = msgspec.field(default_factory=list)
    description: Annotated[str, Meta(max_length=2000)] = ""


class CampaignCases(Strict):
    case_ids: Annotated[list[Id], Meta(min_length=1)]


class TargetOut(Struct):
    due_on: date
    percent: int


class CampaignProgress(Struct):
    id: int
    name: str
    description: str
    as_of: date
    total: int
    resolved: int
    share: float | None
    target_in_force: TargetOut | None
    next_target: TargetOut | None
    on_track: bool | None
    status: str
    targets: list[TargetOut]
