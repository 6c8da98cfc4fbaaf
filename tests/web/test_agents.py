"""The proxy agent's pages (代办制) below the browser and in one real browser, over the APIs of an
in-process hall on the real PostgreSQL: the agent lands on the ledger (代办台账) of its own cases, reads
one, is refused another agent's case (403), records the 办结反馈单 of a concluded case with its errors
kept; the ledger through the real gRPC API; and the ledger and the 403 on a 360 px screen, under 100 KB,
with no WCAG 2.1 A/AA violation (the case page and the carry list too)."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from onewindow.intake.v1 import intake_pb2 as ipb
from starlette.testclient import TestClient

from tests.conftest import in_process_hall
from tests.flow_steps import approve, case_status, submission, tasks_of
from tests.support import wait_until
from tests.web.test_pages import PROXY, csrf_of
from tests.web.test_work import signed_in as first_signed_in
from web_front.run import application

ROOM, AGENT, OTHER = "zhangqiao-liugang-room", "agent-zhangqiao-liugang", "agent-zhangqiao-dayang"
AGENT_PERSON, OTHER_PERSON, CLERK = "SX0120", "SX0123", "SX0008"  # 江秀兰, 潘伟 (deploy/staff.yaml); a clerk
ROOM_CLERK = "SX0118"  # 肖文华 at the liugang room
TOWNSHIP_PERSON = "SX0086"  # 肖桂芝, 张桥镇乡级代办员
CHINA = dt.timezone(dt.timedelta(hours=8))


def proxied(hall, agent: str = AGENT, room: str = ROOM, **fields) -> ipb.SubmitRequest:
    request = submission("MZ-001", room, channel=ipb.PROXY_AGENT, agent=agent,
                         consent_ref=f"WT-{uuid.uuid4().hex[:6]}", **fields)
    return request


class SmsGateway:
    """An SMS gateway on 127.0.0.1 that keeps what it is asked to send: (to, text)."""

    def __init__(self):
        import http.server
        import json
        import threading

        sent = self.sent = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sent.append((body["to"], body["text"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    """The hall (its SMS through a gateway of the test's own) with three cases of the liugang agent (one
    concluded, issued; one owing a material; one in handling) and one of the dayang agent."""
    sms = SmsGateway()
    with in_process_hall(tmp_path_factory.mktemp("agents"), web_trusted_proxies=PROXY,
                         sms_gateway_url=sms.url) as running:
        running.sms, running.parties = sms, {}
        agent = running.intake_as(AGENT)
        concluded = agent.Submit(proxied(running)).case_number
        owing = agent.Submit(proxied(running, missing=("id_card",))).case_number
        handling = agent.Submit(proxied(running)).case_number
        other = running.intake_as(OTHER).Submit(proxied(running, OTHER, "zhangqiao-dayang-room")).case_number
        desk = running.desk("civil_affairs")
        (task,) = tasks_of(desk, concluded)
        approve(desk, task.task_id)
        case_status(running, concluded, "concluded")
        running.cases = {"concluded": concluded, "owing": owing, "handling": handling, "other": other}
        yield running


def signed_in(browser, hall, staff_number: str):
    """A party signed in as the person, once a module's hall (a first sign-in costs several Argon2 hashes):
    later tests take the session's cookies onto their own client."""
    import httpx

    from tests.web.test_desk import Party

    if staff_number not in hall.parties:
        hall.parties[staff_number] = first_signed_in(browser, hall, staff_number).cookies
    party = Party(browser)
    party.cookies = httpx.Cookies(hall.parties[staff_number])
    return party


@pytest.fixture
def browser(hall):
    with TestClient(application(hall.settings), base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}",
                             "X-Forwarded-Proto": "https"}) as client:
        yield client


