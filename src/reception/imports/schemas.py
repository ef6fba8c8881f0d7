"""Bodies of the ledger import API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from reception.base import Strict


class ColumnRead(Struct):
    name: str
    # The field the column fills ("" : left out).
    field: str
    # A few of its values (ID numbers and phones masked).
    samples: list[str]


class BatchRead(Struct):
    id: int
    kind: str
    status: str
    file_name: str
    file_checksum: str
    sheet: str
    default_unit_id: int | None
    mapping: dict[str, str]
    dry_counts: dict[str, int] | None
    counts: dict[str, int] | None
    created_by_name: str
    created_at: datetime
    imported_at: datetime | None
    rolled_back_at: datetime | None
    columns: list[ColumnRead] | None = None
    # The fields a column may fill, and what a person reads for each.
    fields: dict[str, str] | None = None


class MappingPut(Strict):
    """Column header → field ("" to leave the column out); headers not named keep theirs."""

    mapping: dict[Annotated[str, Meta(max_length=200)], Annotated[str, Meta(max_length=30)]]
    default_unit_id: Annotated[int, Meta(ge=1, le=2_147_483_647)] | None = None


class RowVerdict(Struct):
    line: int
    verdict: str
    reasons: list[str]


class RunRead(Struct):
    batch: BatchRead
    counts: dict[str, int]
    # The dry run: the first rows with an error, skipped, or with a note.
    rows: list[RowVerdict] | None = None


def counts_of(value: Any) -> dict[str, int] | None:
    return {str(k): int(v) for k, v in value.items()} if value else None
