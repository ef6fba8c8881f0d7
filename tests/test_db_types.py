"""Instants are stored as UTC and read back aware, on both databases; naive ones are refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.org.models import Unit


async def test_aware_instant_round_trips_as_utc(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    shanghai = datetime(2026, 2, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    async with sessionmaker() as s:
        unit = Unit(
            name="蓟州区", kind="district", path="/", created_at=shanghai, updated_at=shanghai
        )
        s.add(unit)
        await s.commit()
        unit_id = unit.id
    async with sessionmaker() as s:
        loaded = await s.get(Unit, unit_id)
        assert loaded is not None
        assert loaded.created_at.utcoffset() == timedelta(0)
        assert loaded.created_at == shanghai
        assert loaded.created_at.hour == 1


async def test_naive_instant_is_refused(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as s:
        s.add(Unit(name="x", kind="district", path="/", created_at=datetime(2026, 1, 1, 9, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            await s.flush()


def test_offsets_other_than_utc_are_normalised() -> None:
    from reception.db import UTCDateTime

    value = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    stored = UTCDateTime().process_bind_param(value, dialect=type("D", (), {"name": "sqlite"})())  # type: ignore[arg-type]
    assert stored == datetime(2026, 1, 1, 1, 0)