def test_the_ledger_lists_the_agents_own_cases_through_the_api(hall):
    agent = hall.as_person(hall.intake_stub, AGENT_PERSON)
    c = hall.cases
    every = agent.ListAgentCases(ipb.ListAgentCasesRequest())
    assert [x.summary.case_number for x in every.cases] == [c["handling"], c["owing"], c["concluded"]]
    assert (every.counts.open, every.counts.waiting, every.counts.concluded) == (2, 2, 1)
    waiting = {x.summary.case_number: list(x.waiting_for) for x in agent.ListAgentCases(
        ipb.ListAgentCasesRequest(view=ipb.LEDGER_WAITING)).cases}
    assert waiting == {c["owing"]: ["materials"], c["concluded"]: ["result", "card"]}
    first = agent.ListAgentCases(ipb.ListAgentCasesRequest(page_size=2))
    rest = agent.ListAgentCases(ipb.ListAgentCasesRequest(page_size=2, page_token=first.next_page_token))
    assert [x.summary.case_number for x in [*first.cases, *rest.cases]] == [x.summary.case_number for x in every.cases]
    row = every.cases[-1]
    assert row.summary.promised_deadline and row.limit_days == 20 and row.ended_on and row.result == "issued"
    assert "*" in row.summary.id_number
    other = hall.as_person(hall.intake_stub, OTHER_PERSON)
    assert [x.summary.case_number for x in other.ListAgentCases(ipb.ListAgentCasesRequest()).cases] == [c["other"]]


def test_an_agent_lands_on_the_ledger_reads_its_own_case_and_gets_403_for_anothers(browser, hall):
    agent = signed_in(browser, hall, AGENT_PERSON)
    assert agent.get("/sign-in", follow_redirects=False).headers["location"] == "/agent"
    c = hall.cases
    ledger = agent.get("/agent")
    assert ledger.status_code == 200 and "代办台账" in ledger.text
    assert c["owing"] in ledger.text and c["concluded"] in ledger.text and c["handling"] not in ledger.text
    assert "领取并送达办理结果" in ledger.text and c["other"] not in ledger.text
    assert c["handling"] in agent.get("/agent?view=open").text
    page = agent.get(f"/agent/cases/{c['owing']}")
    case = hall.intake_as(AGENT).GetCase(ipb.GetCaseRequest(case_number=c["owing"]))
    assert page.status_code == 200 and case.applicant.id_number not in page.text and case.consent_ref in page.text
    assert agent.get(f"/agent/cases/{c['other']}").status_code == 403
    assert agent.get("/agent/cases/999999999999999").status_code == 404
    assert signed_in(browser, hall, CLERK).get("/agent").status_code == 403
    carry = agent.get("/agent/carry")
    assert carry.status_code == 200 and "张桥镇行政服务中心" in carry.text and c["owing"] in carry.text
    assert "送交补正材料" in carry.text and c["other"] not in carry.text


def test_the_card_is_recorded_with_its_errors_kept_and_leaves_the_waiting_list(browser, hall):
    agent = signed_in(browser, hall, AGENT_PERSON)
    number = hall.cases["concluded"]
    page = agent.get(f"/agent/cases/{number}")
    assert "登记办结反馈单" in page.text
    tomorrow = (dt.datetime.now(CHINA).date() + dt.timedelta(days=1)).isoformat()
    wrong = agent.post(f"/agent/cases/{number}/card", data={"csrf": csrf_of(page), "signed_on": tomorrow,
                                                             "request_id": "r1"})
    assert wrong.status_code == 400 and 'href="#signed_on"' in wrong.text and 'href="#mark"' in wrong.text
    assert f'value="{tomorrow}"' in wrong.text
    today = dt.datetime.now(CHINA).date().isoformat()
    done = agent.post(f"/agent/cases/{number}/card", data={"csrf": csrf_of(page), "signed_on": today,
                                                            "mark": "thumbprint", "request_id": "r1"},
                      follow_redirects=False)
    assert done.status_code == 303
    shown = agent.get(done.headers["location"])
    assert re.search(r'<p id="card">[^<]*按手印', shown.text) and "已签收办理结果" in shown.text
    assert number not in agent.get("/agent?view=waiting").text
    stopped = wait_until(lambda: hall.sql("supervision", "SELECT stopped_on FROM clocks WHERE case_number = %s AND "
                                                         "step = 'result_card' AND stopped_on IS NOT NULL", [number]),
                         what="the agent's clock to stop")
    assert stopped == [(dt.datetime.now(CHINA).date(),)]



