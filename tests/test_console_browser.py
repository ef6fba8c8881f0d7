"""The console in a real browser: Debian's headless Chromium (with the Noto CJK fonts, so the
screenshots show Chinese), driven by Playwright, against a real `reception serve`.

Each step leaves a screenshot in tests/artifacts/console/<backend>/ (not committed): open them
to see what a secretary, a leader and an admin saw."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders import (
    PASSWORD,
    VALID_ID,
    World,
    at,
    build_world,
    case_body,
    future_workday,
    give_passwords,
    served,
)
from tests.conftest import NOW, auth
from tests.console import PHONES, totp_codes
from tests.live import serve

ARTIFACTS = Path(__file__).parent / "artifacts" / "console"
CHROMIUM = os.environ.get("RECEPTION_TEST_CHROMIUM") or shutil.which("chromium") or ""


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


@pytest.fixture
def server(database_url: str, app: Litestar, world: World) -> Iterator[str]:
    # `app` first: it empties the tables this server shares; then the world is put in.
    # The server's clock starts at the tests' NOW when it starts, and runs on: what a phone's
    # code is computed against (tests.console.totp_codes).
    SERVER_CLOCK["started"] = time.monotonic()
    with serve(database_url, workers=2) as base:
        yield base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # No skip: without Chromium the console is untested, and that is a failure.
    assert CHROMIUM, "the console tests need Debian's chromium (bash scripts/system-deps)"
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()


class Steps:
    """Screenshots of each step, and every console error the page logged."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.n = 0
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"{page.url}: {m.text} @ {m.location}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    async def shot(self, page: Page, name: str) -> None:
        self.n += 1
        await page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)
        # Every screenshot is also read as a person would: nothing wider than the screen, no
        # text out of its box, no English, no internal number (web/… pages, LAYOUT_CHECK).
        problems = await page.evaluate(LAYOUT_CHECK, ENGLISH_ALLOWED)
        self.errors += [f"layout {name} ({page.url}): {p}" for p in problems]


# Words a page may show in Latin letters: names of file formats and of the one protocol the
# admin sets up. Anything else is English a person would have to read.
ENGLISH_ALLOWED = [
    "PDF", "Word", "XLSX", "CSV", "JSON", "Webhook", "ICS", "Excel", "WPS", "DOCX",
    # Names people say as they are: express mail, and the calendar apps a feed is read in.
    "EMS", "Outlook", "iPhone", "Android", "WeChat",
    # Cryptographic algorithms, named as their standards write them (the security pages).
    "SM4", "SM3", "AES", "GCM", "HMAC", "SHA",
]  # fmt: skip
LAYOUT_CHECK = r"""(allowed) => {
  const out = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1) {
    out.push(`page scrolls sideways: ${document.documentElement.scrollWidth}px on ${vw}px`);
  }
  const phone = window.innerWidth <= 600;
  for (const el of document.querySelectorAll("main *, header *, footer *")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden" || el.closest("[hidden]")) continue;
    const box = el.getBoundingClientRect();
    if (!box.width) continue;
    const scroller = el.closest(".table-wrap");
    if (box.right > vw + 1 && !(scroller && !phone)) {
      out.push(`wider than the screen: <${el.tagName.toLowerCase()} class="${el.className}"> ${box.right|0}px`);
    }
    if (phone && el.matches(".table-wrap") && el.scrollWidth > el.clientWidth + 1) {
      out.push(`a table scrolls sideways on a phone: ${el.scrollWidth}px in ${el.clientWidth}px`);
    }
    // Text out of its box: a cell, a label, a tag or a button whose content does not fit.
    if (el.matches("td, th, label, .tag, button, .button, .event, h1, h2") &&
        style.overflowX === "visible" && el.scrollWidth > el.clientWidth + 2 &&
        el.clientWidth > 0 && !el.querySelector("input, select, textarea, table")) {
      out.push(`text overflows its box: <${el.tagName.toLowerCase()}> "${el.innerText.slice(0, 30)}"`);
    }
  }
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll("code, script, style, noscript, .url, [hidden]").forEach((n) => n.remove());
  // A username is an identifier, not English (用户名 sunmishu).
  const text = (clone.innerText || clone.textContent || "").replace(/用户名[:： ]*[\w.@-]+/g, "");
  const words = (text.match(/[A-Za-z]{3,}/g) || []).filter((w) => !allowed.includes(w));
  if (words.length) out.push(`English on the page: ${[...new Set(words)].slice(0, 8).join(", ")}`);
  const ids = text.match(/(预约|场次)[ \t]*\d+(?![ \t]*[人位个起件次:：]|\d)/g);
  if (ids) out.push(`internal ids shown: ${ids.slice(0, 3).join(", ")}`);
  return out;
}"""


