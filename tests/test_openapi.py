"""The API's description is true and works offline: pages and assets come from the service
itself (offices run on closed networks), errors are documented as problem+json, local times as
the strings they are."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
CSS_EXTERNAL = re.compile(r"""url\(\s*["']?(?:https?:)?//""", re.IGNORECASE)
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
PAGES = ["/schema", "/schema/swagger", "/schema/redoc"]


async def test_no_page_loads_anything_from_elsewhere(client: httpx.AsyncClient) -> None:
    fetched = 0
    for page in PAGES:
        r = await client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), page
        assert not EXTERNAL.search(r.text), (page, EXTERNAL.search(r.text))
        for ref in ASSET.findall(r.text):
            asset = await client.get(urljoin(f"http://test{page}", ref))
            assert asset.status_code == 200, ref
            if ref.endswith(".css"):
                assert not CSS_EXTERNAL.search(asset.text), ref
            fetched += 1
    # Swagger: its css, two scripts and the favicon; Redoc: its script and the favicon.
    assert fetched >= 5


async def test_errors_are_documented_as_problem_json(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    assert "Problem" in spec["components"]["schemas"]
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 50
    for path, method, op in operations:
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], (path, code)
        if path.startswith("/api"):
            assert {"400", "401", "403", "404"} <= set(op["responses"]), (path, method)


async def test_local_times_are_documented_as_the_strings_they_are(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    rule = spec["components"]["schemas"]["RuleRead"]["properties"]
    for name in ("start_time", "end_time"):
        assert rule[name]["type"] == "string" and rule[name].get("format") != "duration"
        assert "pattern" in rule[name]
    assert "duration" not in str(spec)
