"""The console as a test sees it over HTTP: a browser without JavaScript."""

from __future__ import annotations

import httpx

from tests.builders import PASSWORD


class Console:
    """A browser without JavaScript: cookies, and the CSRF token the pages carry."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, path: str, **kw: object) -> httpx.Response:
        return await self.client.get(path, **kw)  # type: ignore[arg-type]

    def token(self) -> str:
        return self.client.cookies.get("reception_csrf") or ""

    async def post(
        self, path: str, data: dict[str, object] | None = None, *, csrf: bool = True, **kw: object
    ) -> httpx.Response:
        if not self.token():
            await self.client.get("/login")
        body = {**(data or {}), **({"_csrf_token": self.token()} if csrf else {})}
        return await self.client.post(path, data=body, **kw)  # type: ignore[arg-type]

    async def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return await self.post("/login", {"username": username, "password": password})
