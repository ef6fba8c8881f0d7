"""The console as a test sees it over HTTP: a browser without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import httpx
import pyotp

from tests.builders import PASSWORD

# What a person keeps on their phone and on paper: the TOTP secret and the recovery codes
# each enrolment gave, by username (the database is emptied per test, so each test enrols
# again and overwrites these).
PHONES: dict[str, str] = {}
RECOVERY: dict[str, list[str]] = {}
# The tests' "now" (conftest.NOW): the clock of the app the tests drive in-process.
TESTS_NOW = datetime.fromisoformat("2026-12-01T10:00:00+08:00")


def totp_codes(secret: str, now: datetime) -> list[str]:
    """The codes a phone would show now and in the next step (a clock a little ahead)."""
    totp = pyotp.TOTP(secret)
    return [totp.at(now), totp.at(now.timestamp() + 30)]


class Console:
    """A browser without JavaScript: cookies, and the CSRF token the pages carry. Signing in
    as someone who must use a second factor enrols them (or types their code)."""

    def __init__(
        self, client: httpx.AsyncClient, now: Callable[[], datetime] = lambda: TESTS_NOW
    ) -> None:
        self.client = client
        self.now = now

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

    async def sign_in(
        self, username: str, password: str = PASSWORD, *, second_factor: bool = True
    ) -> httpx.Response:
        r = await self.post("/login", {"username": username, "password": password})
        if r.status_code == 303 and second_factor:
            await self.pass_second_factor(username)
        return r

    async def pass_second_factor(self, username: str) -> httpx.Response | None:
        """Enrol (scanning the QR code's secret) or type the code, if the session owes it."""
        owed = await self.client.get("/")
        if owed.headers.get("location") != "/account/2fa":
            return None
        form = (await self.client.get("/account/2fa")).text
        secret = re.search(r'name="secret" value="([A-Z2-7]+)"', form)
        if secret is not None:
            mark = re.search(r'name="mark" value="([0-9a-f]+)"', form)
            assert mark is not None, form
            code = totp_codes(secret.group(1), self.now())[0]
            done = await self.post(
                "/account/2fa/enrol",
                {"secret": secret.group(1), "mark": mark.group(1), "code": code},
            )
            assert done.status_code == 200 and "恢复码" in done.text, done.text
            PHONES[username] = secret.group(1)
            RECOVERY[username] = re.findall(r"<code>([A-Z0-9]{4}-[A-Z0-9]{4})</code>", done.text)
            return done
        for code in [*totp_codes(PHONES[username], self.now()), *RECOVERY.get(username, [])]:
            done = await self.post("/account/2fa/verify", {"code": code})
            if done.status_code == 303:
                if code in RECOVERY.get(username, []):
                    RECOVERY[username].remove(code)
                return done
        raise AssertionError(f"{username}: no code the phone shows was taken")
