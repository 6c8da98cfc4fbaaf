"""The centre manager's and county IT's pages in a real browser (Debian's chromium through
Playwright, every process of the hall running): each page and an error state checked with axe-core
(WCAG 2.1 A/AA). Their rules are tested below the browser, in tests/web/test_centre.py and
tests/web/test_county_it.py."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.browser import check, context, first_sign_in_by_keyboard


def test_the_managers_and_county_its_pages_are_accessible_in_each_state(hall, chromium):
    manager = context(chromium)
    page = manager.new_page()
    first_sign_in_by_keyboard(hall, page, "SX0001", "/centre")
    expect(page.locator("h1")).to_have_text("窗口与人员")
    check(page, "centre")
    page.select_option("#staff_number", "SX0018")
    page.click("main form[action='/centre/away'] button[type=submit]")  # no return time, no note
    expect(page.locator("#error-summary")).to_be_visible()
    check(page, "centre, a person marked away without a note")
    for path, heading in (("/centre/rectifications", "受理环节的整改"), ("/centre/assessment", "月度考核"),
                          ("/centre/duty", "带班领导值班表")):
        page.goto(hall.web + path)
        expect(page.locator("h1")).to_contain_text(heading)
        check(page, path)
    page.click("main form[action='/centre/duty'] button[type=submit]")  # no reason
    expect(page.locator("#error-summary")).to_be_visible()
    check(page, "the duty changed without a reason")
    manager.close()

    township = context(chromium)
    page = township.new_page()
    first_sign_in_by_keyboard(hall, page, "SX0083", "/centre")
    page.goto(hall.web + "/centre/duty")
    expect(page.locator("#rooms")).to_contain_text("刘岗村便民服务受理室")
    check(page, "the township's rota with its village rooms on duty today")
    page.click("#rooms a[href='/centre/duty/zhangqiao-liugang-room']")
    expect(page.locator("h1")).to_have_text("刘岗村便民服务受理室值班表")
    check(page, "a village room's rota")
    township.close()

    it = context(chromium)
    page = it.new_page()
    first_sign_in_by_keyboard(hall, page, "SX0006", "/it")
    expect(page.locator("h1")).to_have_text("工作人员名册")
    check(page, "the register")
    page.goto(hall.web + "/it/persons/SX0010")
    check(page, "a person of the register")
    page.click("main form[action='/it/persons/SX0010/reset'] button[type=submit]")
    expect(page.locator("#first-password")).to_be_visible()
    check(page, "a first password shown once")
    page.click("main form[action='/it/persons/SX0010/revoke'] button[type=submit]")  # no reason
    expect(page.locator("#error-summary")).to_be_visible()
    check(page, "a revocation without a reason")
    page.goto(hall.web + "/it/pads")
    page.select_option("#organisation", "county-desk")
    page.click("main form[action='/it/pads'] button[type=submit]")
    expect(page.locator("#pairing-code")).to_be_visible()
    check(page, "a pad's pairing code")
    it.close()
