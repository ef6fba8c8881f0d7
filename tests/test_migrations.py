"""Alembic: `upgrade head` on an empty database equals the models; `downgrade base` works."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from reception.db import migrate
from reception.models import metadata
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
    else:
        url = create_pg_database()
        try:
            yield url
        finally:
            drop_pg_database(url)


async def _inspect(url: str, fn: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


def _tables(connection: Any) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_head_has_no_drift_and_downgrade_base_empties(empty_database: str) -> None:
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    assert await _inspect(empty_database, _diff) == []
    assert {t.name for t in metadata.sorted_tables} <= await _inspect(empty_database, _tables)

    await asyncio.to_thread(migrate, empty_database, "downgrade", "base")
    assert await _inspect(empty_database, _tables) <= {"alembic_version"}

    # And back up again: the chain is repeatable.
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    assert await _inspect(empty_database, _diff) == []
