"""督查督办 in a real browser (Chromium against a real `reception serve`, both databases), one
screenshot per step in tests/artifacts/console/<backend>/: the reviewer draws November's
sample (drawn again from its seed: the same), checks a case and finds a problem; the township
clerk answers it; the reviewer closes it and reads the review beside the computed points. A
repeat matter's 流调 opened from its case page, written, and signed by the 区长 on his phone."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.builders import World, case_body
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
