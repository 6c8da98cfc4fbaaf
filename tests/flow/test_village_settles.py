"""What the village settles itself (issue 19, part 10), the done-when story over the gRPC APIs of an
in-process hall: a village room's cadre accepts a village committee's certificate (村委会证明) and decides
it on the spot, recorded, timed and rated like any case; a township desk's case cites it by its number
as its material and is accepted."""
from __future__ import annotations

import uuid

import grpc
import pytest
from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb

from services.grpcutil import field_violations
from tests.clients import Desk
from tests.flow_steps import case_status, submission, tasks_of
from tests.support import wait_until

ROOM, TOWNSHIP_DESK = "zhangqiao-liugang-room", "zhangqiao-desk"
CADRE, OTHER_ROOMS_CADRE, TOWNSHIP_CLERK = "SX0118", "SX0121", "SX0087"  # deploy/staff.yaml
FORM = {"matter": "婚育情况：已婚，育有一孩", "purpose": "办理《流动人口婚育证明》"}


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def test_a_village_room_issues_a_certificate_on_the_spot_and_a_township_case_accepts_it(system):
    cadre = system.sign_in(CADRE)
    room_intake, room_desk = Desk(system.intake_stub, cadre), Desk(system.desk_stub, cadre)

    request = submission("CW-001", ROOM, channel=ipb.VILLAGE_ROOM, first_clerk="")
    request.form.update(FORM)
    receipt = room_intake.Submit(request)
    assert (receipt.status, receipt.kind) == (ipb.ACCEPTED, ipb.IMMEDIATE)
    assert receipt.promised_deadline == receipt.accepted_on  # 即办件: the same day
    number = receipt.case_number

    # the room's village committee decides it at the room: its cadres hold the task, nobody else's room does
    (task,) = tasks_of(room_desk, number)
    assert (task.department, task.organisation, task.holder) == ("village_committee", ROOM, CADRE)
    other = Desk(system.desk_stub, system.sign_in(OTHER_ROOMS_CADRE))
    assert not other.ListTasks(dpb.ListTasksRequest(case_number=number)).tasks
    refused = _error(lambda: other.Decide(dpb.DecideRequest(task_id=task.task_id, decision=dpb.APPROVE,
                                                            opinion="属实", legal_basis="《村民委员会组织法》")))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED

    decided = room_desk.Decide(dpb.DecideRequest(task_id=task.task_id, decision=dpb.APPROVE,
                                                 opinion="经核实，情况属实，同意出具证明",
                                                 legal_basis="《村民委员会组织法》"))
    assert decided.case_concluded and decided.result == "issued"
    case = case_status(system, number, "concluded")
    assert case.result == "issued" and case.archived
    (decision,) = [h for h in case.history if h.kind == "decided"]
    assert (decision.by.staff_number, decision.by.organisation) == (CADRE, ROOM)

    # timed and rated like any case: supervision has it concluded on time, a bad rating of the room's
    # decision is its township centre's to answer, as one of the room's acceptance would be
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM cases WHERE case_number = %s AND concluded_on "
                                                 "IS NOT NULL", [number]), what="supervision to see the conclusion")
    rating = system.supervision(ROOM).Rate(spb.RateRequest(
        request_id=uuid.uuid4().hex, case_number=number, channel=spb.ON_SITE, act=task.task_id, level=2,
        rater="applicant"))
    assert (rating.by_organisation, rating.by_person, rating.department) == (ROOM, CADRE, "")
    assert rating.rectification_opened
    items = system.supervision("zhangqiao-centre").ListRectifications(spb.ListRectificationsRequest(open_only=True))
    assert rating.id in [i.rating_id for i in items.items]

    # the township desk's 《流动人口婚育证明》 cites the certificate for its village letter: received
    township = Desk(system.intake_stub, system.sign_in(TOWNSHIP_CLERK))
    citing = submission("WJ-003", TOWNSHIP_DESK, missing=("village_letter",), first_clerk="")
    citing.applicant.CopyFrom(request.applicant)
    citing.materials.append(ipb.ProvidedMaterial(code="village_letter", certificate=number))
    accepted = township.Submit(citing)
    assert accepted.status == ipb.ACCEPTED and not accepted.one_time_notice
    shown = township.GetCase(ipb.GetCaseRequest(case_number=accepted.case_number))
    assert [(m.code, m.certificate) for m in shown.materials if m.certificate] == [("village_letter", number)]

    # another applicant's application cannot cite it: the field says why, nothing is written
    stranger = submission("WJ-003", TOWNSHIP_DESK, missing=("village_letter",), first_clerk="")
    stranger.materials.append(ipb.ProvidedMaterial(code="village_letter", certificate=number))
    error = _error(lambda: township.Submit(stranger))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(error)] == [f"materials[{len(stranger.materials) - 1}].certificate"]