def test_a_proxy_case_accepted_at_the_desk_prints_its_consent_form_with_both_signature_lines(browser, hall):
    from tests.web.test_desk import MZ_001, apply, number_of, pdf_text

    clerk = signed_in(browser, hall, ROOM_CLERK)
    without = apply(clerk, "MZ-001", MZ_001, proxy="1", agent=AGENT, consent_ref="")
    assert without.status_code == 400 and 'href="#consent_ref"' in without.text
    answer = apply(clerk, "MZ-001", MZ_001, proxy="1", agent=AGENT, consent_ref="LG-2026-031")
    number = number_of(answer)
    assert f'href="/desk/cases/{number}/consent"' in answer.text
    form = clerk.get(f"/desk/cases/{number}/consent")
    assert form.status_code == 200 and "LG-2026-031" in form.text and "委托人联" in form.text
    assert "委托人（签字或按手印）：" in form.text and "代办员（签字）：" in form.text
    text = pdf_text(clerk, f"/desk/cases/{number}/consent.pdf")
    assert "代办服务委托单" in text and "LG-2026-031" in text and "刘岗村代办员" in text and "无偿代办" in text
    assert hall.intake_as(AGENT).GetCase(ipb.GetCaseRequest(case_number=number)).consent_ref == "LG-2026-031"


def test_the_village_agent_hands_a_county_matter_to_the_township_agent_who_confirms_it(browser, hall):
    number = hall.cases["handling"]  # MZ-001, decided at the county
    village = signed_in(browser, hall, AGENT_PERSON)
    page = village.get(f"/agent/cases/{number}")
    assert "移交乡级代办员" in page.text and '<option value="agent-zhangqiao">' in page.text
    empty = village.post(f"/agent/cases/{number}/hand-over", data={"csrf": csrf_of(page), "to_agent": "",
                                                                  "note": "户口本原件随件"})
    assert empty.status_code == 400 and 'href="#to_agent"' in empty.text and "户口本原件随件" in empty.text
    done = village.post(f"/agent/cases/{number}/hand-over", data={"csrf": csrf_of(page), "to_agent": "agent-zhangqiao",
                                                                 "note": "户口本原件随件"}, follow_redirects=False)
    assert done.status_code == 303 and "待其确认接收" in village.get(f"/agent/cases/{number}").text

    township = signed_in(browser, hall, TOWNSHIP_PERSON)
    waiting = township.get("/agent")
    assert number in waiting.text and "确认接收移交的办件" in waiting.text
    case = township.get(f"/agent/cases/{number}")
    confirmed = township.post(f"/agent/cases/{number}/confirm", data={"csrf": csrf_of(case)}, follow_redirects=False)
    assert confirmed.status_code == 303
    carried = township.get(f"/agent/cases/{number}")
    assert re.search(r'<dd id="carrier">张桥镇乡级代办员</dd>', carried.text)
    assert "村代办员已移交乡级代办员" in carried.text and "乡级代办员已接收" in carried.text
    assert number not in township.get("/agent?view=waiting").text and number in township.get("/agent?view=open").text
    assert township.get(f"/agent/cases/{hall.cases['owing']}").status_code == 403  # not handed over


def test_the_desk_records_the_agent_who_accompanied_the_applicant_to_an_in_person_item(browser, hall):
    from tests.flow_steps import CATALOGUE
    from tests.web.test_desk import MZ_001, apply, number_of

    clerk = signed_in(browser, hall, ROOM_CLERK)
    wrong = apply(clerk, "MZ-001", MZ_001, accompanied_by=AGENT)  # an agent may carry it: no 带领
    assert wrong.status_code == 400 and 'href="#accompanied_by"' in wrong.text
    materials = [m.code for m in CATALOGUE.item("GA-002").materials]
    answer = apply(clerk, "GA-002", materials, accompanied_by=AGENT)
    number = number_of(answer)
    assert hall.intake_as(ROOM).GetCase(ipb.GetCaseRequest(case_number=number)).accompanied_by == AGENT
    agent = hall.intake_as(AGENT)  # the agent's system token (the person's password changed in the pages)
    listed = {c.summary.case_number: c.role for c in agent.ListAgentCases(ipb.ListAgentCasesRequest()).cases}
    assert listed[number] == "accompanied"


