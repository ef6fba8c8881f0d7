"""Fuzzing the API from its own OpenAPI description (schemathesis): every operation, as an
admin and as a secretary, with data that fits the schema and data that does not. It fails on
any 5xx and on any response that breaks the documented schema.

Bounded: a fixed seed (deterministic in CI; set RECEPTION_FUZZ_SEED to explore) and a few
examples per operation, about a minute per role and database.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders import at, build_world, case_body, future_workday
from tests.conftest import auth
from tests.live import serve

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
SEED = os.environ.get("RECEPTION_FUZZ_SEED", "20261201")
EXAMPLES = os.environ.get("RECEPTION_FUZZ_EXAMPLES", "8")


@pytest.mark.parametrize("role", ["admin", "secretary"])
async def test_no_server_error_and_every_response_as_documented(
    database_url: str,
    app: Litestar,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    role: str,
    tmp_path: Path,
) -> None:
    world = await build_world(sessionmaker)
    # Something to find: a reception day with a booking, and a case.
    day = future_workday()
    secretary = auth(world.tokens["secretary"])
    session = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, "11:00"),
        },
        headers=secretary,
    )
    assert session.status_code == 201, session.text
    await client.post(
        f"/api/sessions/{session.json()['id']}/appointments",
        json={"petitioner_name": "张小明", "matter_summary": "讨薪"},
        headers=secretary,
    )
    r = await client.post(
        "/api/cases", json=case_body(world), headers=auth(world.tokens["clerk_district"])
    )
    assert r.status_code == 201, r.text
    with serve(database_url, workers=1) as base:
        result = await asyncio.to_thread(
            subprocess.run,
            [
                SCHEMATHESIS,
                "run",
                f"{base}/schema/openapi.json",
                "--header",
                f"Authorization: Bearer {world.tokens[role]}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--mode",
                "all",
                "--max-examples",
                EXAMPLES,
                "--seed",
                SEED,
                "--phases",
                "examples,coverage,fuzzing",
                "--generation-database",
                "none",
                "--workers",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "generated" in summary and "passed" in summary, summary