@pytest.fixture
def steps(request: pytest.FixtureRequest, backend: str) -> Steps:
    return Steps(ARTIFACTS / backend / request.node.originalname.removeprefix("test_"))


async def new_page(browser: Browser, base: str, steps: Steps, **kw: object) -> Page:
    context = await browser.new_context(base_url=base, locale="zh-CN", **kw)  # type: ignore[arg-type]
    return steps.watch(await context.new_page())


SERVER_CLOCK: dict[str, float] = {}


def server_now() -> datetime:
    return datetime.fromisoformat(NOW) + timedelta(
        seconds=time.monotonic() - SERVER_CLOCK.get("started", time.monotonic())
    )


async def sign_in(page: Page, username: str, steps: Steps | None = None) -> None:
    """The password, then — for whoever must use one — the phone's code: scanning the QR
    code at the first sign-in (its secret is in the page for manual entry), typing the code
    at the next ones."""
    await page.goto("/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_load_state("networkidle")
    if "/account/2fa" not in page.url:
        return
    secret = await page.locator("input[name=secret]").count()
    if secret:
        PHONES[username] = await page.locator("input[name=secret]").get_attribute("value") or ""
        if steps:
            await steps.shot(page, "2fa-setup")
        await page.fill("#f-code", totp_codes(PHONES[username], server_now())[0])
        await page.get_by_role("button", name="完成绑定").click()
        await page.wait_for_load_state("networkidle")
        await expect(page.locator("h1")).to_contain_text("动态口令已启用")
        if steps:
            await steps.shot(page, "2fa-recovery-codes")
        await page.get_by_role("link", name="我已保存,继续").click()
    else:
        await page.fill("#f-code", totp_codes(PHONES[username], server_now())[1])
        await page.get_by_role("button", name="验证").click()
    await page.wait_for_load_state("networkidle")


async def api_post(base: str, path: str, body: dict[str, object], token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await client.post(path, json=body, headers=auth(token))


async def create_session(base: str, world: World, leader: str, start: str, end: str) -> int:
    r = await api_post(
        base,
        "/api/sessions",
        {
            "leader_id": world.leaders[leader],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": start,
            "ends_at": end,
            "slot_minutes": 30,
            "people_per_slot": 3,
        },
        world.tokens["admin"],
    )
    assert r.status_code == 201, r.text
    sid: int = r.json()["id"]
    return sid


async def test_secretary_books_moves_cancels_and_rings(
    server: str, world: World, browser: Browser, steps: Steps
) -> None:
    day = future_workday(21)
    sid = await create_session(server, world, "mayor", at(day, "09:00"), at(day, "10:00"))
    page = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(page, "secretary")
    await expect(page.locator("h1")).to_contain_text("接访日历")
    await steps.shot(page, "desk")

    # The next reception day, from the month calendar.
    if page.url.find(f"{day:%Y-%m}") < 0 and f"{day:%Y-%m}" != NOW[:7]:
        await page.goto(f"/desk?month={day:%Y-%m}")
    await page.locator(f"a[href='/sessions/{sid}']").first.click()
    await page.wait_for_url(f"**/sessions/{sid}")
    await expect(page.locator("#places-left")).to_have_text("6")
    await steps.shot(page, "day-sheet-empty")

    await page.get_by_role("link", name="预约登记").click()
    await page.wait_for_url(f"**/sessions/{sid}/book")
    await page.fill("#f-petitioner_name", "张小明")
    await page.fill("#f-petitioner_phone", "13812345678")
    await page.fill("#f-petitioner_id_number", "11010519491231002X")
    await page.fill("#f-matter_summary", "小区逾期交房,要求开发商按期交付")
    await page.check("#slot-0")
    await steps.shot(page, "booking-form")
    await page.get_by_role("button", name="确认预约").click()
    await page.wait_for_load_state("networkidle")
    await expect(page.locator("#places-left")).to_have_text("5")
    await expect(page.locator("main")).to_contain_text("已预约:张小明")
    await steps.shot(page, "booked")

    # The same person again: the warning appears while typing.
    await page.get_by_role("link", name="预约登记").click()
    await page.wait_for_url(f"**/sessions/{sid}/book")
    await page.fill("#f-petitioner_id_number", "11010519491231002X")
    await page.locator("#f-petitioner_id_number").blur()
    await expect(page.locator("#warnings")).to_contain_text("已预约本场次", timeout=10_000)
    await steps.shot(page, "double-booking-warning")
    await page.goto(f"/sessions/{sid}")

    # Move the appointment to the 09:30 slot.
    await page.get_by_role("link", name="改约").first.click()
    await page.wait_for_url("**/move")
    await page.check("#slot-1")
    await page.fill("#f-reason", "信访人上午另有安排")
    await steps.shot(page, "move-appointment")
    await page.get_by_role("button", name="确认改约").click()
    await page.wait_for_load_state("networkidle")
    await expect(page.locator("main")).to_contain_text("已改约")
    await expect(page.locator("tr.slot-head").nth(1)).to_contain_text("剩余 2 / 3")
    await steps.shot(page, "moved")

    # Cancel the session: the call list names whom to ring, with the phone.
    await page.get_by_role("link", name="取消场次").click()
    await page.fill("#f-reason", "区长参加市里紧急会议")
    # It cancels every booking: asked first, with how many.
    asked: list[str] = []

    async def confirm(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.once("dialog", confirm)
    await page.get_by_role("button", name="取消本场次").click()
    await page.wait_for_load_state("networkidle")
    assert asked and "个预约将一并取消" in asked[0], asked
    await expect(page.locator("h1")).to_contain_text("电话通知名单")
    await expect(page.locator("main")).to_contain_text("张小明")
    await expect(page.locator("main")).to_contain_text("13812345678")
    await steps.shot(page, "call-list")
    assert not steps.errors, steps.errors


async def test_a_leader_reads_his_day_on_a_phone(
    server: str, world: World, browser: Browser, steps: Steps
) -> None:
    today = NOW[:10]
    sid = await create_session(
        server, world, "mayor", f"{today}T14:00:00+08:00", f"{today}T15:00:00+08:00"
    )
    r = await api_post(
        server,
        f"/api/sessions/{sid}/appointments",
        {
            "petitioner_name": "王某民",
            "petitioner_phone": "13900000001",
            "matter_summary": "征地补偿款未到位",
        },
        world.tokens["secretary"],
    )
    assert r.status_code == 201, r.text
    page = await new_page(
        browser,
        server,
        steps,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    await sign_in(page, "leader")
    await expect(page.locator("main")).to_contain_text("14:00")
    await expect(page.locator("main")).to_contain_text("接访")
    await steps.shot(page, "my-week")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"

    await page.locator(f"a[href='/sessions/{sid}']").first.click()
    await page.wait_for_load_state("networkidle")
    # Who and what: the name masked by the one visibility policy (a leader is not the one
    # handling the booking; his phone is the device most easily lost).
    await expect(page.locator("main")).to_contain_text("王*民")
    await expect(page.locator("main")).to_contain_text("征地补偿款未到位")
    assert "13900000001" not in await page.content()
    # Read-only for him: no booking, no moving or cancelling.
    assert await page.get_by_role("link", name="预约登记").count() == 0
    assert await page.get_by_role("link", name="取消场次").count() == 0
    await steps.shot(page, "his-day-sheet")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the day sheet is {width}px wide on a 390px phone"
    # His 包案 and the month: cards and a list of days on the phone, nothing sideways
    # (the layout check of every shot).
    r = await api_post(server, "/api/cases", case_body(world), world.tokens["clerk_a"])
    r = await api_post(
        server,
        f"/api/cases/{r.json()['id']}/ownership",
        {"leader_id": world.leaders["mayor"], "plan": "约谈开发商"},
        world.tokens["clerk_a"],
    )
    assert r.status_code == 201, r.text
    await page.goto("/me")
    await expect(page.locator("#open-cases")).to_contain_text("包案未办结 1 件")
    await expect(page.locator("#next-session")).to_contain_text("14:00")
    await steps.shot(page, "first-screen")
    await page.goto("/me/cases")
    await expect(page.locator("main")).to_contain_text("龙府壹号小区")
    await steps.shot(page, "my-cases")
    await page.goto(f"/desk?month={NOW[:7]}")
    await expect(page.locator("main")).to_contain_text("李某乙 接访日")
    await steps.shot(page, "month")
    assert not steps.errors, steps.errors


async def test_an_admin_links_a_secretary_who_then_sees_him(
    server: str, world: World, browser: Browser, steps: Steps
) -> None:
    day = future_workday(21)
    sid = await create_session(server, world, "other", at(day, "09:00"), at(day, "10:00"))
    secretary = await new_page(browser, server, steps)
    await sign_in(secretary, "secretary")
    await secretary.goto(f"/desk?month={day:%Y-%m}")
    assert await secretary.locator(f"a[href='/sessions/{sid}']").count() == 0
    await secretary.goto(f"/sessions/{sid}")
    await expect(secretary.locator("h1")).to_contain_text("未找到")
    await steps.shot(secretary, "secretary-before")

    admin = await new_page(browser, server, steps)
    # 等保三级: the system administrator binds a phone at the first sign-in.
    await sign_in(admin, "admin", steps)
    # An admin starts on the users page. (hx-boost: each click is a swap, so wait for the
    # address and the element rather than for the network to go quiet.)
    await admin.wait_for_url("**/admin/users")
    await steps.shot(admin, "users")
    await admin.get_by_role("link", name="孙某秘").first.click()
    await admin.wait_for_url(f"**/admin/users/{world.users['secretary']}")
    box = admin.locator(f"input[name=leader_ids][value='{world.leaders['other']}']")
    await box.check()
    await expect(box).to_be_checked()
    await steps.shot(admin, "link-leader")
    await admin.get_by_role("button", name="保存", exact=True).click()
    await admin.wait_for_load_state("networkidle")
    await expect(admin.locator("main")).to_contain_text("已保存")
    await steps.shot(admin, "linked")

    await secretary.goto(f"/desk?month={day:%Y-%m}")
    await expect(secretary.locator("main")).to_contain_text("刘某丁")
    await secretary.locator(f"a[href='/sessions/{sid}']").first.click()
    await secretary.wait_for_url(f"**/sessions/{sid}")
    await expect(secretary.locator("h1")).to_contain_text("刘某丁")
    await steps.shot(secretary, "secretary-after")
    assert not [e for e in steps.errors if "404" not in e], steps.errors


async def fill_action(page: Page, action: str, fields: dict[str, str]) -> None:
    """Open an action's form on the case page, fill it and submit it."""
    box = page.locator(f"#act-{action}")
    await box.locator("summary").click()
    for name, value in fields.items():
        field = box.locator(f"[name={name}]")
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    await box.locator("button[type=submit]").click()


async def test_a_clerk_registers_a_repeat_and_handles_it_to_delivery(
    server: str, world: World, browser: Browser, steps: Steps
) -> None:
    r = await api_post(server, "/api/cases", case_body(world), world.tokens["clerk_a"])
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    page = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(page, "clerk_a")
    await page.wait_for_url("**/cases")
    await steps.shot(page, "worklist")
    await page.get_by_role("link", name="登记信访事项").click()
    await page.wait_for_url("**/cases/new")
    await page.fill("#p-name-1", "张小明")
    await page.fill("#p-id-1", VALID_ID)
    await page.select_option("#f-channel", "visit")
    await page.select_option("#f-category", "housing")
    # As he fills it in, the earlier case of the same person about the same matter shows.
    await expect(page.locator("#candidates")).to_contain_text("可能是重复信访", timeout=10_000)
    await page.check(f"input[name=repeat_of][value='{first}']")
    await page.select_option("#f-unit_id", str(world.township_a))
    await page.fill("#f-summary", "龙府壹号小区仍未交房,再次来访")
    await steps.shot(page, "registration-with-repeat")
    await page.get_by_role("button", name="登记", exact=True).click()
    await page.wait_for_url(re.compile(r".*/cases/\d+$"))
    await expect(page.locator("h1")).to_contain_text("重复信访")
    await steps.shot(page, "registered")

    await fill_action(page, "accept", {})
    await expect(page.locator("main")).to_contain_text("已受理")
    # Accepted: the notice it calls for is offered next, issued in one click.
    upcoming = page.locator("#issue-accept_notice")
    await expect(upcoming).to_contain_text("下一步:出具信访事项受理告知书")
    await steps.shot(page, "accepted-offers-the-notice")
    await upcoming.get_by_role("button", name="出具信访事项受理告知书").click()
    await expect(page.locator(".flash.ok")).to_contain_text(
        "已出具信访事项受理告知书 蓟信受〔2026〕1号"
    )
    owner = page.locator("#owner")
    await owner.locator("summary").click()
    await owner.locator("[name=leader_id]").select_option(str(world.leaders["mayor"]))
    await owner.locator("[name=plan]").fill("约谈开发商,督促交房")
    await owner.locator("button[type=submit]").click()
    await expect(page.locator("main")).to_contain_text("包案领导已确定")
    await fill_action(
        page,
        "extend",
        {
            "days": "30",
            "reason": "涉及多部门协调",
            "approver": "黄某辛",
            "petitioner_told_on": NOW[:10],
        },
    )
    await expect(page.locator("main")).to_contain_text("延期 30 日")
    await steps.shot(page, "extended")
    # 答复 is the 处理意见书: written once, numbered by the system, the stage follows.
    await page.locator("#act-reply").get_by_role("link", name="填写信访事项处理意见书").click()
    opinion = page.locator("#issue-reply")
    await expect(opinion.locator("[name=facts]")).to_be_visible()
    assert await opinion.locator("[name=doc_number]").count() == 0
    await opinion.locator("[name=facts]").fill("经核查,开发商已承诺12月底前交房")
    await opinion.locator("[name=basis]").fill("《城市房地产开发经营管理条例》")
    await opinion.locator("[name=decision]").fill("督促开发商按期交房\n逾期按合同约定支付违约金")
    await steps.shot(page, "reply-opinion-form")
    await opinion.get_by_role("button", name="出具信访事项处理意见书").click()
    await expect(page.locator(".flash.ok")).to_contain_text(
        "已出具信访事项处理意见书 蓟信复〔2026〕1号"
    )
    await expect(page.locator("h1")).to_contain_text("已答复")
    # 送达 by mail: the form asks for the mail number, not for witnesses.
    box = page.locator("#act-deliver")
    await box.locator("summary").click()
    await box.locator("[name=method]").select_option("mail")
    await expect(box.locator("[name=mail_number]")).to_be_visible()
    await expect(box.locator("[name=witnesses]")).to_be_hidden()
    await expect(box.locator("[name=carrier]")).to_be_hidden()
    await box.locator("[name=on]").fill(NOW[:10])
    await box.locator("[name=recipient]").fill("张小明")
    await box.locator("[name=mail_number]").fill("1190012345678")
    await steps.shot(page, "deliver-by-mail")
    await box.locator("button[type=submit]").click()
    await expect(page.locator(".flash.ok")).to_contain_text("已送达")
    await expect(page.locator("#documents-section")).to_contain_text(
        f"邮寄送达 · {NOW[:4]}年{int(NOW[5:7])}月{int(NOW[8:10])}日 · 张小明签收"
    )
    await steps.shot(page, "delivered")
    assert not steps.errors, steps.errors


async def test_a_clerk_brings_in_last_years_ledger_with_one_mapping_fix(
    server: str, world: World, browser: Browser, steps: Steps, tmp_path: Path
) -> None:
    """#28 through the console: another system's GBK export whose 信访形式 column is headed
    反映途径, mapped by hand once, tried, imported; the case list then holds the year."""
    from tests.ledgers import generate_ledger, write_csv

    rows = generate_ledger(seed=9, rows=60, year=2020, units=["下仓镇", "小杨家庄村"], leaders=[])
    path = tmp_path / "2020年台账导出.csv"
    write_csv(rows, path)
    text = path.read_bytes().decode("gbk").replace("信访形式", "反映途径", 1)
    path.write_bytes(text.encode("gbk"))
    page = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, "clerk_a")
    await page.get_by_role("link", name="台账导入").click()
    await page.wait_for_url("**/imports")
    await steps.shot(page, "imports")
    await page.set_input_files("#f-file", str(path))
    await page.get_by_role("button", name="上传并核对").click()
    await page.wait_for_url(re.compile(r".*/imports/\d+$"))
    await expect(page.locator("main")).to_contain_text("核对各列对应的内容")
    await steps.shot(page, "mapping-proposed")
    await page.get_by_role("combobox", name="「反映途径」列对应的内容").select_option("channel")
    await page.get_by_role("button", name="保存对应并试运行").click()
    await expect(page.locator("#dry-run")).to_contain_text("试运行结果")
    await steps.shot(page, "dry-run")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="下载逐行核对报告(Excel)").click()
    assert (await download.value).suggested_filename.endswith(".xlsx")
    await page.get_by_role("button", name="确认导入").click()
    await expect(page.locator(".flash.ok")).to_contain_text("已导入 60 条")
    await steps.shot(page, "imported")
    await page.goto("/cases?closed=true")
    await expect(page.locator("h1")).to_contain_text("共 60 件")
    await steps.shot(page, "cases-after-import")
    assert not steps.errors, steps.errors


async def test_a_village_entry_goes_up_to_the_township_and_becomes_a_petition(
    server: str,
    world: World,
    browser: Browser,
    steps: Steps,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """#29 through the console: a village mediator opens an entry (the 区长 its 稳控责任人),
    hands it up to the township; in a sensitive period the 区长 reports on his phone; the
    township's clerk turns it into a petition whose case page shows where it came from."""
    from reception.org import schemas as org_schemas
    from reception.org import service as org_service
    from reception.org.models import User
    from reception.org.signin import hash_password

    async with sessionmaker() as s:
        user = await org_service.create_user(
            session=s,
            actor=None,
            data=org_schemas.UserCreate(name="杨某调", role="clerk", unit_id=world.village_a),
        )
        row = await s.get(User, user.id)
        assert row is not None
        row.username, row.password_hash = "mediator", hash_password(PASSWORD)
        row.must_change_password = False
        await s.commit()
    r = await api_post(
        server, "/api/sensitive-periods",
        {"name": "岁末年初", "starts_on": "2026-12-01", "ends_on": "2026-12-10"},
        world.tokens["admin"],
    )  # fmt: skip
    assert r.status_code == 201, r.text

    page = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(page, "mediator")
    await page.get_by_role("link", name="矛盾纠纷台账").click()
    await page.wait_for_url("**/ledger")
    await page.get_by_role("link", name="建账").click()
    await page.wait_for_url("**/ledger/new")
    await page.fill("#f-found_on", "2026年11月27日")
    await page.select_option("#f-how_found", "grid")
    await page.select_option("#f-domain", "wages")
    await page.fill("#f-summary", "村东头建筑工地拖欠十二名村民工资约二十万元,村民情绪激动")
    await page.fill("#f-party_name_0", "王大成")
    await page.fill("#f-party_id_0", VALID_ID)
    await page.fill("#f-party_phone_0", "13912345678")
    await page.fill("#f-people_count", "12")
    await page.fill("#f-amount_disputed", "200000")
    await page.select_option("#f-stability_leader_id", str(world.leaders["mayor"]))
    await page.select_option("#f-resolution_leader_id", str(world.leaders["township_a"]))
    await page.fill("#f-target_on", "2026-12-31")
    await steps.shot(page, "new-entry-typed")
    # 12 people and 200,000 元: the rule says 较大 at least — told beside the field.
    await page.get_by_role("button", name="建账").click()
    await expect(page.locator("main")).to_contain_text("风险等级至少为较大")
    await steps.shot(page, "risk-rule-refused")
    # The refusal is a 422 on purpose (the form again, with the message): the browser logs it.
    steps.errors = [e for e in steps.errors if "status of 422" not in e]
    await page.select_option("#f-risk", "serious")
    await page.get_by_role("button", name="建账").click()
    await expect(page.locator(".flash.ok")).to_contain_text("已建账")
    await steps.shot(page, "entry-opened")
    entry_url = page.url
    await page.locator("summary", has_text="升级到上一级").click()
    await page.locator("form:has(input[value=escalate]) textarea[name=note]").fill(
        "村调处化解室两次调解不成,工人扬言到镇政府聚集"
    )
    await page.get_by_role("button", name="升级到上一级").click()
    await expect(page.locator(".flash.ok")).to_contain_text("已升级")
    await expect(page.locator("main")).to_contain_text("小杨家庄村 → 下仓镇")
    await steps.shot(page, "escalated")

    phone = await new_page(browser, server, steps, viewport={"width": 390, "height": 800})
    await sign_in(phone, "leader")
    await phone.goto("/ledger/check-in")
    await expect(phone.locator("main")).to_contain_text("今日未报")
    await steps.shot(phone, "leader-phone-check-in")
    await phone.get_by_role("button", name="在控").click()
    await expect(phone.locator("main")).to_contain_text("今日已报:在控")
    await steps.shot(phone, "leader-reported")

    clerk = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(clerk, "clerk_a")
    await clerk.goto(entry_url.replace(server, ""))
    await expect(clerk.locator("main")).to_contain_text("在控")
    await clerk.locator("summary", has_text="转为信访事项").click()
    await clerk.get_by_role("button", name="转为信访事项").click()
    await clerk.wait_for_url(re.compile(r".*/cases/\d+$"))
    await expect(clerk.locator(".flash.ok")).to_contain_text("已转为信访事项")
    await expect(clerk.locator("#ledger-section")).to_contain_text("来源台账")
    await expect(clerk.locator("#ledger-section")).to_contain_text("小杨家庄村")
    await steps.shot(clerk, "case-shows-its-entry")
    await clerk.goto("/ledger/table?month=2026-11")
    await expect(clerk.locator("main")).to_contain_text("填报单位(盖章)")
    await steps.shot(clerk, "monthly-table")
    assert not steps.errors, steps.errors


async def test_the_reviewer_sees_octobers_charts_and_downloads_the_xlsx(
    server: str, world: World, browser: Browser, steps: Steps, tmp_path: Path
) -> None:
    for n, day in enumerate(("2026-10-09", "2026-10-15", "2026-10-20")):
        body = case_body(
            world,
            petitioners=[{"name": f"王{n}民", "phone": f"1390000000{n}"}],
            received_on=day,
            on=day,
        )
        r = await api_post(server, "/api/cases", body, world.tokens["clerk_a"])
        assert r.status_code == 201, r.text
    page = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(page, "reviewer")
    await page.wait_for_url("**/review")
    await page.goto("/review?month=2026-10")
    await expect(page.locator("h1")).to_contain_text("2026年10月")
    for chart in ("trend", "units", "sanwu", "campaigns", "leaders"):
        box = page.locator(f"#chart-{chart}")
        await expect(box).to_have_attribute("data-ready", "1")
        assert await box.locator("canvas").count() >= 1, chart
    # The trend's canvas holds drawn pixels, not a blank box.
    drawn = await page.evaluate(
        """() => { const c = document.querySelector('#chart-trend canvas');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )
    assert drawn > 1000, drawn
    await steps.shot(page, "october")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="XLSX").click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK" and "2026-10" in download.suggested_filename
    assert not steps.errors, steps.errors


async def test_a_petitioner_looks_up_and_rates_on_a_phone(
    server: str, world: World, browser: Browser, steps: Steps
) -> None:
    clerk = world.tokens["clerk_a"]
    body = case_body(world, received_on="2026-11-02", on="2026-11-02")
    created = await api_post(server, "/api/cases", body, clerk)
    assert created.status_code == 201, created.text
    cid, code = created.json()["id"], created.json()["query_code"]
    for step in (
        {"action": "accept", "on": "2026-11-03"},
        {"action": "reply", "doc_number": "蓟信复〔2026〕9号", "on": "2026-11-20"},
        {"action": "deliver", "delivery": served("2026-11-21")},
    ):
        r = await api_post(server, f"/api/cases/{cid}/transitions", step, clerk)
        assert r.status_code == 200, r.text
    page = await new_page(
        browser,
        server,
        steps,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    await page.goto("/public")
    await steps.shot(page, "lookup")
    await page.fill("#f-code", code.lower())
    await page.fill("#f-factor", VALID_ID[-4:])
    await page.get_by_role("button", name="查询").click()
    await expect(page.locator("main")).to_contain_text("已答复")
    await expect(page.locator("main")).to_contain_text("2026年11月21日")
    assert "张小明" not in await page.content()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    await steps.shot(page, "progress")
    await page.get_by_label("基本满意").check()
    await page.fill("#f-comment", "答复清楚,希望尽快落实")
    await page.get_by_role("button", name="提交评价").click()
    await expect(page.locator("main")).to_contain_text("感谢您的评价")
    await expect(page.locator("main")).to_contain_text("基本满意")
    await steps.shot(page, "rated")
    assert not steps.errors, steps.errors


# Every CSP violation the page meets, as the browser reports it (the event and the console).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


async def test_every_page_runs_under_the_strict_csp_without_a_violation(
    server: str,
    world: World,
    browser: Browser,
    steps: Steps,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Each role's pages in Chromium under `script-src 'self'; style-src 'self'` (no inline
    anything): htmx, the repeat check while typing and the ECharts dashboard still work, and
    the browser reports no violation."""
    from reception.org import schemas as org_schemas
    from reception.org import service as org_service
    from reception.org.models import User
    from reception.org.signin import hash_password

    async with sessionmaker() as s:
        grid = await org_service.create_user(
            session=s, actor=None,
            data=org_schemas.UserCreate(name="杨某网", role="grid", unit_id=world.village_a),
        )  # fmt: skip
        row = await s.get(User, grid.id)
        assert row is not None
        row.username, row.password_hash = "gridworker", hash_password(PASSWORD)
        row.must_change_password = False
        await s.commit()
    day = future_workday(21)
    sid = await create_session(server, world, "mayor", at(day, "09:00"), at(day, "10:00"))
    r = await api_post(
        server,
        f"/api/sessions/{sid}/appointments",
        {"petitioner_name": "张小明", "petitioner_id_number": VALID_ID, "matter_summary": "交房"},
        world.tokens["secretary"],
    )
    appointment = r.json()["id"]
    cid = (await api_post(server, "/api/cases", case_body(world), world.tokens["clerk_a"])).json()[
        "id"
    ]
    pages = {
        "secretary": [
            "/desk", f"/sessions/{sid}", f"/sessions/{sid}/book", f"/sessions/{sid}/print",
            f"/sessions/print?date={day.isoformat()}", f"/appointments/{appointment}/move",
            "/subscriptions",
        ],
        "leader": ["/me", "/me/cases", "/supervision/inquiries"],
        "clerk_a": [
            "/cases", "/cases/new", f"/cases/{cid}", f"/cases/{cid}/sessions",
            f"/cases/{cid}/documents", "/ledger", "/ledger/new", "/ledger/table",
            "/ledger/check-in", "/supervision/findings", "/supervision/inquiries",
            "/supervision/decisions",
        ],
        "reviewer": [
            "/review", "/cases", "/supervision/spot-checks", "/supervision/findings",
            "/supervision/inquiries", "/supervision/conferences", "/supervision/decisions",
        ],
        "admin": [
            "/admin/users", f"/admin/users/{world.users['secretary']}", "/admin/calendar",
            "/admin/rules", "/admin/notify", "/admin/templates", "/desk", "/review",
            "/admin/periods", "/admin/check-items",
            "/no-such-page",
        ],
        "secadmin": [
            "/admin/users", f"/admin/users/{world.users['admin']}", "/admin/security",
        ],
        "auditor": ["/admin/audit", "/admin/audit?verify=true"],
        "gridworker": ["/proxy", "/proxy/new"],
        "": ["/login", "/public"],
    }  # fmt: skip
    seen: list[str] = []
    for who, paths in pages.items():
        context = await browser.new_context(base_url=server, locale="zh-CN")
        await context.add_init_script(WATCH_CSP)
        page = steps.watch(await context.new_page())
        if who:
            await sign_in(page, who)
        for path in paths:
            await page.goto(path)
            await page.wait_for_load_state("networkidle")
            if path == "/review":
                await expect(page.locator("#chart-trend")).to_have_attribute("data-ready", "1")
            if path.endswith("/book"):
                await page.fill("#f-petitioner_id_number", VALID_ID)
                await page.locator("#f-petitioner_id_number").blur()
                await expect(page.locator("#warnings")).to_contain_text(
                    "已预约本场次", timeout=10_000
                )
            if path == "/cases/new":
                await page.fill("#p-name-1", "张小明")
                await page.fill("#p-id-1", "11010519491231002X")
                await page.wait_for_load_state("networkidle")
            seen += [f"{who} {path}: {v}" for v in await page.evaluate("window.__csp")]
            await steps.shot(page, f"{who or 'anonymous'}-{path.strip('/').replace('/', '-')[:40]}")
        await context.close()
    assert not seen, seen
    assert not [e for e in steps.errors if "404" not in e], steps.errors
