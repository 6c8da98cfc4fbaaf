"""The acceptance desk (受理台) over the real intake API of an in-process hall (PostgreSQL, RabbitMQ):
the item's form in the guide, the clerk's refusal and consultation, what GetCase gives the printed
documents, the desk's own list of cases, and the fee collected once and published once."""
from __future__ import annotations

import uuid

import grpc
import pytest
from onewindow.intake.v1 import intake_pb2 as ipb

from services.grpcutil import field_violations
from services.timesource import SystemTime, local_day
from tests.clients import Desk
from tests.flow_steps import submission
from tests.support import wait_until

CLERK = "SX0008"  # 田萍 at the county acceptance desk (deploy/staff.yaml)
TOWNSHIP_CLERK = "SX0087"  # 董晓东 at 张桥镇's acceptance desk


@pytest.fixture(scope="module")
def clerk(system):
    return system.as_person(system.intake_stub, CLERK)


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def test_the_guide_gives_each_items_form(system):
    item = system.intake_stub.GetItem(ipb.GetItemRequest(code="MZ-006"), timeout=10)
    assert [(f.code, f.label, f.required, f.max_length) for f in item.fields] == [
        ("registration_type", "登记类型（初婚、再婚、复婚）", True, 20), ("man_name", "男方姓名", True, 50),
        ("woman_name", "女方姓名", True, 50)]
    investment = system.intake_stub.GetItem(ipb.GetItemRequest(code="TZ-002"), timeout=10)
    assert [(f.label, f.required, f.max_length) for f in investment.fields] == [
        ("项目名称", False, 200), ("建设地点", False, 200), ("总投资（万元）", False, 20)]
    assert not system.intake_stub.GetItem(ipb.GetItemRequest(code="MZ-001"), timeout=10).fields


