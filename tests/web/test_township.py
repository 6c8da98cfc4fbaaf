"""The 代办制's quotas and checks over an in-process hall: through the supervision gRPC API (a fee complaint names
the agent, a township's agents read by the office and refused to another township's manager, each wrong field
named, the 回访 suggested, chosen and called once); on the web (web_front/township.py), the township centre's
manager reads the agents' month, draws a 抽查 and records a finding, each wrong field named and its value kept;
the supervision office chooses 回访 from the system's suggestion and records a call; the township page on a 360 px
phone screen in a real browser passes axe-core and stays under the page budget, and so does the office's 回访."""
from __future__ import annotations

import re
import uuid

import grpc
import pytest
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.testclient import TestClient

from services.grpcutil import field_violations
from tests.clients import Desk
from tests.conftest import in_process_hall
from tests.flow.test_access import AGENT, AGENT_ROOM, holder_of
from tests.flow_steps import approve, submission, tasks_of
from tests.web.test_pages import PROXY, csrf_of
from tests.web.test_work import new_case, signed_in
from web_front.run import application

MANAGER, OFFICER = "SX0083", "SX0004"  # 张桥镇's centre manager; the supervision office


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    with in_process_hall(tmp_path_factory.mktemp("township"), web_trusted_proxies=PROXY) as running:
        yield running


@pytest.fixture(scope="module")
def browser(hall):
    with TestClient(application(hall.settings), base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}",
                             "X-Forwarded-Proto": "https"}) as client:
        yield client


@pytest.fixture(scope="module")
def proxy_case(hall) -> str:
    number = hall.intake_as(AGENT).Submit(submission("MZ-001", AGENT_ROOM, channel=ipb.PROXY_AGENT, agent=AGENT,
                                                     consent_ref="WT-2026-0101"), timeout=10).case_number
    hall.system.drain()
    return number


@pytest.fixture(scope="module")
def concluded(hall, proxy_case) -> list[str]:
    """Two cases of the county's civil affairs window and the proxy case, decided and concluded."""
    numbers, desk = [new_case(hall) for _ in range(2)], hall.desk("civil_affairs")
    for number in [*numbers, proxy_case]:
        (task,) = tasks_of(desk, number)
        approve(desk, task.task_id)
    hall.system.drain()
    return [*numbers, proxy_case]


