"""The console over HTTP: sign-in, sessions, CSRF, and every page and form a person uses, with
the Chinese they read. The same services and permission rules as the API (404 for what is
not one's own)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.context import FixedClock
from reception.feeds.models import FeedToken
from reception.org import signin
from reception.org.models import User
from reception.scheduling.models import Appointment, ReceptionSession, SessionSlot
from reception.web.console import COOKIE
from tests.builders import PASSWORD, World, at, build_world, future_workday, give_passwords
from tests.conftest import auth
from tests.console import Console

ID_NUMBER = "11010519491231002X"


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


@pytest.fixture
def browser(app: Litestar) -> Console:
    # https: the test settings' public URL is https, so the cookies are Secure.
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    return Console(client)


@pytest.fixture
def second(app: Litestar) -> Console:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    return Console(client)


async def make_session(
    client: httpx.AsyncClient, world: World, leader: str = "mayor", days: int = 21
) -> int:
    day = future_workday(days)
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders[leader],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, "10:00"),
            "slot_minutes": 30,
            "people_per_slot": 3,
        },
        headers=auth(world.tokens["admin"]),
    )
    assert r.status_code == 201, r.text
    sid: int = r.json()["id"]
    return sid


def text_of(r: httpx.Response) -> str:
    assert r.headers["content-type"].startswith("text/html"), r.headers
    return r.text


async def audit_count(maker: async_sessionmaker[AsyncSession], action: str) -> int:
    async with maker() as s:
        n = await s.scalar(select(func.count()).where(AuditEvent.action == action))
        return int(n or 0)


# ---------------------------------------------------------------- signing in


async def test_sign_in_sign_out_and_the_cookie(
    browser: Console, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    r = await browser.get("/desk")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fdesk"
    r = await browser.get("/login")
    assert r.status_code == 200 and "登录" in text_of(r)
    r = await browser.sign_in("secretary", "wrong-password1")
    assert r.status_code == 400 and "用户名或密码不正确" in text_of(r)
    r = await browser.sign_in("nobody", "wrong-password1")
    assert r.status_code == 400 and "用户名或密码不正确" in r.text
    assert await audit_count(sessionmaker, "auth.sign_in_failed") == 2

    r = await browser.sign_in("secretary")
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(COOKIE))
    assert (
        "HttpOnly" in cookie
        and "Secure" in cookie
        and "SameSite=lax" in cookie.replace("SameSite=Lax", "SameSite=lax")
    )
    assert await audit_count(sessionmaker, "auth.sign_in") == 1
    r = await browser.get("/desk")
    assert r.status_code == 200 and "接访日历" in r.text and "孙某秘" in r.text
    r = await browser.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/desk"

    r = await browser.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert await audit_count(sessionmaker, "auth.sign_out") == 1
    r = await browser.get("/desk")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_an_open_redirect_is_not_followed(browser: Console, world: World) -> None:
    r = await browser.post(
        "/login", {"username": "secretary", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/desk"


def _refusal(r: Any) -> tuple[int, str]:
    """The status and the message of a refused sign-in, as the person reads them."""
    found = re.search(r'<div class="flash error" role="alert">(.*?)</div>', r.text, re.S)
    return r.status_code, found.group(1).strip() if found else ""


async def test_lockout_grows_and_ends_without_telling_which_names_exist(
    browser: Console,
    world: World,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    unknown = _refusal(await browser.sign_in("nobody_here", "not-it-2026"))
    assert unknown[0] == 400 and "用户名或密码不正确" in unknown[1]
    for _ in range(5):
        assert _refusal(await browser.sign_in("clerk_a", "not-it-2026")) == unknown
    # Locked now: even the right password is refused, and the answer is the same words, the
    # same status (after the same password check) as for a name that does not exist.
    assert _refusal(await browser.sign_in("clerk_a")) == unknown
    assert await audit_count(sessionmaker, "auth.sign_in_locked") == 1
    assert await audit_count(sessionmaker, "auth.sign_in_failed") == 6
    clock.set(clock.now() + timedelta(minutes=1, seconds=1))
    # The 6th failure locks for longer (2 minutes).
    assert _refusal(await browser.sign_in("clerk_a", "not-it-2026")) == unknown
    clock.set(clock.now() + timedelta(minutes=1, seconds=1))
    assert _refusal(await browser.sign_in("clerk_a")) == unknown
    clock.set(clock.now() + timedelta(minutes=1))
    r = await browser.sign_in("clerk_a")
    assert r.status_code == 303
    async with sessionmaker() as s:
        user = await s.get(User, world.users["clerk_a"])
        assert user is not None and user.failed_sign_ins == 0 and user.locked_until is None


async def test_a_locked_account_costs_a_password_check_like_any_other(
    browser: Console, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same work for every refusal: the time an answer takes tells nothing either."""
    checked: list[str] = []
    real = signin._verify

    def counting(encoded: str, password: str) -> bool:
        checked.append(password)
        return real(encoded, password)

    monkeypatch.setattr(signin, "_verify", counting)
    for _ in range(6):
        await browser.sign_in("clerk_a", "not-it-2026")
    await browser.sign_in("nobody_here", "not-it-2026")
    assert len(checked) == 7


