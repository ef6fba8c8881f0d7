"""Bodies of the incidents API (the review itself is plain JSON data, see service.review)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from reception.base import Id, Strict

IncidentKind = Literal["beijing_irregular", "city_collective", "online_opinion"]
INCIDENT_LABELS = {
    "beijing_irregular": "进京非访",
    "city_collective": "到市大规模集体访",
    "online_opinion": "网上舆论炒作",
}


class IncidentCreate(Strict):
    kind: IncidentKind
    unit_id: Id
    occurred_on: date
    people_count: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    case_id: Id | None = None
    description: Annotated[str, Meta(max_length=2000)] = ""


class IncidentRead(Struct):
    id: int
    kind: str
    kind_label: str
    unit_id: int
    occurred_on: date
    people_count: int | None
    case_id: int | None
    description: str
    recorded_by_name: str
    created_at: datetime
