"""Posts at work on the real services (one in-process hall, its gRPC APIs, the real PostgreSQL): new
work goes to A, to B while A is away, to the pool when both are, where the centre manager is warned
and moves it; a decision signed off by approver and checker; every act names its person."""
from __future__ import annotations

import datetime as dt

import grpc
import pytest
from onewindow.desk.v1 import desk_pb2 as dpb

from services.grpcutil import field_violations
from services.timesource import CHINA
from tests.flow_steps import case_status, submission, tasks_of
from tests.support import wait_until

WINDOW = "county-window-planning-construction"  # GH-001 is decided here, signed off by approver and checker
HANDLER_POST = f"{WINDOW}/handler/1"
A, B = "SX0042", "SX0041"  # 徐晓丽 holds the handler post as A, 周鹏 as B
APPROVER, CHECKER, MANAGER = "SX0043", "SX0044", "SX0001"  # 张敏 manages the county centre
TOWNSHIP_MANAGER = "SX0083"  # 潘春梅 manages 张桥镇's centre


def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def _later(hours: int) -> str:
    return (dt.datetime.now(CHINA) + dt.timedelta(hours=hours)).isoformat(timespec="minutes")


@pytest.fixture(scope="module")
def people(system):
    """The desk as each person of the window and its centre's manager calls it."""
    desk = system.desk_stub
    return {"A": system.as_person(desk, A, HANDLER_POST), "B": system.as_person(desk, B, HANDLER_POST),
            "approver": system.as_person(desk, APPROVER), "checker": system.as_person(desk, CHECKER),
            "manager": system.as_person(desk, MANAGER)}


def _new_task(system):
    receipt = system.intake.Submit(submission("GH-001", "county-desk"), timeout=10)
    (task,) = tasks_of(system.desk("planning_construction"), receipt.case_number)
    return task


def test_new_work_follows_a_and_b_and_waits_in_the_pool_for_the_manager(system, people):
    assert _new_task(system).holder == A

    away = people["A"].SetAway(dpb.SetAwayRequest(back_at=_later(4), note="下乡踏勘"))
    assert (away.staff_number, away.set_by.staff_number) == (A, A)
    covered = _new_task(system)
    assert (covered.holder, covered.holder_name, covered.post) == (B, "周鹏", HANDLER_POST)
    mine = people["B"].ListTasks(dpb.ListTasksRequest(mine=True)).tasks
    assert covered.task_id in [t.task_id for t in mine]

    people["A"].ClearAway(dpb.ClearAwayRequest())  # back: new work is A's again, B keeps what B took
    assert _new_task(system).holder == A
    assert people["B"].ListTasks(dpb.ListTasksRequest(mine=True, case_number=covered.case_number)).tasks[0].holder == B

    # the manager marks both absent: the next task waits in the pool, and the manager is warned
    for staff in (A, B):
        people["manager"].SetAway(dpb.SetAwayRequest(staff_number=staff, back_at=_later(8), note="参加培训"))
    listed = people["manager"].ListAway(dpb.ListAwayRequest()).notices
    assert {(n.staff_number, n.set_by.staff_number) for n in listed} >= {(A, MANAGER), (B, MANAGER)}
    pooled = _new_task(system)
    assert pooled.holder == "" and pooled.post == HANDLER_POST
    assert pooled.task_id in [t.task_id for t in people["manager"].ListPool(dpb.ListPoolRequest()).tasks]
    warned = system.sql("approval", "SELECT envelope->'payload'->>'centre' FROM outbox "
                                    "WHERE event_type = 'TaskPooled' AND envelope->>'case_number' = %s",
                        [pooled.case_number])
    assert warned == [("county-centre",)]

    # only the manager of a centre over the window moves its tasks, only to a holder of its handler post
    with pytest.raises(grpc.RpcError) as info:
        people["manager"].MoveTasks(dpb.MoveTasksRequest(task_ids=[pooled.task_id], to_staff_number=APPROVER,
                                                         reason="长期外出"))
    assert [f for f, _ in field_violations(info.value)] == ["to_staff_number"]
    township = system.as_person(system.desk_stub, TOWNSHIP_MANAGER)
    assert _code(lambda: township.MoveTasks(dpb.MoveTasksRequest(
        task_ids=[pooled.task_id], to_staff_number=B, reason="x"))) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: people["B"].MoveTasks(dpb.MoveTasksRequest(
        task_ids=[pooled.task_id], to_staff_number=B, reason="x"))) == grpc.StatusCode.PERMISSION_DENIED
    (moved,) = people["manager"].MoveTasks(dpb.MoveTasksRequest(task_ids=[pooled.task_id], to_staff_number=B,
                                                                 reason="两岗均外出培训，交周鹏先办")).tasks
    assert moved.holder == B
    assert pooled.task_id not in [t.task_id for t in people["manager"].ListPool(dpb.ListPoolRequest()).tasks]
    for staff in (A, B):
        people["manager"].ClearAway(dpb.ClearAwayRequest(staff_number=staff))
    # a person sets only their own notice
    assert _code(lambda: people["B"].SetAway(dpb.SetAwayRequest(staff_number=A, back_at=_later(2), note="x"))) \
        == grpc.StatusCode.PERMISSION_DENIED


