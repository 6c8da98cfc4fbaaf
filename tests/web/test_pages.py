"""The web front's pages below the browser: the application in this process (Starlette's test
client), the APIs of an in-process hall on the real PostgreSQL. Browser tests are in
tests/e2e/test_web.py."""
from __future__ import annotations

import re
import uuid

import pytest
from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.testclient import TestClient

from tests.conftest import in_process_hall
from tests.flow_steps import submission
from web_front.run import application

PROXY, OTHER = "198.51.100.1", "192.0.2.50"  # the trusted proxy; an address that is not one
NOT_FOUND = "没有找到与办件编号和手机号后4位相符的办件"
TRY_LATER = "查询过于频繁，请稍后再试"


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    with in_process_hall(tmp_path_factory.mktemp("web"), web_trusted_proxies=PROXY, track_failures_per_case=2,
                         track_failures_per_address=3, complaints_per_client=2) as running:
        yield running


@pytest.fixture(scope="module")
def app(hall):
    return application(hall.settings)


@pytest.fixture
def browser(app):
    """A browser behind the trusted proxy, over HTTPS, from an address of its own."""
    with TestClient(app, base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}",
                             "X-Forwarded-Proto": "https"}) as client:
        yield client


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def post(client, path: str, data: dict, **kwargs):
    form = client.get(path, **kwargs)
    return client.post(path, data={"csrf": csrf_of(form), **data}, **kwargs)


def case_of(hall, item="MZ-001", organisation="county-window-civil-affairs"):
    """A case accepted at a window, known to every service."""
    request = submission(item, organisation)
    receipt = hall.intake_as(organisation).Submit(request)
    hall.system.drain()
    return receipt.case_number, request.applicant


def test_the_guide_finds_items_by_name_and_shows_each(browser):
    found = browser.get("/guide", params={"q": "最低生活保障"})
    assert found.status_code == 200 and "MZ-001" in found.text and "GA-001" not in found.text
    item = browser.get("/guide/MZ-001")
    assert "最低生活保障申请书" in item.text and "可容缺后补" in item.text and "个工作日" in item.text
    assert browser.get("/guide/MZ-001/checklist").status_code == 200
    assert browser.get("/guide/NO-SUCH").status_code == 404
    assert "Service guide" in browser.get("/guide", params={"lang": "en"}).text


def test_pages_carry_their_security_headers_and_are_counted_by_route(browser):
    from prometheus_client import REGISTRY

    def answered() -> float:
        return REGISTRY.get_sample_value("onewindow_web_requests_total", {"route": "/lookup", "status": "200"}) or 0

    before = answered()
    page = browser.get("/lookup")
    assert answered() == before + 1
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store" and page.headers["x-content-type-options"] == "nosniff"
    assert browser.get("/static/site.css").headers.get("cache-control") != "no-store"
    assert re.search(r"__Host-csrf=[^;]+;.*HttpOnly.*Secure|__Host-csrf=[^;]+;.*Secure.*HttpOnly",
                     page.headers["set-cookie"], re.I)


def test_a_form_without_its_token_changes_nothing(browser):
    refused = browser.post("/lookup", data={"case_number": "202612030000001", "phone_last4": "1234"})
    assert refused.status_code == 403 and "页面已过期" in refused.text


def test_a_bad_lookup_names_each_field_and_keeps_the_values(browser):
    page = post(browser, "/lookup", {"case_number": "12345", "phone_last4": "12x"})
    assert page.status_code == 400
    assert 'href="#case_number"' in page.text and 'href="#phone_last4"' in page.text
    assert 'value="12345"' in page.text and 'value="12x"' in page.text


