"""The web front in a real browser (Debian's chromium driven by Playwright), every process of the
hall running as an OS process on the real RabbitMQ and PostgreSQL: the public's pages on their
main paths, with JavaScript and without, accessible (axe-core, WCAG 2.1 A/AA), light, masked;
the lookup's limits per real client; rating links; the live board across a restart of the web
process; a first sign-in by keyboard alone."""
from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from services.access import read_tokens
from tests.e2e.browser import Weighed, case_of, cases_at, check, context, first_sign_in_by_keyboard, pdf_text
from tests.flow_steps import submission
from web_front.links import LINK_KEY, RatingLinks

pytestmark = pytest.mark.slow


def test_the_public_pages_are_accessible_light_and_masked(hall, chromium):
    number, applicant = case_of(hall)
    personal = (applicant.phone, applicant.phone[-4:], applicant.id_number, applicant.name)
    for name, path in [("home", "/"), ("guide", "/guide"), ("item", "/guide/GA-001"),
                       ("checklist", "/guide/GA-001/checklist"), ("complaint form", "/complaints"),
                       ("complaint lookup", "/complaints/lookup"), ("sign-in", "/sign-in"), ("board", "/board")]:
        with context(chromium) as ctx:  # a cold cache: the page with its style sheet and script
            page = ctx.new_page()
            weighed = Weighed(page)
            page.goto(hall.web + path)
            expect(page.locator("h1")).to_be_visible()
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            check(page, name, weighed)
    with context(chromium) as ctx:
        page = ctx.new_page()
        weighed = Weighed(page)
        page.goto(hall.web + "/lookup")
        check(page, "lookup", weighed)
        page.fill("#case_number", "12")
        page.click("button[type=submit]")
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page.locator("#case_number")).to_have_value("12")
        check(page, "lookup with errors")
        page.fill("#case_number", number)
        page.fill("#phone_last4", applicant.phone[-4:])
        weighed = Weighed(page)
        page.click("button[type=submit]")
        expect(page.locator("#case-heading")).to_contain_text(number)
        check(page, "lookup result", weighed, personal)
        page.click("text=评价本件")
        check(page, "rating form")
        page.click("button[type=submit]")
        expect(page.locator("#error-summary")).to_be_focused()
        check(page, "rating with errors")
        page.click("label[for=level-5]")
        page.click("button[type=submit]")
        expect(page.get_by_role("status")).to_contain_text("感谢您的评价")
        check(page, "rating done")


def test_the_main_paths_work_without_javascript(hall, chromium):
    number, applicant = case_of(hall)
    with context(chromium, javascript=False) as ctx:
        page = ctx.new_page()
        page.goto(hall.web + "/")
        page.click("text=办事指南")
        page.fill("#q", "身份证")
        page.click("form.search button")
        page.click("table.list a >> nth=0")
        expect(page.locator("h1")).not_to_have_text("办事指南")
        page.click("text=打印材料清单")
        expect(page.locator("h1")).to_contain_text("申请材料清单")
        page.goto(hall.web + "/lookup")
        page.fill("#case_number", number)
        page.fill("#phone_last4", applicant.phone[-4:])
        page.click("button[type=submit]")
        expect(page.locator("#case-heading")).to_contain_text(number)
        page.goto(hall.web + "/complaints")
        page.select_option("#department", "civil_affairs")
        page.fill("#text", "窗口中午无人值守")
        page.fill("#contact_phone", "13900002468")
        page.click("button[type=submit]")
        complaint = page.locator(".big").inner_text()
        check_page = ctx.new_page()
        check_page.goto(hall.web + "/complaints/lookup")
        check_page.fill("#complaint_id", complaint)
        check_page.fill("#phone_last4", "2468")
        check_page.click("button[type=submit]")
        expect(check_page.locator(".result")).to_contain_text("尚未答复")
        page.goto(hall.web + "/board")
        expect(page.locator("#total-accepted")).not_to_have_text("")


