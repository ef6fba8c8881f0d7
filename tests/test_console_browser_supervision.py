"""督查督办 in a real browser (Chromium against a real `reception serve`, both databases), one
screenshot per step in tests/artifacts/console/<backend>/: the reviewer draws November's
sample (drawn again from its seed: the same), checks a case and finds a problem; the township
clerk answers it; the reviewer closes it and reads the review beside the computed points. A
repeat matter's 流调 opened from its case page, written, and signed by the 区长 on his phone."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders import PASSWORD, VALID_ID, World, case_body, served
from tests.test_console_browser import (  # the fixtures and helpers of the console journeys
    Steps,
    api_post,
    browser,
    new_page,
    server,
    sign_in,
    steps,
    world,
)

__all__ = ["browser", "server", "steps", "world"]  # fixtures used by name


async def test_novembers_sample_is_checked_and_its_finding_rectified(
    server: str, world: World, browser: Browser, steps: Steps
) -> None:
    for day in ("2026-11-03", "2026-11-10", "2026-11-17"):
        body = case_body(world, received_on=day, on=day)
        r = await api_post(server, "/api/cases", body, world.tokens["clerk_a"])
        assert r.status_code == 201, r.text

    page = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(page, "reviewer")
    await page.get_by_role("link", name="基础业务抽查").click()
    await expect(page.locator("h1")).to_contain_text("2026年11月")
    await steps.shot(page, "before-the-draw")
    await page.get_by_role("button", name="抽取 2026年11月 样本").click()
    await expect(page.locator(".flash.ok")).to_contain_text("已抽取 2026-11")
    await steps.shot(page, "drawn")
    await page.get_by_role("link", name="下仓镇").click()
    # The sample drawn again from its stored seed is the same one.
    await expect(page.locator("main")).to_contain_text("结果一致")
    await expect(page.locator("main")).to_contain_text("登记的信访事项 3 件")
    await steps.shot(page, "the-check-and-its-seed")
    await page.get_by_role("link", name="检查").first.click()
    await expect(page.locator("h2", has_text="抽查清单")).to_be_visible()
    for label in ("来访必录", "受理/办理按期", "答复送达规范", "调查核实"):
        await page.locator("fieldset", has_text=label).get_by_label("合格", exact=True).check()
    archive = page.locator("fieldset", has_text="档案齐全")
    await archive.get_by_label("不合格", exact=True).check()
    await archive.locator("textarea").fill("档案缺受理告知书和送达回证")
    await steps.shot(page, "checklist-filled")
    await page.get_by_role("button", name="提交抽查结论").click()
    await expect(page.locator(".flash.ok")).to_contain_text("发现问题 1 项")
    await steps.shot(page, "checked")
    finding_url = await page.locator("a[href^='/supervision/findings/']").first.get_attribute(
        "href"
    )
    assert finding_url

    clerk = await new_page(browser, server, steps, viewport={"width": 390, "height": 800})
    await sign_in(clerk, "clerk_a")
    await clerk.goto("/supervision/findings")
    await expect(clerk.locator("main")).to_contain_text("档案齐全")
    await steps.shot(clerk, "clerk-phone-findings")
    await clerk.goto(finding_url)
    await clerk.fill("#f-answer", "已补齐受理告知书和送达回证,重新归档")
    await clerk.get_by_role("button", name="反馈整改情况").click()
    await expect(clerk.locator(".flash.ok")).to_contain_text("已反馈整改情况")
    await steps.shot(clerk, "clerk-answered")

    await page.goto(finding_url)
    await page.get_by_role("button", name="确认整改完成").click()
    await expect(page.locator(".flash.ok")).to_contain_text("已确认整改完成")
    await steps.shot(page, "closed")
    await page.goto("/review?month=2026-11&as_of=2026-12-01")
    panel = page.locator("#spot-check-panel")
    await expect(panel).to_contain_text("下仓镇")
    await expect(panel).to_contain_text("档案齐全 1")
    await panel.scroll_into_view_if_needed()
    await steps.shot(page, "review-beside-the-computed-points")
    assert not steps.errors, steps.errors


async def test_a_repeat_matters_inquiry_is_written_and_signed_on_the_leaders_phone(
    server: str, world: World, browser: Browser, steps: Steps
) -> None:
    first = await api_post(server, "/api/cases", case_body(world), world.tokens["clerk_a"])
    body = case_body(world, received_on="2026-11-20", on="2026-11-20", repeat_of=first.json()["id"])
    repeat = (await api_post(server, "/api/cases", body, world.tokens["clerk_a"])).json()

    clerk = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(clerk, "clerk_a")
    await clerk.goto(f"/cases/{repeat['id']}")
    section = clerk.locator("#supervision-section")
    await expect(section).to_contain_text("重复信访")
    await section.locator("select[name=leader_id]").select_option(str(world.leaders["mayor"]))
    await steps.shot(clerk, "case-page-offers-the-inquiry")
    await section.get_by_role("button", name="开展流调").click()
    await clerk.wait_for_url(re.compile(r".*/supervision/inquiries/\d+$"))
    await expect(clerk.locator(".flash.ok")).to_contain_text("已开展流调")
    # 办理过程 is the case's own record: its registration is there, not typed by anyone.
    await expect(clerk.locator("ol.timeline")).to_contain_text("登记")
    await clerk.get_by_label("首办责任不落实、初信初访办理不到位").check()
    await clerk.fill("#f-cause_note", "初次答复未讲清逾期交房的处理政策")
    await clerk.select_option("#f-resp_unit_0", str(world.township_a))
    await clerk.fill("#f-resp_failing_0", "初信办理未当面答复、未依法送达")
    await clerk.fill("#f-conclusion", "重复信访系首办不到位所致,责成下仓镇重新答复并当面送达")
    await steps.shot(clerk, "inquiry-written")
    await clerk.get_by_role("button", name="保存").click()
    await expect(clerk.locator(".flash.ok")).to_contain_text("已保存流调记录")
    inquiry_url = clerk.url.replace(server, "")
    await clerk.goto("/cases?inquiry=true")
    await expect(clerk.locator("main")).to_contain_text("流调中")
    await steps.shot(clerk, "worklist-open-inquiries")

    phone = await new_page(browser, server, steps, viewport={"width": 390, "height": 800})
    await sign_in(phone, "leader")
    await phone.goto("/supervision/inquiries")
    await expect(phone.locator("main")).to_contain_text(repeat["reference"])
    await steps.shot(phone, "leader-phone-inquiries")
    await phone.goto(inquiry_url)
    await expect(phone.locator("main")).to_contain_text("责成下仓镇重新答复")
    await phone.get_by_role("button", name="同意结论,签批").click()
    await expect(phone.locator(".flash.ok")).to_contain_text("已签批流调结论")
    await expect(phone.locator("h1")).to_contain_text("已签批")
    await steps.shot(phone, "leader-signed")
    assert not steps.errors, steps.errors


async def test_a_conference_decision_left_past_its_deadline_shows_as_stalled(
    server: str, world: World, browser: Browser, steps: Steps
) -> None:
    case = (await api_post(server, "/api/cases", case_body(world), world.tokens["clerk_a"])).json()

    page = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(page, "reviewer")
    await page.get_by_role("navigation").get_by_role("link", name="联席会议").click()
    await page.wait_for_url("**/supervision/conferences")
    form = page.locator("#new-conference")
    await form.locator("#f-held_on").fill("2026年11月10日")
    await form.locator("#f-title").fill("2026年第11次信访工作联席会议")
    await form.locator("#f-convener_leader_id").select_option(str(world.leaders["mayor"]))
    await form.locator("#f-matters").fill(f"{case['reference']}\n蓟信〔2026〕09999")
    await form.get_by_label("下仓镇").check()
    await form.get_by_role("button", name="登记会议").click()
    # An unknown reference: said beside the field, the rest as typed.
    await expect(page.locator("#new-conference")).to_contain_text("没有编号为 蓟信〔2026〕09999")
    steps.errors = [e for e in steps.errors if "status of 422" not in e]
    await steps.shot(page, "unknown-reference-refused")
    await page.locator("#f-matters").fill(case["reference"])
    await page.get_by_role("button", name="登记会议").click()
    await expect(page.locator(".flash.ok")).to_contain_text("已登记联席会议")
    decision = page.locator("#new-decision")
    await decision.locator("#f-owner_unit_id").select_option(str(world.township_a))
    await decision.locator("#f-deadline").fill("2026-11-20")
    await decision.locator("#f-content").fill("由下仓镇牵头约谈开发商,制定交房方案")
    await decision.locator("#f-done_criteria").fill("开发商书面承诺交房日期并报备")
    await steps.shot(page, "decision-typed")
    await decision.get_by_role("button", name="议定并生成督办单").click()
    await expect(page.locator(".flash.ok")).to_contain_text("蓟信督〔2026〕1号")
    await expect(page.locator("h1")).to_contain_text("空转")
    await steps.shot(page, "decision-stalled")
    decision_url = page.url.replace(server, "")

    clerk = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(clerk, "clerk_a")
    await clerk.goto(f"/cases/{case['id']}")
    section = clerk.locator("#supervision-section")
    await expect(section).to_contain_text("蓟信督〔2026〕1号")
    await expect(section.locator(".tag.red")).to_contain_text("空转")
    await steps.shot(clerk, "case-page-flags-it")
    await clerk.goto(decision_url)
    await clerk.fill("#f-note", "已约谈开发商,承诺12月底前交房,书面承诺已报备")
    await clerk.get_by_role("button", name="报告办理情况").click()
    await expect(clerk.locator(".flash.ok")).to_contain_text("已报告办理情况")
    await steps.shot(clerk, "owner-reported")

    await page.goto("/review?month=2026-11")
    await expect(page.locator("#stalled")).to_contain_text("蓟信督〔2026〕1号")
    await page.locator("#spot-check-panel").scroll_into_view_if_needed()
    await steps.shot(page, "review-lists-it-as-stalled")
    await page.goto(decision_url)
    await page.get_by_role("button", name="办结").click()
    await expect(page.locator(".flash.ok")).to_contain_text("已办结")
    await steps.shot(page, "closed")
    assert not steps.errors, steps.errors


async def test_a_grid_workers_matter_goes_from_his_phone_to_a_rated_reply(
    server: str,
    world: World,
    browser: Browser,
    steps: Steps,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """网格员代办: filed on the worker's phone, registered by the township, replied (API), the
    worker prints the slip, the petitioner rates on the public page, the worker sees it."""
    from reception.org import schemas as org_schemas
    from reception.org import service as org_service
    from reception.org.models import User
    from reception.org.signin import hash_password

    async with sessionmaker() as s:
        user = await org_service.create_user(
            session=s, actor=None,
            data=org_schemas.UserCreate(name="杨某网", role="grid", unit_id=world.village_a),
        )  # fmt: skip
        row = await s.get(User, user.id)
        assert row is not None
        row.username, row.password_hash = "gridworker", hash_password(PASSWORD)
        row.must_change_password = False
        await s.commit()

    phone = await new_page(browser, server, steps, viewport={"width": 390, "height": 800})
    await sign_in(phone, "gridworker")
    await phone.wait_for_url("**/proxy")
    await phone.get_by_role("link", name="代办登记").first.click()
    await phone.fill("#f-name", "张小明")
    await phone.fill("#f-id_number", VALID_ID)
    await phone.fill("#f-phone", "13812345678")
    await phone.fill("#f-address", "小杨家庄村三组")
    await phone.select_option("#f-category", "housing")
    await phone.fill("#f-summary", "龙府壹号小区逾期交房,要求开发商履约交付")
    await phone.fill("#f-received_on", "2026-11-30")
    await phone.select_option("#f-consent", "signed")
    await phone.get_by_label("信访人已同意由我代为提出上述事项").check()
    await steps.shot(phone, "worker-fills-the-form")
    await phone.get_by_role("button", name="提交代办").click()
    await expect(phone.locator(".flash.ok")).to_contain_text("已提交代办")
    await steps.shot(phone, "worker-filed")
    filing_url = phone.url.replace(server, "")

    clerk = await new_page(browser, server, steps, viewport={"width": 1280, "height": 900})
    await sign_in(clerk, "clerk_a")
    await clerk.get_by_role("link", name="网格员代办").click()
    await expect(clerk.locator("main")).to_contain_text("蓟信代〔2026〕00001")
    await steps.shot(clerk, "township-waiting-list")
    await clerk.goto(filing_url)
    await clerk.get_by_role("button", name="登记", exact=True).click()
    await clerk.wait_for_url(re.compile(r".*/cases/\d+$"))
    await expect(clerk.locator(".flash.ok")).to_contain_text("已登记为信访事项")
    await steps.shot(clerk, "registered-case")
    cid = int(clerk.url.rsplit("/", 1)[1])
    for step in (
        {"action": "accept", "on": "2026-12-01"},
        {"action": "reply", "doc_number": "蓟信复〔2026〕21号", "on": "2026-12-01"},
        {"action": "deliver", "delivery": served("2026-12-01")},
    ):
        r = await api_post(server, f"/api/cases/{cid}/transitions", step, world.tokens["clerk_a"])
        assert r.status_code == 200, r.text

    await phone.goto(filing_url)
    await expect(phone.locator("main")).to_contain_text("尚未评价")
    await phone.get_by_role("link", name="打印评价提醒单").click()
    await expect(phone.locator("#slip")).to_contain_text("查询码")
    await steps.shot(phone, "rating-slip")
    code = (await phone.locator("#query-code").inner_text()).strip()

    petitioner = await new_page(browser, server, steps, viewport={"width": 390, "height": 800})
    await petitioner.goto("/public")
    await petitioner.fill("input[name=code]", code)
    await petitioner.fill("input[name=factor]", "002X")
    await petitioner.get_by_role("button", name="查询").click()
    await petitioner.get_by_label("满意", exact=True).check()
    await petitioner.get_by_role("button", name="提交评价").click()
    await expect(petitioner.locator("main")).to_contain_text("感谢您的评价")
    await steps.shot(petitioner, "petitioner-rated")

    await phone.goto(filing_url)
    await expect(phone.locator("main")).to_contain_text("满意")
    # Registered, the identity he entered follows the case's unit, not him.
    await expect(phone.locator("main")).not_to_contain_text(VALID_ID)
    await steps.shot(phone, "worker-sees-the-rating")
    assert not steps.errors, steps.errors