def test_an_unknown_case_and_wrong_digits_read_the_same_and_personal_data_is_masked(hall, browser):
    number, applicant = case_of(hall)
    wrong = post(browser, "/lookup", {"case_number": number, "phone_last4": "0000" if not applicant.phone.endswith(
        "0000") else "1111"})
    unknown = post(browser, "/lookup", {"case_number": "209901010000001", "phone_last4": applicant.phone[-4:]})
    strip = lambda page: re.sub(r'value="[^"]*"', "", page.text)  # noqa: E731 - what differs is only the input
    assert wrong.status_code == unknown.status_code == 404 and NOT_FOUND in wrong.text
    assert strip(wrong) == strip(unknown)
    found = post(browser, "/lookup", {"case_number": number, "phone_last4": applicant.phone[-4:]})
    assert found.status_code == 200 and "城市居民最低生活保障审批" in found.text
    assert applicant.phone not in found.text and applicant.phone[-4:] not in found.text.replace(
        f'value="{applicant.phone[-4:]}"', "")
    assert applicant.id_number not in found.text and applicant.name not in found.text
    assert "王" in found.text and "*" in found.text  # the masked name


def test_the_lookup_limit_counts_each_real_client(hall, app):
    number, applicant = case_of(hall)
    right = {"case_number": number, "phone_last4": applicant.phone[-4:]}
    with TestClient(app, base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-Proto": "https"}) as proxy:  # two browsers behind the trusted proxy
        proxy.headers["X-Forwarded-For"] = "203.0.113.201"
        for n in range(3):  # three unknown numbers: the per-address limit
            post(proxy, "/lookup", {"case_number": f"20990101000000{n}", "phone_last4": "1234"})
        blocked = post(proxy, "/lookup", right)
        assert blocked.status_code == 429 and TRY_LATER in blocked.text
        proxy.headers["X-Forwarded-For"] = "203.0.113.202"
        assert post(proxy, "/lookup", right).status_code == 200
    with TestClient(app, base_url="https://hall.test", client=(OTHER, 4000)) as forger:  # not a trusted proxy
        for n in range(3):
            forger.headers["X-Forwarded-For"] = f"203.0.113.{210 + n}"  # ignored: each guess counts for OTHER
            post(forger, "/lookup", {"case_number": f"20990102000000{n}", "phone_last4": "1234"})
        forger.headers["X-Forwarded-For"] = "203.0.113.220"
        assert post(forger, "/lookup", right).status_code == 429


def test_a_rating_link_rates_its_case_once(hall, app, browser):
    number, _ = case_of(hall)
    path = app.state.front.links.path(number)
    assert number in browser.get(path).text
    done = post(browser, path, {"level": "2", "tag": "等候时间长", "comment": "等了很久", "request_id": "r1"})
    assert done.status_code == 200 and "感谢您的评价" in done.text and "限期整改" in done.text
    again = post(browser, path, {"level": "5", "request_id": "r2"})
    assert again.status_code == 409 and "已经评价过" in again.text
    assert browser.get(path[:-3] + "xyz").status_code == 404
    item = hall.supervision().ListRectifications(spb.ListRectificationsRequest())
    assert [r.level for r in item.items if r.case_number == number] == [2]


def test_a_complaint_gets_a_number_and_its_answer_is_looked_up_with_the_phone(hall, browser):
    bad = post(browser, "/complaints", {"department": "civil_affairs", "text": "", "contact_phone": "12"})
    assert bad.status_code == 400 and 'href="#text"' in bad.text and 'href="#contact_phone"' in bad.text
    done = post(browser, "/complaints", {"department": "civil_affairs", "text": "窗口中午无人", "contact_name": "李四",
                                         "contact_phone": "13900005678", "request_id": uuid.uuid4().hex})
    assert done.status_code == 200
    complaint_id = int(re.search(r'class="big">(\d+)<', done.text).group(1))
    hall.supervision("civil_affairs").AnswerComplaint(spb.AnswerComplaintRequest(complaint_id=complaint_id,
                                                                         answer="已安排午间值班"))
    wrong = post(browser, "/complaints/lookup", {"complaint_id": str(complaint_id), "phone_last4": "0000"})
    assert wrong.status_code == 404
    found = post(browser, "/complaints/lookup", {"complaint_id": str(complaint_id), "phone_last4": "5678"})
    assert "已安排午间值班" in found.text and "李四" not in found.text and "13900005678" not in found.text


def test_complaints_from_one_client_are_limited(app):
    with TestClient(app, base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": "203.0.113.230", "X-Forwarded-Proto": "https"}) as flooder:
        codes = [post(flooder, "/complaints", {"department": "civil_affairs", "text": f"第{n}条",
                                               "contact_phone": "13900001111", "request_id": uuid.uuid4().hex}
                      ).status_code for n in range(3)]
    assert codes == [200, 200, 429]


def test_over_plain_http_only_this_computer_may_sign_in(app):
    with TestClient(app, base_url="http://hall.test", client=("203.0.113.9", 4000)) as remote:
        assert remote.get("/sign-in").status_code == 403
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 4000)) as here:
        page = here.get("/sign-in")
        assert page.status_code == 200 and "csrf=" in page.headers["set-cookie"]