def test_the_lookup_limits_each_real_client(hall, chromium):
    number, applicant = case_of(hall)
    other_number, other = case_of(hall)
    unknown = "209901010000001"
    with context(chromium, forwarded_for="203.0.113.7") as first, \
            context(chromium, forwarded_for="203.0.113.8") as second:
        guesser = first.new_page()
        for _ in range(2):  # the per-case limit: two wrong guesses on the applicant's case
            guesser.goto(hall.web + "/lookup")
            guesser.fill("#case_number", number)
            guesser.fill("#phone_last4", "0000" if not applicant.phone.endswith("0000") else "1111")
            guesser.click("button[type=submit]")
            expect(guesser.locator("#error-summary")).to_contain_text("没有找到")
        wrong_text = guesser.locator("#error-summary").inner_text()
        guesser.goto(hall.web + "/lookup")
        guesser.fill("#case_number", unknown)
        guesser.fill("#phone_last4", "1234")
        guesser.click("button[type=submit]")
        assert guesser.locator("#error-summary").inner_text() == wrong_text  # unknown and wrong read the same
        guesser.goto(hall.web + "/lookup")
        guesser.fill("#case_number", number)
        guesser.fill("#phone_last4", applicant.phone[-4:])
        guesser.click("button[type=submit]")
        expect(guesser.locator("#error-summary")).to_contain_text("稍后再试")
        own = second.new_page()  # another client behind the proxy, its own case
        own.goto(hall.web + "/lookup")
        own.fill("#case_number", other_number)
        own.fill("#phone_last4", other.phone[-4:])
        own.click("button[type=submit]")
        expect(own.locator("#case-heading")).to_contain_text(other_number)
    # a forged X-Forwarded-For from an address that is no trusted proxy counts for that address
    with httpx.Client(base_url=f"http://127.0.0.2:{hall.settings.web_port}",
                      transport=httpx.HTTPTransport(local_address="127.0.0.2")) as forger:
        for n in range(hall.settings.track_failures_per_address):
            page = forger.get("/lookup", headers={"X-Forwarded-For": f"198.51.100.{n}"})
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            forger.post("/lookup", data={"csrf": token, "case_number": f"2099010200{n:05d}", "phone_last4": "1234"},
                        headers={"X-Forwarded-For": f"198.51.100.{n}"})
        page = forger.get("/lookup")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        last = forger.post("/lookup", headers={"X-Forwarded-For": "198.51.100.250"}, data={
            "csrf": token, "case_number": other_number, "phone_last4": other.phone[-4:]})
        assert last.status_code == 429


def test_a_used_or_expired_rating_link_is_refused_and_complaints_are_limited(hall, chromium):
    number, _ = case_of(hall)
    key = read_tokens(hall.settings.web_secret)[LINK_KEY]
    past = RatingLinks(key, hall.web, hall.settings.rating_link_days,
                       clock=lambda: 1_700_000_000 - 86400 * hall.settings.rating_link_days)
    fresh = RatingLinks(key, hall.web, hall.settings.rating_link_days)
    with context(chromium, forwarded_for="203.0.113.40") as ctx:  # a client of its own: its own complaint limit
        page = ctx.new_page()
        page.goto(past.url(number))
        expect(page.get_by_role("alert")).to_contain_text("已过期")
        check(page, "rating link expired")
        for expected in ("感谢您的评价", "已经评价过"):
            page.goto(fresh.url(number))
            page.click("label[for=level-4]")
            page.click("button[type=submit]")
            expect(page.locator("main")).to_contain_text(expected)
        outcomes = []
        for n in range(3):
            page.goto(hall.web + "/complaints")
            page.fill("#text", f"第{n}次投诉")
            page.select_option("#department", "civil_affairs")
            page.fill("#contact_phone", "13900001357")
            page.click("button[type=submit]")
            outcomes.append(page.locator("h1").inner_text())
        assert outcomes[:2] == ["投诉已登记"] * 2 and outcomes[2] == "在线投诉"
        expect(page.locator("#error-summary")).to_contain_text("提交过于频繁")
        check(page, "complaint flooded")


