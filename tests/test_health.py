from __future__ import annotations

import httpx


async def test_health_checks_the_database(client: httpx.AsyncClient, backend: str) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == backend


async def test_openapi_lists_the_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/units",
        "/api/leaders",
        "/api/venues",
        "/api/users",
        "/api/audit",
        "/health",
    ):
        assert path in paths
