"""A second factor for staff (等保三级 §8.1.4.1), and tokens that expire and carry scopes."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import httpx
import pyotp
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.app import create_app
from reception.config import Settings
from tests.builders import World, build_world, give_passwords
from tests.conftest import assert_problem, auth
from tests.console import PHONES, RECOVERY, TESTS_NOW, Console, totp_codes


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


def _console(app: Litestar) -> Console:
    return Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )


async def test_an_administrator_enrols_then_needs_the_code_at_every_sign_in(
    app: Litestar, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    person = _console(app)
    r = await person.sign_in("admin", second_factor=False)
    assert r.status_code == 303
    # Nothing but the second-factor page until it is done, whatever was asked for.
    for path in ("/admin/users", "/desk", "/password", "/admin/calendar"):
        r = await person.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/account/2fa", path
    page = await person.get("/account/2fa")
    assert page.status_code == 200 and "启用动态口令" in page.text
    # The QR code is drawn here: an SVG data URI, no image from elsewhere.
    assert 'src="data:image/svg+xml' in page.text
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text)
    mark = re.search(r'name="mark" value="([0-9a-f]+)"', page.text)
    assert secret and mark
    # A wrong code, a secret swapped for another: refused in Chinese, nothing kept.
    r = await person.post(
        "/account/2fa/enrol", {"secret": secret[1], "mark": mark[1], "code": "000000"}
    )
    assert r.status_code in (400, 422) and "动态口令不正确" in r.text
    other = pyotp.random_base32()
    r = await person.post(
        "/account/2fa/enrol",
        {"secret": other, "mark": mark[1], "code": totp_codes(other, TESTS_NOW)[0]},
    )
    assert r.status_code in (400, 422) and "重新扫码" in r.text
    code = totp_codes(secret[1], TESTS_NOW)[0]
    r = await person.post(
        "/account/2fa/enrol", {"secret": secret[1], "mark": mark[1], "code": code}
    )
    assert r.status_code == 200 and "只显示这一次" in r.text
    codes = re.findall(r"<code>([A-Z0-9]{4}-[A-Z0-9]{4})</code>", r.text)
    assert len(codes) == 10
    assert (await person.get("/admin/users")).status_code == 200
    # Stored sealed, the recovery codes as hashes: neither readable in the database.
    async with sessionmaker() as s:
        sealed, hashes = (
            await s.execute(
                text("SELECT totp_sealed, recovery_codes FROM app_user WHERE username = 'admin'")
            )
        ).one()
    assert secret[1] not in sealed and sealed.startswith(("v1:", "v2:sm4:"))
    assert codes[0] not in str(hashes) and "argon2id" in str(hashes)

    # Next time: the code again. The one just used is not taken twice.
    await person.post("/logout")
    await person.sign_in("admin", second_factor=False)
    page = await person.get("/account/2fa")
    assert "动态口令验证" in page.text and 'name="secret"' not in page.text
    r = await person.post("/account/2fa/verify", {"code": code})
    assert r.status_code in (400, 422) and "已用过" in r.text
    r = await person.post("/account/2fa/verify", {"code": totp_codes(secret[1], TESTS_NOW)[1]})
    assert r.status_code == 303
    # A recovery code stands in for a lost phone once.
    await person.post("/logout")
    await person.sign_in("admin", second_factor=False)
    assert (await person.post("/account/2fa/verify", {"code": codes[3].lower()})).status_code == 303
    await person.post("/logout")
    await person.sign_in("admin", second_factor=False)
    r = await person.post("/account/2fa/verify", {"code": codes[3]})
    assert r.status_code in (400, 422)
    async with sessionmaker() as s:
        actions = list(
            (
                await s.scalars(
                    text("SELECT action FROM audit_event WHERE action LIKE 'auth.%' ORDER BY id")
                )
            ).all()
        )
    for action in (
        "auth.second_factor_enrolled",
        "auth.second_factor",
        "auth.recovery_code_used",
        "auth.second_factor_failed",
    ):
        assert action in actions


async def test_wrong_codes_lock_the_account_like_wrong_passwords(
    app: Litestar, world: World
) -> None:
    person = _console(app)
    await person.sign_in("auditor")
    await person.post("/logout")
    await person.sign_in("auditor", second_factor=False)
    for _ in range(5):
        await person.post("/account/2fa/verify", {"code": "123456"})
    r = await person.post(
        "/account/2fa/verify", {"code": totp_codes(PHONES["auditor"], TESTS_NOW)[1]}
    )
    assert r.status_code == 403 and "锁定" in r.text


async def test_the_security_administrator_resets_a_lost_phone(
    app: Litestar, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    leader_admin, security = _console(app), _console(app)
    await leader_admin.sign_in("admin")
    await security.sign_in("secadmin")
    page = await security.get(f"/admin/users/{world.users['admin']}")
    assert "已启用" in page.text and "重置动态口令" in page.text
    r = await security.post(f"/admin/users/{world.users['admin']}/2fa/reset")
    assert r.status_code == 303
    # The admin's session ended; at the next sign-in he binds a phone again.
    r = await leader_admin.get("/admin/users")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    await leader_admin.sign_in("admin", second_factor=False)
    assert "启用动态口令" in (await leader_admin.get("/account/2fa")).text
    # Only the security administrator resets: not the system administrator.
    RECOVERY.pop("admin", None)
    await leader_admin.pass_second_factor("admin")
    r = await leader_admin.post(f"/admin/users/{world.users['secadmin']}/2fa/reset")
    assert r.status_code == 403
    async with sessionmaker() as s:
        n = await s.scalar(
            text("SELECT count(*) FROM audit_event WHERE action = 'auth.second_factor_reset'")
        )
    assert n == 1


async def test_other_roles_need_it_only_at_the_level_3_setting(
    settings: Settings, world: World
) -> None:
    person = _console(app := create_app(settings))
    try:
        r = await person.sign_in("clerk_a", second_factor=False)
        assert r.status_code == 303 and (await person.get("/cases")).status_code == 200
    finally:
        await app.state.engine.dispose()
    strict = create_app(dataclasses.replace(settings, require_2fa=True))
    try:
        person = _console(strict)
        await person.sign_in("clerk_a", second_factor=False)
        r = await person.get("/cases")
        assert r.status_code == 303 and r.headers["location"] == "/account/2fa"
        await person.pass_second_factor("clerk_a")
        assert (await person.get("/cases")).status_code == 200
    finally:
        await strict.state.engine.dispose()


async def test_tokens_expire_and_keep_to_their_scopes(
    client: httpx.AsyncClient, world: World, app: Litestar
) -> None:
    security = auth(world.tokens["secadmin"])
    r = await client.post(
        f"/api/users/{world.users['admin']}/tokens",
        json={"label": "备份脚本", "expires_in_days": 120},
        headers=security,
    )
    assert "90" in assert_problem(r, 422)["detail"] or "90" in r.text
    r = await client.post(
        f"/api/users/{world.users['reviewer']}/tokens",
        json={"label": "只读报表", "expires_in_days": 30, "scopes": ["read"]},
        headers=security,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["scopes"] == ["read"] and body["expires_at"].startswith("2026-12-31")
    reader = auth(body["token"])
    assert (await client.get("/api/me", headers=reader)).status_code == 200
    r = await client.post("/api/feeds", json={"scope": "all"}, headers=reader)
    assert "只能读取" in assert_problem(r, 403)["detail"]
    # The world's own tokens carry the default: a year, reading and writing; an admin's 90 days.
    r = await client.get(f"/api/users/{world.users['admin']}/tokens", headers=security)
    assert r.json()[0]["expires_at"].startswith("2027-03-01")
    # 31 days later the reader's token is refused like a revoked one.
    app.state.ctx.clock.instant = TESTS_NOW + timedelta(days=31)
    assert_problem(await client.get("/api/me", headers=reader), 401)
    assert (await client.get("/api/me", headers=auth(world.tokens["clerk_a"]))).status_code == 200


async def test_the_security_administrator_issues_and_revokes_tokens_in_the_console(
    app: Litestar, world: World, client: httpx.AsyncClient
) -> None:
    security = _console(app)
    await security.sign_in("secadmin")
    reviewer = world.users["reviewer"]
    r = await security.post(
        f"/admin/users/{reviewer}/tokens",
        {"label": "报表程序", "expires_in_days": "30", "read_only": "1"},
    )
    assert r.status_code == 200 and "只显示这一次" in r.text
    token = re.search(r"<code>(rcp_[\w-]+)</code>", r.text)
    assert token is not None
    assert (await client.get("/api/me", headers=auth(token[1]))).status_code == 200
    r = await client.post("/api/feeds", json={"scope": "all"}, headers=auth(token[1]))
    assert_problem(r, 403)
    page = await security.get(f"/admin/users/{reviewer}")
    assert "报表程序" in page.text and "只读" in page.text and "2026年12月31日" in page.text
    # An administrator's token lives at most 90 days.
    r = await security.post(
        f"/admin/users/{world.users['admin']}/tokens", {"label": "备份", "expires_in_days": "120"}
    )
    assert r.status_code in (400, 422) and "90 天" in r.text
    # Revoked from the page: refused at once; another person's token is not this page's.
    ids = re.findall(rf"/admin/users/{reviewer}/tokens/(\d+)/revoke", page.text)
    assert ids
    r = await security.post(f"/admin/users/{world.users['clerk_a']}/tokens/{ids[-1]}/revoke")
    assert r.status_code == 404
    r = await security.post(f"/admin/users/{reviewer}/tokens/{ids[-1]}/revoke")
    assert r.status_code == 303
    assert_problem(await client.get("/api/me", headers=auth(token[1])), 401)
    # The system administrator sees the account, not its tokens.
    admin = _console(app)
    await admin.sign_in("admin")
    assert "接口令牌" not in (await admin.get(f"/admin/users/{reviewer}")).text


async def test_the_audit_export_refuses_a_day_outside_the_calendar(
    app: Litestar, world: World
) -> None:
    # 0001-01-01 in Beijing time is before the first instant a UTC datetime holds: a 422 with
    # the reason, never a 500 (the HTML fuzzer found it).
    person = _console(app)
    await person.sign_in("auditor")
    for bad in ("0001-01-01", "9999-12-31"):
        r = await person.get("/admin/audit/export", params={"from": bad})
        assert r.status_code == 422 and "2000 年至 2100 年" in r.text, (bad, r.status_code)
    r = await person.get("/admin/audit/export", params={"from": "2026-12-01"})
    assert r.status_code == 200 and r.content.startswith("\ufeff编号".encode())