def test_the_form_is_checked_field_by_field(clerk):
    request = submission("MZ-006", "county-desk", first_clerk="")
    request.form.update({"man_name": "王小明", "colour": "red"})
    error = _error(lambda: clerk.Submit(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == [("form.colour", "item MZ-006 has no field 'colour'"),
                                       ("form.registration_type", "required"), ("form.woman_name", "required")]
    del request.form["colour"]
    request.form.update({"registration_type": "再婚", "woman_name": "李小红"})
    number = clerk.Submit(request).case_number
    case = clerk.GetCase(ipb.GetCaseRequest(case_number=number))
    assert case.status == "accepted"


def test_the_clerk_refuses_with_reasons_or_records_a_consultation(clerk):
    refusal = submission("MZ-001", "county-desk", first_clerk="", missing=("id_card",))
    refusal.refusal_reasons.extend(["申请人家庭收入超过当地低保标准", "所附收入证明与申报不符"])
    refused = clerk.Submit(refusal)
    assert (refused.status, refused.kind, list(refused.reasons)) == \
        (ipb.NOT_ACCEPTED, ipb.RETURNED, ["申请人家庭收入超过当地低保标准", "所附收入证明与申报不符"])
    assert clerk.Submit(refusal) == refused  # the same request again
    case = clerk.GetCase(ipb.GetCaseRequest(case_number=refused.case_number))
    assert list(case.reasons) == list(refused.reasons) and case.archived  # for the 不予受理告知书

    asked = submission("MZ-001", "county-desk", first_clerk="", consultation=True)
    consulted = clerk.Submit(asked)
    assert consulted.status == ipb.CONSULTED and not consulted.case_number
    assert clerk.Submit(asked) == consulted

    both = submission("MZ-001", "county-desk", first_clerk="", consultation=True)
    both.refusal_reasons.append("不符合条件")
    error = _error(lambda: clerk.Submit(both))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and [f for f, _ in field_violations(error)] == [
        "consultation"]


def test_get_case_gives_what_the_printed_documents_need(system, clerk):
    promised = clerk.Submit(submission("MZ-003", "county-desk", first_clerk="", missing=("disability_cert",),
                                       commitment_signed=True))
    assert promised.status == ipb.ACCEPTED_WITH_COMMITMENT  # 容缺承诺书
    case = clerk.GetCase(ipb.GetCaseRequest(case_number=promised.case_number))
    assert (case.window, case.window_phone) == ("县行政服务中心咨询受理部", "0550-6010000")  # the centre's phone
    assert (case.first_clerk, case.agent, case.consent_ref, case.project_code) == (CLERK, "", "", "")
    assert case.commitment_deadline == promised.commitment_deadline != ""
    assert [(n.material_code, n.problem) for n in case.one_time_notice] == [("disability_cert", "missing")]
    assert list(case.promised_materials) == ["disability_cert"]
    assert [m.code for m in case.materials] == ["application", "id_card", "household_register", "village_opinion"]
    assert (case.fee_yuan, case.fee_basis, case.fee_collected_yuan) == ("0", "", "")
    assert not case.reasons

    request = submission("MZ-001", "county-desk", first_clerk="", missing=("consent_check",))  # 一次性告知书
    request.materials[1].defect = "复印件不清晰"
    noticed = clerk.GetCase(ipb.GetCaseRequest(case_number=clerk.Submit(request).case_number))
    assert [(n.material_code, n.material_name, n.problem) for n in noticed.one_time_notice] == [
        ("id_card", "家庭成员居民身份证", "复印件不清晰"), ("consent_check", "家庭经济状况核对授权书", "missing")]
    assert [(m.code, m.defect) for m in noticed.materials] == [
        ("application", ""), ("id_card", "复印件不清晰"), ("household_register", ""), ("income_statement", ""),
        ("sickness_or_disability_proof", "")]
    assert not noticed.promised_materials and not noticed.commitment_deadline

    project = submission("TZ-002", "county-window-development-reform")  # by the window's own system
    window = system.intake_as("county-window-development-reform")
    case = window.GetCase(ipb.GetCaseRequest(case_number=window.Submit(project).case_number))
    assert (case.project_code, case.first_clerk) == (project.project_code, "clerk-01")
    assert case.window == "发改局窗口（投资项目并联审批窗口）"


def test_a_proxy_case_shows_its_agent_and_consent(system):
    request = submission("MZ-001", "zhangqiao-liugang-room", channel=ipb.PROXY_AGENT,
                         agent="agent-zhangqiao-liugang", consent_ref="WT-2026-0099")
    agent = system.intake_as("agent-zhangqiao-liugang")
    number = agent.Submit(request).case_number
    case = agent.GetCase(ipb.GetCaseRequest(case_number=number))
    assert (case.agent, case.consent_ref) == ("agent-zhangqiao-liugang", "WT-2026-0099")
    assert case.window == "刘岗村便民服务受理室"
    assert [c.case_number for c in agent.ListCases(ipb.ListCasesRequest()).cases] == [number]


def test_the_desk_lists_its_cases_of_the_day_and_those_waiting_page_by_page(system):
    desk = system.as_person(system.intake_stub, TOWNSHIP_CLERK)
    today = str(local_day(SystemTime().now()))
    numbers = [desk.Submit(submission("MZ-001", "zhangqiao-desk", first_clerk="")).case_number for _ in range(4)]
    noticed = desk.Submit(submission("MZ-001", "zhangqiao-desk", first_clerk="", missing=("application",)))
    numbers.append(noticed.case_number)
    system.intake.Submit(submission("MZ-001", "county-desk"))  # another desk's

    seen, token = [], ""
    while True:
        page = desk.ListCases(ipb.ListCasesRequest(accepted_on=today, page_size=2, page_token=token))
        assert page.HasField("total") and page.total == 5
        seen += [c.case_number for c in page.cases]
        token = page.next_page_token
        if not token:
            break
    assert seen == numbers[::-1]
    every_day = desk.ListCases(ipb.ListCasesRequest())
    assert [c.case_number for c in every_day.cases] == seen and not every_day.HasField("total")

    waiting = desk.ListCases(ipb.ListCasesRequest(waiting=True))
    (row,) = waiting.cases
    assert (row.case_number, row.status, waiting.total) == (noticed.case_number, "supplement_required", 1)
    assert [(m.code, m.name, m.owed_for) for m in row.owed] == [("application", "最低生活保障申请书",
                                                                  "one_time_notice")]
    assert row.applicant_name == "王小明" and "*" in row.id_number and "*" in row.phone
    assert row.first_clerk == TOWNSHIP_CLERK and row.item_name == "城市居民最低生活保障审批"
    # a view of personal data: each list is in the audit log with the person who read it
    assert system.sql("intake", "SELECT count(*) FROM audit_log WHERE action = 'intake.ListCases' AND person = %s "
                                "AND result = 'OK'", [TOWNSHIP_CLERK])[0][0] >= 5

    error = _error(lambda: desk.ListCases(ipb.ListCasesRequest(accepted_on="明天", page_size=500,
                                                               page_token="not-a-token")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(error)] == ["accepted_on", "page_size", "page_token"]
    for reader in (system.intake_as("supervision"), Desk(system.intake_stub, system.tokens["civil_affairs"])):
        assert _error(lambda: reader.ListCases(ipb.ListCasesRequest())).code() == grpc.StatusCode.PERMISSION_DENIED


def _fee(number: str, amount: str = "20", receipt: str = "皖财通 No.0001", reason: str = "",
         request_id: str | None = None) -> ipb.RecordFeeRequest:
    return ipb.RecordFeeRequest(request_id=uuid.uuid4().hex if request_id is None else request_id,
                                case_number=number, amount_yuan=amount, receipt_number=receipt,
                                reduction_reason=reason)


def test_the_fee_is_collected_once_and_its_event_sent_once(system, clerk):
    number = clerk.Submit(submission("GA-001", "county-desk", first_clerk="")).case_number
    request = _fee(number, "10", reason="特困供养人员减半")
    case = clerk.RecordFee(request)
    assert (case.fee_yuan, case.fee_collected_yuan, case.fee_receipt_number, case.fee_reduction_reason) == \
        ("20", "10", "皖财通 No.0001", "特困供养人员减半")
    assert case.fee_collected_on == str(local_day(SystemTime().now())) and "2322号" in case.fee_basis
    entry = case.history[-1]
    assert (entry.kind, entry.by.staff_number, entry.by.name) == ("fee_collected", CLERK, "田萍")
    assert clerk.RecordFee(request) == case  # the same request again: the same answer
    assert clerk.GetCase(ipb.GetCaseRequest(case_number=number)) == case

    again = _error(lambda: clerk.RecordFee(_fee(number)))  # 一次性收费: a second fee is refused
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION and "already collected" in again.details()

    def sent():
        rows = system.sql("intake", "SELECT envelope->'payload', published_at FROM outbox "
                                    "WHERE event_type = 'FeeCollected' AND envelope->>'case_number' = %s", [number])
        return rows if all(published for _, published in rows) else None
    ((payload, _),) = wait_until(sent, what="FeeCollected published by the outbox relay")
    assert payload | {"by": None} == {"item_code": "GA-001", "organisation": "county-desk", "amount_fen": 1000,
                                      "receipt_number": "皖财通 No.0001", "collected_on": case.fee_collected_on,
                                      "by": None}
    assert payload["by"]["person"] == CLERK


def test_a_fee_is_refused_to_agents_other_desks_free_items_and_bad_amounts(system, clerk):
    number = clerk.Submit(submission("GA-001", "county-desk", first_clerk="")).case_number
    free = clerk.Submit(submission("MZ-001", "county-desk", first_clerk="")).case_number
    township = system.as_person(system.intake_stub, TOWNSHIP_CLERK)
    for caller in (township, system.intake_as("agent-zhangqiao-liugang")):
        assert _error(lambda: caller.RecordFee(_fee(number))).code() == grpc.StatusCode.PERMISSION_DENIED
    error = _error(lambda: clerk.RecordFee(_fee(free)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "this item is free" in error.details()
    error = _error(lambda: clerk.RecordFee(_fee(number, "12.345", receipt="", request_id="")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(error)] == ["request_id", "amount_yuan", "receipt_number"]
    error = _error(lambda: clerk.RecordFee(_fee(number, "15")))
    assert field_violations(error) == [("reduction_reason", "required: less than the item's fee of 20 yuan (减免)")]
    assert _error(lambda: clerk.RecordFee(_fee("202601010009999"))).code() == grpc.StatusCode.NOT_FOUND
    assert system.sql("intake", "SELECT fee_request_id FROM cases WHERE case_number = %s", [number]) == [(None,)]