def test_a_decision_passes_approver_and_checker_and_the_history_names_each_person(system, people):
    task = _new_task(system)
    decide = dpb.DecideRequest(task_id=task.task_id, decision=dpb.APPROVE, opinion="符合控制性详细规划，拟同意",
                               legal_basis="《中华人民共和国城乡规划法》第四十条")
    assert people["A"].Claim(dpb.TaskRef(task_id=task.task_id)).status == dpb.CLAIMED
    proposed = people["A"].Decide(decide)
    assert proposed.task.status == dpb.CLAIMED and proposed.task.proposal.awaiting == "approver"
    assert not proposed.case_concluded
    waiting = people["approver"].ListTasks(dpb.ListTasksRequest(awaiting_sign_off=True)).tasks
    assert task.task_id in [t.task_id for t in waiting]
    # the checker's turn comes after the approver's; a handler signs nothing
    assert _code(lambda: people["checker"].SignOff(dpb.SignOffRequest(task_id=task.task_id, agree=True))) \
        == grpc.StatusCode.FAILED_PRECONDITION
    assert _code(lambda: people["B"].SignOff(dpb.SignOffRequest(task_id=task.task_id, agree=True))) \
        == grpc.StatusCode.PERMISSION_DENIED
    signed = people["approver"].SignOff(dpb.SignOffRequest(task_id=task.task_id, agree=True, opinion="同意"))
    assert signed.task.proposal.awaiting == "checker" and not signed.case_concluded
    done = people["checker"].SignOff(dpb.SignOffRequest(task_id=task.task_id, agree=True))
    assert done.case_concluded and done.task.status == dpb.DECIDED
    assert done.task.decided_by.staff_number == A
    assert [(s.staff_number, s.step) for s in done.task.signed_off] == [(APPROVER, "approver"), (CHECKER, "checker")]

    case = case_status(system, task.case_number, "concluded")
    persons = {h.kind: h.actor for h in case.history}
    assert A in persons["task_claimed"] and A in persons["decision_proposed"]
    assert APPROVER in [h.actor for h in case.history if h.kind == "decision_signed"][0]


def test_a_departments_system_names_its_signers_or_is_refused(system):
    task = _new_task(system)
    desk = system.desk("planning_construction")
    decide = dpb.DecideRequest(task_id=task.task_id, decision=dpb.REJECT, opinion="不符合规划条件",
                               legal_basis="《中华人民共和国城乡规划法》第四十条")
    for signers, field in (([], "signed_off"), ([CHECKER, APPROVER], "signed_off[0]"),
                           ([APPROVER, APPROVER], "signed_off[1]")):
        with pytest.raises(grpc.RpcError) as info:
            desk.Decide(dpb.DecideRequest(task_id=task.task_id, decision=dpb.REJECT, opinion="x", legal_basis="y",
                                          signed_off=signers))
        assert field in [f for f, _ in field_violations(info.value)], signers
    decide.signed_off.extend([APPROVER, CHECKER])
    done = desk.Decide(decide)
    assert done.case_concluded and done.result == "rejected"
    assert [s.name for s in done.task.signed_off] == ["姚卫东", "戴俊杰"]
    assert done.task.decided_by.holder == "planning_construction" and not done.task.decided_by.staff_number
    wait_until(lambda: case_status(system, task.case_number, "concluded"), what="concluded")
