"""The acceptance desk's pages below the browser (Starlette's test client; the APIs of an in-process
hall on the real PostgreSQL): each answer a clerk gives and the document it prints (PDF text read
with pdfminer), fees, materials brought later, the window's day, CSRF and Origin, a clerk kept to
their own organisation, and the rating pad. The whole flow in a real browser is in
tests/e2e/test_web.py."""
from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import httpx
import psycopg
import pytest
from pdfminer.high_level import extract_text
from starlette.testclient import TestClient

from hall.calendar import WorkingCalendar
from hall.clock import local_day
from services.access import read_tokens
from tests.conftest import in_process_hall
from tests.web.test_pages import PROXY, csrf_of, post
from web_front.links import LINK_KEY, RatingLinks
from web_front.pads import make_pad
from web_front.run import application

DESK = "county-desk"
CLERK = "SX0008"  # an acceptance clerk of the county centre's acceptance desk
MZ_001 = ["application", "id_card", "household_register", "income_statement", "consent_check",
          "sickness_or_disability_proof"]  # its last material may follow under a commitment
APPLICANT = {"applicant_name": "李建国", "id_number": "340521198301010039", "phone": "13955501234"}


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    with in_process_hall(tmp_path_factory.mktemp("desk"), web_trusted_proxies=PROXY) as running:
        yield running


@pytest.fixture(scope="module")
def app(hall):
    return application(hall.settings)


@pytest.fixture
def browser(app):
    """One client for a test (one event loop for the front's channels); each party of the test
    (`party`) keeps its own cookies, as separate browsers do."""
    with TestClient(app, base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}",
                             "X-Forwarded-Proto": "https"}) as client:
        yield client


class Party:
    """A browser of its own (its cookies) on the test's client."""

    def __init__(self, client: TestClient):
        self.client, self.cookies = client, httpx.Cookies()

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            self.client.cookies = self.cookies
            try:
                return getattr(self.client, method)(*args, **kwargs)
            finally:
                self.cookies = self.client.cookies

        return call


def signed_in(browser: TestClient, hall, staff_number: str = CLERK) -> Party:
    """A party signed in as `staff_number` (a first password, changed at once)."""
    from tooling.people import set_first_passwords

    (first,) = set_first_passwords(hall.settings, [staff_number], replace=True)
    party = Party(browser)
    page = post(party, "/sign-in", {"staff_number": staff_number, "password": first.password})
    password = f"Desk-{uuid.uuid4().hex[:8]}-9"
    party.post("/password", data={"csrf": csrf_of(page), "first": "1", "staff_number": staff_number,
                                  "current_password": first.password, "new_password": password,
                                  "repeat_password": password})
    return party


@pytest.fixture
def clerk(browser, hall):
    return signed_in(browser, hall)


def apply(clerk, item: str, materials: list[str], **values):
    """Fill the application form of `item` as a clerk does (each material received, its copies as
    the form offers them) and submit it; the answer page."""
    form = clerk.get(f"/desk/apply/{item}")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.text))
    data = {**fields, **APPLICANT, **{f"has_{m}": "1" for m in materials}, **values}
    return clerk.post(f"/desk/apply/{item}", data=data)


def number_of(page) -> str:
    return re.search(r"办件 (\d{15})", page.text).group(1)


def pdf_text(clerk, path: str) -> str:
    answer = clerk.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    return extract_text(io.BytesIO(answer.content))


def cases_at(hall, organisation: str) -> int:
    with psycopg.connect(hall.settings.database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.cases WHERE organisation = %s",
                            (organisation,)).fetchone()[0]