def test_the_board_follows_acceptances_live_and_after_a_restart(hall, chromium):
    with context(chromium) as ctx:
        page = ctx.new_page()
        page.goto(hall.web + "/board")
        total = page.locator("#total-accepted")
        before = int(total.inner_text())
        case_of(hall)
        expect(total).to_have_text(str(before + 1), timeout=10_000)
        web = hall.system.procs["web"]
        web.kill()
        web.wait()
        hall.system.start("web")
        hall.system.wait_ready(names=["web"])
        case_of(hall)
        expect(total).to_have_text(str(before + 2), timeout=15_000)  # the same page, never reloaded


def test_a_first_sign_in_by_keyboard_alone(hall, chromium):
    from tooling.people import set_first_passwords

    (first,) = set_first_passwords(hall.settings, ["SX0002"], replace=True)
    with context(chromium) as ctx:
        page = ctx.new_page()
        page.goto(hall.web + "/sign-in")
        page.focus("#staff_number")
        page.keyboard.type("SX0002")
        page.keyboard.press("Tab")
        page.keyboard.type(first.password)
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("修改密码")
        check(page, "first password")
        page.focus("#current_password")
        page.keyboard.type(first.password)
        for text in ("Keyboard-2026-ok", "Keyboard-2026-ok"):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "new_password-hint":
                page.keyboard.press("Tab")
            page.keyboard.type(text)
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("效能统计")  # a leader's page: the figures
        page.get_by_role("link", name="雷建华 · 带班领导").focus()
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("我的岗位")
        expect(page.locator("main")).to_contain_text("SX0002")
        check(page, "my post")
        page.get_by_role("button", name="退出登录").focus()
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_contain_text("政务服务中心")


# --- the acceptance desk, its documents and the rating pad -----------------------------------------

DESK_ITEM = "城市居民最低生活保障审批"  # MZ-001: five essential materials and one that may follow
DESK_APPLICANT = ("赵淑华", "340521198301010039", "13955507788")


def test_a_clerk_accepts_by_keyboard_prints_the_receipt_and_the_applicant_looks_up_and_rates(hall, chromium):
    import datetime as dt
    from urllib.parse import urlsplit

    from hall.calendar import WorkingCalendar
    from hall.clock import local_day
    from web_front.documents import qr_svg

    name, id_number, phone = DESK_APPLICANT
    with context(chromium) as ctx:
        page = ctx.new_page()
        first_sign_in_by_keyboard(hall, page, "SX0012", "/desk")
        expect(page.locator("h1")).to_have_text("受理台")
        check(page, "desk")
        page.keyboard.type("最低生活保障")  # the search takes focus
        page.keyboard.press("Enter")
        page.get_by_role("link", name=f"受理：{DESK_ITEM}").focus()
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text(f"受理：{DESK_ITEM}")
        check(page, "application form")
        page.focus("#applicant_name")
        page.keyboard.press("Enter")  # nothing filled in
        expect(page.locator("#error-summary")).to_be_focused()
        check(page, "application form with errors")
        for field, text in (("#applicant_name", name), ("#id_number", id_number), ("#phone", phone)):
            page.focus(field)
            page.keyboard.type(text)
        for box in page.locator("input[type=checkbox][id^=has_]").all():
            box.focus()
            page.keyboard.press("Space")
        page.focus("#phone")
        page.keyboard.press("Enter")
        expect(page.locator("#answer")).to_have_text("已受理")
        check(page, "accepted")
        number = re.search(r"\d{15}", page.locator("#case-heading").inner_text()).group(0)
        promised = WorkingCalendar.from_file(hall.settings.calendar).add(local_day(dt.datetime.now(dt.timezone.utc)), 20)
        expect(page.locator("#promised")).to_have_text(promised.isoformat())
        page.get_by_role("link", name="受理回执", exact=True).focus()
        page.keyboard.press("Enter")
        expect(page.locator("h1").first).to_contain_text("受理回执")
        check(page, "receipt", personal=(id_number, phone))
        link = page.locator("a.qr-link").first
        rating_link = link.get_attribute("href")
        assert link.locator("img").get_attribute("src") == qr_svg(rating_link)  # the QR code holds the link
        text = pdf_text(page, f"/desk/cases/{number}/receipt.pdf")
        assert "受理回执" in text and number in text and promised.isoformat() in text
    with context(chromium, forwarded_for="203.0.113.61") as ctx:  # the applicant, at home
        page = ctx.new_page()
        page.goto(hall.web + "/lookup")
        page.fill("#case_number", number)
        page.fill("#phone_last4", phone[-4:])
        page.click("button[type=submit]")
        expect(page.locator("#case-heading")).to_contain_text(number)
        page.goto(hall.web + urlsplit(rating_link).path)  # scanned from the receipt
        page.click("label[for=level-5]")
        page.click("button[type=submit]")
        expect(page.locator("main")).to_contain_text("感谢您的评价")