def test_first_sign_in_changes_the_password_then_the_post_is_shown(hall, browser):
    from tooling.people import set_first_passwords

    (first,) = set_first_passwords(hall.settings, ["SX0001"], replace=True)
    page = post(browser, "/sign-in", {"staff_number": "SX0001", "password": "wrong-password-1"})
    assert page.status_code == 401 and "wrong-password-1" not in page.text
    page = post(browser, "/sign-in", {"staff_number": "SX0001", "password": first.password})
    assert "这是您的初始密码" in page.text
    weak = browser.post("/password", data={"csrf": csrf_of(page), "first": "1", "staff_number": "SX0001",
                                           "current_password": first.password, "new_password": "short",
                                           "repeat_password": "short"})
    assert weak.status_code == 400 and 'href="#new_password"' in weak.text
    signed_in = browser.post("/password", data={
        "csrf": csrf_of(page), "first": "1", "staff_number": "SX0001", "current_password": first.password,
        "new_password": "Hall-web-2026-ok", "repeat_password": "Hall-web-2026-ok"}, follow_redirects=False)
    assert signed_in.status_code == 303 and "__Host-session=" in signed_in.headers["set-cookie"]
    assert "samesite=strict" in signed_in.headers["set-cookie"].lower()
    me = browser.get("/me")
    assert "SX0001" in me.text and me.headers["cache-control"] == "no-store"
    assert browser.post("/sign-out", data={"csrf": "forged"}).status_code == 403
    browser.post("/sign-out", data={"csrf": csrf_of(me)})
    assert browser.get("/me", follow_redirects=False).headers["location"] == "/sign-in"


def test_an_api_away_gives_a_page_that_says_so(hall):
    from tests.support import free_port

    away = application(hall.settings.model_copy(update={"intake_port": free_port()}))
    with TestClient(away, base_url="https://hall.test", client=(PROXY, 4000)) as browser:
        page = browser.get("/guide")
    assert page.status_code == 503 and "暂时无法办理" in page.text and "Traceback" not in page.text


def test_a_person_of_two_posts_chooses_one_by_its_name(hall, browser):
    from tooling.people import set_first_passwords

    (first,) = set_first_passwords(hall.settings, ["SX0017"], replace=True)  # a window clerk and a handler
    page = post(browser, "/sign-in", {"staff_number": "SX0017", "password": first.password})
    assert "这是您的初始密码" in page.text
    new = {"staff_number": "SX0017", "first": "1", "current_password": first.password,
           "new_password": "Two-posts-2026", "repeat_password": "Two-posts-2026"}
    choose = browser.post("/password", data={"csrf": csrf_of(page), **new})
    assert choose.status_code == 400 and 'href="#post_id"' in choose.text
    options = dict(re.findall(r"<option value=\"([^\"]+)\"[^>]*>([^<]+)<", choose.text))
    handler = next(value for value in options if "/handler/" in value)
    assert "·" in options[handler] and "承办" in options[handler]
    signed_in = browser.post("/password", data={"csrf": csrf_of(choose), **new, "post_id": handler},
                             follow_redirects=False)
    assert signed_in.status_code == 303
    assert "承办" in browser.get("/me").text