def test_the_desk_needs_a_clerk_signed_in(browser, hall):
    first = Party(browser).get("/desk/apply/MZ-001", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/sign-in?next=/desk/apply/MZ-001"
    assert signed_in(browser, hall, "SX0004").get("/desk").status_code == 403  # the supervision office


def test_accepted_with_every_material_prints_a_receipt_with_the_promised_working_day(clerk, hall):
    answer = apply(clerk, "MZ-001", MZ_001)
    assert answer.status_code == 200 and "已受理" in answer.text, re.findall(r"<li>.*?</li>", answer.text)[:8]
    number = number_of(answer)
    promised = WorkingCalendar.from_file(hall.settings.calendar).add(local_day(dt.datetime.now(dt.timezone.utc)), 20)
    assert f'<dd id="promised">{promised.isoformat()}</dd>' in answer.text
    receipt = clerk.get(f"/desk/cases/{number}/receipt")
    assert "申请人联" in receipt.text and "存档联" in receipt.text and "data:image/svg+xml" in receipt.text
    assert APPLICANT["id_number"] not in receipt.text  # masked even on the applicant's own copy
    text = pdf_text(clerk, f"/desk/cases/{number}/receipt.pdf")
    assert "受理回执" in text and number in text and promised.isoformat() in text
    assert clerk.get(f"/desk/cases/{number}/notice").status_code == 404  # not a document of this case
    assert "办理进度告知书" in pdf_text(clerk, f"/desk/cases/{number}/progress.pdf")


def test_a_missing_essential_material_gives_one_notice_naming_every_missing_or_defective_one(clerk):
    answer = apply(clerk, "MZ-001", MZ_001[1:4], defect_id_card="复印件不清晰")
    assert "待补齐材料" in answer.text
    number = number_of(answer)
    text = pdf_text(clerk, f"/desk/cases/{number}/notice.pdf")
    for name in ("最低生活保障申请书", "复印件不清晰", "家庭经济状况核对授权书", "重病、残疾等特殊情况证明"):
        assert name in text
    assert "一次性告知书" in text and clerk.get(f"/desk/cases/{number}/receipt").status_code == 404


def test_only_a_secondary_material_missing_with_a_commitment_is_accepted_with_its_date(clerk, hall):
    without = apply(clerk, "MZ-001", MZ_001[:-1])
    assert "待补齐材料" in without.text  # no commitment signed: a one-time notice
    answer = apply(clerk, "MZ-001", MZ_001[:-1], commitment="1")
    assert "容缺受理" in answer.text
    number = number_of(answer)
    deadline = re.search(r"承诺于 (\d{4}-\d{2}-\d{2}) 前补交", answer.text).group(1)
    letter = pdf_text(clerk, f"/desk/cases/{number}/commitment.pdf")
    assert "容缺承诺书" in letter and deadline in letter and "重病、残疾等特殊情况证明" in letter
    assert deadline in pdf_text(clerk, f"/desk/cases/{number}/receipt.pdf")
    # the material brought later, the case found by scanning the receipt's QR code
    key = read_tokens(hall.settings.web_secret)[LINK_KEY]
    scanned = RatingLinks(key, hall.settings.public_url, hall.settings.rating_link_days).url(number)
    found = clerk.get("/desk/supply", params={"case": scanned})
    assert found.status_code == 200 and number in found.text and "重病、残疾等特殊情况证明" in found.text
    supplied = clerk.post("/desk/supply", data={"csrf": csrf_of(found), "case_number": number,
                                                "material": "sickness_or_disability_proof"})
    assert supplied.status_code == 200 and "本件没有待补交的材料" in clerk.get(
        "/desk/supply", params={"case": number}).text


def test_a_proxy_case_names_its_agent_and_consent_on_the_receipt(clerk):
    answer = apply(clerk, "MZ-001", MZ_001, proxy="1", agent="agent-zhangqiao", consent_ref="WT-2026-0031")
    assert "已受理" in answer.text, re.findall(r"<li>.*?</li>", answer.text)[-3:]
    receipt = clerk.get(f"/desk/cases/{number_of(answer)}/receipt")
    assert "张桥镇乡级代办员" in receipt.text and "WT-2026-0031" in receipt.text
    missing = apply(clerk, "MZ-001", MZ_001, proxy="1")
    assert missing.status_code == 400 and 'href="#agent"' in missing.text and 'href="#consent_ref"' in missing.text


def test_not_accepted_with_the_clerks_reasons_and_a_consultation(clerk):
    refused = apply(clerk, "MZ-001", [], answer="refuse", refusal_reasons="申请人不属于本县户籍\n")
    number = number_of(refused)
    assert "不予受理" in refused.text and "申请人不属于本县户籍" in refused.text
    assert "申请人不属于本县户籍" in pdf_text(clerk, f"/desk/cases/{number}/refusal.pdf")
    asked = apply(clerk, "MZ-001", [], answer="consult")
    assert asked.status_code == 200 and "咨询已登记" in asked.text


def test_wrong_fields_are_named_and_kept_and_the_api_is_not_called(clerk, hall):
    before = cases_at(hall, DESK)
    page = apply(clerk, "MZ-001", MZ_001, applicant_name="", id_number="12345")
    assert page.status_code == 400 and 'href="#applicant_name"' in page.text and 'href="#id_number"' in page.text
    assert 'value="12345"' in page.text and 'id="has_id_card" name="has_id_card" value="1" checked' in page.text
    checked = apply(clerk, "MZ-001", MZ_001, id_number="340521198301010038")  # the API checks the check digit
    assert checked.status_code == 400 and "证件号码无效" in checked.text and 'value="340521198301010038"' in checked.text
    assert cases_at(hall, DESK) == before


def test_a_resubmitted_form_makes_one_case(clerk):
    form = clerk.get("/desk/apply/MZ-001")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.text))
    data = {**fields, **APPLICANT, **{f"has_{m}": "1" for m in MZ_001}}
    first, second = (clerk.post("/desk/apply/MZ-001", data=data) for _ in range(2))
    assert number_of(first) == number_of(second)