async def test_idle_timeout_ends_the_session(
    browser: Console, world: World, clock: FixedClock
) -> None:
    await browser.sign_in("leader")
    assert (await browser.get("/me")).status_code == 200
    clock.set(clock.now() + timedelta(minutes=29))
    assert (await browser.get("/me")).status_code == 200
    # Each request counts as activity: 29 more minutes are still within the 30.
    clock.set(clock.now() + timedelta(minutes=29))
    assert (await browser.get("/me")).status_code == 200
    clock.set(clock.now() + timedelta(minutes=31))
    r = await browser.get("/me")
    assert r.status_code == 303 and "ended=idle" in r.headers["location"]
    r = await browser.get(r.headers["location"])
    assert "长时间未操作" in r.text


async def test_first_password_must_be_changed(
    browser: Console, second: Console, world: World
) -> None:
    await browser.sign_in("secadmin")
    uid = world.users["clerk_district"]
    r = await browser.post(f"/admin/users/{uid}/password", {"username": "", "password": "short"})
    assert r.status_code in (400, 422) and "至少8位" in r.text
    r = await browser.post(
        f"/admin/users/{uid}/password", {"username": "fengdeng", "password": "Chushi2026"}
    )
    assert r.status_code == 303
    # The old password no longer works; the new one opens only the password page.
    assert (await second.sign_in("clerk_district")).status_code == 400
    r = await second.sign_in("fengdeng", "Chushi2026")
    assert r.status_code == 303 and r.headers["location"] == "/password"
    r = await second.get("/subscriptions")
    assert r.status_code == 303 and r.headers["location"] == "/password"
    r = await second.get("/password")
    assert r.status_code == 200 and "修改密码" in r.text
    r = await second.post(
        "/password", {"current": "Chushi2026", "new": "Xinmima2027", "repeat": "Xinmima2028"}
    )
    assert r.status_code == 400 and "两次输入的新密码不一致" in r.text
    r = await second.post(
        "/password", {"current": "Chushi2026", "new": "Chushi2026", "repeat": "Chushi2026"}
    )
    assert r.status_code == 400
    # The policy (等保三级): three kinds of character, not the username, none of the last five.
    r = await second.post(
        "/password", {"current": "Chushi2026", "new": "xinmima2027", "repeat": "xinmima2027"}
    )
    assert r.status_code == 400 and "至少3种(现有:小写字母、数字)" in r.text
    r = await second.post(
        "/password", {"current": "Chushi2026", "new": "Fengdeng2027", "repeat": "Fengdeng2027"}
    )
    assert r.status_code == 400 and "不能包含用户名" in r.text
    r = await second.post(
        "/password", {"current": "Chushi2026", "new": "Xinmima2027", "repeat": "Xinmima2027"}
    )
    assert r.status_code == 303
    assert (await second.get("/subscriptions")).status_code == 200
    r = await second.post(
        "/password", {"current": "Xinmima2027", "new": "Chushi2026", "repeat": "Chushi2026"}
    )
    assert r.status_code == 400 and "最近5次用过的密码" in r.text