def test_notices_commitments_a_double_click_and_the_rating_pad(hall, chromium):
    import datetime as dt

    import psycopg

    from web_front.pads import make_pad

    with psycopg.connect(hall.settings.database_url) as conn:
        _, code = make_pad(conn, "county-desk", "受理部评价器", "it", dt.datetime.now(dt.timezone.utc))
    name, id_number, phone = DESK_APPLICANT
    with context(chromium) as clerk_ctx, context(chromium) as pad_ctx:
        pad = pad_ctx.new_page()
        pad.goto(hall.web + "/pad")
        check(pad, "pad pairing")
        pad.fill("#code", code)
        pad.click("button[type=submit]")
        expect(pad.locator("h1")).to_have_text("欢迎评价我们的服务")
        check(pad, "pad waiting")

        page = clerk_ctx.new_page()
        first_sign_in_by_keyboard(hall, page, "SX0014", "/desk/apply/MZ-001")

        def fill(received: int, commitment: bool = False):
            page.goto(hall.web + "/desk/apply/MZ-001")
            page.fill("#applicant_name", name)
            page.fill("#id_number", id_number)
            page.fill("#phone", phone)
            for box in page.locator("input[type=checkbox][id^=has_]").all()[:received]:
                box.check()
            if commitment:
                page.check("#commitment")

        fill(4)
        page.fill("#defect_id_card", "复印件不清晰")
        page.click("main button[type=submit]")
        expect(page.locator("#answer")).to_contain_text("待补齐材料")
        check(page, "one-time notice given")
        page.click("text=一次性告知书")
        expect(page.locator("h1").first).to_contain_text("一次性告知书")
        check(page, "one-time notice")
        listed = page.locator("table.lines tbody tr").all_inner_texts()
        assert len(listed) == 3 and any("复印件不清晰" in row for row in listed)  # the defect and the two missing

        fill(5, commitment=True)
        page.click("main button[type=submit]")
        expect(page.locator("#answer")).to_contain_text("容缺受理")
        check(page, "accepted with commitment")
        page.click("text=容缺承诺书")
        check(page, "commitment letter")

        before = cases_at(hall, "county-desk")
        fill(6)
        page.dblclick("main button[type=submit]")
        expect(page.locator("#answer")).to_have_text(re.compile("已受理|办理中"))  # routed at once under a quiet bus
        assert cases_at(hall, "county-desk") == before + 1

        page.click("text=邀请申请人在评价器上评价")
        expect(page.get_by_role("status")).to_contain_text("已邀请")
        expect(pad.locator("h1")).to_have_text("请对本次服务作出评价", timeout=10_000)  # live, never reloaded by hand
        check(pad, "pad invited")
        pad.get_by_role("button", name="满意", exact=True).click()
        expect(pad.locator("h1")).to_have_text("感谢您的评价！")
        check(pad, "pad thanks")
        expect(pad.locator("h1")).to_have_text("欢迎评价我们的服务", timeout=10_000)  # reset by itself
        page.click("text=办理进度告知书")
        check(page, "progress notice")
        page.goto(hall.web + "/desk/today")
        check(page, "my window today")
        page.goto(hall.web + "/desk/supply")
        check(page, "supply materials")
        page.fill("#case", "123")
        page.click("main button[type=submit]")
        expect(page.locator("#error-summary")).to_be_focused()
        check(page, "supply materials, no such case")

        fill(0)
        page.check("#answer-refuse")
        page.click("main button[type=submit]")
        expect(page.locator("#error-summary")).to_be_focused()  # a refusal needs its reasons
        check(page, "refusal without reasons")
        page.fill("#refusal_reasons", "申请人不属于本县户籍")
        page.click("main button[type=submit]")
        expect(page.locator("#answer")).to_have_text("不予受理")
        page.click("text=不予受理告知书")
        check(page, "refusal notice")
        fill(0)
        page.check("#answer-consult")
        page.click("main button[type=submit]")
        expect(page.locator("h1")).to_have_text("咨询已登记")
        check(page, "consultation recorded")