@pytest.fixture(scope="module")
def manager(browser, hall):
    """张桥镇's centre manager, signed in once for the module (a sign-in costs Argon2 hashes)."""
    return signed_in(browser, hall, MANAGER)


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def test_the_api_scopes_the_township_names_the_fee_taker_and_records_follow_ups(hall, proxy_case, concluded):
    office, month = hall.supervision(), hall.sql("supervision", "SELECT to_char(accepted_on, 'YYYY-MM') FROM cases "
                                                               "WHERE case_number = %s", [proxy_case])[0][0]
    fee = office.Complain(spb.ComplainRequest(request_id=uuid.uuid4().hex, channel=spb.PHONE, case_number=proxy_case,
                                              text="代办员收取了代办费", kind=spb.AGENT_FEE))
    assert (fee.kind, fee.agent, fee.department) == (spb.AGENT_FEE, AGENT, "civil_affairs")
    wrong = _error(lambda: office.Complain(spb.ComplainRequest(
        request_id=uuid.uuid4().hex, channel=spb.PHONE, case_number=concluded[0], text="收费", kind=spb.AGENT_FEE)))
    assert wrong.code() == grpc.StatusCode.INVALID_ARGUMENT and [f for f, _ in field_violations(wrong)] == ["agent"]

    quotas = office.GetAgentQuotas(spb.GetAgentQuotasRequest(month=month, township="zhangqiao-centre"))
    mine = {a.figures.agent: a for a in quotas.agents}
    assert set(mine) >= {AGENT, "agent-zhangqiao", "agent-zhangqiao-liugang-g1"} and "agent-luqiao" not in mine
    assert (mine[AGENT].figures.cases, mine[AGENT].figures.quota, mine[AGENT].tier, mine[AGENT].fee_complaints) == (
        1, 2, "village", 1)
    assert mine["agent-zhangqiao-liugang-g1"].tier == "group" and not quotas.ended and not quotas.below_quota
    assert {f for f, _ in field_violations(_error(lambda: office.GetAgentQuotas(spb.GetAgentQuotasRequest(
        month="2026-13", township="zhangqiao-centre"))))} == {"month"}
    other = Desk(hall._supervision, hall.sign_in(*holder_of("centre_manager", "luqiao-centre")))
    assert _error(lambda: other.GetAgentQuotas(spb.GetAgentQuotasRequest(month=month, township="zhangqiao-centre"))) \
        .code() == grpc.StatusCode.PERMISSION_DENIED
    assert _error(lambda: office.DrawSpotChecks(spb.DrawSpotChecksRequest(request_id="draw-2", month=month))) \
        .code() == grpc.StatusCode.PERMISSION_DENIED  # the township draws, the office reads

    criteria = spb.FollowUpCriteria(period=spb.Period(month=month), departments=["civil_affairs"])
    suggestion = office.SuggestFollowUps(spb.SuggestFollowUpsRequest(criteria=criteria))
    assert suggestion.matched >= 2 and suggestion.wanted >= 1 and "share 0.35" in suggestion.criteria
    assert _error(lambda: office.SuggestFollowUps(spb.SuggestFollowUpsRequest(criteria=spb.FollowUpCriteria(
        period=spb.Period(month=month), items=["NO-SUCH"])))).code() == grpc.StatusCode.INVALID_ARGUMENT
    (call,) = office.SelectFollowUps(spb.SelectFollowUpsRequest(case_numbers=[concluded[1]],
                                                                criteria=suggestion.criteria)).calls
    recorded = office.RecordFollowUpCall(spb.RecordFollowUpCallRequest(call_id=call.id, outcome="群众对办理结果满意"))
    assert recorded.called_on and recorded.called_by.holder == "supervision" and recorded.case_number == concluded[1]
    assert _error(lambda: office.RecordFollowUpCall(spb.RecordFollowUpCallRequest(call_id=call.id, outcome="x"))) \
        .code() == grpc.StatusCode.FAILED_PRECONDITION
    assert call.id not in [c.id for c in office.ListFollowUpCalls(spb.ListFollowUpCallsRequest(open_only=True)).calls]


def test_the_township_draws_a_spot_check_and_records_its_finding(manager, hall, proxy_case):
    page = manager.get("/township")
    assert page.status_code == 200 and "刘岗村代办员（村委会副主任）" in page.text
    assert "炉桥镇乡级代办员" not in page.text  # another township's
    assert "组级" in page.text and "本月尚未结束" in page.text  # the group agent; the below-quota list at month end
    month = re.search(r'name="month" value="(\d{4}-\d{2})"', page.text).group(1)
    request_id = re.search(r'name="request_id" value="([0-9a-f]{32})"', page.text).group(1)
    wrong = manager.post("/township/draw", data={"csrf": csrf_of(page), "month": month, "count": "99",
                                                 "request_id": request_id})
    assert wrong.status_code == 400 and 'href="#count"' in wrong.text and 'value="99"' in wrong.text
    assert not hall.sql("supervision", "SELECT 1 FROM spot_check_draws")  # nothing written
    drawn = manager.post("/township/draw", data={"csrf": csrf_of(page), "month": month, "count": "2",
                                                 "request_id": request_id})
    assert drawn.status_code == 200 and "已抽取" in drawn.text and proxy_case in drawn.text
    (check_id,) = hall.sql("supervision", "SELECT id FROM spot_checks WHERE case_number = %s", [proxy_case])[0]
    unfound = manager.post(f"/township/checks/{check_id}", data={"csrf": csrf_of(drawn), "month": month,
                                                                "finding": "not_carried_out", "note": ""})
    assert unfound.status_code == 400 and f'href="#note-{check_id}"' in unfound.text
    assert 'value="not_carried_out" checked' in unfound.text  # the choice kept
    done = manager.post(f"/township/checks/{check_id}", data={"csrf": csrf_of(drawn), "month": month,
                                                             "finding": "carried_out", "note": "电话核实"})
    assert done.status_code == 200 and "核查结果已记录" in done.text and "已落实" in done.text
    assert hall.sql("supervision", "SELECT finding, checked_by->>'person' FROM spot_checks WHERE id = %s",
                    [check_id]) == [("carried_out", MANAGER)]
    assert manager.get("/office/follow-ups").status_code == 403  # the office's