def test_a_village_agents_case_goes_up_through_the_township_agent_and_its_result_comes_back(browser, hall):
    """The whole 代办 story: accepted at the village room with its printed consent, handed over and
    confirmed, decided at the county, the agent told by SMS, the card signed; each hand on the history."""
    from tests.web.test_desk import MZ_001, apply, number_of

    clerk = signed_in(browser, hall, ROOM_CLERK)
    number = number_of(apply(clerk, "MZ-001", MZ_001, proxy="1", agent=AGENT, consent_ref="LG-2026-077"))
    assert "LG-2026-077" in clerk.get(f"/desk/cases/{number}/consent").text
    village = signed_in(browser, hall, AGENT_PERSON)
    page = village.get(f"/agent/cases/{number}")
    village.post(f"/agent/cases/{number}/hand-over", data={"csrf": csrf_of(page), "to_agent": "agent-zhangqiao"})
    township = signed_in(browser, hall, TOWNSHIP_PERSON)
    page = township.get(f"/agent/cases/{number}")
    township.post(f"/agent/cases/{number}/confirm", data={"csrf": csrf_of(page)})
    desk = hall.desk("civil_affairs")
    (task,) = tasks_of(desk, number)
    approve(desk, task.task_id)
    case_status(hall, number, "concluded")
    phone = "0550-6412260"  # 江秀兰's work phone (deploy/staff.yaml)
    told = wait_until(lambda: [text for to, text in hall.sms.sent if to == phone and number in text
                               and "代办件已办结" in text], what="the agent's SMS")
    assert "办结反馈单" in told[0]
    page = village.get(f"/agent/cases/{number}")
    today = dt.datetime.now(CHINA).date().isoformat()
    village.post(f"/agent/cases/{number}/card", data={"csrf": csrf_of(page), "signed_on": today,
                                                      "mark": "signature", "request_id": "story"})
    history = hall.intake_as(ROOM).GetCase(ipb.GetCaseRequest(case_number=number)).history
    hands = [(e.kind, e.by.staff_number) for e in history
             if e.kind in ("received", "handed_over", "handover_confirmed", "concluded", "result_card_signed")]
    assert hands[0] == ("received", ROOM_CLERK) and hands[1:3] == [("handed_over", AGENT_PERSON),
                                                                  ("handover_confirmed", TOWNSHIP_PERSON)]
    assert [k for k, _ in hands[3:]] == ["concluded", "result_card_signed"] and hands[-1][1] == AGENT_PERSON


def test_the_township_sees_its_agents_month_with_those_below_quota_first(browser, hall):
    manager = signed_in(browser, hall, "SX0083")  # 潘春梅, 张桥镇's centre manager
    page = manager.get("/centre/assessment")
    table = re.search(r'<table id="agents">(.*?)</table>', page.text, re.S).group(1)
    rows = re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td>', table)
    names = [name for name, _, _ in rows]
    assert "刘岗村代办员（村委会副主任）" in names and "张桥镇乡级代办员" in names and "炉桥镇乡级代办员" not in names
    liugang = next(r for r in rows if r[0] == "刘岗村代办员（村委会副主任）")
    assert int(liugang[1]) >= 2 and liugang[2] == "2"  # the module's proxy cases accepted this month; its quota
    assert "未完成任务" in table and table.index("未完成任务") < table.index("刘岗村代办员")



# --- in a real browser, last: its sign-in sets the agent a new first password ---------------------------

def test_the_ledger_and_its_403_on_a_phone_pass_axe_under_100_kb(hall, chromium, front):
    from playwright.sync_api import expect

    from tests.e2e.browser import Weighed, check, sign_in_page

    with chromium.new_context(locale="zh-CN", base_url=front, viewport={"width": 360, "height": 740}) as context:
        page = context.new_page()
        sign_in_page(page, hall, AGENT_PERSON)
        expect(page.locator("h1")).to_have_text("代办台账")
        weighed = Weighed(page)
        page.goto("/agent?view=all")
        check(page, "agent ledger", weighed)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.click(f"a[href='/agent/cases/{hall.cases['owing']}']")
        expect(page.locator("h1")).to_contain_text("最低生活保障")
        check(page, "an agent's case")
        page.goto("/agent/carry")
        expect(page.locator("h1")).to_have_text("携带清单")
        check(page, "a village agent's carry list")
        answer = page.goto(f"/agent/cases/{hall.cases['other']}")
        assert answer.status == 403
        check(page, "another agent's case")
