"""Test set-up: every test runs on SQLite and on the real PostgreSQL server.

PostgreSQL: a fresh database `reception_test_<random>` per run (dropped at the end), migrated
with Alembic like production. If the server is unreachable the run fails — never skips.
Each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception import reads
from reception.app import create_app
from reception.config import Settings
from reception.context import Context, FixedClock
from reception.db import migrate
from reception.models import metadata
from reception.supervision.models import CheckItem
from reception.supervision.rules import DEFAULT_ITEMS
from tests.live import TEST_KEYS, free_port, suite_for

PG_ADMIN_URL = os.environ.get(
    "RECEPTION_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = os.environ.get("RECEPTION_TEST_BACKENDS", "sqlite,postgresql").split(",")


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(sql: str) -> None:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL is unreachable at {PG_ADMIN_URL}: the suite needs it ({exc})"
        ) from exc
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database() -> str:
    name = f"reception_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database for the whole run, one per backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "reception.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate(url, "upgrade", "head")
        yield url
    else:
        url = create_pg_database()
        try:
            migrate(url, "upgrade", "head")
            yield url
        finally:
            drop_pg_database(url)


@pytest.fixture
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


os.environ["RECEPTION_DATA_KEYS"] = TEST_KEYS
# The servers the tests start make a notice's PDF at its first download, not ahead.
os.environ["RECEPTION_PDF_AHEAD"] = "0"

# "Now" for every test, set here and never read from the wall clock: 10:00 in Beijing on
# Tuesday 2026-12-01. A test that needs another day sets the clock itself.
NOW = "2026-12-01T10:00:00+08:00"


@pytest.fixture(scope="session")
def pdf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """LibreOffice kept warm behind unoserver for the whole run, as `reception serve` keeps
    it (the servers the tests start find it listening and use it); "" where it cannot run
    here (every PDF is then made the cold way)."""
    from reception.documents.converter import PdfServer

    address = f"127.0.0.1:{free_port()}"
    server = PdfServer(
        Settings(data_dir=tmp_path_factory.mktemp("pdf"), pdf_server=address, data_keys=TEST_KEYS)
    )
    if not server.start(wait=60):
        server.stop()
        address = ""
    os.environ["RECEPTION_PDF_SERVER"] = address
    try:
        yield address
    finally:
        server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, pdf_server: str) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        public_url="https://reception.test",
        now=NOW,
        data_keys=TEST_KEYS,
        cipher_suite=suite_for(database_url),
        pdf_server=pdf_server,
        # A test that wants the PDF made ahead says so (it slows every issuing request).
        pdf_ahead=False,
    )


@pytest.fixture
def clock() -> FixedClock:
    from datetime import datetime

    return FixedClock(datetime.fromisoformat(NOW))


@pytest.fixture
def ctx(settings: Settings, clock: FixedClock) -> Context:
    return Context.of(settings, clock)


async def _empty_tables(maker: async_sessionmaker[AsyncSession], dialect: str) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    async with maker() as session:
        if dialect == "postgresql":
            await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            # The append-only triggers refuse DELETE, which is their job; a test's
            # fresh start sets them aside for the moment and puts them back as they were.
            triggers = (
                await session.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                )
            ).all()
            for name, _ in triggers:
                await session.execute(text(f"DROP TRIGGER {name}"))
            for name in tables:
                await session.execute(text(f"DELETE FROM {name}"))
            for _, sql in triggers:
                await session.execute(text(sql))
        # The audit chain's head is one row the migration put in: back to an empty chain.
        await session.execute(
            text(
                "INSERT INTO audit_head (id, chain, last_id, archived_chain) VALUES (1, '', 0, '')"
            )
        )
        # So is the spot check's first checklist.
        for position, (code, label, hint) in enumerate(DEFAULT_ITEMS, start=1):
            session.add(CheckItem(code=code, label=label, hint=hint, position=position))
        await session.commit()


@pytest.fixture
async def app(settings: Settings, clock: FixedClock) -> AsyncIterator[Litestar]:
    application = create_app(settings, clock)
    maker = application.state.sessionmaker
    await _empty_tables(maker, application.state.engine.dialect.name)
    yield application
    await _check_next_office_due(maker)
    await dispose(application)


async def dispose(application: Litestar) -> None:
    """Every pool the app opened: the primary's, the feeds', the replica's."""
    state = application.state
    await reads.dispose_pools(state.engine, {k: state[k] for k in ("replica", "feed_engine")})


# Every test is also a test of petition_case.next_office_due, the worklist's sort key kept by
# the clocks' flush (cases.clocks): whatever a test did to cases, it must equal what the clocks
# say now.
_NEXT_OFFICE_DUE_WRONG = text(
    "SELECT count(*) FROM petition_case WHERE next_office_due IS DISTINCT FROM ("
    "SELECT min(current_due) FROM case_clock WHERE case_clock.case_id = petition_case.id "
    "AND case_clock.status = 'running' AND case_clock.kind <> 'review_request')"
)


async def _check_next_office_due(maker: async_sessionmaker[AsyncSession]) -> None:
    async with maker() as session:
        wrong = await session.scalar(_NEXT_OFFICE_DUE_WRONG)
    assert wrong == 0, f"{wrong} case(s) whose next_office_due is not their clocks' earliest"


@pytest.fixture
def sessionmaker(app: Litestar) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"]
    return body