def test_the_office_chooses_follow_up_calls_and_records_one(browser, hall, concluded):
    number = concluded[0]
    officer = signed_in(browser, hall, OFFICER)
    page = officer.get("/office/follow-ups?share=100")
    assert page.status_code == 200 and f'value="{number}" checked' in page.text
    wrong = officer.post("/office/follow-ups/select", data={"csrf": csrf_of(page), "back": "share=100"})
    assert wrong.status_code == 400 and 'href="#case_numbers"' in wrong.text
    proxy = concluded[2]
    chosen = officer.post("/office/follow-ups/select", data={"csrf": csrf_of(page), "back": "share=100",
                                                             "case_numbers": [number, proxy], "criteria": "测试"})
    assert chosen.status_code == 200 and "已选定回访的办件" in chosen.text
    calls = dict(hall.sql("supervision", "SELECT case_number, id FROM follow_up_calls WHERE case_number = ANY(%s)",
                          [[number, proxy]]))
    blank = officer.post(f"/office/follow-ups/{calls[number]}", data={"csrf": csrf_of(chosen), "outcome": " "})
    assert blank.status_code == 400 and f'href="#outcome-{calls[number]}"' in blank.text
    assert f'id="agent_fee-{calls[proxy]}"' in chosen.text and f'id="agent_fee-{calls[number]}"' not in chosen.text
    called = officer.post(f"/office/follow-ups/{calls[number]}", data={"csrf": csrf_of(chosen), "outcome": "群众满意"})
    assert called.status_code == 200 and "回访已记录" in called.text
    fee = officer.post(f"/office/follow-ups/{calls[proxy]}", data={"csrf": csrf_of(chosen), "outcome": "代办员收了钱",
                                                                   "agent_fee": "1"})
    assert fee.status_code == 200 and "回访已记录" in fee.text
    assert hall.sql("supervision", "SELECT case_number, outcome, called_by->>'person' FROM follow_up_calls "
                                   "WHERE called_on IS NOT NULL AND case_number = ANY(%s) ORDER BY id",
                    [[number, proxy]]) == [(number, "群众满意", OFFICER), (proxy, "代办员收了钱", OFFICER)]
    assert hall.sql("supervision", "SELECT agent FROM complaints WHERE request_id = %s",
                    [f"follow-up-call-{calls[proxy]}"]) == [(AGENT,)]


# --- in a real browser ---------------------------------------------------------------------------

def test_the_township_page_on_a_phone_passes_axe_within_the_budget(hall, chromium, front, proxy_case,
                                                                      concluded):
    from playwright.sync_api import expect

    from tests.e2e.browser import PAGE_BUDGET, Weighed, check, sign_in_page

    with chromium.new_context(locale="zh-CN", base_url=front, viewport={"width": 360, "height": 740}) as context:
        page = context.new_page()
        sign_in_page(page, hall, MANAGER)
        weighed = Weighed(page)
        page.goto("/township")
        page.wait_for_load_state("load")
        assert weighed.total < PAGE_BUDGET, weighed.total
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.fill("#count", "0")
        page.click("form[action='/township/draw'] button[type=submit]")
        expect(page.locator("#error-summary")).to_be_focused()
        check(page, "township draw with errors")
        page.fill("#count", "1")
        page.click("form[action='/township/draw'] button[type=submit]")
        expect(page.locator("[role=status]")).to_contain_text("已抽取")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        check(page, "township with a draw to check")
        with chromium.new_context(locale="zh-CN", base_url=front, viewport={"width": 360, "height": 740}) as office:
            page = office.new_page()
            sign_in_page(page, hall, OFFICER)
            page.goto("/office/follow-ups?share=100")  # the suggestion, and the calls left to make
            check(page, "follow-ups")
