"""The 代办制's quotas and checks through the supervision gRPC API of an in-process hall: a proxy case of
刘岗村's agent reaches supervision; the township's manager reads its agents (another township's manager is
refused), draws and records a 抽查; the office registers a fee complaint against the agent, chooses 回访 by
its criteria and records the call; each field error names its field."""
from __future__ import annotations

import uuid

import grpc
import pytest
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb

from services.grpcutil import field_violations
from tests.clients import Desk
from tests.flow.test_access import AGENT, AGENT_ROOM, holder_of
from tests.flow_steps import concluded_case, submission
from tests.support import wait_until


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def _as(system, post: str, organisation: str) -> Desk:
    return Desk(system._supervision, system.sign_in(*holder_of(post, organisation)))


def test_quotas_spot_checks_fee_complaints_and_follow_ups_through_the_api(system):
    receipt = system.intake_as(AGENT).Submit(submission("MZ-001", AGENT_ROOM, channel=ipb.PROXY_AGENT, agent=AGENT,
                                                        consent_ref="WT-2026-0077"), timeout=10)
    number = receipt.case_number
    concluded = concluded_case(system)
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM cases WHERE case_number = %s", [number]),
               what="the proxy case in supervision")
    month = receipt.accepted_on[:7]
    manager = _as(system, "centre_manager", "zhangqiao-centre")
    other = _as(system, "centre_manager", "luqiao-centre")
    office = system.supervision()

    fee = office.Complain(spb.ComplainRequest(request_id=uuid.uuid4().hex, channel=spb.PHONE, case_number=number,
                                              text="代办员收取了代办费", kind=spb.AGENT_FEE))
    assert (fee.kind, fee.agent, fee.department) == (spb.AGENT_FEE, AGENT, "civil_affairs")
    wrong = _error(lambda: office.Complain(spb.ComplainRequest(
        request_id=uuid.uuid4().hex, channel=spb.PHONE, case_number=concluded, text="收费", kind=spb.AGENT_FEE)))
    assert wrong.code() == grpc.StatusCode.INVALID_ARGUMENT and [f for f, _ in field_violations(wrong)] == ["agent"]

    quotas = manager.GetAgentQuotas(spb.GetAgentQuotasRequest(month=month))
    mine = {a.figures.agent: a for a in quotas.agents}
    assert quotas.township == "zhangqiao-centre" and not quotas.ended and list(quotas.below_quota) == []
    assert set(mine) >= {AGENT, "agent-zhangqiao", "agent-zhangqiao-liugang-g1"} and "agent-luqiao" not in mine
    assert (mine[AGENT].figures.cases, mine[AGENT].figures.quota, mine[AGENT].tier, mine[AGENT].fee_complaints) == (
        1, 2, "village", 1)
    assert mine["agent-zhangqiao-liugang-g1"].tier == "group" and mine["agent-zhangqiao-liugang-g1"].figures.quota == 1
    denied = _error(lambda: other.GetAgentQuotas(spb.GetAgentQuotasRequest(month=month, township="zhangqiao-centre")))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    unnamed = _error(lambda: office.GetAgentQuotas(spb.GetAgentQuotasRequest(month="2026-13")))
    assert {f for f, _ in field_violations(unnamed)} == {"month"}
    assert office.GetAgentQuotas(spb.GetAgentQuotasRequest(month=month, township="zhangqiao-centre")).agents

    draw = manager.DrawSpotChecks(spb.DrawSpotChecksRequest(request_id="draw-1", month=month, count=3))
    assert draw.pool == 1 and [c.case_number for c in draw.checks] == [number] and draw.drawn_by.person == "SX0083"
    bad = _error(lambda: manager.RecordSpotCheck(spb.RecordSpotCheckRequest(check_id=draw.checks[0].id,
                                                                            finding=spb.NOT_CARRIED_OUT)))
    assert {f for f, _ in field_violations(bad)} == {"note"}
    done = manager.RecordSpotCheck(spb.RecordSpotCheckRequest(check_id=draw.checks[0].id, finding=spb.CARRIED_OUT,
                                                              note="电话核实，群众已收到受理回执"))
    assert done.finding == spb.CARRIED_OUT and done.checked_by.person == "SX0083"
    (listed,) = office.ListSpotChecks(spb.ListSpotChecksRequest(month=month, township="zhangqiao-centre")).draws
    assert listed.id == draw.id and listed.checks[0].note == "电话核实，群众已收到受理回执"
    assert _error(lambda: office.DrawSpotChecks(spb.DrawSpotChecksRequest(request_id="draw-2", month=month))) \
        .code() == grpc.StatusCode.PERMISSION_DENIED  # the township draws, the office reads

    criteria = spb.FollowUpCriteria(period=spb.Period(month=month), departments=["civil_affairs"])
    suggestion = office.SuggestFollowUps(spb.SuggestFollowUpsRequest(criteria=criteria))
    assert suggestion.matched >= 1 and suggestion.wanted >= 1 and "share 0.35" in suggestion.criteria
    assert _error(lambda: office.SuggestFollowUps(spb.SuggestFollowUpsRequest(criteria=spb.FollowUpCriteria(
        period=spb.Period(month=month), items=["NO-SUCH"])))).code() == grpc.StatusCode.INVALID_ARGUMENT
    (call,) = office.SelectFollowUps(spb.SelectFollowUpsRequest(case_numbers=[concluded],
                                                                criteria=suggestion.criteria)).calls
    recorded = office.RecordFollowUpCall(spb.RecordFollowUpCallRequest(call_id=call.id, outcome="群众对办理结果满意"))
    assert recorded.called_on and recorded.called_by.holder == "supervision" and recorded.case_number == concluded
    assert _error(lambda: office.RecordFollowUpCall(spb.RecordFollowUpCallRequest(call_id=call.id, outcome="x"))) \
        .code() == grpc.StatusCode.FAILED_PRECONDITION
    assert call.id not in [c.id for c in office.ListFollowUpCalls(spb.ListFollowUpCallsRequest(open_only=True)).calls]
    assert _error(lambda: manager.SelectFollowUps(spb.SelectFollowUpsRequest(case_numbers=[concluded]))).code() \
        == grpc.StatusCode.PERMISSION_DENIED