# --- the department's pages (承办) ---------------------------------------------------------------

def test_a_proposed_decision_is_signed_off_by_keyboard_and_the_checker_is_told_of_new_work(hall, chromium):
    """The approver signs in at the task's address and signs by keyboard alone (a send-back
    without a reason refused first); the checker's open worklist says there is new work, live."""
    from onewindow.desk.v1 import desk_pb2 as dpb

    from tests.flow_steps import tasks_of

    land = "county-window-land-resources"
    request = submission("GT-002", land)
    request.form["property_location"] = "示范县城关镇和平路8号"
    number = hall.intake_as(land).Submit(request).case_number
    (task,) = tasks_of(hall.desk("land_resources"), number)
    handler = hall.as_person(hall.desk_stub, "SX0034", f"{land}/handler/1")
    handler.Decide(dpb.DecideRequest(task_id=task.task_id, decision=dpb.APPROVE, opinion="材料齐全",
                                     legal_basis="《不动产登记暂行条例》第十四条"))
    with context(chromium) as checker_ctx, context(chromium) as ctx:
        checker = checker_ctx.new_page()
        first_sign_in_by_keyboard(hall, checker, "SX0036", "/work")
        expect(checker.locator("h1")).to_have_text("待办")
        assert number not in checker.locator("#worklist").inner_text()  # not the checker's turn yet
        check(checker, "worklist")

        page = ctx.new_page()
        first_sign_in_by_keyboard(hall, page, "SX0035", "/work")
        page.goto(f"{hall.web}/work/tasks/{task.task_id}")
        expect(page.locator("h1")).to_contain_text(number)
        check(page, "task to sign off")
        page.focus("#agree-no")
        page.keyboard.press("Space")
        page.focus("main button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.locator("#error-summary")).to_be_focused()  # a send-back says why
        expect(page.locator("#agree-no")).to_be_checked()
        check(page, "sign-off without a reason")
        page.focus("#agree-yes")
        page.keyboard.press("Space")
        page.focus("#opinion")
        page.keyboard.type("同意")
        page.focus("main button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.locator("#proposal-heading")).to_be_visible()
        expect(page.locator("main")).to_contain_text("核准人")

        expect(checker.locator("#new-work")).to_contain_text("有新的待办 (1)", timeout=10_000)
        check(checker, "worklist with new work")
        checker.locator("#new-work a").click()
        checker.click(f"text={number}")
        checker.check("#agree-yes")
        checker.click("main button[type=submit]")
        expect(checker.locator("h1")).to_have_text("待办")
    decided = hall.desk("land_resources").ListTasks(dpb.ListTasksRequest(case_number=number)).tasks[0]
    assert decided.status == dpb.DECIDED and [s.name for s in decided.signed_off] == ["汤婷", "严淑华"]