async def test_a_password_older_than_the_policy_allows_must_be_changed(
    browser: Console,
    world: World,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as s:
        user = await s.get(User, world.users["clerk_a"])
        assert user is not None
        user.password_changed_at = clock.now() - timedelta(days=91)
        await s.commit()
    r = await browser.sign_in("clerk_a")
    assert r.status_code == 303 and r.headers["location"] == "/password"
    r = await browser.get("/password")
    assert "已使用超过 90 天" in r.text and "至少3种" in r.text
    r = await browser.post(
        "/password", {"current": PASSWORD, "new": "Xinmima2027!", "repeat": "Xinmima2027!"}
    )
    assert r.status_code == 303
    async with sessionmaker() as s:
        user = await s.get(User, world.users["clerk_a"])
        assert user is not None and not user.must_change_password
        assert user.password_changed_at == clock.now() and user.password_history


# ---------------------------------------------------------------- CSRF and errors as pages


async def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    sid = await make_session(client, world)
    await browser.sign_in("secretary")
    r = await browser.post(f"/sessions/{sid}/cancel", {"reason": "领导临时出差"}, csrf=False)
    assert r.status_code == 403 and "页面已过期或来源不明" in text_of(r)
    r = await browser.client.post(
        f"/sessions/{sid}/cancel",
        data={"reason": "领导临时出差", "_csrf_token": "forged"},
    )
    assert r.status_code == 403
    got = await client.get(f"/api/sessions/{sid}", headers=auth(world.tokens["admin"]))
    assert got.json()["session"]["status"] == "scheduled"
    # The API (bearer tokens, no cookies) needs no CSRF token.
    r = await client.post(
        f"/api/sessions/{sid}/cancel",
        json={"reason": "领导临时出差"},
        headers=auth(world.tokens["secretary"]),
    )
    assert r.status_code == 200, r.text


async def test_a_secretary_never_sees_another_leaders_session(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    theirs = await make_session(client, world, leader="other")
    await browser.sign_in("secretary")
    for path in (
        f"/sessions/{theirs}",
        f"/sessions/{theirs}/book",
        f"/sessions/{theirs}/print",
        f"/sessions/{theirs}/calls",
    ):
        r = await browser.get(path)
        assert r.status_code == 404, path
        assert "未找到" in text_of(r) and "刘某丁" not in r.text
    r = await browser.post(f"/sessions/{theirs}/book", booking())
    assert r.status_code == 404
    r = await browser.post(f"/sessions/{theirs}/cancel", {"reason": "不该能取消"})
    assert r.status_code == 404
    day = future_workday(21)
    r = await browser.get(f"/desk?month={day:%Y-%m}")
    assert r.status_code == 200 and "刘某丁" not in r.text
    # Admin-only pages: refused in Chinese, as a page.
    r = await browser.get("/admin/users")
    assert r.status_code == 403 and "无权" in text_of(r)


async def test_bad_query_input_is_a_page_not_a_500(browser: Console, world: World) -> None:
    await browser.sign_in("secretary")
    for path in ("/desk?month=2026-13", "/desk?month=abc", "/sessions/99999999", "/nope"):
        r = await browser.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), (path, r.text)
        assert "Traceback" not in r.text and '"status"' not in r.text


# ---------------------------------------------------------------- the booking desk


def booking(**extra: object) -> dict[str, object]:
    return {
        "petitioner_name": "张小明",
        "petitioner_phone": "13812345678",
        "petitioner_id_number": ID_NUMBER,
        "matter_summary": "小区逾期交房",
        "party_size": "1",
        **extra,
    }


async def test_secretary_books_moves_and_cancels_through_the_desk(
    browser: Console,
    world: World,
    clock: FixedClock,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    sid = await make_session(client, world)
    other = await make_session(client, world, leader="mayor", days=28)
    day = future_workday(21)
    await browser.sign_in("secretary")
    r = await browser.get(f"/desk?month={day:%Y-%m}")
    assert r.status_code == 200 and "李某乙" in r.text and f"/sessions/{sid}" in r.text
    r = await browser.get(f"/sessions/{sid}")
    assert r.status_code == 200 and '<strong id="places-left">6</strong>' in r.text

    r = await browser.get(f"/sessions/{sid}/book")
    assert r.status_code == 200 and "预约登记" in r.text and "剩余名额" in r.text

    # A wrong ID number: the message beside its field, nothing booked.
    r = await browser.post(
        f"/sessions/{sid}/book", booking(petitioner_id_number="110105194912310021")
    )
    assert r.status_code in (400, 422), r.text[:500]
    assert re.search(r'class="invalid".*?身份证号', r.text, re.S)
    assert "校验码不符" in r.text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Appointment)) == 0

    r = await browser.post(f"/sessions/{sid}/book", booking(slot_index="1"))
    assert r.status_code == 303 and "notice" not in r.headers["location"]
    r = await browser.get(r.headers["location"])
    assert "张小明" in r.text and "已预约:张小明" in r.text
    async with sessionmaker() as s:
        (appt,) = (await s.scalars(select(Appointment))).all()
        slot = await s.get(SessionSlot, appt.slot_id)
        assert slot is not None and slot.slot_index == 1

    # The same person again: the warning while typing, and the refusal naming the first.
    r = await browser.post(f"/sessions/{sid}/book/check", booking())
    assert r.status_code == 200 and "已预约本场次" in r.text
    r = await browser.post(f"/sessions/{sid}/book", booking())
    assert r.status_code == 409 and "已预约本场次" in r.text and f"预约 {appt.id}" not in r.text

    # A collective visit without representatives is refused beside the representatives.
    r = await browser.post(
        f"/sessions/{sid}/book",
        booking(
            petitioner_name="赵大勇",
            petitioner_phone="13900000001",
            petitioner_id_number="",
            party_size="6",
        ),
    )
    assert r.status_code in (400, 422) and "代表" in r.text

    # Check in: not before the day; on the day, and then the status buttons move on.
    r = await browser.post(f"/appointments/{appt.id}/status", {"status": "checked_in"})
    assert r.status_code == 409 and "接访日还没有到" in r.text
    clock.set(datetime.fromisoformat(at(day, "09:10")))
    r = await browser.get(f"/sessions/{sid}")
    assert r.status_code == 303  # 3 weeks later, the sign-in of that day is long over
    await browser.sign_in("secretary")
    r = await browser.post(f"/appointments/{appt.id}/status", {"status": "checked_in"})
    assert r.status_code == 303
    r = await browser.get(f"/sessions/{sid}")
    assert "已签到" in r.text
    r = await browser.post(f"/appointments/{appt.id}/status", {"status": "booked"})
    assert r.status_code == 400 and "已签到" in r.text

    # Move an appointment: a booked one to another session.
    r = await browser.post(
        f"/sessions/{sid}/book",
        booking(petitioner_name="钱小红", petitioner_phone="13700000002", petitioner_id_number=""),
    )
    assert r.status_code == 303
    async with sessionmaker() as s:
        second_appt = await s.scalar(
            select(Appointment).where(Appointment.petitioner_name == "钱小红")
        )
    assert second_appt is not None
    r = await browser.get(f"/appointments/{second_appt.id}/move?session_id={other}")
    assert r.status_code == 200 and "改约" in r.text
    r = await browser.post(
        f"/appointments/{second_appt.id}/move",
        {"session_id": str(other), "slot_index": "0", "reason": "本人要求"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/sessions/{other}")

    # Print view: the office's header, no navigation.
    r = await browser.get(f"/sessions/{other}/print")
    assert r.status_code == 200 and "钱小红" in r.text and 'class="nav"' not in r.text
    assert "预约:</strong>1 起,来访 1 人" in r.text

    # Cancel the other session: a reason is required, then the call list names whom to ring.
    r = await browser.post(f"/sessions/{other}/cancel", {"reason": ""})
    assert r.status_code in (400, 422) and "原因" in r.text
    r = await browser.post(f"/sessions/{other}/cancel", {"reason": "领导参加市里会议"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/sessions/{other}/calls")
    r = await browser.get(r.headers["location"])
    assert r.status_code == 200 and "钱小红" in r.text and "13700000002" in r.text
    async with sessionmaker() as s:
        cancelled = await s.get(ReceptionSession, other)
        assert cancelled is not None and cancelled.status == "cancelled"
    assert "待通知 1 人" in r.text

    # 改约 from the list: the same person and matter into another of his sessions, nothing
    # retyped; the call is ticked with where she went.
    third = await make_session(client, world, leader="mayor", days=35)
    r = await browser.get(f"/appointments/{second_appt.id}/rebook")
    assert r.status_code == 200 and "不必重新输入" in r.text and f'value="{third}"' in r.text
    r = await browser.post(f"/appointments/{second_appt.id}/rebook", {"slot_index": "0"})
    assert r.status_code in (400, 422) and "场次" in r.text  # no session chosen
    # A session id past any column's range (the fuzzer's 2**63) is refused, not looked up.
    r = await browser.post(
        f"/appointments/{second_appt.id}/rebook",
        {"session_id": "9223372036854775808", "slot_index": "0"},
    )
    assert r.status_code in (400, 422) and "Traceback" not in r.text, r.text[-400:]
    r = await browser.post(
        f"/appointments/{second_appt.id}/rebook", {"session_id": str(third), "slot_index": "0"}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/sessions/{third}", r.text[:400]
    r = await browser.get(f"/sessions/{third}")
    assert "钱小红已改约至" in r.text and "钱小红" in r.text
    r = await browser.get(f"/sessions/{other}/calls")
    assert "待通知 0 人" in r.text and "已改约至" in r.text and "孙某秘" in r.text
    async with sessionmaker() as s:
        again = await s.scalar(
            select(Appointment).where(
                Appointment.petitioner_name == "钱小红", Appointment.session_id == third
            )
        )
        assert again is not None and again.status == "booked"

    # A single appointment cancelled in a session that goes ahead: on its call list too, and
    # ticked off when rung.
    r = await browser.post(
        f"/appointments/{again.id}/status", {"status": "cancelled", "reason": "办公室通知改期"}
    )
    assert r.status_code == 303, r.text[:400]
    r = await browser.get(f"/sessions/{third}")
    assert "1 个已取消的预约尚未电话告知" in r.text
    r = await browser.post(f"/appointments/{again.id}/rung", {"note": "未接通,需再联系"})
    assert r.status_code == 303
    r = await browser.get(f"/sessions/{third}/calls")
    assert "已记录:钱小红,未接通,需再联系" in r.text and "待通知 0 人" in r.text
    # Only a cancelled appointment is rung about; a stranger's id is refused.
    assert (await browser.post("/appointments/999999/rung", {})).status_code == 404


async def test_moving_a_session_names_the_clash(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    sid = await make_session(client, world)
    later = await make_session(client, world, days=28)
    day = future_workday(28)
    await browser.sign_in("secretary")
    r = await browser.get(f"/sessions/{sid}")
    found = re.search(r'name="etag" value="([^"]+)"', r.text)
    assert found
    etag = html.unescape(found.group(1))
    r = await browser.post(
        f"/sessions/{sid}/move",
        {"date": day.isoformat(), "start": "09:30", "end": "10:30", "etag": etag},
    )
    assert r.status_code == 409 and "李某乙" in r.text
    assert f"/sessions/{later}" in r.text or "已有" in r.text
    r = await browser.post(
        f"/sessions/{sid}/move",
        {"date": day.isoformat(), "start": "14:00", "end": "15:00", "etag": etag},
    )
    assert r.status_code == 303, r.text[:800]
    r = await browser.post(
        f"/sessions/{sid}/move", {"date": "not-a-date", "start": "14:00", "end": "15:00"}
    )
    assert r.status_code in (400, 422) and "请填写日期和时间" in r.text


# ---------------------------------------------------------------- the leader


async def test_leader_sees_his_week_his_cases_and_records_a_visit(
    browser: Console, world: World, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    day = future_workday(7)
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "field_visit",
            "unit_id": world.township_a,
            "address": "下仓镇小杨家庄村",
            "purpose": "实地查看逾期交房小区",
            "starts_at": at(day, "14:00"),
            "ends_at": at(day, "16:00"),
        },
        headers=auth(world.tokens["admin"]),
    )
    assert r.status_code == 201, r.text
    visit = r.json()["id"]
    await browser.sign_in("leader")
    r = await browser.get(f"/me?week={day.isoformat()}")
    assert r.status_code == 200 and "下访" in r.text and "下仓镇小杨家庄村" in r.text
    assert "我的日程" in r.text
    r = await browser.get(f"/sessions/{visit}")
    assert r.status_code == 200 and "实地查看逾期交房小区" in r.text
    r = await browser.get("/me/cases")
    assert r.status_code == 200 and "包案" in r.text
    r = await browser.post(f"/sessions/{visit}/hold", {"outcome": "提前记录"})
    assert r.status_code == 409 and "还没有开始" in r.text
    clock.set(datetime.fromisoformat(at(day, "16:30")))
    await browser.sign_in("leader")
    r = await browser.post(f"/sessions/{visit}/hold", {"outcome": "现场协调开发商,约定月底交房"})
    assert r.status_code == 303
    r = await browser.get(f"/sessions/{visit}")
    assert "现场协调开发商" in r.text
    # Not his: the deputy's pages are not there for him.
    theirs = await make_session(client, world, leader="deputy")
    assert (await browser.get(f"/sessions/{theirs}")).status_code == 404
    # His month is the desk's calendar, of his own sessions only.
    r = await browser.get(f"/desk?month={future_workday(21):%Y-%m}")
    assert r.status_code == 200 and "张某丙" not in r.text


# ---------------------------------------------------------------- admin


async def test_admin_creates_a_secretary_and_links_her_to_a_leader(
    browser: Console,
    second: Console,
    world: World,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    theirs = await make_session(client, world, leader="other")
    # 三员分立: the security administrator opens accounts; the system one only links them.
    await second.sign_in("admin")
    r = await second.get("/admin/users")
    assert r.status_code == 200 and "孙某秘" in r.text and "新建用户" not in r.text
    r = await second.post(
        "/admin/users",
        {"name": "郑某秘", "role": "secretary", "username": "zhengmi", "password": "Chushi2026"},
    )
    assert r.status_code == 403
    await second.post("/logout")
    await browser.sign_in("secadmin")
    r = await browser.get("/admin/users")
    assert r.status_code == 200 and "孙某秘" in r.text and "新建用户" in r.text
    r = await browser.post(
        "/admin/users",
        {"name": "郑某秘", "role": "secretary", "username": "zheng", "password": "zheng"},
    )
    assert r.status_code in (400, 422) and "至少8位" in r.text
    r = await browser.post(
        "/admin/users",
        {"name": "郑某秘", "role": "secretary", "username": "zheng mi", "password": "Chushi2026"},
    )
    assert r.status_code in (400, 422) and "用户名" in r.text
    r = await browser.post(
        "/admin/users",
        {"name": "郑某秘", "role": "secretary", "username": "zhengmi", "password": "Chushi2026"},
    )
    assert r.status_code == 303, r.text[:800]
    uid = int(r.headers["location"].split("?")[0].rsplit("/", 1)[1])
    # A username is one person's.
    r = await browser.post(
        "/admin/users",
        {"name": "郑某二", "role": "secretary", "username": "zhengmi", "password": "Chushi2026"},
    )
    assert r.status_code in (400, 422) and "已被使用" in r.text

    await second.sign_in("zhengmi", "Chushi2026")
    await second.post(
        "/password", {"current": "Chushi2026", "new": "Xinmima2027", "repeat": "Xinmima2027"}
    )
    assert (await second.get(f"/sessions/{theirs}")).status_code == 404

    # Linking her to a leader is the system administrator's, not the security one's.
    r = await browser.post(
        f"/admin/users/{uid}", {"name": "郑某秘", "leader_ids": str(world.leaders["other"])}
    )
    assert r.status_code == 403
    r = await client.patch(
        f"/api/users/{uid}",
        json={"leader_ids": [world.leaders["other"]]},
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
    )
    assert r.status_code == 200, r.text
    r = await second.get(f"/sessions/{theirs}")
    assert r.status_code == 200 and "刘某丁" in r.text

    # Deactivated: the open session ends at once.
    r = await browser.post(f"/admin/users/{uid}/active", {"active": "false"})
    assert r.status_code == 303
    r = await second.get("/desk")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await second.sign_in("zhengmi", "Xinmima2027")).status_code == 400
    # An administrator cannot lock himself out.
    r = await browser.post(f"/admin/users/{world.users['secadmin']}/active", {"active": "false"})
    assert r.status_code == 409 and "自己" in r.text


async def test_admin_imports_a_year_after_seeing_what_changes(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    await browser.sign_in("admin")
    r = await browser.get("/admin/calendar?year=2027")
    assert r.status_code == 200 and "暂定" in r.text
    schedule = (
        b'{"holidays": [{"date": "2027-02-05", "name": "\xe6\x98\xa5\xe8\x8a\x82"}],'
        b' "workdays": [{"date": "2027-02-20", "name": "\xe8\xb0\x83\xe4\xbc\x91"}]}'
    )
    token = browser.token()
    r = await browser.client.post(
        "/admin/calendar/2027",
        data={"official": "on", "_csrf_token": token},
        files={"file": ("2027.json", schedule, "application/json")},
        headers={"x-csrftoken": token},
    )
    assert r.status_code == 200, r.text[:800]
    assert "确认" in r.text and "2027年2月20日" in r.text
    # Nothing is applied by the preview.
    got = await client.get("/api/calendar/2027", headers=auth(world.tokens["admin"]))
    assert got.json()["official"] is False
    carried = re.search(r'name="schedule" value="([^"]+)"', r.text)
    assert carried
    r = await browser.post(
        "/admin/calendar/2027",
        {
            "schedule": html.unescape(carried.group(1)),
            "source": "json",
            "official": "on",
            "confirm": "yes",
        },
    )
    assert r.status_code == 303
    got = await client.get("/api/calendar/2027", headers=auth(world.tokens["admin"]))
    assert got.json()["official"] is True
    assert [d["date"] for d in got.json()["workdays"]] == ["2027-02-20"]
    # A file that is not a schedule: said beside the file field.
    r = await browser.client.post(
        "/admin/calendar/2027",
        data={"_csrf_token": token},
        files={"file": ("x.json", b"{not json", "application/json")},
        headers={"x-csrftoken": token},
    )
    assert r.status_code in (400, 422) and "JSON" in r.text


async def test_admin_creates_a_rule_previews_and_generates(
    browser: Console,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await browser.sign_in("admin")
    rule = {
        "leader_id": str(world.leaders["deputy"]),
        "venue_id": str(world.venue),
        "day_of_month": "20",
        "start_time": "09:00",
        "end_time": "12:00",
        "slot_minutes": "30",
        "people_per_slot": "3",
        "holiday_policy": "next_workday",
        "valid_from": "2026-12-01",
        "valid_to": "",
    }
    r = await browser.post("/admin/rules", {**rule, "end_time": "08:00"})
    assert r.status_code in (400, 422) and "结束" in r.text
    r = await browser.post("/admin/rules", rule)
    assert r.status_code == 303, r.text[:800]
    rule_path = r.headers["location"].split("?")[0]
    r = await browser.get(rule_path)
    assert r.status_code == 200 and "张某丙" in r.text and "生成接访日" in r.text
    r = await browser.post(f"{rule_path}/generate", {"until": "2027-03-31"})
    assert r.status_code == 200 and "预览" in r.text
    assert "2026年12月21日(周一)" in r.text  # 20 Dec 2026 is a Sunday: the next workday
    assert "2027年1月20日" in r.text and "确认生成" in r.text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ReceptionSession)) == 0
    r = await browser.post(f"{rule_path}/generate", {"until": "2027-03-31", "confirm": "yes"})
    assert r.status_code == 303
    assert "已生成 4 个场次" in (await browser.get(r.headers["location"])).text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ReceptionSession)) == 4
    r = await browser.post(rule_path, {**rule, "active": "", "valid_to": "2027-06-30"})
    assert r.status_code == 303
    r = await browser.get("/admin/rules")
    assert "已停用" in r.text and "2027年6月30日" in r.text


# ---------------------------------------------------------------- feed subscriptions


async def test_a_subscription_shows_its_address_and_qr_once(
    browser: Console, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await browser.sign_in("secretary")
    r = await browser.get("/subscriptions")
    assert r.status_code == 200 and "日历订阅" in r.text
    r = await browser.post(
        "/subscriptions",
        {"scope": "leader", "leader_id": str(world.leaders["mayor"]), "name": "区长日程"},
    )
    assert r.status_code == 200
    url = re.search(r"https://reception\.test/feeds/[A-Za-z0-9_\-]+\.ics", r.text)
    assert url and "<svg" in r.text and "webcal://" in r.text
    r = await browser.get("/subscriptions")
    assert "区长日程" in r.text and url.group(0) not in r.text
    # Someone else's leader: refused beside the field, nothing made.
    r = await browser.post(
        "/subscriptions",
        {"scope": "leader", "leader_id": str(world.leaders["other"]), "name": "不是我的"},
    )
    assert r.status_code == 403 and "无权" in r.text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(FeedToken)) == 1


# ---------------------------------------------------------------- offline


EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", re.I)
CSS_EXTERNAL = re.compile(r"""(?:@import|url\()\s*["']?(?:https?:)?//""", re.I)


async def test_no_page_or_asset_loads_anything_from_elsewhere(
    browser: Console, world: World, client: httpx.AsyncClient
) -> None:
    sid = await make_session(client, world)
    seen: list[str] = []
    for who, paths in {
        "admin": [
            "/admin/users",
            f"/admin/users/{world.users['secretary']}",
            "/admin/calendar",
            "/admin/rules",
            "/admin/notify",
            "/desk",
            "/subscriptions",
        ],
        "secretary": [
            "/desk",
            f"/sessions/{sid}",
            f"/sessions/{sid}/book",
            f"/sessions/{sid}/print",
            "/password",
        ],
        "leader": ["/me", "/me/cases", f"/sessions/{sid}"],
    }.items():
        await browser.client.aclose()
        browser.client = httpx.AsyncClient(
            transport=browser.client._transport, base_url="https://test"
        )
        await browser.sign_in(who)
        for path in paths:
            r = await browser.get(path)
            assert r.status_code == 200, (who, path)
            assert not EXTERNAL.findall(r.text), (who, path, EXTERNAL.findall(r.text))
            assert re.search(r"[\u4e00-\u9fff]", r.text)
            seen += re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text)
    assert seen
    for asset in sorted(set(seen)):
        r = await browser.get(asset)
        assert r.status_code == 200, asset
        if asset.endswith(".css"):
            assert not CSS_EXTERNAL.findall(r.text), asset


def test_every_vendored_asset_carries_its_licence() -> None:
    static = Path(str(resources.files("reception.web") / "static" / "vendor"))
    for folder in static.iterdir():
        assert any(p.name.upper().startswith("LICENSE") for p in folder.iterdir()), folder


async def test_a_form_left_on_its_blank_choice_opens_and_a_bad_address_says_so_in_chinese(
    browser: Console, world: World
) -> None:
    await browser.sign_in("reviewer")
    # 单位 = 全区 sends an empty unit_id.
    r = await browser.get("/review?month=2026-11&unit_id=")
    assert r.status_code == 200, text_of(r)
    r = await browser.get("/review?month=2026-11&unit_id=abc")
    assert r.status_code == 400
    body = text_of(r)
    assert "Validation" not in body and "GET" not in body and "unit_id" not in body
    assert "页面地址" in body


async def test_admin_places_a_unit_and_every_list_follows(browser: Console, world: World) -> None:
    await browser.sign_in("admin")
    r = await browser.get("/admin/units")
    order = re.findall(r'<td class="card-title">([^<(]+)', text_of(r))
    assert order == ["蓟州区", "区住建委", "邦均镇", "下仓镇"]
    # The villages (about a thousand in a district) have their own view.
    villages = await browser.get("/admin/units?kind=village")
    assert re.findall(r'<td class="card-title">([^<(]+)', villages.text) == ["小杨家庄村"]
    r = await browser.post(f"/admin/units/{world.township_a}/order", {"sort_order": "1"})
    assert r.status_code == 303
    r = await browser.get("/admin/units")
    assert "下仓镇:排在第 1 位" in r.text
    order = re.findall(r'<td class="card-title">([^<(]+)', r.text)
    assert order.index("下仓镇") < order.index("邦均镇")
    # Refused in words beside the unit; nothing changes.
    r = await browser.post(f"/admin/units/{world.township_b}/order", {"sort_order": "第一"})
    assert r.status_code in (400, 422) and "field-error" in r.text
    # The clerk's 责任单位 list reads the same way.
    await browser.client.post("/logout", data={"_csrf_token": browser.token()})
    await browser.sign_in("clerk_district")
    r = await browser.get("/cases/new")
    options = re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", r.text)
    units = [o.strip("\u3000") for o in options if o.strip("\u3000") in order]
    assert units.index("下仓镇") < units.index("邦均镇"), options


async def test_admin_seats_departments_in_the_mediation_centre(
    browser: Console, world: World
) -> None:
    """区矛调中心: a department 常驻 from today, then 轮驻 (the earlier place kept as a row),
    counted on the page; a township is no department of the centre; a clerk may not."""
    await browser.sign_in("admin")
    r = await browser.post(f"/admin/units/{world.department}/presence", {"presence": "resident"})
    assert r.status_code == 303
    assert "常驻 <strong>1</strong> 个" in (await browser.get("/admin/units")).text
    again = await browser.post(
        f"/admin/units/{world.department}/presence", {"presence": "resident"}
    )
    assert again.status_code == 409 and "已是常驻部门" in again.text
    r = await browser.post(f"/admin/units/{world.department}/presence", {"presence": "rotating"})
    page = (await browser.get("/admin/units")).text
    assert r.status_code == 303 and "常驻 <strong>0</strong> 个" in page
    assert "轮驻 <strong>1</strong> 个" in page
    wrong = await browser.post(f"/admin/units/{world.township_a}/presence", {"presence": "on_call"})
    assert wrong.status_code == 422 and "只有区直部门" in wrong.text
    odd = await browser.post(f"/admin/units/{world.department}/presence", {"presence": "常驻"})
    assert odd.status_code == 422
    await browser.client.post("/logout", data={"_csrf_token": browser.token()})
    await browser.sign_in("clerk_district")
    denied = await browser.post(f"/admin/units/{world.department}/presence", {"presence": ""})
    assert denied.status_code == 403


async def test_a_password_hashed_with_older_parameters_is_renewed_at_sign_in(
    browser: Console, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    async with sessionmaker() as s:
        user = await s.get(User, world.users["clerk_a"])
        assert user is not None
        user.password_hash = old
        await s.commit()
    r = await browser.sign_in("clerk_a")
    assert r.status_code == 303
    async with sessionmaker() as s:
        user = await s.get(User, world.users["clerk_a"])
        assert user is not None and user.password_hash != old
        assert user.password_hash.startswith("$argon2id$v=19$m=47104,t=1,p=1$")