def test_no_token_a_foreign_origin_or_another_organisation_creates_nothing(clerk, hall):
    before = cases_at(hall, DESK), cases_at(hall, "county-window-civil-affairs")
    form = clerk.get("/desk/apply/MZ-001")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.text))
    data = {**fields, **APPLICANT, **{f"has_{m}": "1" for m in MZ_001}}
    assert clerk.post("/desk/apply/MZ-001", data={**data, "csrf": ""}).status_code == 403
    assert clerk.post("/desk/apply/MZ-001", data=data, headers={"Origin": "https://evil.example"}).status_code == 403
    assert clerk.post("/desk/apply/MZ-001", data=data, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    other = clerk.post("/desk/apply/MZ-001", data={**data, "organisation": "county-window-civil-affairs"})
    assert other.status_code == 403 and "只能为本单位受理" in other.text
    assert (cases_at(hall, DESK), cases_at(hall, "county-window-civil-affairs")) == before


def test_a_signed_out_session_cookie_is_refused(browser, hall):
    clerk = signed_in(browser, hall, "SX0010")
    cookie = clerk.cookies.get("__Host-session")
    page = clerk.get("/desk")
    clerk.post("/sign-out", data={"csrf": csrf_of(page)})
    replay = Party(browser)
    replay.cookies.set("__Host-session", cookie, domain="hall.test")
    assert replay.get("/desk", follow_redirects=False).headers["location"].startswith("/sign-in")


def test_a_fee_is_recorded_once_with_its_receipt_number(clerk):
    answer = apply(clerk, "GA-001", ["household_register", "old_id_card", "loss_declaration"], f_apply_type="换领")
    assert "20 元" in answer.text, answer.text[-3000:]
    number = number_of(answer)
    fee = {"csrf": csrf_of(answer), "amount_yuan": "30", "receipt_number": "皖财0012345"}
    too_much = clerk.post(f"/desk/cases/{number}/fee", data=fee)
    assert too_much.status_code == 400 and 'href="#amount_yuan"' in too_much.text
    done = clerk.post(f"/desk/cases/{number}/fee", data={**fee, "amount_yuan": "20", "request_id": "fee-1"})
    assert "已收费 20 元，票据号码 皖财0012345" in done.text
    again = clerk.post(f"/desk/cases/{number}/fee", data={**fee, "amount_yuan": "20", "request_id": "fee-2"})
    assert again.status_code == 409 and "不能重复收费" in again.text


def test_my_window_today_lists_todays_cases_and_those_waiting(clerk):
    accepted = number_of(apply(clerk, "MZ-001", MZ_001))
    waiting = number_of(apply(clerk, "MZ-001", MZ_001[1:]))
    page = clerk.get("/desk/today")
    today_part, waiting_part = page.text.split('id="waiting"')
    assert accepted in today_part and waiting in waiting_part and accepted not in waiting_part


def test_the_pad_rates_only_what_its_window_invited(browser, hall, clerk):
    with psycopg.connect(hall.settings.database_url) as conn:
        _, code = make_pad(conn, DESK, "受理部1号评价器", "it", dt.datetime.now(dt.timezone.utc))
        _, other_code = make_pad(conn, "county-window-civil-affairs", "民政窗口评价器", "it",
                                 dt.datetime.now(dt.timezone.utc))
    pad, other_pad = Party(browser), Party(browser)
    for device, pairing in ((pad, code), (other_pad, other_code)):
        form = device.get("/pad")
        assert "评价器配对" in form.text
        assert device.post("/pad/pair", data={"csrf": csrf_of(form), "code": pairing}).status_code == 200
    stranger = Party(browser)
    form = stranger.get("/pad")
    assert stranger.post("/pad/pair", data={"csrf": csrf_of(form), "code": code}).status_code == 400  # once only
    idle = pad.get("/pad")
    assert "欢迎评价" in idle.text
    uninvited = pad.post("/pad/rate", data={"csrf": pad.cookies["__Host-csrf"], "invitation": "1", "level": "5"})
    assert uninvited.status_code == 409
    number = number_of(apply(clerk, "MZ-001", MZ_001))
    case = clerk.get(f"/desk/cases/{number}")
    invited = clerk.post(f"/desk/cases/{number}/invite", data={"csrf": csrf_of(case)})
    assert "已邀请" in invited.text
    shown = pad.get("/pad")
    invitation = re.search(r'name="invitation" value="(\d+)"', shown.text).group(1)
    assert "非常满意" in shown.text and "请对本次服务作出评价" in shown.text
    assert "请对本次服务" not in other_pad.get("/pad").text
    foreign = other_pad.post("/pad/rate", data={"csrf": csrf_of(shown), "invitation": invitation, "level": "1"})
    assert foreign.status_code == 403
    thanks = pad.post("/pad/rate", data={"csrf": csrf_of(shown), "invitation": invitation, "level": "4"})
    assert thanks.status_code == 200 and "感谢您的评价" in thanks.text
    assert "欢迎评价" in pad.get("/pad").text  # reset
    twice = pad.post("/pad/rate", data={"csrf": csrf_of(shown), "invitation": invitation, "level": "4"})
    assert twice.status_code == 409
    hall.system.drain()
    with psycopg.connect(hall.settings.database_url) as conn:
        rows = conn.execute("SELECT level, act, by_organisation FROM supervision.ratings WHERE case_number = %s",
                            (number,)).fetchall()
    assert rows == [(4, "acceptance", DESK)]


def test_a_village_room_decides_its_committees_certificate_on_the_spot_and_the_township_cites_it(browser, hall):
    """村委会证明 (issue 19 part 10): the room's cadre accepts and decides it on the case's page and prints it; a
    township desk's clerk types its number for WJ-003's village letter, which is received; a wrong number is
    named at its field."""
    from tests.flow_steps import case_status, tasks_of

    cadre = signed_in(browser, hall, "SX0118")  # a cadre of 刘岗村's room (deploy/staff.yaml)
    accepted = apply(cadre, "CW-001", ["id_card", "household_register"], f_matter="婚育情况：已婚，育有一孩",
                     f_purpose="办理《流动人口婚育证明》")
    assert accepted.status_code == 200 and "当场办理" in accepted.text and "《村民委员会组织法》" in accepted.text
    number = number_of(accepted)
    blank = cadre.post(f"/desk/cases/{number}/decide", data={"csrf": csrf_of(accepted), "decision": "approve"})
    assert blank.status_code == 400 and 'href="#opinion"' in blank.text and 'href="#legal_basis"' in blank.text
    tasks_of(hall.desk("village_committee"), number)  # routed to the room's committee
    decided = cadre.post(f"/desk/cases/{number}/decide", data={
        "csrf": csrf_of(accepted), "decision": "approve", "opinion": "兹证明李建国已婚，育有一孩，情况属实。",
        "legal_basis": "《村民委员会组织法》"})
    assert decided.status_code == 200 and decided.url.path == f"/desk/cases/{number}"
    case_status(hall, number, "concluded")
    page = cadre.get(f"/desk/cases/{number}")
    assert "当场办结" not in page.text and f"/desk/cases/{number}/certificate" in page.text
    text = pdf_text(cadre, f"/desk/cases/{number}/certificate.pdf")
    assert "村民委员会证明" in text and "兹证明李建国已婚" in text and number in text
    assert cadre.post(f"/desk/cases/{number}/decide", data={
        "csrf": csrf_of(page), "decision": "approve", "opinion": "再次", "legal_basis": "x"}).status_code == 409

    township = signed_in(browser, hall, "SX0087")  # 张桥镇中心咨询受理部
    others = ["application", "id_card", "photo", "marriage_cert", "contraception_proof"]
    wrong = apply(township, "WJ-003", others, cert_village_letter="202601010000001")
    assert wrong.status_code == 400 and 'id="cert_village_letter-error"' in wrong.text
    cited = apply(township, "WJ-003", others, cert_village_letter=number)
    assert cited.status_code == 200 and "已受理" in cited.text, cited.text[:2000]
    receipt = township.get(f"/desk/cases/{number_of(cited)}/receipt")
    assert "村委会（或单位）证明信" in receipt.text


# --- in a real browser, last ------------------------------------------------------------------------------

def test_the_rooms_decision_on_the_spot_passes_axe_on_a_phone(hall, chromium, front):
    from onewindow.intake.v1 import intake_pb2 as ipb
    from playwright.sync_api import expect

    from tests.e2e.browser import Weighed, check, sign_in_page
    from tests.flow_steps import case_status, submission, tasks_of

    room = "zhangqiao-liugang-room"
    request = submission("CW-001", room, channel=ipb.VILLAGE_ROOM)
    request.form.update({"matter": "居住情况", "purpose": "办理《流动人口婚育证明》"})
    number = hall.intake_as(room).Submit(request).case_number
    tasks_of(hall.desk("village_committee"), number)
    with chromium.new_context(locale="zh-CN", base_url=front, viewport={"width": 360, "height": 740}) as context:
        page = context.new_page()
        sign_in_page(page, hall, "SX0119")  # the room's B cadre
        weighed = Weighed(page)
        page.goto(f"/desk/cases/{number}")
        expect(page.locator("#spot-heading")).to_have_text("当场办理")
        check(page, "a village room's decision on the spot", weighed, personal=(request.applicant.id_number,))
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.click("#spot-heading ~ form button[type=submit]")  # no text: named, the summary takes focus
        expect(page.locator("#error-summary")).to_be_focused()
        check(page, "the decision on the spot, its errors")
        page.fill("#opinion", "兹证明申请人在本村居住，情况属实。")
        page.click("#spot-heading ~ form button[type=submit]")
        case_status(hall, number, "concluded")
        page.goto(f"/desk/cases/{number}/certificate")
        expect(page.locator("h1")).to_contain_text("村民委员会证明")
        check(page, "a village committee's certificate")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
